"""Dashboards: charts bound to templates, laid out in a grid, that outlive any sandbox.

Each item shows the chart kept from its last refresh (its stored Vega-Lite spec) and
when that was, even after the sandbox it ran on is gone. **Refresh** runs every item on
a live sandbox of its template (or a fresh one) with the dashboard's filters bound as
parameters. Everything here goes through the service layer.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import streamlit as st

from ui import dashboard_filters, feedback, session
from ui.formatting import engine_label

if TYPE_CHECKING:
    from orchestrator.store.views import DashboardItemView, DashboardView

SELECTED = "dash_selected"
TRIED = "dash_drawn_once"  # ids of new items this session already ran once
GRID = 12


def _when(iso: str | None) -> str:
    """``2026-11-30 01:46 UTC``, or "never"."""
    if not iso:
        return "never"
    return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S UTC")


def _item(item: DashboardItemView) -> None:
    with st.container(border=True):
        st.markdown(f"**{item.name}**")
        where = f"template `{item.template}`" if item.template else "no template"
        st.caption(f"{engine_label(item.engine)} · runs on {where} · last refreshed "
                   f"{_when(item.refreshed_at)}")
        if item.error:
            st.warning(f"The last refresh failed: {item.error}", icon=":material/sync_problem:")
        output = item.output
        if not output:
            if not item.error:
                st.info("Not refreshed yet: press **Refresh** to run it.")
            return
        spec = dict(output.get("spec") or {})
        if spec.get("title") == item.name:  # the card's heading says it already
            del spec["title"]
        if spec:
            st.vega_lite_chart(spec, width="stretch", height=item.height,
                               key=f"dash_chart_{item.id}")
        for note in (output.get("note"), output.get("filter_note")):
            if note:
                st.caption(note)
        with st.expander("Query"):
            st.code(item.text, language=None)


def _grid(dashboard: DashboardView) -> None:
    for row in dashboard.grid_rows():
        used = sum(i.width for i in row)
        widths = [i.width for i in row] + ([GRID - used] if used < GRID else [])
        columns = st.columns(widths)
        for column, item in zip(columns, row, strict=False):
            with column:
                _item(item)


def _layout(user: str, dashboard: DashboardView) -> None:
    with st.expander("Layout", icon=":material/dashboard_customize:"):
        st.caption(f"Items sit side by side in rows of {GRID} columns, in their order.")
        layout: list[dict[str, Any]] = []
        for item in dashboard.items:
            name, width, height, order = st.columns([3, 1, 1, 1])
            name.markdown(item.name)
            layout.append({
                "item_id": item.id,
                "width": width.number_input("Width", 1, GRID, item.width,
                                            key=f"dash_width_{item.id}"),
                "height": height.number_input("Height (px)", 120, 2000, item.height, step=20,
                                              key=f"dash_height_{item.id}"),
                "position": order.number_input("Order", 0, 999, item.position,
                                               key=f"dash_order_{item.id}")})
        if st.button("Save layout", key="dash_save_layout", icon=":material/save:"):
            with feedback.guard():
                session.orchestrator().update_layout(user, dashboard.id, layout)
                st.rerun()


def _schedule(user: str, dashboard: DashboardView) -> None:
    with st.expander("Scheduled refresh", icon=":material/schedule:"):
        cron = st.text_input("Cron (empty: refresh on demand only)",
                             value=dashboard.refresh_cron or "", placeholder="0 * * * *",
                             key=f"dash_cron_{dashboard.id}")
        if dashboard.refresh_cron:
            st.caption(f"Next refresh {_when(dashboard.next_refresh_at)}.")
        if st.button("Save schedule", key="dash_save_cron", icon=":material/save:"):
            with feedback.guard():
                session.orchestrator().schedule_dashboard_refresh(
                    user, dashboard.id, cron.strip() or None)
                st.rerun()


def _draw_new_items(user: str, dashboard: DashboardView) -> DashboardView:
    """Items never refreshed (just saved from **Charts**) run once when first shown."""
    tried: set[int] = st.session_state.setdefault(TRIED, set())
    new = [i.id for i in dashboard.items
           if i.output is None and i.error is None and i.id not in tried]
    if not new:
        return dashboard
    tried.update(new)
    with st.spinner("Drawing the new charts…"), feedback.guard():
        return session.orchestrator().refresh_dashboard(user, dashboard.id, item_ids=new)
    return dashboard


def _show(user: str, dashboard: DashboardView) -> None:
    st.subheader(dashboard.name)
    if not dashboard.items:
        st.info("This dashboard is empty. Open **Charts**, draw a chart and press "
                "**Save to dashboard**.")
        st.page_link("app_pages/charts.py", label="Go to Charts", icon=":material/bar_chart:")
        return
    filters, added = dashboard_filters.edit(dashboard, list(dashboard.filters))
    orch = session.orchestrator()
    if added:
        with feedback.guard():
            orch.set_dashboard_filters(user, dashboard.id, filters)
            st.rerun()
    refresh, note = st.columns([1, 4])
    if refresh.button("Refresh", key="dash_refresh", icon=":material/refresh:", type="primary"):
        with st.spinner("Running every chart on a live sandbox of its template…"), \
                feedback.guard():
            dashboard = orch.refresh_dashboard(user, dashboard.id, filters)
    else:
        dashboard = _draw_new_items(user, dashboard)
    note.caption(f"Last refreshed {_when(dashboard.last_refresh_at)}. A refresh uses your "
                 "live sandbox of each chart's template, or starts one.")
    _grid(dashboard)
    _layout(user, dashboard)
    _schedule(user, dashboard)


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
    _show(user, by_id[chosen])


main()
