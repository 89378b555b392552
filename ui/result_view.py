"""One statement's result inside its Playground tab.

Shows the rows (the first page; more on demand, read from the stored result through
``page_result``), "N of TOTAL rows", a notice when the store's cap cut the result, errors
with their position, the plan (Explain), and downloads written from the stored result
(``export_result``). Nothing here runs the statement again. Panels remember which stored
result they belong to, so one from an earlier run never shows under a later one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from engines.errors import DBPlayError
from engines.result import ExplainResult, StatementResult
from ui import feedback, plan_view, session
from ui.formatting import human_ms
from ui.frames import display_frame

PAGE_ROWS = 200
#: how long the first render of a result waits for its stored row count
COUNT_WAIT_S = 1.5
COUNT_WAITED = "results_counted"
EXPORT_FORMATS = ("csv", "json", "jsonl", "parquet")
MIME = {"csv": "text/csv", "json": "application/json", "jsonl": "application/x-ndjson",
        "parquet": "application/vnd.apache.parquet"}


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


def stored_total(user: str, result: StatementResult) -> int | None:
    """The stored result's row count. The statement's process finishes storing a result
    just after its first page is back: the first time, wait a moment for the count; later
    renders ask once each (None while it is still being stored, or once it is gone:
    loading more then says so)."""
    if result.total_rows is None and result.result_id:
        waited: set[str] = st.session_state.setdefault(COUNT_WAITED, set())
        deadline = time.monotonic() + (0 if result.result_id in waited else COUNT_WAIT_S)
        waited.add(result.result_id)
        while True:
            try:
                info = session.orchestrator().result_info(user, result.result_id)
            except DBPlayError:  # removed (TTL, quota, its sandbox deleted)
                return None
            if info.complete or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        if info.complete:
            result.total_rows, result.result_truncated = info.total_rows, info.truncated
            result.result_note = result.result_note or info.note
    if result.total_rows is None and result.result_id and not result.truncated:
        return len(result.rows)
    return result.total_rows


def cap_note(result: StatementResult) -> str:
    """Why the stored result stops short of the whole result, in words."""
    kept = f"{result.total_rows:,} rows" if result.total_rows is not None else "rows"
    note = (result.result_note or f"the result is bigger than the result store keeps: only "
            f"its first {kept} are stored").rstrip(".")
    return f"{note[:1].upper()}{note[1:]}. Pages, charts and downloads cover those rows."


def _more(result: StatementResult) -> bool:
    """Rows exist past those shown."""
    if result.total_rows is not None:
        return len(result.rows) < result.total_rows
    return result.truncated


def _load_more(user: str, result: StatementResult) -> None:
    """The next page, read from the stored result (the statement does not run again)."""
    assert result.result_id is not None
    page = session.orchestrator().page_result(user, result.result_id, offset=len(result.rows),
                                              limit=PAGE_ROWS)
    result.rows.extend(page["rows"])
    if page.get("total_rows") is not None:
        result.total_rows = page["total_rows"]
    result.truncated = _more(result) if result.total_rows is not None \
        else len(page["rows"]) == PAGE_ROWS


def _owner(result: StatementResult) -> str:
    """What a panel belongs to: the stored result (or, unstored, the statement)."""
    return result.result_id or f"statement:{result.statement}"


def _explain(user: str, sandbox_id: str, result: StatementResult, key: str,
             clicked: bool) -> None:
    if clicked:
        with feedback.guard(), st.spinner("Asking the database for its plan…"):
            plan = session.orchestrator().explain(user, sandbox_id, result.statement)
            st.session_state[f"{key}_plan"] = {"of": _owner(result), "plan": plan.to_dict()}
            plan_view.remember(sandbox_id, plan)
    data: dict[str, Any] | None = st.session_state.get(f"{key}_plan")
    if not data or data.get("of") != _owner(result):
        return
    plan = ExplainResult.from_dict(data["plan"])
    st.markdown("**Query plan**")
    plan_view.show(sandbox_id, plan, key)


def _export(user: str, result: StatementResult, key: str) -> None:
    """A download of the whole stored result, written by the server from the store."""
    assert result.result_id is not None
    left, right = st.columns([1, 2])
    fmt = left.selectbox("Download as", EXPORT_FORMATS, key=f"{key}_fmt",
                         format_func=str.upper, label_visibility="collapsed")
    ready: dict[str, Any] | None = st.session_state.get(f"{key}_export")
    if ready and ready.get("of") != result.result_id:
        ready = None  # a download of an earlier run's result
    if right.button("Prepare download", key=f"{key}_prepare", icon=":material/download:"):
        try:
            with st.spinner("Writing the stored result for download…"):
                path = session.orchestrator().export_result(user, result.result_id, fmt)
            ready = {"of": result.result_id, "fmt": fmt, "name": path.name,
                     "data": path.read_bytes()}
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
    total = stored_total(user, result) if result.result_id else None
    count, elapsed, cols = st.columns(3)
    if result.columns or nothing:
        label = f"{shown:,}+" if result.truncated else f"{shown:,}"
        count.metric("Rows", label if total is None or total == shown
                     else f"{shown:,} of {total:,}")
    else:
        count.metric("Rows affected", "?" if result.rowcount is None else f"{result.rowcount:,}")
    elapsed.metric("Time", human_ms(result.elapsed_ms))
    cols.metric("Columns", len(result.columns))
    if result.notice:
        st.info(result.notice)
    if result.result_truncated:
        st.warning(cap_note(result), icon=":material/content_cut:")
    if _more(result):
        of = f" of {total:,}" if total is not None else ""
        st.caption(f"Showing the first {shown:,}{of} rows: load more below (read from the "
                   "stored result), or download the whole result.")
    if nothing:
        st.info("No rows matched: the statement returned or changed nothing.")
    if result.columns:  # even with no rows: the column names tell what was asked for
        st.dataframe(display_frame(result), hide_index=True, width="stretch")
        if _more(result) and result.result_id and st.button(
                f"Load {PAGE_ROWS} more rows", key=f"{key}_more"):
            with feedback.guard():
                _load_more(user, result)
                st.rerun()
    elif not result.notice and not nothing:
        st.success("Statement executed.")
    actions = st.columns(3)
    explain = actions[0].button("Explain", key=f"{key}_explain", icon=":material/account_tree:")
    if on_chart and result.columns and result.result_id:
        actions[1].button("Chart this result", key=f"{key}_chart", on_click=on_chart,
                          icon=":material/bar_chart:")
    if on_rerun:
        actions[2].button("Run this statement again", key=f"{key}_rerun", on_click=on_rerun,
                          icon=":material/replay:")
    _explain(user, sandbox_id, result, key, explain)
    if result.columns and result.result_id:
        _export(user, result, key)
