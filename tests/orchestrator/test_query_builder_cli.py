"""``dbplay build`` over the HTTP API on a running stack: a spec from SQL or from a spec
file, the query for the sandbox's engine, and with ``--run`` the rows ``dbplay query``
gives for the original SQL, in the same statement shape; SQL outside the subset (a write
among it) is refused in words; previews give rows and a count after each step."""

from __future__ import annotations

import json

import pytest

from tests.servers import unavailable

QUESTION = ("SELECT c.name AS category, count(*) AS films FROM category c "
            "JOIN film_category fc ON fc.category_id = c.category_id "
            "GROUP BY c.name HAVING count(*) > 148 ORDER BY films DESC, category")


def _sandbox(stack, template: str, engine: str) -> str:
    if engine not in stack.api().provisioner_info()["engines"]:
        unavailable(f"the local provisioner cannot start {engine} here")
    return stack.create(template)


@pytest.fixture(scope="module")
def pagila(running_stack):
    sid = _sandbox(running_stack, "pagila", "postgres")
    yield sid
    running_stack.cli("sandbox", "rm", sid)


def test_build_from_sql_runs_and_matches_dbplay_query(running_stack, pagila):
    rc, built = running_stack.cli("build", pagila, "--from-sql", QUESTION, "--run")
    assert rc == 0, built
    assert set(built) == {"spec", "query", "statements"}
    assert built["spec"]["source"] == {"table": "category", "alias": "c"}
    assert built["query"].startswith("SELECT ") and '"film_category"' in built["query"]
    rc, direct = running_stack.cli("query", pagila, QUESTION)
    assert rc == 0, direct
    (ran,) = built["statements"]
    assert set(ran) == set(direct["statements"][0])  # the `dbplay query` statement shape
    assert ran["rows"] == direct["statements"][0]["rows"] and len(ran["rows"]) >= 5
    assert ran["result_id"]  # kept like any query result: chartable, pageable


def test_build_from_a_spec_file_without_run_only_compiles(running_stack, pagila, tmp_path):
    rc, built = running_stack.cli("build", pagila, "--from-sql", QUESTION)
    assert rc == 0 and built["statements"] == []
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(built["spec"]))
    rc, again = running_stack.cli("build", pagila, "--spec", str(spec_file))
    assert rc == 0, again
    assert again["spec"] == built["spec"] and again["query"] == built["query"]


def test_a_run_without_a_limit_gets_the_default_limit(running_stack, pagila, tmp_path):
    spec_file = tmp_path / "all.json"
    spec_file.write_text(json.dumps({"source": {"table": "rental"},
                                     "columns": [{"ref": "rental_id"}]}))
    rc, built = running_stack.cli("build", pagila, "--spec", str(spec_file), "--run")
    assert rc == 0, built
    assert built["query"].endswith("LIMIT 1000")
    assert built["statements"][0]["total_rows"] in (None, 1000)
    assert "limit" not in built["spec"]


@pytest.mark.parametrize("sql, words", [
    ("DELETE FROM film", "only SELECT"),
    ("SELECT title FROM film; DROP TABLE film", "exactly one statement"),
    ("SELECT title FROM film WHERE film_id IN (SELECT film_id FROM inventory)", "subqueries"),
])
def test_sql_outside_the_subset_is_refused_and_nothing_runs(running_stack, pagila, sql, words):
    rc, answer = running_stack.cli("build", pagila, "--from-sql", sql, "--run")
    assert rc != 0
    assert answer["error"]["type"] == "InvalidRequest"
    assert words in answer["error"]["message"]
    rc, count = running_stack.cli("query", pagila, "SELECT count(*) FROM film")
    assert count["statements"][0]["rows"] == [[1000]]


def test_previews_give_rows_and_a_count_after_each_step(running_stack, pagila):
    api = running_stack.api()
    spec = api.build_query("alice", pagila, sql=QUESTION).spec
    steps = api.preview_steps("alice", pagila, spec, rows=3)
    assert [s.step for s in steps] == ["source", "joins", "group", "having", "sort"]
    assert all(s.error is None for s in steps), [s.error for s in steps]
    counts = {s.step: s.count for s in steps}
    (pairs,) = api.run_query("alice", pagila, "SELECT count(*) FROM film_category")
    assert counts["source"] == 16 and counts["group"] == 16
    assert counts["joins"] == pairs.rows[0][0]  # each pair has its category
    assert counts["having"] == counts["sort"] < 16
    assert all(len(s.rows) <= 3 for s in steps)


def test_sql_shaped_question_runs_as_a_pipeline_on_a_mongodb_sandbox(running_stack):
    sid = _sandbox(running_stack, "restaurants", "mongodb")
    try:
        sql = ("SELECT type_of_food, count(*) AS n FROM restaurants "
               "GROUP BY type_of_food ORDER BY n DESC, type_of_food LIMIT 3")
        rc, built = running_stack.cli("build", sid, "--from-sql", sql, "--run")
        assert rc == 0, built
        assert built["query"].startswith('db.getCollection("restaurants").aggregate([')
        rows = built["statements"][0]["rows"]
        rc, direct = running_stack.cli("query", sid, 'db.restaurants.aggregate(['
                                       '{$group: {_id: "$type_of_food", n: {$sum: 1}}}, '
                                       '{$sort: {n: -1, _id: 1}}, {$limit: 3}])')
        assert rc == 0, direct
        assert [r[:2] for r in rows] == [r[:2] for r in direct["statements"][0]["rows"]]
    finally:
        running_stack.cli("sandbox", "rm", sid)
