"""Saved queries and snapshot schedules: the per-user parts of the API
that need no worker (mixed into :class:`orchestrator.api.service.Orchestrator`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from croniter import croniter
from sqlalchemy import select

from engines.errors import InvalidRequest, NotFound
from orchestrator.api.base import ServiceBase
from orchestrator.store.models import SavedQuery, Schedule, utcnow
from orchestrator.store.template_rules import check_name
from orchestrator.store.views import SavedQueryView, ScheduleView


def next_run(cron: str, after: dt.datetime) -> dt.datetime:
    """The first time ``cron`` fires strictly after ``after`` (naive UTC)."""
    if not croniter.is_valid(cron):
        raise InvalidRequest(f"bad cron expression {cron!r}; e.g. '0 * * * *' (hourly)")
    value: dt.datetime = croniter(cron, after).get_next(dt.datetime)
    return value


class SavedWork(ServiceBase):
    # -- saved queries ------------------------------------------------------
    def save_query(self, user: str, name: str, text: str, sandbox_id: str | None = None,
                   engine: str | None = None, chart: dict[str, Any] | None = None
                   ) -> SavedQueryView:
        if not name.strip():
            raise InvalidRequest("a saved query needs a name")
        with self.db.session() as session:
            if sandbox_id is not None:
                sb = self._sandbox(session, user, sandbox_id)
                engine = engine or sb.engine
            if not engine:
                raise InvalidRequest("say which engine the query is for")
            query = SavedQuery(owner=self._user(user), name=name, sandbox_id=sandbox_id,
                               engine=engine, text=text, chart=chart, created_at=utcnow())
            session.add(query)
            session.flush()
            return SavedQueryView.of(query)

    def list_queries(self, user: str) -> list[SavedQueryView]:
        with self.db.session() as session:
            rows = session.scalars(select(SavedQuery).where(
                SavedQuery.owner == self._user(user)).order_by(SavedQuery.id)).all()
            return [SavedQueryView.of(q) for q in rows]

    # -- schedules -----------------------------------------------------------
    def schedule_snapshots(self, user: str, sandbox_id: str, cron: str,
                           name: str) -> ScheduleView:
        check_name(name, "snapshot name")
        first = next_run(cron, utcnow())
        with self.db.session() as session:
            self._sandbox(session, user, sandbox_id)
            schedule = Schedule(owner=self._user(user), sandbox_id=sandbox_id, cron=cron,
                                name=name, next_run_at=first, created_at=utcnow())
            session.add(schedule)
            session.flush()
            return ScheduleView.of(schedule)

    def list_schedules(self, user: str) -> list[ScheduleView]:
        with self.db.session() as session:
            rows = session.scalars(select(Schedule).where(
                Schedule.owner == self._user(user)).order_by(Schedule.id)).all()
            return [ScheduleView.of(s) for s in rows]

    def delete_schedule(self, user: str, schedule_id: int) -> None:
        with self.db.session() as session:
            schedule = session.get(Schedule, schedule_id)
            if schedule is None or schedule.owner != self._user(user):
                raise NotFound(f"no schedule {schedule_id}")
            session.delete(schedule)
