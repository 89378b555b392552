"""MongoDB index advice against a MongoDB sandbox of a running stack: equality-sort-range
candidates from the workload, each built and measured on a throwaway clone (documents
examined per document returned, median times), the sandbox untouched until ``--apply``.

The nx-27017 stand-in's explain reports no documents examined (a known gap): the test
that needs ``executionStats`` is ``standin_gap`` (xfail there, it must pass on real
MongoDB, e.g. a ``mongod`` on PATH for the local provisioner).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from orchestrator.sandboxes.local.servers import find_mongo_server
from orchestrator.tuning.mongo_advisor import Measure, explain_figures, judge, profiled_text
from orchestrator.tuning.mongo_statements import candidates_for, esr_keys, read_of
from tests.servers import unavailable

SUGGESTION_KEYS = {"ddl", "statements", "before_ms", "after_ms", "verified", "size_bytes",
                   "write_cost_pct", "reason"}
DOCS = 12000
WORKLOAD = [
    "db.orders.find({cust: 42}).sort({at: -1})",
    "db.orders.find({cust: 317}).sort({at: -1})",
    'db.orders.find({status: "b", total: {$gte: 90}})',
    'db.orders.aggregate([{$match: {sku: "s17"}}, {$sort: {at: 1}}])',
    'db.orders.find({region: "r3"})',  # the existing region index serves it
    "db.orders.find({_id: 7})",  # the _id index serves it
]
ESR = {
    "db.orders.createIndex({cust: 1, at: -1})",
    "db.orders.createIndex({status: 1, total: 1})",
    "db.orders.createIndex({sku: 1, at: 1})",
}
_FELL = re.compile(r"documents examined per document returned fell from ([\d,]+) to ([\d,]+)")


def _run(api: Any, sid: str, script: str) -> list[Any]:
    results = api.run_query("alice", sid, script, timeout_s=30)
    for result in results:
        assert result.error is None, result.error
    return list(results)


def _indexes(api: Any, sid: str) -> list[tuple[str, str]]:
    return sorted((t.name, ix.name) for t in api.schema("alice", sid).tables
                  for ix in t.indexes)


def _standin() -> bool:
    server = find_mongo_server()
    return server is None or server.name != "mongod"


@pytest.mark.parametrize(("statement", "keys"), [
    ("db.o.find({c: 1, at: {$gte: 5}}).sort({t: -1}).limit(5)", [("c", 1), ("t", -1), ("at", 1)]),
    ('db.o.aggregate([{$match: {s: "a", n: {$lt: 3}}}, {$sort: {at: -1}}])',
     [("s", 1), ("at", -1), ("n", 1)]),
    ('db.o.find({$and: [{s: {$in: ["a", "b"]}}, {n: {$ne: 2}}], c: {$eq: 4}})',
     [("s", 1), ("c", 1), ("n", 1)]),
    ('db.getCollection("o").countDocuments({c: 1, s: {$exists: true}})', [("c", 1), ("s", 1)]),
])
def test_candidates_put_equality_then_sort_with_direction_then_range(statement, keys) -> None:
    read = read_of(statement)
    assert read is not None and read.collection == "o"
    assert esr_keys(read) == keys


def test_no_candidate_for_what_id_or_an_existing_index_prefix_serves() -> None:
    reads = [read_of(t) for t in ("db.o.find({_id: 4})", "db.o.find({a: 1}).sort({b: 1})",
                                  "db.o.find({a: 2}).sort({b: -1})", "db.o.find({c: 2})",
                                  "db.o.insertOne({c: 1})")]
    assert reads[-1] is None  # a write is not advised on
    existing = {"o": [[("_id", 1)], [("a", -1), ("b", -1), ("z", 1)]]}
    found = candidates_for([r for r in reads if r], existing)
    # {a: -1, b: -1} serves a: 1, b: 1 backwards, but not a: 1, b: -1 (mixed directions)
    assert [c.ddl() for c in found] == ["db.o.createIndex({a: 1, b: -1})",
                                        "db.o.createIndex({c: 1})"]
    assert reads[1] and reads[2] and reads[1].fingerprint != reads[2].fingerprint
    assert read_of("db.o.find({c: 9})").fingerprint == reads[3].fingerprint  # type: ignore


def test_a_tenfold_fall_in_documents_examined_is_proof_and_said_in_words() -> None:
    read = read_of("db.o.find({c: 1})")
    assert read is not None
    cand = candidates_for([read], {})[0]
    s = judge(cand, ["db.o.find({c: 1})"], [Measure(3.0, 2548.0, 0.0)],
              [Measure(2.9, 1.0, 1.0)], 4096, 10.0, 11.0)
    assert s is not None and s.verified and s.size_bytes == 4096
    assert "documents examined per document returned fell from 2,548 to 1" in s.reason
    assert s.write_cost_pct == pytest.approx(10.0)
    slower = judge(cand, ["db.o.find({c: 1})"], [Measure(3.0, None)], [Measure(9.0, None)],
                   None, None, None)
    assert slower is not None and not slower.verified and "ran slower" in slower.reason


def test_figures_come_from_the_winning_plan_of_find_and_aggregate_explains() -> None:
    """The documented shapes of MongoDB 7's ``explain("executionStats")`` (the stand-in
    cannot produce them): a find, and an aggregate whose ``$cursor`` holds the stats."""
    winning = {"stage": "FETCH", "inputStage": {"stage": "IXSCAN", "indexName": "dbplay_advice_0",
                                                "keyPattern": {"c": 1}}}
    planner = {"namespace": "shop.o", "winningPlan": winning,
               "rejectedPlans": [{"stage": "IXSCAN", "indexName": "c_1_z_1"}]}
    find = {"queryPlanner": planner, "executionStats": {
        "nReturned": 24, "totalKeysExamined": 24, "totalDocsExamined": 24}}
    m = explain_figures(find)
    assert (m.docs_per_returned, m.keys_per_returned, m.indexes) == (1.0, 1.0,
                                                                     ("dbplay_advice_0",))
    scan = {"stages": [{"$cursor": {
        "queryPlanner": {"winningPlan": {"stage": "COLLSCAN"}, "rejectedPlans": []},
        "executionStats": {"nReturned": 12, "totalKeysExamined": 0,
                           "totalDocsExamined": 12000}}}, {"$sort": {"sortKey": {"at": 1}}}]}
    m = explain_figures(scan)
    assert (m.docs_per_returned, m.keys_per_returned, m.indexes) == (1000.0, 0.0, ())
    assert explain_figures({"executionStats": {"nReturned": 0, "totalDocsExamined": 0}}
                           ).docs_per_returned is None  # nothing examined: nothing known


def test_profiled_commands_become_statements_of_the_same_shape() -> None:
    """``system.profile`` keeps the server's command; the workload line is the mongosh
    statement a user would write, grouped with the same read from the history."""
    find = {"find": "orders", "filter": {"cust": 9, "at": {"$gte": 3}}, "sort": {"at": -1},
            "limit": 5, "$db": "x"}
    text = profiled_text(find)
    ours = read_of("db.orders.find({cust: 1, at: {$gte: 0}}).sort({at: -1}).limit(5)")
    assert text is not None and ours is not None
    assert read_of(text).fingerprint == ours.fingerprint  # type: ignore[union-attr]
    agg = profiled_text({"aggregate": "my orders", "pipeline": [{"$match": {"sku": "s1"}}]})
    assert agg == 'db.getCollection("my orders").aggregate([{"$match": {"sku": "s1"}}])'
    assert read_of(agg) is not None
    assert profiled_text({"insert": "orders"}) is None
    # the advisor's own read of the profile is not workload
    assert profiled_text({"aggregate": "system.profile", "pipeline": []}) is None


@pytest.fixture(scope="module")
def advised(running_stack: Any) -> Any:
    """A MongoDB sandbox with 12,000 orders, its workload run, and its advice."""
    api = running_stack.api()
    if "mongodb" not in api.provisioner_info()["engines"]:
        unavailable("the local provisioner cannot start MongoDB sandboxes here")
    sid = running_stack.create("empty-mongodb")
    chunk = 3000
    for start in range(0, DOCS, chunk):
        docs = ", ".join(
            f'{{_id: {i}, cust: {i * 7919 % 500}, status: "{"abc"[i % 3]}", at: {i}, '
            f'total: {i % 97}, sku: "s{i % 1000}", region: "r{i % 50}"}}'
            for i in range(start, start + chunk))
        _run(api, sid, f"db.orders.insertMany([{docs}])")
    _run(api, sid, "db.orders.createIndex({region: 1})")
    for statement in WORKLOAD:
        _run(api, sid, statement)
    before = _indexes(api, sid)
    rc, advice = running_stack.cli("advise", sid, timeout=600)
    assert rc == 0, advice
    yield api, running_stack, sid, before, advice
    api.delete_sandbox("alice", sid)


def test_mongo_advice_offers_esr_indexes_for_unserved_reads_and_leaves_the_sandbox_alone(
        advised: Any) -> None:
    api, _, sid, before, advice = advised
    assert set(advice) == {"suggestions", "workload"}
    assert _indexes(api, sid) == before  # nothing built on the sandbox itself
    assert all(set(s) == SUGGESTION_KEYS for s in advice["suggestions"])
    assert {s["ddl"] for s in advice["suggestions"]} == ESR
    served = [st for s in advice["suggestions"] for st in s["statements"]
              if "region" in st or "_id" in st]
    assert served == []
    for s in advice["suggestions"]:
        assert s["before_ms"] is not None and s["after_ms"] is not None, s  # medians of 5
        assert s["statements"] and s["reason"].startswith("For ")
        assert "equality-sort-range index" in s["reason"]
    by_ddl = {s["ddl"]: s for s in advice["suggestions"]}
    cust_statements = by_ddl["db.orders.createIndex({cust: 1, at: -1})"]["statements"]
    assert len(cust_statements) == 1 and "{cust: " in cust_statements[0]  # one shape
    workload = {(w["statement"], w["calls"], w["source"]) for w in advice["workload"]}
    assert ('db.orders.find({region: "r3"})', 1, "history") in workload
    cust = [w for w in advice["workload"] if "cust:" in w["statement"]]
    assert len(cust) == 1 and cust[0]["calls"] == 2  # one shape, other constants


def test_mongo_workload_ranks_reads_by_total_time(advised: Any) -> None:
    _, stack, sid, _, advice = advised
    rc, workload = stack.cli("workload", sid)
    assert rc == 0, workload
    assert len(workload) == len(WORKLOAD) - 1  # the two cust reads are one line
    assert [w["total_ms"] for w in workload] == sorted((w["total_ms"] for w in workload),
                                                       reverse=True)
    assert {w["statement"] for w in workload} == {w["statement"] for w in advice["workload"]}
    assert all(w["source"] == "history" for w in workload)  # the stand-in has no profiler


@pytest.mark.standin_gap
def test_mongo_advice_cuts_documents_examined_per_returned_tenfold_for_three_reads(
        advised: Any, request: pytest.FixtureRequest) -> None:
    if _standin():
        request.applymarker(pytest.mark.xfail(
            reason="the nx-27017 stand-in's explain reports no documents examined",
            strict=False))
    _, _, _, _, advice = advised
    drops = []
    for s in advice["suggestions"]:
        found = _FELL.search(s["reason"])
        if s["verified"] and found:
            b, a = (float(x.replace(",", "")) for x in found.groups())
            drops.append((s["ddl"], b, a))
    proven = [d for d in drops if d[1] >= 10 * max(d[2], 1)]
    assert len(proven) >= 3, advice["suggestions"]
    assert all(s["size_bytes"] for s in advice["suggestions"] if s["verified"])


def test_mongo_apply_builds_exactly_the_chosen_index_on_the_sandbox(advised: Any) -> None:
    api, stack, sid, before, advice = advised
    first = advice["suggestions"][0]["ddl"]
    rc, applied = stack.cli("advise", sid, "--apply", "1")
    assert rc == 0, applied
    assert applied == advice
    added = set(_indexes(api, sid)) - set(before)
    expected = re.sub(r"[{}:, ]+", "_", first.split("createIndex(")[1].rstrip(")")).strip("_")
    assert len(added) == 1, added
    # MongoDB names it from its keys (cust_1_at_-1); the stand-in by its own rule
    assert _standin() or added == {("orders", expected)}, (added, expected)
    (name,) = [ix for _, ix in added]
    orders = next(t for t in api.schema("alice", sid).tables if t.name == "orders")
    columns = next(ix.columns for ix in orders.indexes if ix.name == name)
    assert list(columns) == re.findall(r"(\w+): -?1", first)
