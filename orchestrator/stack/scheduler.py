"""The scheduler process (``dbplay scheduler``, part of ``dbplay up``).

Every ``DBPLAY_SCHEDULER_TICK`` seconds it enqueues a ``scheduled_snapshot`` job for each
schedule whose ``next_run_at`` has passed, and moves ``next_run_at`` to the first cron
time after *now*: a schedule that missed several slots while the scheduler was down
runs once on return, not once per missed slot. The claim is a conditional UPDATE, so
two schedulers never enqueue the same slot twice. A schedule whose sandbox has ended is
switched off (:func:`orchestrator.store.state.disable_schedules`), never run. It also
enqueues the reaper and the warm-pool refill periodically.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import select, update

from engines.errors import ServiceUnavailable
from orchestrator.api.saved import next_run
from orchestrator.config.process_signals import configure_logging, stop_on_signals
from orchestrator.config.settings import Settings
from orchestrator.jobs.client import JobClient
from orchestrator.jobs.heartbeat import SCHEDULER, Heartbeat
from orchestrator.stack.dashboard_refresh import DashboardRefresher
from orchestrator.store.db import Database
from orchestrator.store.models import POOL_OWNER, Sandbox, Schedule, utcnow
from orchestrator.store.state import LIVE, disable_schedules

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, settings: Settings, db: Database | None = None,
                 jobs: JobClient | None = None) -> None:
        self.settings = settings
        self.db = db or Database(settings.database_url, settings.home)
        self.jobs = jobs or JobClient(settings, self.db)
        self._last_reap = 0.0
        self.dashboards = DashboardRefresher(settings, self.db)

    def tick(self) -> list[str]:
        """Enqueue every due schedule once; returns the job ids created."""
        now = utcnow()
        created: list[str] = []
        with self.db.session() as session:
            due = session.scalars(select(Schedule).where(
                Schedule.next_run_at <= now, Schedule.disabled_reason.is_(None))).all()
        for schedule in due:
            with self.db.session() as session:
                sandbox = session.get(Sandbox, schedule.sandbox_id)
                result = session.execute(update(Schedule).where(
                    Schedule.id == schedule.id, Schedule.next_run_at == schedule.next_run_at
                ).values(next_run_at=next_run(schedule.cron, now), last_run_at=now))
                claimed = result.rowcount  # type: ignore[attr-defined]
                if not claimed:
                    continue  # another scheduler took this slot
                if sandbox is None or sandbox.state not in LIVE:
                    disable_schedules(session, schedule.sandbox_id,
                                      f"sandbox {sandbox.state if sandbox else 'gone'}")
                    continue
            try:
                job = self.jobs.submit(schedule.owner, "scheduled_snapshot", schedule.sandbox_id,
                                       schedule_id=schedule.id, name=schedule.name,
                                       cron=schedule.cron)
            except ServiceUnavailable as exc:
                log.warning("schedule %s not run: %s", schedule.id, exc)
                with self.db.session() as session:
                    session.execute(update(Schedule).where(Schedule.id == schedule.id).values(
                        last_status="failed"))
                continue
            with self.db.session() as session:
                session.execute(update(Schedule).where(Schedule.id == schedule.id).values(
                    last_job_id=job.id, last_status="queued"))
            created.append(job.id)
        return created

    def housekeeping(self) -> None:
        if time.monotonic() - self._last_reap < self.settings.reap_interval:
            return
        self._last_reap = time.monotonic()
        self.jobs.submit(POOL_OWNER, "reap")
        if self.settings.pool_size > 0:
            self.jobs.submit(POOL_OWNER, "pool_refill")

    def run(self, stop: threading.Event) -> None:
        log.info("scheduler up (tick %.1f s)", self.settings.scheduler_tick)
        while not stop.is_set():
            try:
                self.tick()
                self.dashboards.tick()
                self.housekeeping()
            except Exception:
                log.exception("scheduler tick failed")
            stop.wait(self.settings.scheduler_tick)
        self.dashboards.close()


def main() -> int:
    configure_logging()
    settings = Settings.load()
    stop = stop_on_signals()
    scheduler = Scheduler(settings)
    heartbeat = Heartbeat(scheduler.jobs.redis, [SCHEDULER])
    heartbeat.start()
    try:
        scheduler.run(stop)
    finally:
        heartbeat.stop()
    return 0
