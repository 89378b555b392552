"""Playground: one tab per statement, "N of TOTAL rows", errors with position, paging and
downloads read from the stored result (never running the statement again), explain,
cancel, history and saved queries."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from tests.orchestrator.conftest import Stack
from tests.ui.conftest import (
    APP,
    SQLITE_TEMPLATE,
    TIMEOUT,
    all_text,
    no_crash,
    texts,
    use_settings,
)
from ui.result_view import PAGE_ROWS
from ui.session import USER_KEY

SCRIPT = "SELECT * FROM Track;\nSELECT Name FROM Artist WHERE ArtistId = 1;\n\nSELEC oops;"
SLOW = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
        "SELECT count(*) FROM c;")


def type_into_editor(at, text: str) -> None:
    """What the editor component reports while the user types (AppTest renders no
    component: the page's copy of the editor text is set as the component sets it)."""
    at.session_state["pg_editor"] = text


def key(at, name: str) -> str:
    """The widget key of a result tab's panel."""
    return f"pg_{name}"


def run_script(at, text: str):
    """Run ``text`` and wait for its results (a first query on a cold worker can take
    longer than the page's quick wait; the page then polls, which AppTest does not)."""
    type_into_editor(at, text)
    at.button(key="pg_run").click().run()
    # generous: a first Chroma query starts its statement zygote and loads a model, which
    # on a busy 2-core machine can take a minute or more
    deadline = time.monotonic() + 240
    while "pg_job" in at.session_state and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
    return at


def test_without_sandboxes_it_points_to_templates(app, user):
    at = app(user, "playground")
    no_crash(at)
    assert any("Launch one from **Templates**" in i for i in texts(at, "info"))


def test_each_statement_gets_a_tab_with_rows_time_and_errors(app, user, sandbox):
    at = run_script(app(user, "playground"), SCRIPT)
    no_crash(at)
    labels = [t.label for t in at.tabs]
    assert labels[:3] == ["✓ 1: SELECT * FROM Track;", "✓ 2: SELECT Name FROM Artist WHERE…",
                          "✗ 3: SELEC oops;"]
    first, second, third = at.tabs[:3]
    assert first.metric[0].value == f"{PAGE_ROWS} of 3,503"
    assert any("Showing the first 200 of 3,503 rows" in c.value for c in first.caption)
    assert len(first.dataframe[0].value) == PAGE_ROWS
    assert second.dataframe[0].value["Name"].tolist() == ["AC/DC"]
    assert not second.warning
    error = third.error[0].value
    assert error.startswith("**QuerySyntaxError**") and "Traceback" not in error
    where = error + " ".join(c.value for c in third.caption)
    assert "line 4" in where


def test_a_failed_statement_says_the_rest_of_the_script_did_not_run(app, user, sandbox):
    at = run_script(app(user, "playground"),
                    "SELECT 1 AS a;\nSELECT * FROM no_such_table;\nSELECT 3 AS c;")
    no_crash(at)
    assert [t.label[:4] for t in at.tabs] == ["✓ 1:", "✗ 2:"]
    stopped = [w for w in texts(at, "warning") if w.startswith("Stopped at statement 2")]
    assert stopped and "were not run" in stopped[0]


def test_a_script_that_succeeds_has_no_stopped_warning(app, user, sandbox):
    at = run_script(app(user, "playground"), "SELECT 1 AS a;\nSELECT 2 AS b;")
    no_crash(at)
    assert not [w for w in texts(at, "warning") if w.startswith("Stopped at")]


def test_more_rows_are_fetched_on_demand_a_page_at_a_time(app, user, sandbox):
    at = run_script(app(user, "playground"), "SELECT * FROM Track ORDER BY TrackId")
    at.button(key=key(at, "r0_more")).click().run()
    no_crash(at)
    frame = at.tabs[0].dataframe[0].value
    assert len(frame) == 2 * PAGE_ROWS
    assert frame["TrackId"].tolist() == list(range(1, 2 * PAGE_ROWS + 1))
    assert at.tabs[0].metric[0].value == f"{2 * PAGE_ROWS} of 3,503"


INSERT_500 = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) "
              "INSERT INTO Genre (Name) SELECT 'new ' || i FROM n RETURNING GenreId, Name")


def genres(api, user, sandbox) -> int:
    (counted,) = api.run_query(user, sandbox.id, "SELECT count(*) FROM Genre")
    return int(counted.rows[0][0])


def test_paging_and_downloading_an_insert_returning_inserts_its_rows_once(
        app, user, sandbox, api):
    before = genres(api, user, sandbox)
    at = run_script(app(user, "playground"), INSERT_500)
    pages = 1
    while any(b.key == key(at, "r0_more") for b in at.button) and pages < 10:
        at.button(key=key(at, "r0_more")).click().run()
        pages += 1
    assert pages == 3  # 200 + 200 + 100 rows
    no_crash(at)
    frame = at.tabs[0].dataframe[0].value
    assert len(frame) == 500 and frame["Name"].tolist()[-1] == "new 500"
    assert at.tabs[0].metric[0].value == "500"
    at.selectbox(key=key(at, "r0_fmt")).set_value("jsonl")
    at.button(key=key(at, "r0_prepare")).click().run()
    no_crash(at)
    assert len(at.session_state[key(at, "r0_export")]["data"].decode().splitlines()) == 500
    assert genres(api, user, sandbox) == before + 500


def test_explain_shows_the_plan_tree(app, user, sandbox):
    at = run_script(app(user, "playground"), "SELECT * FROM Album JOIN Artist USING (ArtistId)")
    at.button(key=key(at, "r0_explain")).click().run()
    no_crash(at)
    assert "**Query plan**" in texts(at, "markdown")
    plan = at.tabs[0].code[0].value
    assert "SCAN" in plan.upper() or "SEARCH" in plan.upper()


def test_download_is_exported_by_the_server_as_csv(app, user, sandbox):
    at = run_script(app(user, "playground"), "SELECT ArtistId, Name FROM Artist ORDER BY 1")
    at.selectbox(key=key(at, "r0_fmt")).set_value("csv")
    at.button(key=key(at, "r0_prepare")).click().run()
    no_crash(at)
    export = at.session_state[key(at, "r0_export")]
    lines = export["data"].decode().splitlines()
    assert lines[0].replace('"', "") == "ArtistId,Name"
    assert len(lines) == 276
    assert at.download_button(key=key(at, "r0_download")).label.startswith("Download ")


def test_a_download_of_an_earlier_run_is_not_offered_under_a_later_result(app, user, sandbox):
    at = run_script(app(user, "playground"), "SELECT ArtistId, Name FROM Artist")
    at.selectbox(key=key(at, "r0_fmt")).set_value("csv")
    at.button(key=key(at, "r0_prepare")).click().run()
    assert at.download_button(key=key(at, "r0_download"))
    at = run_script(at, "SELECT Name FROM Genre")
    no_crash(at)
    assert key(at, "r0_export") not in at.session_state  # the earlier run's panels are gone
    assert not at.get("download_button")
    at.button(key=key(at, "r0_prepare")).click().run()
    lines = at.session_state[key(at, "r0_export")]["data"].decode().splitlines()
    assert lines[0].replace('"', "") == "Name" and len(lines) == 26


def test_another_sandbox_never_shows_the_results_of_a_run_on_the_first(app, user, sandbox,
                                                                        api):
    other = api.create_sandbox(user, SQLITE_TEMPLATE)
    at = app(user, "playground")
    at.selectbox(key="pg_sandbox").set_value(sandbox.id).run()
    at = run_script(at, "SELECT ArtistId, Name FROM Artist")
    at.button(key=key(at, "r0_explain")).click().run()
    assert at.tabs and "**Query plan**" in texts(at, "markdown")
    at.selectbox(key="pg_sandbox").set_value(other.id).run()
    no_crash(at)
    assert not at.tabs and not at.dataframe
    assert "**Query plan**" not in texts(at, "markdown")
    assert not [b for b in at.button if b.key.endswith("_prepare")]


def test_cancel_stops_a_running_query_on_the_server(app, user, sandbox, api):
    job = api.submit_query(user, sandbox.id, SLOW)
    api_state = lambda: api.get_job(user, job.id).state  # noqa: E731
    deadline = time.monotonic() + 30
    while api_state() == "queued" and time.monotonic() < deadline:
        time.sleep(0.1)
    pending = {"id": job.id, "sandbox": sandbox.id, "text": SLOW, "started": time.time()}
    at = app(user)
    at.session_state["pg_job"] = pending
    at.switch_page("app_pages/playground.py").run()
    assert any("Running…" in i for i in texts(at, "info"))
    at.button(key="pg_cancel").click().run(timeout=60)
    no_crash(at)
    assert "Query cancelled" in all_text(at)
    assert api.get_job(user, job.id).state == "cancelled"
    assert "pg_job" not in at.session_state


def test_history_keeps_runs_and_saved_queries_and_searches_them(app, user, sandbox, api):
    at = run_script(app(user, "playground"), "SELECT 42 AS answer")
    at = run_script(at, "SELECT 7 AS other")
    at.text_input(key="pg_save_name").input("answer")
    at.button(key="pg_save").click().run()
    no_crash(at)
    assert [q.name for q in api.list_queries(user)] == ["answer"]
    options = at.selectbox(key="pg_history_pick").options
    assert any("SELECT 42 AS answer" in o and o.startswith("✓") for o in options)
    assert any("SELECT 7 AS other" in o for o in options)
    assert any(o.startswith("★ answer") for o in options)
    at.text_input(key="pg_history_search").input("42").run()
    options = at.selectbox(key="pg_history_pick").options
    assert options and all("42" in o for o in options), options
    at.selectbox(key="pg_history_pick").set_value(0).run()
    at.button(key="pg_history_load").click().run()
    assert at.session_state["pg_editor"] == "SELECT 42 AS answer;"


def test_history_survives_a_new_browser_session(app, user, sandbox):
    run_script(app(user, "playground"), "SELECT 42 AS answer")
    at = app(user, "playground")  # a fresh session: nothing kept in memory
    options = at.selectbox(key="pg_history_pick").options
    assert any("SELECT 42 AS answer" in o for o in options)


def test_ctrl_enter_with_a_selection_runs_only_the_selection(app, user, sandbox):
    at = app(user, "playground")
    # what the editor sends on Ctrl/Cmd+Enter: the whole text and the selection
    at.session_state["pg_code_0"] = {"id": "k1", "type": "submit", "lang": "pgsql",
                                     "text": "SELECT 1 AS a; SELECT 2 AS b;",
                                     "selected": "SELECT 2 AS b;", "cursor": ""}
    at.run()
    deadline = time.monotonic() + 60
    while "pg_job" in at.session_state and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
    no_crash(at)
    assert [t.label for t in at.tabs] == ["✓ 1: SELECT 2 AS b;"]
    job = at.session_state["pg_results"]["job"]
    at.run()  # the same answer again (a rerun) does not run anything again
    assert "pg_job" not in at.session_state
    assert at.session_state["pg_results"]["job"] == job


def test_ctrl_enter_without_a_selection_runs_everything(app, user, sandbox):
    at = app(user, "playground")
    at.session_state["pg_code_0"] = {"id": "k2", "type": "submit", "lang": "pgsql",
                                     "text": "SELECT 1 AS a; SELECT 2 AS b;",
                                     "selected": "", "cursor": ""}
    at.run()
    deadline = time.monotonic() + 60
    while "pg_job" in at.session_state and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
    assert [t.label for t in at.tabs] == ["✓ 1: SELECT 1 AS a;", "✓ 2: SELECT 2 AS b;"]


def test_mongosh_documents_are_shown_as_a_table(app, user, api):
    books = api.create_sandbox(user, "books")
    at = app(user, "playground")
    assert any("**mongosh**" in c for c in texts(at, "caption"))
    # the page says when this MongoDB is the offline stand-in, exactly when it is one
    standin = api.connection_warning(user, books.id) is not None
    said = any("offline stand-in" in c for c in texts(at, "caption"))
    assert said == standin
    at = run_script(at, "db.books.find({}, {title: 1, authors: 1}).limit(5)")
    no_crash(at)
    frame = at.tabs[0].dataframe[0].value
    assert len(frame) == 5 and "title" in frame.columns
    assert at.session_state["current_sandbox"] == books.id


def test_a_select_that_matches_nothing_says_so_and_keeps_its_column_names(app, user, sandbox):
    at = run_script(app(user, "playground"), "SELECT Name FROM Artist WHERE ArtistId = -1;")
    no_crash(at)
    tab = at.tabs[0]
    assert (tab.metric[0].label, tab.metric[0].value) == ("Rows", "0")
    assert any(i.startswith("No rows matched") for i in texts(tab, "info"))
    assert tab.dataframe[0].value.columns.tolist() == ["Name"]


def test_a_result_cut_by_the_result_store_cap_says_so_and_pages_stop_there(
        tmp_path, monkeypatch):
    capped = Stack(tmp_path / "capped", DBPLAY_RESULT_MAX_ROWS="300").start()
    try:
        use_settings(monkeypatch, capped.env)
        user = "capped-user"
        capped.api().create_sandbox(user, SQLITE_TEMPLATE)
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.session_state[USER_KEY] = user
        at.run()
        at.switch_page("app_pages/playground.py").run()
        at = run_script(at, "SELECT TrackId FROM Track ORDER BY TrackId")
        no_crash(at)
        # the count shows once the rest of the rows are kept (on a busy machine that can
        # take longer than the first render waits): wait for it, then render again
        rid = at.session_state["pg_results"]["results"][0].result_id
        capped.api().results.wait(user, rid)
        at.run()
        tab = at.tabs[0]
        assert tab.metric[0].value == f"{PAGE_ROWS} of 300"
        cut = [w for w in texts(tab, "warning") if "Pages, charts and downloads cover" in w]
        assert cut, texts(tab, "warning")
        at.button(key=key(at, "r0_more")).click().run()
        frame = at.tabs[0].dataframe[0].value
        assert frame["TrackId"].tolist() == list(range(1, 301))
        assert not [b for b in at.button if b.key == key(at, "r0_more")]
    finally:
        capped.stop()


def test_a_link_opens_the_sandbox_and_the_saved_query_it_names(stack_env, user, sandbox, api):
    other = api.create_sandbox(user, SQLITE_TEMPLATE)
    saved = api.save_query(user, "answer", "SELECT 42 AS answer", sandbox_id=other.id,
                           engine=other.engine)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state[USER_KEY] = user
    at.query_params["sandbox"] = other.id
    at.query_params["query"] = str(saved.id)
    at.run()
    at.switch_page("app_pages/playground.py").run()
    no_crash(at)
    assert at.selectbox(key="pg_sandbox").value == other.id
    assert at.session_state["pg_editor"] == "SELECT 42 AS answer"
    # choosing another sandbox puts it in the URL, and the old link does not pull it back
    at.selectbox(key="pg_sandbox").set_value(sandbox.id).run()
    assert at.query_params["sandbox"] in (sandbox.id, [sandbox.id])
    at.run()
    assert at.selectbox(key="pg_sandbox").value == sandbox.id


def test_null_shows_as_null(app, user, sandbox):
    at = run_script(app(user, "playground"), "SELECT NULL AS missing, 1 AS one")
    no_crash(at)
    assert at.tabs[0].dataframe[0].value["missing"].tolist() == ["NULL"]
