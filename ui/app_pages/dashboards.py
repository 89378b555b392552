"""Dashboards: saved charts, each refreshed against its sandbox on demand.

When a chart's sandbox is gone (deleted or expired), the chart says so and offers to draw
it from another live sandbox of the same engine (for this session).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from engines.errors import DBPlayError
from engines.result import StatementResult
from ui import chart_view, feedback, picker, session
from ui.charts import ChartSpec, suggest_chart
from ui.formatting import engine_label
from ui.frames import typed_frame

if TYPE_CHECKING:
    from orchestrator.store.views import DashboardView, SandboxView, SavedQueryView

SELECTED = "dash_selected"
DATA = "dash_data"
TARGETS = "dash_targets"  # saved query id -> sandbox picked in place of a gone one


def _target(item: SavedQueryView) -> str | None:
    """The sandbox to run ``item`` on: its own, or the one picked in its place."""
    replaced: dict[int, str] = st.session_state.setdefault(TARGETS, {})
    return replaced.get(item.id, item.sandbox_id)


def _refresh(user: str, item: SavedQueryView) -> StatementResult | None:
    cache: dict[int, StatementResult] = st.session_state.setdefault(DATA, {})
    sandbox_id = _target(item)
    if sandbox_id is None:
        return None
    try:
        cache[item.id] = chart_view.fetch_for_chart(user, sandbox_id, item.text)
    except DBPlayError as exc:
        cache[item.id] = StatementResult(statement=item.text, error=exc.to_dict())
    return cache[item.id]


def _gone(user: str, item: SavedQueryView) -> None:
    """The chart's sandbox no longer exists: offer another live sandbox of its engine."""
    st.warning(f"The sandbox this chart ran on (`{(_target(item) or '?')[:8]}`) is gone: it "
               "was deleted or expired.", icon=":material/link_off:")
    others: list[SandboxView] = []
    with feedback.guard():
        others = [s for s in session.orchestrator().list_sandboxes(user)
                  if s.engine == item.engine and s.state in picker.USABLE]
    if not others:
        st.caption(f"Launch a {engine_label(item.engine)} template again, then come back "
                   "to draw this chart from the new sandbox.")
        st.page_link(picker.TEMPLATES_PAGE, label="Go to Templates", icon=":material/dataset:")
        return
    by_id = {s.id: s for s in others}
    chosen = st.selectbox("Draw it from another sandbox", list(by_id), key=f"dash_alt_{item.id}",
                          format_func=lambda i: picker.label(by_id[i]))
    if chosen and st.button("Use this sandbox", key=f"dash_use_{item.id}",
                            icon=":material/swap_horiz:"):
        st.session_state.setdefault(TARGETS, {})[item.id] = chosen
        st.session_state.setdefault(DATA, {}).pop(item.id, None)
        st.rerun()


def _item(user: str, item: SavedQueryView, refresh_all: bool) -> None:
    with st.container(border=True):
        head, action = st.columns([5, 1])
        head.markdown(f"**{item.name}**")
        head.caption(f"{engine_label(item.engine)} · sandbox `{(_target(item) or '?')[:8]}`")
        cache: dict[int, StatementResult] = st.session_state.setdefault(DATA, {})
        if action.button("Refresh", key=f"dash_refresh_{item.id}", icon=":material/refresh:"):
            refresh_all = True
        if refresh_all or item.id not in cache:
            with st.spinner(f"Running “{item.name}” against its sandbox…"):
                _refresh(user, item)
        result = cache.get(item.id)
        if item.sandbox_id is None or result is None:
            st.info("This query is not tied to a sandbox, so it cannot be refreshed.")
            return
        if not result.ok:
            error = result.error or {}
            if error.get("type") == "NotFound":
                _gone(user, item)
            else:
                feedback.show_error_dict(error)
            return
        frame = typed_frame(result)
        spec = ChartSpec.from_dict(item.chart) if item.chart else suggest_chart(frame)
        if spec.title == item.name:  # the card's heading says it already
            spec.title = ""
        chart_view.draw(frame, spec, key=f"dash_chart_{item.id}")
        with st.expander("Query"):
            st.code(item.text, language=None)


def _show(user: str, dashboard: DashboardView) -> None:
    st.subheader(dashboard.name)
    refresh_all = st.button("Refresh all", key="dash_refresh_all", icon=":material/refresh:")
    if not dashboard.items:
        st.info("This dashboard is empty. Open **Charts**, draw a chart and press "
                "**Save to dashboard**.")
        st.page_link("app_pages/charts.py", label="Go to Charts", icon=":material/bar_chart:")
        return
    for item in dashboard.items:
        _item(user, item, refresh_all)


def main() -> None:
    user = session.require_user()
    st.title("Dashboards")
    dashboards: list[DashboardView] = []
    with feedback.guard():
        dashboards = session.orchestrator().list_dashboards(user)
    with st.expander("New dashboard"):
        name = st.text_input("Name", key="dash_new_name")
        if st.button("Create", key="dash_create", icon=":material/add:"):
            if not name.strip():
                st.warning("Give the dashboard a name.")
            else:
                with feedback.guard():
                    created = session.orchestrator().create_dashboard(user, name.strip())
                    st.session_state[SELECTED] = created.id
                    st.rerun()
    if not dashboards:
        st.info("No dashboards yet. Create one above, or save a chart from **Charts**.")
        return
    ids = [d.id for d in dashboards]
    by_id = {d.id: d for d in dashboards}
    current = st.session_state.get(SELECTED)
    chosen = st.selectbox("Dashboard", ids, index=ids.index(current) if current in ids else 0,
                          format_func=lambda i: f"{by_id[i].name} ({len(by_id[i].items)} charts)",
                          key="dash_pick")
    if chosen is None:
        return
    st.session_state[SELECTED] = chosen
    with feedback.guard():
        _show(user, session.orchestrator().get_dashboard(user, chosen))


main()
