"""The small, JSON-safe objects the API returns (see notes/API.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from orchestrator.store import models


def iso(value: dt.datetime | None) -> str | None:
    """Naive-UTC datetime as ISO-8601 with an explicit UTC offset."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC, microsecond=value.microsecond).isoformat()


class _View:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass
class TemplateView(_View):
    name: str
    engine: str
    description: str
    owner: str | None
    shared: bool
    size_bytes: int
    tables: list[str]
    source: str
    license: str
    created_at: str

    @classmethod
    def of(cls, t: models.Template) -> TemplateView:
        return cls(name=t.name, engine=t.engine, description=t.description, owner=t.owner,
                   shared=t.shared, size_bytes=t.size_bytes, tables=list(t.tables or []),
                   source=t.source, license=t.license, created_at=iso(t.created_at) or "")


@dataclass
class SandboxView(_View):
    id: str
    owner: str
    engine: str
    template: str
    state: str
    created_at: str
    expires_at: str
    ready_ms: float | None
    provisioner: str | None
    error: str | None

    @classmethod
    def of(cls, s: models.Sandbox) -> SandboxView:
        return cls(id=s.id, owner=s.owner, engine=s.engine, template=s.template, state=s.state,
                   created_at=iso(s.created_at) or "", expires_at=iso(s.expires_at) or "",
                   ready_ms=s.ready_ms, provisioner=s.provisioner, error=s.error)


@dataclass
class EventView(_View):
    id: int
    sandbox_id: str
    at: str
    from_state: str | None
    to_state: str
    reason: str

    @classmethod
    def of(cls, e: models.Event) -> EventView:
        return cls(id=e.id, sandbox_id=e.sandbox_id, at=iso(e.at) or "",
                   from_state=e.from_state, to_state=e.to_state, reason=e.reason)


@dataclass
class JobView(_View):
    id: str
    kind: str
    state: str
    sandbox_id: str | None
    result: Any
    error: dict[str, Any] | None
    created_at: str
    finished_at: str | None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    @classmethod
    def of(cls, j: models.Job) -> JobView:
        return cls(id=j.id, kind=j.kind, state=j.state, sandbox_id=j.sandbox_id,
                   result=j.result, error=j.error, created_at=iso(j.created_at) or "",
                   finished_at=iso(j.finished_at))


@dataclass
class ScheduleView(_View):
    id: int
    sandbox_id: str
    cron: str
    name: str
    #: None once the schedule is off
    next_run_at: str | None
    last_run_at: str | None
    last_status: str | None
    #: ``active``, or ``off: <why>`` once its sandbox has ended
    state: str = "active"

    @classmethod
    def of(cls, s: models.Schedule) -> ScheduleView:
        off = s.disabled_reason
        return cls(id=s.id, sandbox_id=s.sandbox_id, cron=s.cron, name=s.name,
                   next_run_at=None if off else iso(s.next_run_at),
                   last_run_at=iso(s.last_run_at), last_status=s.last_status,
                   state=f"off: {off}" if off else "active")


@dataclass
class SavedQueryView(_View):
    id: int
    name: str
    sandbox_id: str | None
    engine: str
    text: str
    chart: dict[str, Any] | None
    created_at: str

    @classmethod
    def of(cls, q: models.SavedQuery) -> SavedQueryView:
        return cls(id=q.id, name=q.name, sandbox_id=q.sandbox_id, engine=q.engine, text=q.text,
                   chart=q.chart, created_at=iso(q.created_at) or "")


@dataclass
class DashboardView(_View):
    id: int
    name: str
    items: list[SavedQueryView] = field(default_factory=list)
