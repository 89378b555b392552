"""One statement's result inside its Playground tab.

Shows the rows (first page only; more on demand through ``fetch_page``), row count, time,
a visible truncation notice, errors with their position, the plan (Explain), and
downloads produced by the server (``export``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from engines.errors import DBPlayError
from engines.result import ExplainResult, StatementResult
from ui import feedback, session
from ui.formatting import human_ms
from ui.frames import display_frame
from ui.plans import plan_tree

PAGE_ROWS = 200
EXPORT_FORMATS = ("csv", "json", "parquet")
MIME = {"csv": "text/csv", "json": "application/json", "parquet": "application/vnd.apache.parquet"}


def _error(result: StatementResult, script: str | None) -> None:
    """The error, then where it is: the script's lines up to the error with a caret under
    its column (lines count from the start of the script that was run)."""
    error = dict(result.error or {})
    feedback.show_error_dict(error)
    line = error.get("line")
    pointer = feedback.excerpt(script, int(line), error.get("column")) \
        if script is not None and line is not None else None
    if pointer is not None:
        st.code(pointer, language=None)
        with st.expander("The whole statement"):
            st.code(result.statement, language=None)
        return
    if line is None:
        st.caption(f"The statement starts at line {result.line} of the script.")
    st.code(result.statement, language=None)


def _load_more(user: str, sandbox_id: str, result: StatementResult) -> None:
    page = session.orchestrator().fetch_page(
        user, sandbox_id, result.statement, offset=len(result.rows), limit=PAGE_ROWS
    )
    if page.error:
        feedback.show_error_dict(page.error)
        return
    result.rows.extend(page.rows)
    result.truncated = page.truncated


def _explain(user: str, sandbox_id: str, statement: str, key: str, clicked: bool) -> None:
    if clicked:
        with feedback.guard(), st.spinner("Asking the database for its plan…"):
            plan = session.orchestrator().explain(user, sandbox_id, statement)
            st.session_state[f"{key}_plan"] = plan.to_dict()
    data: dict[str, Any] | None = st.session_state.get(f"{key}_plan")
    if not data:
        return
    plan = ExplainResult.from_dict(data)
    st.markdown("**Query plan**")
    if plan.plan is not None:
        st.code(plan_tree(plan.plan), language=None)
    else:
        st.info(plan.message or "This engine has no plan for this statement.")
    if plan.raw is not None:
        with st.expander("Raw plan output"):
            st.json(plan.raw)


def _export(user: str, sandbox_id: str, statement: str, key: str) -> None:
    left, right = st.columns([1, 2])
    fmt = left.selectbox("Download as", EXPORT_FORMATS, key=f"{key}_fmt",
                         format_func=str.upper, label_visibility="collapsed")
    ready: dict[str, Any] | None = st.session_state.get(f"{key}_export")
    if right.button("Prepare download", key=f"{key}_prepare", icon=":material/download:"):
        try:
            with st.spinner("Exporting the full result on the server…"):
                path = session.orchestrator().export(user, sandbox_id, statement, fmt)
            ready = {"fmt": fmt, "name": path.name, "data": path.read_bytes()}
            path.unlink(missing_ok=True)  # now held by the page: no server copy left
            st.session_state[f"{key}_export"] = ready
        except DBPlayError as exc:
            feedback.show_error(exc)
    if ready and ready["fmt"] == fmt:
        st.download_button(f"Download {ready['name']}", ready["data"], file_name=ready["name"],
                           mime=MIME[fmt], key=f"{key}_download", icon=":material/save:")


def render(user: str, sandbox_id: str, result: StatementResult, key: str,
           on_chart: Callable[[], None] | None = None,
           on_rerun: Callable[[], None] | None = None, script: str | None = None) -> None:
    """Everything about one statement; widget keys start with ``key``. ``script`` is the
    text that was run, for pointing at an error's line and column."""
    if not result.ok:
        _error(result, script)
        if on_rerun:
            st.button("Run this statement again", key=f"{key}_rerun", on_click=on_rerun)
        return
    shown = len(result.rows)
    # a read that matched nothing: columns with no rows (SQL, Chroma), or no columns and a
    # row count of 0 (MongoDB finds that yield no documents, an UPDATE that changed nothing)
    nothing = not result.rows and (bool(result.columns) or result.rowcount == 0)
    count, elapsed, cols = st.columns(3)
    if result.columns or nothing:
        label = f"{shown:,}+" if result.truncated else f"{shown:,}"
        count.metric("Rows", label)
    else:
        count.metric("Rows affected", "?" if result.rowcount is None else f"{result.rowcount:,}")
    elapsed.metric("Time", human_ms(result.elapsed_ms))
    cols.metric("Columns", len(result.columns))
    if result.notice:
        st.info(result.notice)
    if result.truncated:
        st.warning(f"Showing first {shown:,} rows — truncated. The query returned more: "
                   "load more below, or download the full result.")
    if nothing:
        st.info("No rows matched: the statement returned or changed nothing.")
    if result.columns:  # even with no rows: the column names tell what was asked for
        st.dataframe(display_frame(result), hide_index=True, width="stretch")
        if result.truncated and st.button(f"Load {PAGE_ROWS} more rows", key=f"{key}_more"):
            with feedback.guard():
                _load_more(user, sandbox_id, result)
                st.rerun()
    elif not result.notice and not nothing:
        st.success("Statement executed.")
    actions = st.columns(3)
    explain = actions[0].button("Explain", key=f"{key}_explain", icon=":material/account_tree:")
    if on_chart and result.columns:
        actions[1].button("Chart this result", key=f"{key}_chart", on_click=on_chart,
                          icon=":material/bar_chart:")
    if on_rerun:
        actions[2].button("Run this statement again", key=f"{key}_rerun", on_click=on_rerun,
                          icon=":material/replay:")
    _explain(user, sandbox_id, result.statement, key, explain)
    if result.columns:
        _export(user, sandbox_id, result.statement, key)
