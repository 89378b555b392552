"""Sandboxes and the work inside them, through real HTTP: bodies are what the CLI prints
with --json; bad input is 422 with the error shape; files go up and down as bytes."""

from __future__ import annotations

import csv
import io
import threading
import time

import httpx
import pytest

from engines.errors import InvalidRequest
from tests.api.conftest import error_of


def test_sandbox_routes_answer_like_the_cli(api_stack, alice: httpx.Client,
                                            alice_sandbox: str):
    shown = alice.get(f"/sandboxes/{alice_sandbox}").json()
    rc, cli = api_stack.cli("sandbox", "show", alice_sandbox, user="alice")
    assert rc == 0 and shown == cli
    assert alice_sandbox in [s["id"] for s in alice.get("/sandboxes").json()]
    connection = alice.get(f"/sandboxes/{alice_sandbox}/connection").json()
    assert set(connection) == {"id", "url", "warning"} and connection["id"] == alice_sandbox


def test_query_returns_the_cli_statements_plus_what_the_human_output_needs(
        api_stack, alice: httpx.Client, alice_sandbox: str):
    text = "SELECT 1 AS one; SELECT Name FROM Artist ORDER BY ArtistId LIMIT 2"
    response = alice.post(f"/sandboxes/{alice_sandbox}/query",
                          json={"text": text, "max_rows": 1})
    assert response.status_code == 200, response.text
    first, second = response.json()["statements"]
    assert first["columns"] == ["one"] and first["rows"] == [[1]] and first["error"] is None
    assert second["rows"] == [["AC/DC"]] and second["truncated"] is True
    assert {"types", "notice", "returns_rows"} <= set(first)
    rc, cli = api_stack.cli("query", alice_sandbox, text, "--max-rows", "1", user="alice")
    assert rc == 0
    for ours, theirs in zip(response.json()["statements"], cli["statements"]):
        extra = {"types", "notice", "returns_rows", "elapsed_ms", "result_truncated",
                 "result_note"}
        run_by_run = {"elapsed_ms", "result_id"}  # each run keeps a result of its own
        assert ours["result_id"] and theirs["result_id"] != ours["result_id"]
        assert {k: v for k, v in ours.items() if k not in extra | run_by_run} == \
            {k: v for k, v in theirs.items() if k not in run_by_run}


def test_a_failing_statement_is_reported_in_its_result_not_as_an_http_error(
        alice: httpx.Client, alice_sandbox: str):
    response = alice.post(f"/sandboxes/{alice_sandbox}/query", json={"text": "SELEC 1"})
    assert response.status_code == 200
    [statement] = response.json()["statements"]
    assert statement["error"]["type"] == "QuerySyntaxError"


def test_limits_above_the_caps_are_refused_by_the_service_with_422(
        api_stack, alice: httpx.Client, alice_sandbox: str):
    cap = api_stack.settings.max_rows
    url = f"/sandboxes/{alice_sandbox}/query"
    for body in ({"text": "SELECT 1", "max_rows": cap + 1}, {"text": "SELECT 1", "max_rows": 0},
                 {"text": "SELECT 1", "timeout_s": api_stack.settings.max_query_seconds + 1}):
        error = error_of(alice.post(url, json=body), 422)
        assert error["type"] == "InvalidRequest" and "DBPLAY_MAX" in error["message"]
    # the in-process service refuses too (the CLI is not the only guard)
    with pytest.raises(InvalidRequest, match="DBPLAY_MAX_ROWS"):
        api_stack.api().run_query("alice", alice_sandbox, "SELECT 1", max_rows=cap + 1)


def test_bad_input_is_422_with_the_error_shape(alice: httpx.Client, alice_sandbox: str):
    url = f"/sandboxes/{alice_sandbox}/query"
    broken = alice.post(url, content=b'{"text": ', headers={"content-type": "application/json"})
    assert error_of(broken, 422)["type"] == "InvalidRequest"
    wrong_type = error_of(alice.post(url, json={"text": "SELECT 1", "max_rows": "many"}), 422)
    assert "max_rows" in wrong_type["message"]
    missing = error_of(alice.post(url, json={}), 422)
    assert "text" in missing["message"]
    unknown_field = error_of(alice.post("/sandboxes", json={"template": "x", "colour": 1}), 422)
    assert "colour" in unknown_field["message"]
    error_of(alice.get(f"/sandboxes/{alice_sandbox}/events", params={"wait": 3600}), 422)


def test_unknown_routes_and_methods_have_the_error_shape(alice: httpx.Client):
    assert error_of(alice.get("/nothing-here"), 404)["type"] == "NotFound"
    assert error_of(alice.put("/sandboxes"), 405)["type"] == "MethodNotAllowed"


def test_template_upload_list_and_delete(alice: httpx.Client, bob: httpx.Client):
    dump = b"CREATE TABLE pets (name TEXT); INSERT INTO pets VALUES ('rex');\n"
    error = error_of(alice.post("/templates", data={"name": "pets", "engine": "oracle"},
                                files={"file": ("pets.sql", dump)}), 422)
    assert error["type"] == "InvalidRequest" and "oracle" in error["message"]
    made = alice.post("/templates", data={"name": "pets", "engine": "sqlite",
                                          "description": "one dog"},
                      files={"file": ("pets.sql", dump)})
    assert made.status_code == 201, made.text
    assert {made.json()[k] for k in ("name", "engine", "owner")} == {"pets", "sqlite", "alice"}
    assert "pets" in [t["name"] for t in alice.get("/templates").json()]
    assert "pets" not in [t["name"] for t in bob.get("/templates").json()]
    assert error_of(alice.post("/templates", data={"name": "pets", "engine": "sqlite"},
                               files={"file": ("pets.sql", dump)}), 409)["type"] == "Conflict"
    error_of(bob.delete("/templates/pets"), 404)
    assert alice.delete("/templates/pets").json() == {"deleted": "pets"}
    assert "pets" not in [t["name"] for t in alice.get("/templates").json()]


def test_data_upload_import_then_streamed_export_download(alice: httpx.Client,
                                                          alice_sandbox: str):
    url = f"/sandboxes/{alice_sandbox}"
    created = alice.post(f"{url}/query", json={"text": "CREATE TABLE people (name TEXT, age INT)"})
    assert created.json()["statements"][0]["error"] is None
    rows = "name,age\nann,31\nbo,42\n"
    report = alice.post(f"{url}/import", data={"target": "people", "format": "csv"},
                        files={"file": ("people.csv", rows.encode())})
    assert report.status_code == 200, report.text
    assert report.json()["rows"] == 2
    with alice.stream("POST", f"{url}/export", json={"query": "SELECT * FROM people ORDER BY "
                                                     "name", "format": "csv"}) as response:
        assert response.status_code == 200
        assert response.headers["content-disposition"] == \
            f'attachment; filename="{alice_sandbox}.csv"'
        assert response.headers["content-type"].startswith("text/csv")
        data = b"".join(response.iter_bytes())
    assert list(csv.reader(io.StringIO(data.decode()))) == [["name", "age"], ["ann", "31"],
                                                           ["bo", "42"]]
    error = error_of(alice.post(f"{url}/export", json={"query": "SELECT 1", "format": "xls"}),
                     422)
    assert "xls" in error["message"]


def test_page_of_a_kept_result_explain_and_schema(alice: httpx.Client, alice_sandbox: str):
    url = f"/sandboxes/{alice_sandbox}"
    ran = alice.post(f"{url}/query", json={"text": "SELECT ArtistId FROM Artist ORDER BY 1",
                                           "max_rows": 5}).json()["statements"][0]
    assert ran["rows"] == [[1], [2], [3], [4], [5]] and ran["truncated"] is True
    page = alice.get(f"/results/{ran['result_id']}/page",
                     params={"offset": 10, "limit": 3}).json()
    assert page["rows"] == [[11], [12], [13]] and page["total_rows"] == 275
    assert page["truncated"] is False and page["offset"] == 10
    suggestion = alice.get(f"/results/{ran['result_id']}/chart-suggestion").json()
    assert set(suggestion) == {"chart"}
    plan = alice.post(f"{url}/explain", json={"text": "SELECT * FROM Artist"}).json()
    assert plan["plan"] or plan.get("raw") is not None
    tables = [t["name"] for t in alice.get(f"{url}/schema").json()["tables"]]
    assert "Artist" in tables


def test_events_long_poll_wakes_on_a_new_event(alice: httpx.Client, alice_sandbox: str):
    url = f"/sandboxes/{alice_sandbox}/events"
    events = alice.get(url).json()
    assert events and events[-1]["sandbox_id"] == alice_sandbox
    last = events[-1]["id"]
    assert alice.get(url, params={"after": last}).json() == []
    started = time.monotonic()
    assert alice.get(url, params={"after": last, "wait": 0.5}).json() == []
    assert time.monotonic() - started >= 0.45  # it did wait
    timer = threading.Timer(0.7, lambda: alice.post(f"/sandboxes/{alice_sandbox}/extend",
                                                    json={"ttl_s": 1700}))
    timer.start()
    started = time.monotonic()
    new = alice.get(url, params={"after": last, "wait": 20}).json()
    took = time.monotonic() - started
    timer.join()
    assert [e["reason"] for e in new] == ["extended by 1700 s"]
    assert 0.5 < took < 10


def test_jobs_are_listed_shown_and_cancelled(alice: httpx.Client, alice_sandbox: str):
    started = alice.post(f"/sandboxes/{alice_sandbox}/query-jobs",
                         json={"text": "SELECT 2 AS two"})
    assert started.status_code == 202
    job_id = started.json()["id"]
    done = alice.get(f"/jobs/{job_id}", params={"wait": 30}).json()
    assert done["state"] == "done" and done["result"][0]["rows"] == [[2]]
    assert job_id in [j["id"] for j in alice.get("/jobs", params={"sandbox_id":
                                                                   alice_sandbox}).json()]
    assert alice.post(f"/jobs/{job_id}/cancel").json()["state"] == "done"  # finished: as is


def test_snapshot_schedule_and_saved_work(alice: httpx.Client, alice_sandbox: str):
    snap = alice.post(f"/sandboxes/{alice_sandbox}/snapshots", json={"name": "artists-copy"})
    assert snap.status_code == 201, snap.text
    assert snap.json()["name"] == "artists-copy" and snap.json()["owner"] == "alice"
    schedule = alice.post(f"/sandboxes/{alice_sandbox}/schedules",
                          json={"cron": "0 3 * * *", "name": "nightly"})
    assert schedule.status_code == 201
    sid = schedule.json()["id"]
    assert sid in [s["id"] for s in alice.get("/schedules").json()]
    bad_cron = error_of(alice.post(f"/sandboxes/{alice_sandbox}/schedules",
                                   json={"cron": "every day", "name": "x"}), 422)
    assert "cron" in bad_cron["message"]
    assert alice.delete(f"/schedules/{sid}").json() == {"deleted": sid}
    saved = alice.post("/queries", json={"name": "artists", "text": "SELECT * FROM Artist",
                                         "sandbox_id": alice_sandbox})
    assert saved.status_code == 201 and saved.json()["engine"] == "sqlite"
    assert saved.json()["id"] in [q["id"] for q in alice.get("/queries").json()]
    board = alice.post("/dashboards", json={"name": "music"}).json()
    added = alice.post(f"/dashboards/{board['id']}/items",
                       json={"query_id": saved.json()["id"]}).json()
    assert [q["name"] for q in added["items"]] == ["artists"]
    assert alice.get(f"/dashboards/{board['id']}").json() == added
    assert added in alice.get("/dashboards").json()
