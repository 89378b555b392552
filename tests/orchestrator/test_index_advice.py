"""Index advice proven on a throwaway clone, against real PostgreSQL and SQLite sandboxes of
a running stack: the suggestions are measured faster, nothing is suggested for what a key
serves, the sandbox is untouched until ``--apply``, and the workload ranks statements."""

from __future__ import annotations

from typing import Any

import pytest

from engines.errors import InvalidRequest, NotFound
from tests.servers import unavailable

SUGGESTION_KEYS = {"ddl", "statements", "before_ms", "after_ms", "verified", "size_bytes",
                   "write_cost_pct", "reason"}

PG_DATA = """
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL,
                     created_at timestamp NOT NULL, total numeric NOT NULL, note text);
INSERT INTO orders SELECT g, (g * 7919) % 5000, (ARRAY['new','paid','lost'])[1 + g % 3],
       timestamp '2024-01-01' + g * interval '1 minute', g % 1000, 'note ' || g
  FROM generate_series(1, 150000) g;
ANALYZE orders
"""
PG_WORKLOAD = [
    "SELECT * FROM orders WHERE customer_id = 42",
    "SELECT * FROM orders WHERE customer_id = 4242",
    "SELECT id, total FROM orders WHERE customer_id = 7 ORDER BY created_at DESC LIMIT 5",
    "SELECT count(*) FROM orders WHERE created_at BETWEEN '2024-02-01' AND '2024-02-01 01:00'",
    "SELECT * FROM orders WHERE id = 77",
    "SELECT * FROM orders WHERE id BETWEEN 10 AND 20",
]
SQLITE_DATA = """
CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, kind TEXT NOT NULL,
                     score INTEGER NOT NULL);
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 150000)
INSERT INTO events SELECT n, (n * 7919) % 5000, 'k' || (n % 40), n % 1000 FROM g
"""
SQLITE_WORKLOAD = [
    "SELECT * FROM events WHERE user_id = 42",
    "SELECT count(*) FROM events WHERE kind = 'k7' AND score > 990",
    "SELECT * FROM events WHERE id = 9",
]


def _run(api: Any, sid: str, script: str) -> None:
    for result in api.run_query("alice", sid, script, timeout_s=30):
        assert result.error is None, result.error


def _indexes(api: Any, sid: str) -> list[tuple[str, str]]:
    return sorted((t.name, ix.name) for t in api.schema("alice", sid).tables
                  for ix in t.indexes)


def _needs(api: Any, engine: str) -> None:
    if engine not in api.provisioner_info()["engines"]:
        unavailable(f"the local provisioner cannot start {engine} sandboxes here")


def test_postgres_sandbox_has_the_tuning_extensions_without_superuser(running_stack):
    api = running_stack.api()
    _needs(api, "postgres")
    sid = running_stack.create("empty-postgres")
    try:
        script = ("SELECT rolsuper FROM pg_roles WHERE rolname = current_user;"
                  "SELECT extname FROM pg_extension ORDER BY 1;"
                  "CREATE TABLE t (a int);"
                  "SELECT count(*) FROM hypopg_create_index('CREATE INDEX ON t (a)');"
                  "SELECT count(*) FROM hypopg_list_indexes;"
                  "SELECT count(*) >= 0 FROM pg_stat_statements")
        results = api.run_query("alice", sid, script)
        assert [r.error for r in results] == [None] * 6, [r.error for r in results]
        assert results[0].rows == [[False]]
        assert {"hypopg", "pg_stat_statements", "pg_trgm"} <= {r[0] for r in results[1].rows}
        assert results[4].rows == [[1]]  # hypothetical: only in this session
        assert api.run_query("alice", sid, "SELECT count(*) FROM hypopg_list_indexes"
                             )[0].rows == [[0]]
        # the extensions' views are the server's, not tables of the user's schema
        assert [t.name for t in api.schema("alice", sid).tables] == ["t"]
    finally:
        api.delete_sandbox("alice", sid)


def test_postgres_advice_is_proven_on_a_clone_and_applied_only_on_request(running_stack):
    api = running_stack.api()
    _needs(api, "postgres")
    sid = running_stack.create("empty-postgres")
    try:
        _run(api, sid, PG_DATA)
        for statement in PG_WORKLOAD:
            _run(api, sid, statement)
        before = _indexes(api, sid)
        rc, advice = running_stack.cli("advise", sid, timeout=600)
        assert rc == 0, advice
        assert set(advice) == {"suggestions", "workload"}
        assert _indexes(api, sid) == before  # the sandbox is untouched
        creates = [s for s in advice["suggestions"] if s["ddl"].startswith("CREATE INDEX")]
        assert all(set(s) == SUGGESTION_KEYS for s in advice["suggestions"])
        proven = [s for s in creates if s["verified"] and s["after_ms"] * 3 < s["before_ms"]]
        assert len(proven) >= 2, creates
        assert any("customer_id" in s["ddl"] for s in proven)
        assert any("created_at" in s["ddl"] for s in proven)
        served = [st for s in creates for st in s["statements"] if "WHERE id " in st]
        assert served == []  # the primary key serves these already
        assert all(s["reason"] and s["size_bytes"] for s in proven)
        assert all("filter removed" in s["reason"] for s in proven)
        statements = {" ".join(e["statement"].split()) for e in advice["workload"]}
        assert "SELECT * FROM orders WHERE customer_id = 4242" in statements or \
            "SELECT * FROM orders WHERE customer_id = 42" in statements
        first = advice["suggestions"][0]["ddl"]
        rc, applied = running_stack.cli("advise", sid, "--apply", "1")
        assert rc == 0, applied
        assert len(_indexes(api, sid)) == len(before) + 1, first
    finally:
        api.delete_sandbox("alice", sid)


def test_sqlite_advice_is_judged_by_the_query_plan_and_timed_on_a_clone(running_stack):
    api = running_stack.api()
    _needs(api, "sqlite")
    sid = running_stack.create("empty-sqlite")
    try:
        _run(api, sid, SQLITE_DATA)
        for statement in SQLITE_WORKLOAD:
            _run(api, sid, statement)
        advice = api.advise("alice", sid)
        assert _indexes(api, sid) == []
        ddls = {s["ddl"]: s for s in advice["suggestions"]}
        user = ddls.get("CREATE INDEX events_user_id_idx ON events (user_id)")
        assert user is not None, list(ddls)
        assert user["verified"] and user["after_ms"] * 2 < user["before_ms"], user
        assert "SEARCH events USING INDEX" in user["reason"]
        assert not [s for s in advice["suggestions"] for st in s["statements"]
                    if "WHERE id =" in st]
        assert api.last_advice("alice", sid) == advice
    finally:
        api.delete_sandbox("alice", sid)


def test_workload_ranks_statements_and_advice_refuses_what_it_cannot_do(running_stack):
    api = running_stack.api()
    _needs(api, "sqlite")
    sid = running_stack.create("empty-sqlite")
    try:
        _run(api, sid, "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2)")
        for _ in range(3):
            _run(api, sid, "SELECT * FROM t WHERE a = 1")
        rc, workload = running_stack.cli("workload", sid)
        assert rc == 0, workload
        assert [(w["statement"], w["calls"], w["source"]) for w in workload] == [
            ("SELECT * FROM t WHERE a = 1", 3, "history")]
        with pytest.raises(NotFound):
            api.advise("bob", sid)
        with pytest.raises(InvalidRequest, match="no suggestion 9"):
            api.advise("alice", sid, apply=9)
    finally:
        api.delete_sandbox("alice", sid)
