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


#: a dashboard's grid is this many columns wide
GRID_COLUMNS = 12


@dataclass
class DashboardItemView(_View):
    """A chart on a dashboard: its query, the template it runs on, its place in the grid
    and its last chart output (``{"rows", "spec", "rows_used", "columns", "note",
    "sandbox_id", "result_id", "filters_ignored"}``), kept after its sandbox is gone."""

    id: int
    query_id: int
    name: str
    engine: str
    text: str
    #: the template it runs on ("" when unknown) and its id (None once deleted)
    template: str
    template_id: int | None
    #: the chart request ``{"x", "y", "agg", "bin", "color", "mark"}`` (None: suggested)
    chart: dict[str, Any] | None
    position: int
    width: int
    height: int
    output: dict[str, Any] | None
    refreshed_at: str | None
    #: why the last refresh failed, in words (the last good output stays)
    error: str | None
    #: the sandbox it last ran on (or its saved query's)
    sandbox_id: str | None
    created_at: str

    @classmethod
    def of(cls, item: models.DashboardItem, query: models.SavedQuery) -> DashboardItemView:
        output = dict(item.output) if item.output else None
        return cls(id=item.id, query_id=query.id, name=query.name, engine=query.engine,
                   text=query.text, template=item.template, template_id=item.template_id,
                   chart=item.chart, position=item.position, width=item.width,
                   height=item.height, output=output, refreshed_at=iso(item.refreshed_at),
                   error=item.error,
                   sandbox_id=(output or {}).get("sandbox_id") or query.sandbox_id,
                   created_at=iso(query.created_at) or "")


@dataclass
class DashboardView(_View):
    id: int
    name: str
    items: list[DashboardItemView] = field(default_factory=list)
    filters: list[dict[str, Any]] = field(default_factory=list)
    refresh_cron: str | None = None
    next_refresh_at: str | None = None
    last_refresh_at: str | None = None

    @classmethod
    def of(cls, board: models.Dashboard, items: list[DashboardItemView]) -> DashboardView:
        return cls(id=board.id, name=board.name, items=items,
                   filters=list(board.filters or []), refresh_cron=board.refresh_cron,
                   next_refresh_at=iso(board.next_refresh_at) if board.refresh_cron else None,
                   last_refresh_at=iso(board.last_refresh_at))

    def grid_rows(self) -> list[list[DashboardItemView]]:
        """The items in order, side by side in rows at most :data:`GRID_COLUMNS` wide."""
        rows: list[list[DashboardItemView]] = []
        used = GRID_COLUMNS
        for item in sorted(self.items, key=lambda i: (i.position, i.id)):
            if used + item.width > GRID_COLUMNS:
                rows.append([])
                used = 0
            rows[-1].append(item)
            used += item.width
        return rows
