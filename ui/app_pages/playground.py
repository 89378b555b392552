"""Playground: write statements for the sandbox's language, run them, read the results.

The editor (``ui/editor.py``) highlights the engine's language and completes names from
the sandbox's schema; Ctrl/Cmd+Enter runs the selection when there is one, else the whole
script. Each result tab can re-run its own statement. Queries run as jobs: the page polls
the job and offers **Cancel**, which stops the statement on the server. Results, plans
and downloads belong to the run (job) that made them and to its sandbox: choosing
another sandbox or running again never shows an earlier run's panels.
"""

from __future__ import annotations

import re
import time
from functools import partial
from typing import TYPE_CHECKING, Any

import streamlit as st

from engines.errors import DBPlayError
from engines.registry import descriptor_for
from engines.result import SchemaInfo, StatementResult
from ui import editor, feedback, history, links, picker, result_view, schema_cache, session
from ui.formatting import human_ms

if TYPE_CHECKING:
    from orchestrator.store.views import JobView, SandboxView

EDITOR = editor.TEXT
RERUN = "pg_rerun_statement"
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


def _finish(job: JobView, sandbox: SandboxView) -> None:
    """Turn a finished query job into result tabs (and a history entry)."""
    pending: dict[str, Any] = st.session_state.pop(JOB)
    if job.state == "cancelled":
        st.info("Query cancelled: it was stopped on the server. Nothing more will run.")
    elif job.error:
        feedback.show_error_dict(job.error)
    results = results_of(job)
    if schema_cache.may_change_schema(pending["text"]):
        schema_cache.forget(pending["sandbox"])  # completions offer the new names
    if results or job.state == "done":
        _forget_panels()
        st.session_state[RESULTS] = {"sandbox": pending["sandbox"], "job": job.id,
                                     "engine": pending.get("engine", sandbox.engine),
                                     "text": pending["text"], "results": results}


#: the widget and state keys of one result tab's panels: ``pg_r<i>_...``
PANEL_KEY = re.compile(r"^pg_r\d+_")


def _forget_panels() -> None:
    """Drop the previous run's panel state (plans, prepared downloads, picked formats):
    a new run starts with none of it, and it would only hold memory."""
    for key in [k for k in st.session_state if PANEL_KEY.match(str(k))]:
        del st.session_state[key]


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


def _history(user: str, sandbox: SandboxView) -> None:
    """The runs on this sandbox (kept as jobs, so they survive a reload) and the saved
    queries, searchable; one loads into the editor."""
    search = st.text_input("Search history", key="pg_history_search",
                           placeholder="words in a past query",
                           help="Your runs on this sandbox and your saved queries.")
    found: list[history.Entry] = []
    with feedback.guard():
        orch = session.orchestrator()
        found = history.entries(orch.list_jobs(user, sandbox.id, limit=HISTORY_LIMIT),
                                orch.list_queries(user), sandbox.engine,
                                descriptor_for(sandbox.engine).is_sql, search)
    if not found:
        st.caption("Nothing matches." if search.strip() else
                   "History is empty: queries you run (and save) appear here.")
        return
    choice = st.selectbox("History and saved queries", range(len(found)),
                          format_func=lambda i: found[i].label, key="pg_history_pick")
    if choice is not None:
        st.button("Load into editor", key="pg_history_load", on_click=editor.load,
                  args=(found[choice].text,), icon=":material/history:")


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
    st.session_state[RERUN] = statement


def _results(user: str, sandbox: SandboxView) -> None:
    data: dict[str, Any] | None = st.session_state.get(RESULTS)
    if not data or data.get("sandbox") != sandbox.id:
        return  # another sandbox's run: never shown under this one
    results: list[StatementResult] = data["results"]
    if not results:
        st.info("The script had no statements to run.")
        return
    failed = sum(not r.ok for r in results)
    st.caption(f"{len(results)} statement(s) run, {failed} failed.")
    if failed and not results[-1].ok:
        st.warning(f"Stopped at statement {len(results)}: it failed, so any statements after "
                   "it in the script were not run. Fix it and run the script again (or run "
                   "the rest by selecting it and pressing Ctrl+Enter).", icon=":material/block:")
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


def _load_linked_query(user: str) -> None:
    """A link's ``?query=ID``: that saved query goes into the editor (once)."""
    wanted = links.take_wanted_query()
    if wanted is None:
        return
    with feedback.guard():
        saved = {str(q.id): q for q in session.orchestrator().list_queries(user)}
        if wanted in saved:
            editor.load(saved[wanted].text)
            st.toast(f"Loaded saved query “{saved[wanted].name}”.")
        else:
            st.warning(f"No saved query {wanted} of yours: the link may be old.")


def _standin_note(user: str, sandbox: SandboxView) -> None:
    if sandbox.engine != "mongodb":
        return
    with feedback.guard():
        if session.orchestrator().connection_warning(user, sandbox.id):
            st.caption(":material/info: This MongoDB is the offline stand-in (nx-27017): it "
                       "speaks the MongoDB protocol for the commands listed in the README, "
                       "without authentication. A Docker host with the official image runs "
                       "real MongoDB.")


def _completion_schema(user: str, sandbox: SandboxView) -> SchemaInfo | None:
    if sandbox.state not in picker.USABLE:
        return None
    try:
        return schema_cache.schema(user, sandbox.id, follow_changes=False)
    except DBPlayError:
        return None  # no completions, the editor still works


def main() -> None:
    user = session.require_user()
    if st.session_state.pop("pg_go_chart", False):
        st.switch_page("app_pages/charts.py")
    st.title("Playground")
    _load_linked_query(user)
    sandbox = picker.pick_sandbox(user, key="pg_sandbox")
    if sandbox is None:
        return
    engine = descriptor_for(sandbox.engine)
    _standin_note(user, sandbox)
    editor_col, side_col = st.columns([3, 1])
    with editor_col:
        st.caption(f"**{engine.language_label}** · Ctrl/Cmd+Enter runs the selection, or "
                   "everything when nothing is selected · Ctrl+Space completes names. "
                   "Separate statements as the language does (`;` for SQL, one call per "
                   "line for Chroma); each gets its own tab.")
        request = editor.render(engine, _completion_schema(user, sandbox))
        text = str(st.session_state.get(EDITOR, ""))
        go_all = st.button("Run all", key="pg_run", type="primary",
                           icon=":material/play_arrow:")
    to_run: str | None = None
    if request is not None:
        to_run = request.text
    elif go_all:
        to_run = text
    rerun = st.session_state.pop(RERUN, None)
    if rerun:
        to_run = rerun
    if JOB in st.session_state and st.session_state[JOB].get("sandbox") != sandbox.id:
        st.session_state.pop(JOB)  # another sandbox's run: stop following it here
    if JOB not in st.session_state and to_run is not None:
        _submit(user, sandbox, to_run)
    if JOB in st.session_state:
        with feedback.guard():
            _follow_job(user, sandbox)
    with side_col:  # filled last, so the history already holds the query just run (and
        _save(user, sandbox, text)  # the query just saved)
        _history(user, sandbox)
    _results(user, sandbox)


main()
