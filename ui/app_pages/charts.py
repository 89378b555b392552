"""Charts: a chart of a stored result, from a Playground result or a saved query.

The server aggregates every stored row exactly (``chart_result``) and sends back the rows
and a Vega-Lite spec; the controls (x, y, aggregate, time bin, colour, chart type) start
from the server's suggestion. A saved query is run once and its stored result charted; a
statement is never run again to redraw, page or download. A chart can be saved (with its
query) to a dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from engines.result import StatementResult
from ui import chart_view, feedback, result_view, session
from ui.charts import ChartChoice

RESULTS = "pg_results"
CHART_SOURCE = "chart_source"
SAVED_RUNS = "ch_saved_runs"
NEW_DASHBOARD = "+ New dashboard"


@dataclass
class Source:
    """The stored result to chart, and the statement (and sandbox) it came from."""

    sandbox_id: str
    engine: str
    result: StatementResult
    saved: dict[str, Any] = field(default_factory=dict)  # the saved query's chart, name

    @property
    def result_id(self) -> str:
        return str(self.result.result_id)


def _from_playground() -> Source | None:
    data: dict[str, Any] | None = st.session_state.get(RESULTS)
    usable = [i for i, r in enumerate(data["results"]) if r.ok and r.columns] if data else []
    if not data or not usable:
        st.info("No result to chart yet. Run a query in the **Playground**, then press "
                "**Chart this result** (or chart a saved query instead).")
        st.page_link("app_pages/playground.py", label="Go to the Playground",
                     icon=":material/terminal:")
        return None
    results: list[StatementResult] = data["results"]
    wanted = st.session_state.get(CHART_SOURCE) or {}
    index = wanted.get("index")
    if index not in usable or results[index].result_id != wanted.get("result_id"):
        index = None  # the source of an earlier run: not this one's
    index = st.selectbox(
        "Statement", usable, index=usable.index(index) if index in usable else 0,
        format_func=lambda i: f"{i + 1}: {' '.join(results[i].statement.split())[:90]}",
        key="ch_stmt",
    )
    result = results[index if index is not None else usable[0]]
    return Source(data["sandbox"], data["engine"], result)


def _run_saved(user: str, sandbox_id: str, text: str) -> StatementResult | None:
    """Run a saved query once: its last statement that returned rows (stored)."""
    orch = session.orchestrator()
    results = orch.run_query(user, sandbox_id, text,
                             max_rows=min(result_view.PAGE_ROWS, orch.settings.max_rows))
    failed = next((r for r in results if not r.ok), None)
    if failed is not None:
        feedback.show_error_dict(failed.error or {})
        return None
    with_rows = [r for r in results if r.columns]
    if not with_rows:
        st.info("The saved query returned no rows to chart.")
        return None
    return with_rows[-1]


def _from_saved(user: str) -> Source | None:
    saved = []
    with feedback.guard():
        saved = [q for q in session.orchestrator().list_queries(user) if q.sandbox_id]
    if not saved:
        st.info("You have no saved queries yet. Save one from the **Playground** or below.")
        return None
    choice = st.selectbox("Saved query", range(len(saved)), key="ch_saved",
                          format_func=lambda i: f"{saved[i].name}: {saved[i].text[:60]}")
    query = saved[choice or 0]
    assert query.sandbox_id is not None
    runs: dict[int, dict[str, Any]] = st.session_state.setdefault(SAVED_RUNS, {})
    run = runs.get(query.id)
    again = st.button("Run it again", key="ch_rerun", icon=":material/refresh:",
                      help="Charts read the result stored when the query last ran here; "
                      "run it again to chart the data as it is now.")
    if again or run is None or run["text"] != query.text or run["sandbox"] != query.sandbox_id:
        result = None
        with feedback.guard(), st.spinner(f"Running “{query.name}” once to chart it…"):
            result = _run_saved(user, query.sandbox_id, query.text)
        if result is None:
            runs.pop(query.id, None)
            return None
        run = runs[query.id] = {"text": query.text, "sandbox": query.sandbox_id,
                                "result": result.to_dict()}
    return Source(query.sandbox_id, query.engine, StatementResult.from_dict(run["result"]),
                  saved={"chart": query.chart, "name": query.name})


def _save_form(user: str, source: Source, choice: ChartChoice) -> None:
    dashboards = []
    with feedback.guard():
        dashboards = session.orchestrator().list_dashboards(user)
    with st.form("save_chart"):
        st.markdown("**Save to a dashboard**")
        name = st.text_input("Chart name", value=source.saved.get("name", ""), key="ch_name")
        options: list[int | str] = [NEW_DASHBOARD, *[d.id for d in dashboards]]
        names = {d.id: d.name for d in dashboards}
        target = st.selectbox("Dashboard", options, index=1 if dashboards else 0,
                              format_func=lambda o: names.get(o, str(o)), key="ch_dashboard")
        new_name = st.text_input("New dashboard name (when creating one)", key="ch_new_dash")
        submitted = st.form_submit_button("Save to dashboard", icon=":material/dashboard:")
    if not submitted:
        return
    if not name.strip():
        st.error("Give the chart a name.")
        return
    if target == NEW_DASHBOARD and not new_name.strip():
        st.error("Name the new dashboard, or pick an existing one.")
        return
    with feedback.guard():
        orch = session.orchestrator()
        choice.title = choice.title or name.strip()
        query = orch.save_query(user, name.strip(), source.result.statement,
                                sandbox_id=source.sandbox_id, engine=source.engine,
                                chart=choice.to_dict())
        dashboard_id = (target if isinstance(target, int)
                        else orch.create_dashboard(user, new_name.strip()).id)
        orch.add_to_dashboard(user, dashboard_id, query.id, chart=choice.kwargs())
        st.session_state["dash_selected"] = dashboard_id
        st.success(f"Saved “{name.strip()}” to the dashboard.")
        st.page_link("app_pages/dashboards.py", label="Open Dashboards",
                     icon=":material/dashboard:")


def _about(user: str, source: Source, choice: ChartChoice) -> None:
    total = result_view.stored_total(user, source.result)
    rows = f"{total:,} rows stored" if total is not None else "Rows still being stored"
    how = ("the first rows' vectors projected to 2-D" if choice.projection
           else "aggregated on the server over every stored row")
    st.caption(f"{rows} · {how}.")
    if source.result.result_truncated:
        st.warning(result_view.cap_note(source.result), icon=":material/content_cut:")


def main() -> None:
    user = session.require_user()
    st.title("Charts")
    kind = st.radio("Chart", ["A Playground result", "A saved query"], horizontal=True,
                    key="ch_source", label_visibility="collapsed")
    source = _from_playground() if kind == "A Playground result" else _from_saved(user)
    if source is None:
        return
    if not source.result.result_id:
        st.info("This result was not stored, so it cannot be charted: run the query again "
                "in the **Playground**.")
        return
    page = chart_view.first_page(source.result)
    start = None
    if source.saved.get("chart"):
        start = ChartChoice.from_dict(source.saved["chart"])
    with feedback.guard():
        start = start or chart_view.suggestion(user, source.result_id, page)
    if start is None:
        return
    key = f"ch_{source.result_id}"  # each stored result has its own controls and chart
    choice = chart_view.controls(chart_view.fields_of(source.result), page, start, key)
    _about(user, source, choice)
    if choice.projection:
        drawn = chart_view.draw_projection(user, source.result, choice, key=f"{key}_chart")
    else:
        data = chart_view.chart_data(user, source.result_id, choice)
        if data is not None:
            chart_view.draw(data, key=f"{key}_chart")
            choice.mark = choice.mark or _mark_of(data["spec"])
        drawn = data is not None
    if drawn and not choice.projection:
        _save_form(user, source, choice)
    elif drawn:
        st.caption("Dashboards draw charts computed on the server: a projection is drawn "
                   "here only, so it cannot be saved to one.")


def _mark_of(spec: dict[str, Any]) -> str | None:
    mark = spec.get("mark")
    return str(mark.get("type")) if isinstance(mark, dict) else mark


main()
