"""Charts: an Altair chart from a Playground result or a saved query.

The chart type is suggested from the column types (time → line, category + number → bar,
two numbers → scatter, vectors → 2-D PCA projection); x, y, colour and aggregate can be
changed. A chart can be saved (with its query) to a dashboard.
"""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from engines.result import StatementResult
from ui import chart_view, feedback, session
from ui.charts import AGGREGATES, MARKS, ChartSpec, suggest_chart
from ui.frames import column_kinds, typed_frame

RESULTS = "pg_results"
CHART_SOURCE = "chart_source"
DATA_CACHE = "ch_data"
NEW_DASHBOARD = "+ New dashboard"


class Source:
    """The statement to chart: where it runs and what it says."""

    def __init__(self, sandbox_id: str, engine: str, statement: str,
                 first: StatementResult | None = None, spec: dict[str, Any] | None = None,
                 name: str = "") -> None:
        self.sandbox_id, self.engine, self.statement = sandbox_id, engine, statement
        self.first, self.spec, self.name = first, spec, name

    @property
    def key(self) -> str:
        return hashlib.sha1(f"{self.sandbox_id}\0{self.statement}".encode()).hexdigest()[:10]


def _from_playground() -> Source | None:
    data: dict[str, Any] | None = st.session_state.get(RESULTS)
    usable = [i for i, r in enumerate(data["results"]) if r.ok and r.columns] if data else []
    if not data or not usable:
        st.info("No result to chart yet. Run a query in the **Playground**, then press "
                "**Chart this result** (or chart a saved query instead).")
        st.page_link("app_pages/playground.py", label="Go to the Playground",
                     icon=":material/terminal:")
        return None
    wanted = (st.session_state.get(CHART_SOURCE) or {}).get("index")
    results: list[StatementResult] = data["results"]
    index = st.selectbox(
        "Statement", usable, index=usable.index(wanted) if wanted in usable else 0,
        format_func=lambda i: f"{i + 1}: {' '.join(results[i].statement.split())[:90]}",
        key="ch_stmt",
    )
    result = results[index if index is not None else usable[0]]
    return Source(data["sandbox"], data["engine"], result.statement, first=result)


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
    return Source(query.sandbox_id, query.engine, query.text, spec=query.chart, name=query.name)


def _load(user: str, source: Source) -> StatementResult | None:
    cache: dict[str, StatementResult] = st.session_state.setdefault(DATA_CACHE, {})
    if st.button("Reload data", key="ch_reload", icon=":material/refresh:"):
        cache.pop(source.key, None)
    if source.key not in cache:
        with feedback.guard(), st.spinner("Fetching rows for the chart…"):
            cache[source.key] = chart_view.fetch_for_chart(
                user, source.sandbox_id, source.statement, source.first
            )
    result = cache.get(source.key)
    if result is not None and not result.ok:
        feedback.show_error_dict(result.error or {})
        return None
    return result


def _pick(label: str, options: list[Any], current: Any, key: str) -> Any:
    index = options.index(current) if current in options else 0
    return st.selectbox(label, options, index=index, key=key,
                        format_func=lambda o: "(none)" if o is None else str(o))


def _controls(columns: list[str], kinds: dict[str, str], spec: ChartSpec, key: str) -> ChartSpec:
    marks = [m for m in MARKS if m != "projection" or "vector" in kinds.values()]
    c1, c2, c3, c4, c5 = st.columns(5)
    with c1:
        mark = _pick("Chart type", marks, spec.mark, f"{key}_mark")
    plain = [c for c in columns if kinds[c] != "vector"]
    with c2:
        x_options = [c for c in columns if kinds[c] == "vector"] if mark == "projection" else plain
        x = _pick("X", x_options, spec.x, f"{key}_x")
    with c3:
        y = None if mark == "projection" else _pick("Y", [None, *plain], spec.y, f"{key}_y")
    with c4:
        color = _pick("Colour", [None, *[c for c in plain if kinds[c] != "other"]], spec.color,
                      f"{key}_color")
    with c5:
        aggregate = "none" if mark == "projection" else _pick(
            "Aggregate", list(AGGREGATES), spec.aggregate, f"{key}_agg")
    return ChartSpec(mark=mark, x=x, y=y, color=color, aggregate=aggregate, title=spec.title)


def _save_form(user: str, source: Source, spec: ChartSpec) -> None:
    dashboards = []
    with feedback.guard():
        dashboards = session.orchestrator().list_dashboards(user)
    with st.form("save_chart"):
        st.markdown("**Save to a dashboard**")
        name = st.text_input("Chart name", value=source.name, key="ch_name")
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
        spec.title = spec.title or name.strip()
        query = orch.save_query(user, name.strip(), source.statement, sandbox_id=source.sandbox_id,
                                engine=source.engine, chart=spec.to_dict())
        dashboard_id = (target if isinstance(target, int)
                        else orch.create_dashboard(user, new_name.strip()).id)
        orch.add_to_dashboard(user, dashboard_id, query.id)
        st.session_state["dash_selected"] = dashboard_id
        st.success(f"Saved “{name.strip()}” to the dashboard.")
        st.page_link("app_pages/dashboards.py", label="Open Dashboards",
                     icon=":material/dashboard:")


def main() -> None:
    user = session.require_user()
    st.title("Charts")
    kind = st.radio("Chart", ["A Playground result", "A saved query"], horizontal=True,
                    key="ch_source", label_visibility="collapsed")
    source = _from_playground() if kind == "A Playground result" else _from_saved(user)
    if source is None:
        return
    result = _load(user, source)
    if result is None:
        return
    frame = typed_frame(result)
    if frame.empty:
        st.info("The result has no rows to chart. Change the query and run it again.")
        return
    kinds = column_kinds(frame)
    suggested = ChartSpec.from_dict(source.spec) if source.spec else suggest_chart(frame)
    st.caption(f"{len(frame):,} rows · suggested: **{suggested.mark}** chart"
               + (" (more rows exist: the chart uses the first "
                  f"{chart_view.CHART_FETCH_ROWS:,})" if result.truncated else ""))
    spec = _controls([str(c) for c in frame.columns], kinds, suggested, f"ch_{source.key}")
    if chart_view.draw(frame, spec, key=f"ch_chart_{source.key}"):
        _save_form(user, source, spec)


main()
