"""Dashboards that outlive a sandbox (mixed into :class:`orchestrator.api.service.Orchestrator`).

An item is a saved query bound to a TEMPLATE, not to a sandbox. Refreshing runs its text
on the owner's live sandbox of that template, or on a fresh one made with
:meth:`Orchestrator.create_sandbox` (the same call as ``dbplay sandbox create``), and
charts the stored result with :meth:`chart_result` (the dashboard's filters are bound
there as parameters, never pasted into the query). The chart output (rows, Vega-Lite
spec, rows used, note) and the refresh time are kept on the item in the metadata DB, so
every item still shows its last chart after the sandboxes it ran on are gone. An item
whose refresh fails keeps that output and records why, in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engines.errors import DBPlayError, InvalidRequest, NotFound
from engines.result import StatementResult
from orchestrator.api.dashboard_rules import (
    DEFAULT_HEIGHT,
    DEFAULT_WIDTH,
    chart_request_of,
    check_chart,
    check_filters,
    check_height,
    check_width,
)
from orchestrator.api.queries import QueryJobs
from orchestrator.api.results import StoredResults
from orchestrator.api.saved import next_run
from orchestrator.store import state
from orchestrator.store.models import (
    Dashboard,
    DashboardItem,
    Sandbox,
    SavedQuery,
    Template,
    utcnow,
)
from orchestrator.store.views import DashboardItemView, DashboardView

if TYPE_CHECKING:
    from orchestrator.store.views import SandboxView


@dataclass
class _Work:
    """What refreshing one item needs, read before any job runs."""

    item_id: int
    name: str
    text: str
    template_id: int | None
    template: str
    chart: dict[str, Any] | None


class Dashboards(QueryJobs, StoredResults):
    if TYPE_CHECKING:  # defined by Orchestrator itself
        def create_sandbox(self, user: str, template: str, ttl_s: int | None = None,
                           wait: bool = True) -> SandboxView: ...

    # -- reading ------------------------------------------------------------------
    def _board(self, session: Session, user: str, dashboard_id: int) -> Dashboard:
        board = session.get(Dashboard, dashboard_id)
        if board is None or board.owner != self._user(user):
            raise NotFound(f"no dashboard {dashboard_id}")
        return board

    def _view(self, session: Session, board: Dashboard) -> DashboardView:
        rows = session.execute(select(DashboardItem, SavedQuery).join(
            SavedQuery, DashboardItem.query_id == SavedQuery.id).where(
            DashboardItem.dashboard_id == board.id).order_by(
            DashboardItem.position, DashboardItem.id)).all()
        return DashboardView.of(board, [DashboardItemView.of(i, q) for i, q in rows])

    def get_dashboard(self, user: str, dashboard_id: int) -> DashboardView:
        with self.db.session() as session:
            return self._view(session, self._board(session, user, dashboard_id))

    def list_dashboards(self, user: str) -> list[DashboardView]:
        with self.db.session() as session:
            boards = session.scalars(select(Dashboard).where(
                Dashboard.owner == self._user(user)).order_by(Dashboard.id)).all()
            return [self._view(session, b) for b in boards]

    # -- making and arranging -------------------------------------------------------
    def create_dashboard(self, user: str, name: str) -> DashboardView:
        if not name.strip():
            raise InvalidRequest("a dashboard needs a name")
        with self.db.session() as session:
            board = Dashboard(owner=self._user(user), name=name, filters=[],
                              created_at=utcnow())
            session.add(board)
            session.flush()
            return self._view(session, board)

    def delete_dashboard(self, user: str, dashboard_id: int) -> None:
        with self.db.session() as session:
            board = self._board(session, user, dashboard_id)
            for item in session.scalars(select(DashboardItem).where(
                    DashboardItem.dashboard_id == board.id)):
                session.delete(item)
            session.delete(board)

    def add_to_dashboard(self, user: str, dashboard_id: int, query_id: int,
                         template: str | None = None, chart: dict[str, Any] | None = None,
                         width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT
                         ) -> DashboardView:
        """Add a saved query as a chart. It is bound to ``template`` (a template name the
        user sees), else to the template of the query's sandbox; ``chart`` is its chart
        request, else the saved query's chart, else one suggested at refresh time."""
        request = check_chart(chart)
        check_width(width)
        check_height(height)
        with self.db.session() as session:
            self._board(session, user, dashboard_id)
            query = session.get(SavedQuery, query_id)
            if query is None or query.owner != user:
                raise NotFound(f"no saved query {query_id}")
            bound = self._template_of(session, user, query, template)
            position = session.scalar(select(func.coalesce(func.max(DashboardItem.position), -1))
                                      .where(DashboardItem.dashboard_id == dashboard_id))
            session.add(DashboardItem(
                dashboard_id=dashboard_id, query_id=query_id, position=int(position or 0) + 1,
                template_id=bound.id if bound else None, template=bound.name if bound else "",
                chart=request or chart_request_of(query.chart), width=width, height=height))
        return self.get_dashboard(user, dashboard_id)

    def _template_of(self, session: Session, user: str, query: SavedQuery,
                     name: str | None) -> Template | None:
        if name is not None:
            rows = list(session.scalars(select(Template).where(
                Template.name == name, (Template.owner.is_(None)) | (Template.owner == user)
                | (Template.shared.is_(True)))))
            if not rows:
                raise NotFound(f"no template {name!r}")
            rows.sort(key=lambda t: (t.owner != user, t.owner is not None))
            if rows[0].engine != query.engine:
                raise InvalidRequest(f"template {name!r} is {rows[0].engine}; the query is "
                                     f"for {query.engine}")
            return rows[0]
        sandbox = session.get(Sandbox, query.sandbox_id) if query.sandbox_id else None
        if sandbox is None or sandbox.owner != user or sandbox.template_id is None:
            return None
        return session.get(Template, sandbox.template_id)

    def remove_from_dashboard(self, user: str, dashboard_id: int, item_id: int) -> DashboardView:
        with self.db.session() as session:
            self._board(session, user, dashboard_id)
            item = session.get(DashboardItem, item_id)
            if item is None or item.dashboard_id != dashboard_id:
                raise NotFound(f"no item {item_id} on dashboard {dashboard_id}")
            session.delete(item)
        return self.get_dashboard(user, dashboard_id)

    def update_layout(self, user: str, dashboard_id: int,
                      layout: list[dict[str, Any]]) -> DashboardView:
        """``layout``: ``[{"item_id", "width"?, "height"?, "position"?}]``. Widths are 1-12
        grid columns, heights in pixels; items are renumbered 0, 1, 2... in the new order."""
        changes: dict[int, dict[str, int]] = {}
        for entry in layout:
            item_id = entry.get("item_id") if isinstance(entry, dict) else None
            if not isinstance(item_id, int):
                raise InvalidRequest("each layout entry names its item_id")
            change: dict[str, int] = {}
            if entry.get("width") is not None:
                change["width"] = check_width(entry["width"])
            if entry.get("height") is not None:
                change["height"] = check_height(entry["height"])
            if entry.get("position") is not None:
                if not isinstance(entry["position"], int) or entry["position"] < 0:
                    raise InvalidRequest(f"a position is 0 or more, not {entry['position']!r}")
                change["position"] = entry["position"]
            changes[item_id] = change
        with self.db.session() as session:
            self._board(session, user, dashboard_id)
            items = list(session.scalars(select(DashboardItem).where(
                DashboardItem.dashboard_id == dashboard_id).order_by(
                DashboardItem.position, DashboardItem.id)))
            missing = set(changes) - {i.id for i in items}
            if missing:
                raise NotFound(f"no item {min(missing)} on dashboard {dashboard_id}")
            order = {i.id: n for n, i in enumerate(items)}
            for item in items:
                change = changes.get(item.id, {})
                item.width = change.get("width", item.width)
                item.height = change.get("height", item.height)
                # a moved item goes before the one that had its place
                order[item.id] = change["position"] * 2 - 1 if "position" in change \
                    else order[item.id] * 2
            for number, item in enumerate(sorted(items, key=lambda i: (order[i.id], i.id))):
                item.position = number
        return self.get_dashboard(user, dashboard_id)

    def set_dashboard_filters(self, user: str, dashboard_id: int,
                              filters: list[dict[str, Any]]) -> DashboardView:
        """The filters every refresh binds (they apply at the next refresh)."""
        checked = check_filters(filters)
        with self.db.session() as session:
            board = self._board(session, user, dashboard_id)
            board.filters = checked
        return self.get_dashboard(user, dashboard_id)

    def schedule_dashboard_refresh(self, user: str, dashboard_id: int,
                                   cron: str | None) -> DashboardView:
        """Refresh on ``cron`` through the scheduler; None stops scheduled refreshes."""
        first = next_run(cron, utcnow()) if cron else None
        with self.db.session() as session:
            board = self._board(session, user, dashboard_id)
            board.refresh_cron, board.next_refresh_at = (cron or None), first
        return self.get_dashboard(user, dashboard_id)

    # -- refreshing ------------------------------------------------------------------
    def refresh_dashboard(self, user: str, dashboard_id: int,
                          filters: list[dict[str, Any]] | None = None,
                          item_ids: list[int] | None = None) -> DashboardView:
        """Run every item (or those of ``item_ids``) again and keep its chart output.
        ``filters`` (checked, then kept as the dashboard's filters) replace the stored
        ones; None uses the stored ones. An item that fails keeps its last output and
        records why; the rest go on."""
        with self.db.session() as session:
            board = self._board(session, user, dashboard_id)
            if filters is not None:
                board.filters = check_filters(filters)
            active = check_filters(board.filters)
            work = [_Work(i.id, q.name, q.text, i.template_id, i.template, i.chart)
                    for i, q in session.execute(select(DashboardItem, SavedQuery).join(
                        SavedQuery, DashboardItem.query_id == SavedQuery.id).where(
                        DashboardItem.dashboard_id == dashboard_id).order_by(
                        DashboardItem.position, DashboardItem.id)).all()
                    if item_ids is None or i.id in item_ids]
        sandboxes: dict[int, str] = {}  # template id -> the sandbox this refresh uses
        for item in work:
            try:
                output, error = self._refresh_item(user, item, active, sandboxes), None
            except DBPlayError as exc:
                output, error = None, exc.message
            with self.db.session() as session:
                row = session.get(DashboardItem, item.item_id)
                if row is None:
                    continue  # removed while this refresh ran
                if output is not None:
                    row.output, row.refreshed_at, row.error = output, utcnow(), None
                else:
                    row.error = error
        with self.db.session() as session:
            board = self._board(session, user, dashboard_id)
            board.last_refresh_at = utcnow()
            return self._view(session, board)

    def _refresh_item(self, user: str, item: _Work, filters: list[dict[str, Any]],
                      sandboxes: dict[int, str]) -> dict[str, Any]:
        sandbox_id = self._live_sandbox(user, item, sandboxes)
        results = self.run_query(user, sandbox_id, item.text)
        result = _charted_statement(results, sandbox_id)
        result_id = result.result_id
        if not result_id:
            raise InvalidRequest("the query's result was not stored, so it cannot be charted")
        request = item.chart or self.suggest_chart(user, result_id)
        if request is None:
            raise InvalidRequest("no chart fits this result on its own: choose its x and y "
                                 "columns")
        names = {c.name for c in result.columns}
        applied = [f for f in filters if f["column"] in names]
        ignored = sorted({f["column"] for f in filters if f["column"] not in names})
        chart = self.chart_result(user, result_id, **request, filters=applied or None)
        return {"rows": chart.get("rows", []), "spec": chart.get("spec", {}),
                "rows_used": chart.get("rows_used"), "columns": chart.get("columns", []),
                "note": chart.get("note"), "sandbox_id": sandbox_id, "result_id": result_id,
                "request": dict(request), "filters_applied": applied,
                "filters_ignored": ignored,
                "filter_note": (f"Filter{'s' if len(ignored) > 1 else ''} on "
                                f"{', '.join(ignored)} not applied: this result has no "
                                f"such column." if ignored else None)}

    def _live_sandbox(self, user: str, item: _Work, sandboxes: dict[int, str]) -> str:
        """The owner's ready sandbox of the item's template, else a fresh one from it."""
        if item.template_id is None:
            gone = f" (its template {item.template!r} was deleted)" if item.template else ""
            raise InvalidRequest(f"this chart is bound to no template{gone}, so there is "
                                 "nothing to run it on: save its query again from a sandbox")
        if item.template_id in sandboxes:
            return sandboxes[item.template_id]
        with self.db.session() as session:
            template = session.get(Template, item.template_id)
            if template is None:
                raise InvalidRequest(f"its template {item.template!r} was deleted, so there "
                                     "is nothing to run it on")
            live = session.scalars(select(Sandbox.id).where(
                Sandbox.owner == self._user(user), Sandbox.template_id == template.id,
                Sandbox.state.in_(state.QUERYABLE)).order_by(
                case((Sandbox.state == state.READY, 0), else_=1),
                Sandbox.created_at.desc()).limit(1)).first()
            name = template.name
        if live is None:
            try:
                live = self.create_sandbox(user, name).id
            except DBPlayError as exc:
                raise DBPlayError(f"no live sandbox of template {name!r}, and a fresh one "
                                f"could not be made: {exc.message}") from exc
        sandboxes[item.template_id] = live
        return live


def _charted_statement(results: list[StatementResult], sandbox_id: str) -> StatementResult:
    """The statement whose rows the item charts: the last one that returned rows."""
    for result in results:
        if not result.ok:
            error = result.error or {}
            raise InvalidRequest(f"the query failed on sandbox {sandbox_id[:8]}: "
                                 f"{error.get('type', 'Error')}: {error.get('message', '')}")
    with_rows = [r for r in results if r.columns]
    if not with_rows:
        raise InvalidRequest("the query returns no rows to chart")
    return with_rows[-1]
