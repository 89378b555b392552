"""Playground: write statements for the sandbox's language, run them, read the results.

Streamlit cannot read the selection inside a text area, so "run selection" works on a
second box: paste (or type) the part to run there and press **Run selection**. Each
result tab can also re-run just its own statement. Queries run as jobs: the page polls
the job and offers **Cancel**, which stops the statement on the server.
"""

from __future__ import annotations

import datetime as dt
import time
from functools import partial
from typing import TYPE_CHECKING, Any

import streamlit as st

from engines.registry import descriptor_for
from engines.result import StatementResult
from ui import feedback, picker, result_view, session
from ui.formatting import human_ms

if TYPE_CHECKING:
    from orchestrator.store.views import JobView, SandboxView

EDITOR = "pg_editor"
SELECTION = "pg_selection"
JOB = "pg_job"
RESULTS = "pg_results"
HISTORY = "pg_history"
CHART_SOURCE = "chart_source"
HISTORY_LIMIT = 50
NO_WORKER_WARNING_MS = 5000
QUICK_WAIT_S = 2.0
POLL_S = 0.5


def results_of(job: JobView) -> list[StatementResult]:
    """The statement results a finished query job carries."""
    payload: Any = job.result
    if isinstance(payload, dict):
        payload = payload.get("results", [])
    return [StatementResult.from_dict(item) for item in payload or []]


def _submit(user: str, sandbox: SandboxView, text: str) -> None:
    if not text.strip():
        st.warning("Nothing to run: write a statement first.")
        return
    with feedback.guard():
        orch = session.orchestrator()
        # a page of rows, never more than the installation's cap (the service refuses more)
        job = orch.submit_query(user, sandbox.id, text,
                                max_rows=min(result_view.PAGE_ROWS, orch.settings.max_rows))
        st.session_state[JOB] = {"id": job.id, "sandbox": sandbox.id, "engine": sandbox.engine,
                                 "text": text, "started": time.time(), "fresh": True}


def _remember(text: str, sandbox: SandboxView, results: list[StatementResult]) -> None:
    history: list[dict[str, Any]] = st.session_state.setdefault(HISTORY, [])
    history.insert(0, {"text": text, "engine": sandbox.engine, "sandbox": sandbox.id,
                       "at": dt.datetime.now().strftime("%H:%M:%S"),
                       "ok": all(r.ok for r in results)})
    del history[HISTORY_LIMIT:]


def _finish(job: JobView, sandbox: SandboxView) -> None:
    """Turn a finished query job into result tabs (and a history entry)."""
    pending: dict[str, Any] = st.session_state.pop(JOB)
    if job.state == "cancelled":
        st.info("Query cancelled: it was stopped on the server. Nothing more will run.")
    elif job.error:
        feedback.show_error_dict(job.error)
    results = results_of(job)
    if results or job.state == "done":
        st.session_state[RESULTS] = {"sandbox": pending["sandbox"],
                                     "engine": pending.get("engine", sandbox.engine),
                                     "text": pending["text"], "results": results}
        _remember(pending["text"], sandbox, results)


@st.fragment(run_every=POLL_S)
def _running(user: str) -> None:
    """Polls the running job (this fragment re-runs on its own) and offers Cancel."""
    pending: dict[str, Any] | None = st.session_state.get(JOB)
    if pending is None:
        return
    orch = session.orchestrator()
    job = orch.get_job(user, pending["id"])
    if not job.finished and st.button("Cancel", key="pg_cancel", icon=":material/stop_circle:"):
        with st.spinner("Stopping the query on the server…"):
            job = orch.cancel_job(user, pending["id"])
    if job.finished:
        st.rerun()  # the whole page: show the results
    elapsed = (time.time() - pending["started"]) * 1000
    if job.state == "queued" and elapsed > NO_WORKER_WARNING_MS:
        st.warning(f"Waiting {human_ms(elapsed)} for a worker to pick the query up: are the "
                   "workers running? Start them with `dbplay up`.")
    else:
        st.info(f"Running… {human_ms(elapsed)} ({job.state}). Press **Cancel** to stop it.",
                icon=":material/hourglass_top:")


def _follow_job(user: str, sandbox: SandboxView) -> None:
    """Most queries finish at once: wait briefly, then poll in a fragment with Cancel."""
    pending: dict[str, Any] = st.session_state[JOB]
    orch = session.orchestrator()
    try:
        if pending.pop("fresh", False):
            job = orch.wait_job(user, pending["id"], QUICK_WAIT_S)
        else:
            job = orch.get_job(user, pending["id"])
    except Exception:
        st.session_state.pop(JOB, None)
        raise
    if job.finished:
        _finish(job, sandbox)
    else:
        _running(user)


def _load_into_editor(text: str) -> None:
    st.session_state[EDITOR] = text


def _history(user: str, sandbox: SandboxView) -> None:
    entries: list[tuple[str, str]] = []
    for item in st.session_state.get(HISTORY, []):
        if item["engine"] == sandbox.engine:
            mark = "✓" if item["ok"] else "✗"
            entries.append((f"{mark} {item['at']} · {item['text'][:60]}", item["text"]))
    with feedback.guard():
        for saved in session.orchestrator().list_queries(user):
            if saved.engine == sandbox.engine:
                entries.append((f"★ {saved.name} · {saved.text[:50]}", saved.text))
    if not entries:
        st.caption("History is empty: queries you run (and save) appear here.")
        return
    labels = [label for label, _ in entries]
    choice = st.selectbox("History and saved queries", range(len(entries)),
                          format_func=lambda i: labels[i], key="pg_history_pick")
    if choice is not None:
        st.button("Load into editor", key="pg_history_load", on_click=_load_into_editor,
                  args=(entries[choice][1],), icon=":material/history:")


def _save(user: str, sandbox: SandboxView, text: str) -> None:
    name = st.text_input("Save the editor's text as", key="pg_save_name",
                         placeholder="query name")
    if st.button("Save query", key="pg_save", icon=":material/bookmark_add:"):
        if not name.strip() or not text.strip():
            st.warning("Give the query a name and write something to save.")
            return
        with feedback.guard():
            session.orchestrator().save_query(user, name.strip(), text, sandbox_id=sandbox.id,
                                              engine=sandbox.engine)
            st.toast(f"Saved query “{name.strip()}”.")


def _chart(sandbox_id: str, engine: str, index: int, result_id: str | None) -> None:
    st.session_state[CHART_SOURCE] = {"sandbox": sandbox_id, "engine": engine, "index": index,
                                      "result_id": result_id}
    st.session_state["pg_go_chart"] = True  # st.switch_page does not work inside callbacks


def _rerun_statement(statement: str) -> None:
    st.session_state[SELECTION] = statement
    st.session_state["pg_run_selection_now"] = True


def _results(user: str) -> None:
    data: dict[str, Any] | None = st.session_state.get(RESULTS)
    if not data:
        return
    results: list[StatementResult] = data["results"]
    if not results:
        st.info("The script had no statements to run.")
        return
    failed = sum(not r.ok for r in results)
    st.caption(f"{len(results)} statement(s) run, {failed} failed.")
    if failed and not results[-1].ok:
        st.warning(f"Stopped at statement {len(results)}: it failed, so any statements after "
                   "it in the script were not run. Fix it and run the script again (or run "
                   "the rest with **Run selection**).", icon=":material/block:")
    labels = []
    for i, result in enumerate(results, start=1):
        first_line = result.statement.strip().splitlines()[0] if result.statement.strip() else ""
        short = first_line if len(first_line) <= 30 else first_line[:29] + "…"
        labels.append(f"{'✓' if result.ok else '✗'} {i}: {short}")
    for i, tab in enumerate(st.tabs(labels)):
        with tab:
            result_view.render(
                user, data["sandbox"], results[i], key=f"pg_r{i}",
                on_chart=partial(_chart, data["sandbox"], data["engine"], i,
                                 results[i].result_id),
                on_rerun=partial(_rerun_statement, results[i].statement),
                script=data.get("text"),
            )


def main() -> None:
    user = session.require_user()
    if st.session_state.pop("pg_go_chart", False):
        st.switch_page("app_pages/charts.py")
    st.title("Playground")
    sandbox = picker.pick_sandbox(user, key="pg_sandbox")
    if sandbox is None:
        return
    engine = descriptor_for(sandbox.engine)
    editor_col, side_col = st.columns([3, 1])
    with editor_col:
        text = st.text_area(f"{engine.language_label} editor", key=EDITOR, height=220,
                            placeholder=engine.example,
                            help="Separate statements as the language does (`;` for SQL, "
                            "one call per line for Chroma). Each statement gets its own tab.")
        selection = st.text_area(
            "Run selection", key=SELECTION, height=68,
            placeholder="Paste the part of the script to run on its own",
            help="Streamlit cannot see what you select in the editor: paste the part to run "
            "here. Each result tab can also re-run its own statement.")
        run_all, run_sel = st.columns(2)
        go_all = run_all.button("Run all", key="pg_run", type="primary",
                                icon=":material/play_arrow:")
        go_sel = run_sel.button("Run selection", key="pg_run_selection",
                                icon=":material/play_circle:")
        if text.strip():
            with st.expander("Preview"):
                st.code(text, language=engine.highlight)
    if st.session_state.pop("pg_run_selection_now", False):
        go_sel = True
    if JOB not in st.session_state:
        if go_all:
            _submit(user, sandbox, text)
        elif go_sel:
            _submit(user, sandbox, selection)
    if JOB in st.session_state:
        with feedback.guard():
            _follow_job(user, sandbox)
    with side_col:  # filled last, so the history already holds the query just run
        _history(user, sandbox)
        _save(user, sandbox, text)
    _results(user)


main()
