"""Another user's sandbox, job, schedule, dashboard or saved query is a 404 exactly like
one that does not exist: same status, same body once the id is swapped."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import error_of

MISSING = "000000000000"


@pytest.fixture(scope="module")
def alices_things(alice: httpx.Client, alice_sandbox: str) -> dict[str, str]:
    job = alice.post(f"/sandboxes/{alice_sandbox}/query-jobs", json={"text": "SELECT 1"})
    schedule = alice.post(f"/sandboxes/{alice_sandbox}/schedules",
                          json={"cron": "0 4 * * *", "name": "isolated"})
    query = alice.post("/queries", json={"name": "mine", "text": "SELECT 1",
                                         "sandbox_id": alice_sandbox})
    board = alice.post("/dashboards", json={"name": "mine"})
    assert all(r.is_success for r in (job, schedule, query, board))
    # the job has ended (and released the sandbox) before the tests look at her things
    assert alice.get(f"/jobs/{job.json()['id']}", params={"wait": 60}).json()["state"] == "done"
    return {"sandbox": alice_sandbox, "job": job.json()["id"],
            "schedule": str(schedule.json()["id"]), "dashboard": str(board.json()["id"]),
            "query": str(query.json()["id"])}


def _same_as_missing(bob: httpx.Client, method: str, template: str, real: str, missing: str,
                     **kwargs) -> None:
    theirs = bob.request(method, template.format(real), **kwargs)
    absent = bob.request(method, template.format(missing), **kwargs)
    assert theirs.status_code == absent.status_code == 404, (theirs.text, absent.text)
    assert error_of(theirs, 404) == {
        key: value.replace(missing, real) if isinstance(value, str) else value
        for key, value in error_of(absent, 404).items()}


@pytest.mark.parametrize(("method", "template", "kwargs"), [
    ("GET", "/sandboxes/{}", {}),
    ("DELETE", "/sandboxes/{}", {}),
    ("POST", "/sandboxes/{}/reset", {}),
    ("POST", "/sandboxes/{}/extend", {"json": {"ttl_s": 60}}),
    ("GET", "/sandboxes/{}/connection", {}),
    ("GET", "/sandboxes/{}/events", {}),
    ("GET", "/sandboxes/{}/events?wait=0.2", {}),
    ("POST", "/sandboxes/{}/query", {"json": {"text": "SELECT 1"}}),
    ("POST", "/sandboxes/{}/explain", {"json": {"text": "SELECT 1"}}),
    ("GET", "/sandboxes/{}/schema", {}),
    ("POST", "/sandboxes/{}/export", {"json": {"query": "SELECT 1", "format": "csv"}}),
    ("POST", "/sandboxes/{}/import", {"data": {"target": "t"},
                                      "files": {"file": ("t.csv", b"a\n1\n")}}),
    ("POST", "/sandboxes/{}/snapshots", {"json": {"name": "stolen"}}),
    ("POST", "/sandboxes/{}/schedules", {"json": {"cron": "0 1 * * *", "name": "stolen"}}),
    ("GET", "/jobs?sandbox_id={}", {}),
])
def test_another_users_sandbox_is_404_like_a_missing_one(bob, alices_things, method,
                                                         template, kwargs):
    _same_as_missing(bob, method, template, alices_things["sandbox"], MISSING, **kwargs)


@pytest.mark.parametrize(("kind", "method", "template", "kwargs"), [
    ("job", "GET", "/jobs/{}", {}),
    ("job", "GET", "/jobs/{}?wait=0.2", {}),
    ("job", "POST", "/jobs/{}/cancel", {}),
    ("schedule", "DELETE", "/schedules/{}", {}),
    ("dashboard", "GET", "/dashboards/{}", {}),
])
def test_another_users_job_schedule_or_dashboard_is_404_like_a_missing_one(
        bob, alices_things, kind, method, template, kwargs):
    missing = MISSING if kind == "job" else "987654"
    _same_as_missing(bob, method, template, alices_things[kind], missing, **kwargs)


def test_another_users_saved_query_cannot_join_a_dashboard(bob, alices_things):
    board = bob.post("/dashboards", json={"name": "bobs"}).json()
    theirs = bob.post(f"/dashboards/{board['id']}/items",
                      json={"query_id": int(alices_things["query"])})
    absent = bob.post(f"/dashboards/{board['id']}/items", json={"query_id": 987654})
    assert error_of(theirs, 404)["message"].replace(alices_things["query"], "987654") == \
        error_of(absent, 404)["message"]


def test_nothing_of_alices_is_listed_to_bob_and_her_things_are_intact(alice, bob,
                                                                      alices_things):
    assert alices_things["sandbox"] not in str(bob.get("/sandboxes").json())
    assert alices_things["job"] not in str(bob.get("/jobs").json())
    assert bob.get("/schedules").json() == []
    assert "isolated" not in str(bob.get("/dashboards").json())
    mine = alice.get(f"/sandboxes/{alices_things['sandbox']}")
    assert mine.status_code == 200 and mine.json()["state"] == "ready"
    assert int(alices_things["schedule"]) in [s["id"] for s in alice.get("/schedules").json()]
