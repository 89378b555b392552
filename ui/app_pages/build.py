"""Build: a query by clicks, one step at a time, on a SQL or MongoDB sandbox.

Pick the source from the schema, then add joins (suggested from foreign keys), filters,
grouping with aggregates, HAVING, sort and limit. After each step the page shows a few
rows and the row count (a CTE chain on SQL, a ``$limit`` per stage on MongoDB), and the
generated SQL or pipeline beside them. The query can be run (read-only, with the
sandbox's time limit and a default LIMIT), charted, opened in the Playground or saved to a
dashboard. SQL typed in the "From SQL" box is read back into the steps' spec.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from engines.errors import DBPlayError
from engines.registry import descriptor_for
from ui import build_steps, chart_view, editor, feedback, picker, schema_cache, session
from ui.charts import ChartChoice

PREVIEW = "bd_preview"
RUN = "bd_run"
GO_PLAYGROUND = "bd_go_playground"


def _previews(user: str, sandbox_id: str, spec: dict[str, Any]) -> list[Any] | None:
    """The step previews, run again only when the spec changed."""
    wanted = json.dumps([sandbox_id, spec], sort_keys=True)
    cached = st.session_state.get(PREVIEW)
    if cached is not None and cached[0] == wanted:
        steps: list[Any] = cached[1]
        return steps
    try:
        steps = session.orchestrator().preview_steps(user, sandbox_id, spec)
    except DBPlayError as exc:
        feedback.show_error(exc, "Change the step named above.")
        return None
    st.session_state[PREVIEW] = (wanted, steps)
    return steps


def _show_steps(steps: list[Any]) -> None:
    for step in steps:
        count = "?" if step.count is None else f"{step.count:,}"
        with st.expander(f"after **{step.step}**: {count} rows", expanded=step is steps[-1]):
            if step.error:
                st.error(step.error.get("message", "failed"))
            else:
                st.dataframe(pd.DataFrame(step.rows, columns=step.columns), hide_index=True,
                             width="stretch")


def _actions(user: str, sandbox: Any, spec: dict[str, Any], query: str) -> None:
    orch = session.orchestrator()
    run_col, play_col, save_col = st.columns(3)
    if run_col.button("Run and chart", key="bd_run_button", type="primary",
                      icon=":material/bar_chart:"):
        with feedback.guard():
            built = orch.build_query(user, sandbox.id, spec=spec, run=True)
            st.session_state[RUN] = (sandbox.id, built.statements[0])
    if play_col.button("Open in Playground", key="bd_playground", icon=":material/terminal:"):
        editor.load(query)
        st.session_state[GO_PLAYGROUND] = True
        st.rerun()
    with save_col.popover("Save to dashboard", icon=":material/dashboard:"):
        boards = orch.list_dashboards(user)
        name = st.text_input("Query name", key="bd_save_name")
        board = st.selectbox("Dashboard", [b.id for b in boards], key="bd_board",
                             format_func=lambda i: next(b.name for b in boards if b.id == i))
        if st.button("Save", key="bd_save") and name.strip() and board is not None:
            with feedback.guard():
                saved = orch.save_query(user, name, query, sandbox_id=sandbox.id)
                orch.add_to_dashboard(user, board, saved.id)
                st.success(f"Saved {name!r} to the dashboard.")
    ran = st.session_state.get(RUN)
    if ran is None or ran[0] != sandbox.id:
        return
    result = ran[1]
    if result.error:
        st.error(result.error.get("message", "the query failed"))
        return
    columns = [c.name for c in result.columns]
    st.dataframe(pd.DataFrame(result.rows, columns=columns), hide_index=True, width="stretch")
    if result.result_id and len(columns) >= 2:
        numeric = [c.name for c in result.columns[1:]]
        choice = ChartChoice(x=columns[0], y=numeric[-1], agg="sum")
        data = chart_view.chart_data(user, result.result_id, choice)
        if data is not None:
            chart_view.draw(data, key="bd_chart", title=f"{numeric[-1]} by {columns[0]}")


def _from_sql(user: str, sandbox_id: str) -> None:
    with st.expander("From SQL: read a SELECT into a spec"):
        sql = st.text_area("SQL", key="bd_sql", height=100)
        if st.button("Read", key="bd_read") and sql.strip():
            with feedback.guard():
                built = session.orchestrator().build_query(user, sandbox_id, sql=sql)
                st.code(json.dumps(built.spec, indent=2), language="json")
                st.code(built.query, language="sql")


def main() -> None:
    st.title("Build")
    user = session.current_user()
    if user is None:
        return
    if st.session_state.pop(GO_PLAYGROUND, False):
        st.switch_page("app_pages/playground.py")
    sandbox = picker.pick_sandbox(user, key="bd_sandbox")
    if sandbox is None or sandbox.state not in picker.USABLE:
        return
    engine = descriptor_for(sandbox.engine)
    if not (engine.is_sql or engine.kind == "mongodb"):
        st.info(f"The builder makes SQL and MongoDB pipelines; {engine.label} sandboxes "
                "have their own command language (use the Playground).")
        return
    schema = None
    with feedback.guard():
        schema = schema_cache.schema(user, sandbox.id)
    if schema is None:
        return
    steps_col, query_col = st.columns([3, 2])
    with steps_col:
        spec = build_steps.render(schema, key=f"bd_{sandbox.id}")
    if spec is None:
        _from_sql(user, sandbox.id)
        return
    query = ""
    with query_col:
        st.markdown(f"**Generated {engine.language_label}**")
        try:
            query = session.orchestrator().build_query(user, sandbox.id, spec=spec).query
        except DBPlayError as exc:
            feedback.show_error(exc, "Change the step named above.")
            return
        st.code(query, language=engine.highlight, wrap_lines=True)
        steps = _previews(user, sandbox.id, spec)
        if steps:
            _show_steps(steps)
    _actions(user, sandbox, spec, query)
    _from_sql(user, sandbox.id)


main()
