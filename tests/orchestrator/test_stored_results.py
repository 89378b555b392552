"""Stored results on real workers and sandboxes: a statement runs once; pages, charts and
downloads read what it kept; another user's result is "not found"."""

from __future__ import annotations

import csv
import datetime as dt
import io

import httpx
import pytest

from engines.errors import NotFound
from tests.servers import unavailable

INSERT_5000 = ("INSERT INTO counted(n) SELECT g FROM generate_series(1, 5000) g "
               "RETURNING id, n")
G7 = "SELECT g % 7 AS k, g FROM generate_series(1, 1000000) g"


@pytest.fixture(scope="module")
def pg(running_stack):
    api = running_stack.api()
    if "postgres" not in api.provisioner_info()["engines"]:
        unavailable("the local provisioner cannot start postgres here")
    return running_stack, api


@pytest.fixture(scope="module")
def empty_pg(pg):
    stack, api = pg
    sid = stack.create("empty-postgres")
    yield stack, api, sid
    api.delete_sandbox("alice", sid)


def test_paging_an_insert_returning_inserts_each_row_once(empty_pg):
    _stack, api, sid = empty_pg
    api.run_query("alice", sid, "CREATE TABLE counted(id serial PRIMARY KEY, n int)")
    first = api.run_query("alice", sid, INSERT_5000)[-1]
    assert first.error is None and first.result_id and len(first.rows) == 1000
    seen = [r[1] for r in first.rows]
    offset = len(seen)
    while True:
        page = api.page_result("alice", first.result_id, offset, 1500)
        if not page["rows"]:
            break
        seen += [r[1] for r in page["rows"]]
        offset += len(page["rows"])
    assert page["total_rows"] == 5000 and page["truncated"] is False
    assert seen == list(range(1, 5001))
    count = api.run_query("alice", sid, "SELECT count(*) FROM counted")[0].rows
    assert count == [[5000]]


def test_query_json_gives_result_id_and_total_rows_and_page_reads_it(empty_pg):
    stack, _, sid = empty_pg
    rc, out = stack.cli("query", sid, "SELECT 1 AS a; SELECT g FROM generate_series(1, 3) g")
    assert rc == 0, out
    first, second = out["statements"]
    assert first["result_id"] and first["total_rows"] == 1
    assert second["result_id"] != first["result_id"] and second["total_rows"] == 3
    rc, page = stack.cli("page", second["result_id"], "--offset", "1", "--limit", "5")
    assert rc == 0, page
    assert page == {"columns": [{"name": "g", "type": "integer"}], "rows": [[2], [3]],
                    "offset": 1, "total_rows": 3, "truncated": False}


def test_another_user_cannot_page_chart_or_download_my_result(empty_pg):
    stack, api, sid = empty_pg
    mine = api.run_query("alice", sid, "SELECT 'secret' AS s")[0].result_id
    assert mine
    for call in (lambda: api.page_result("bob", mine, 0, 10),
                 lambda: api.chart_result("bob", mine, x="s"),
                 lambda: api.export_result("bob", mine, "csv"),
                 lambda: api.result_info("bob", mine)):
        with pytest.raises(NotFound, match="no result"):
            call()
    rc, out = stack.cli("page", mine, user="bob")
    assert rc != 0 and "no result" in str(out)
    headers = {"Authorization": f"Bearer {stack.token('bob')}"}
    base = f"{stack.api_url}/api/v1/results/{mine}"
    assert httpx.get(f"{base}/page", headers=headers).status_code == 404
    assert httpx.post(f"{base}/chart", json={"x": "s"}, headers=headers).status_code == 404
    missing = httpx.get(f"{stack.api_url}/api/v1/results/0123456789abcdef0123-0/page",
                        headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == \
        httpx.get(f"{base}/page", headers=headers).json()["error"]["message"].replace(
            mine, "0123456789abcdef0123-0")


def test_chart_sums_over_a_million_rows_are_exact(empty_pg):
    stack, api, sid = empty_pg
    result = api.run_query("alice", sid, G7)[0]
    assert result.result_id and result.truncated
    rc, chart = stack.cli("chart", result.result_id, "--x", "k", "--y", "g", "--agg", "sum")
    assert rc == 0, chart
    expected = {k: sum(range(k or 7, 1_000_001, 7)) for k in range(7)}
    assert {row[0]: row[1] for row in chart["rows"]} == expected
    assert chart["rows_used"] == 1_000_000
    assert set(chart) == {"rows", "spec", "rows_used"}


def test_a_download_comes_from_the_stored_result(empty_pg):
    _stack, api, sid = empty_pg
    api.run_query("alice", sid, "CREATE TABLE once(n int)")
    result = api.run_query("alice", sid, "INSERT INTO once SELECT g FROM generate_series(1, 3) g "
                                         "RETURNING n")[0]
    path = api.export_result("alice", result.result_id, "csv")
    assert list(csv.reader(io.StringIO(path.read_text()))) == [["n"], ["1"], ["2"], ["3"]]
    assert api.run_query("alice", sid, "SELECT count(*) FROM once")[0].rows == [[3]]


def test_month_bins_of_pagila_rentals_have_the_right_counts(pg):
    stack, api = pg
    sid = stack.create("pagila")
    try:
        result = api.run_query("alice", sid, "SELECT rental_id, rental_date FROM rental")[0]
        expected = api.run_query(
            "alice", sid, "SELECT date_trunc('month', rental_date)::date, count(*) FROM rental "
                          "GROUP BY 1 ORDER BY 1")[0].rows
        chart = api.chart_result("alice", result.result_id, x="rental_date", bin="month")
        got = {row[0][:10]: row[1] for row in chart["rows"] if row[1] is not None}
        assert got == {day: n for day, n in expected}
        assert chart["rows_used"] == sum(n for _, n in expected)
    finally:
        api.delete_sandbox("alice", sid)


def test_results_go_with_their_sandbox(pg):
    stack, api = pg
    sid = stack.create("empty-postgres")
    rid = api.run_query("alice", sid, "SELECT 1 AS one")[0].result_id
    path = api.results.path("alice", rid)
    assert path.exists() and api.page_result("alice", rid)["rows"] == [[1]]
    api.delete_sandbox("alice", sid)
    with pytest.raises(NotFound):
        api.page_result("alice", rid)
    assert not path.exists()


def test_oldest_results_go_first_over_the_quota_and_at_their_ttl(stack_factory):
    stack = stack_factory(DBPLAY_RESULT_QUOTA_MB="1")
    api = stack.api()
    if "postgres" not in api.provisioner_info()["engines"]:
        unavailable("the local provisioner cannot start postgres here")
    sid = stack.create("empty-postgres")
    big = "SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 6000) g"
    ids = [api.run_query("alice", sid, big)[0].result_id for _ in range(3)]
    for rid in ids:
        api.results.wait("alice", rid)
    api.results.enforce_quota("alice")
    with pytest.raises(NotFound):
        api.page_result("alice", ids[0])
    assert api.page_result("alice", ids[-1], 0, 1)["total_rows"] == 6000
    assert api.results.sweep(dt.datetime.now(dt.UTC).replace(tzinfo=None)
                             + dt.timedelta(days=2)) >= 1
    with pytest.raises(NotFound):
        api.page_result("alice", ids[-1])
