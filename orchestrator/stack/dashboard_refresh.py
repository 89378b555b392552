"""Scheduled dashboard refreshes, fired by the scheduler process.

Each tick claims the dashboards whose ``next_refresh_at`` has passed with a conditional
UPDATE (so two schedulers never refresh one slot twice) and moves ``next_refresh_at`` to
the cron's next time after *now*: missed slots run once, not once each. The refresh
itself (:meth:`Orchestrator.refresh_dashboard`: sandboxes, queries and charts as jobs on
the workers) runs on one background thread, so a slow refresh never holds up the
scheduler's other work; a dashboard still refreshing skips its next slot.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select, update

from engines.errors import InvalidRequest
from orchestrator.api.saved import next_run
from orchestrator.api.service import Orchestrator
from orchestrator.config.settings import Settings
from orchestrator.store.db import Database
from orchestrator.store.models import Dashboard, utcnow

log = logging.getLogger(__name__)


class DashboardRefresher:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dashboard-refresh")
        self._service: Orchestrator | None = None
        self._running: set[int] = set()
        self._lock = threading.Lock()

    def tick(self) -> list[int]:
        """Claim every due dashboard and queue its refresh; returns the ids queued."""
        now = utcnow()
        with self.db.session() as session:
            due = session.execute(select(
                Dashboard.id, Dashboard.owner, Dashboard.refresh_cron, Dashboard.next_refresh_at
            ).where(Dashboard.refresh_cron.is_not(None),
                    Dashboard.next_refresh_at <= now)).all()
        queued: list[int] = []
        for board_id, owner, cron, slot in due:
            try:
                following = next_run(str(cron), now)
            except InvalidRequest as exc:  # checked when set: only a hand-edited row
                log.warning("dashboard %s: %s", board_id, exc.message)
                continue
            with self.db.session() as session:
                result = session.execute(update(Dashboard).where(
                    Dashboard.id == board_id, Dashboard.next_refresh_at == slot
                ).values(next_refresh_at=following))
                claimed = result.rowcount  # type: ignore[attr-defined]
            with self._lock:
                if not claimed or board_id in self._running:
                    continue
                self._running.add(board_id)
            self._pool.submit(self._refresh, owner, board_id)
            queued.append(board_id)
        return queued

    def _refresh(self, owner: str, board_id: int) -> None:
        try:
            if self._service is None:
                self._service = Orchestrator.from_settings(self.settings)
            self._service.refresh_dashboard(owner, board_id)
        except Exception:
            log.exception("scheduled refresh of dashboard %s failed", board_id)
        finally:
            with self._lock:
                self._running.discard(board_id)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._service is not None:
            self._service.close()
