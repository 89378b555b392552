"""Server-side paging of one statement (``fetch_page``), on real workers and sandboxes."""

from __future__ import annotations

import time

import pytest

from engines.errors import EngineError, InvalidRequest

ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"
TRACKS = {
    "sqlite": ("chinook-sqlite", "SELECT TrackId, Name FROM Track ORDER BY TrackId"),
    "postgres": ("chinook", "SELECT track_id, name FROM track ORDER BY track_id"),
}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def sandbox(request, running_stack):
    kind = request.param
    api = running_stack.api()
    if kind not in api.provisioner_info()["engines"]:
        from tests.servers import unavailable

        unavailable(f"the local provisioner cannot start {kind} here")
    sb = api.create_sandbox("alice", TRACKS[kind][0])
    yield kind, api, sb.id
    api.delete_sandbox("alice", sb.id)


def test_a_middle_page_holds_exactly_its_rows_and_says_more_follow(sandbox):
    kind, api, sid = sandbox
    page = api.fetch_page("alice", sid, TRACKS[kind][1], offset=100, limit=25)
    assert [c.name.lower() for c in page.columns] == (
        ["trackid", "name"] if kind == "sqlite" else ["track_id", "name"])
    assert [r[0] for r in page.rows] == list(range(101, 126))
    assert page.rowcount == 25 and page.truncated is True and page.error is None


def test_the_last_page_is_short_and_complete(sandbox):
    kind, api, sid = sandbox
    page = api.fetch_page("alice", sid, TRACKS[kind][1], offset=3500, limit=25)
    assert [r[0] for r in page.rows] == [3501, 3502, 3503]
    assert page.truncated is False
    beyond = api.fetch_page("alice", sid, TRACKS[kind][1], offset=5000, limit=25)
    assert beyond.rows == [] and beyond.truncated is False


def test_a_page_of_an_endless_statement_comes_back_at_once(sandbox):
    """Only offset + limit + 1 rows are read from the server: the rest is never produced."""
    _, api, sid = sandbox
    started = time.monotonic()
    page = api.fetch_page("alice", sid, ENDLESS, offset=10_000, limit=10)
    assert time.monotonic() - started < 10
    assert [r[0] for r in page.rows] == list(range(10_001, 10_011)) and page.truncated
    # the sandbox is free again afterwards
    assert api.run_query("alice", sid, "SELECT 1")[0].rows == [[1]]


def test_limit_is_capped_by_max_rows_and_bad_requests_are_refused(sandbox, running_stack):
    kind, api, sid = sandbox
    cap = running_stack.settings.max_rows
    page = api.fetch_page("alice", sid, ENDLESS, offset=0, limit=cap + 500)
    assert len(page.rows) == cap and page.truncated
    with pytest.raises(InvalidRequest):
        api.fetch_page("alice", sid, TRACKS[kind][1], offset=-1, limit=10)
    with pytest.raises(InvalidRequest):
        api.fetch_page("alice", sid, TRACKS[kind][1], offset=0, limit=0)
    with pytest.raises(EngineError):
        api.fetch_page("alice", sid, "SELEC nothing", offset=0, limit=10)
    assert api.get_sandbox("alice", sid).state == "ready"
