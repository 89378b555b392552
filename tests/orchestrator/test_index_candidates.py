"""Index candidates from statements' parse trees, the workload's grouping, and the choice
within a size budget (pure logic: no server needed)."""

from __future__ import annotations

from engines.result import IndexInfo, TableInfo
from orchestrator.tuning.candidates import candidates_for
from orchestrator.tuning.screening import Screening, choose
from orchestrator.tuning.statements import parse_statement
from orchestrator.tuning.workload import MARKER, from_history

COLUMNS = {"orders": ["id", "customer_id", "status", "created_at", "total", "note", "data",
                      "body", "shipped_at"],
           "customers": ["id", "name", "country"]}


def _table(name: str, indexes: list[IndexInfo] | None = None) -> TableInfo:
    return TableInfo(name, primary_key=["id"],
                     indexes=[IndexInfo(f"{name}_pkey", ["id"], True)] + (indexes or []))


TABLES = {"orders": _table("orders"), "customers": _table("customers")}


def ddls(*statements: str, tables: dict[str, TableInfo] = TABLES) -> list[str]:
    parsed = [parse_statement(s, COLUMNS) for s in statements]
    return [c.ddl() for c in candidates_for([p for p in parsed if p], tables)]


def test_keys_are_ordered_equality_then_range_then_sort():
    found = ddls("SELECT * FROM orders WHERE created_at > '2024-01-01' AND customer_id = 5 "
                 "ORDER BY created_at LIMIT 10")
    assert "CREATE INDEX ON orders (customer_id, created_at)" in found
    found = ddls("SELECT * FROM orders WHERE status = 'paid' ORDER BY total")
    assert "CREATE INDEX ON orders (status, total)" in found


def test_mixed_sort_directions_are_written_into_the_index():
    found = ddls("SELECT * FROM orders WHERE customer_id = 1 ORDER BY created_at DESC, total")
    assert "CREATE INDEX ON orders (customer_id, created_at DESC, total)" in found


def test_a_few_selected_columns_make_an_include_candidate():
    found = ddls("SELECT id, total FROM orders WHERE customer_id = 7")
    assert "CREATE INDEX ON orders (customer_id) INCLUDE (id, total)" in found


def test_null_tests_make_partial_indexes():
    found = ddls("SELECT count(*) FROM orders WHERE shipped_at IS NULL AND status = 'paid'")
    assert "CREATE INDEX ON orders (status) WHERE shipped_at IS NULL" in found


def test_jsonb_containment_full_text_and_contains_like_make_gin_indexes():
    found = ddls("SELECT * FROM orders WHERE data @> '{\"a\": 1}'",
                 "SELECT * FROM orders WHERE to_tsvector('english', body) @@ "
                 "to_tsquery('cat')",
                 "SELECT * FROM orders WHERE note LIKE '%needle%'")
    assert "CREATE INDEX ON orders USING gin (data jsonb_path_ops)" in found
    assert "CREATE INDEX ON orders USING gin ((to_tsvector('english', body)))" in found
    assert "CREATE INDEX ON orders USING gin (note gin_trgm_ops)" in found


def test_a_prefix_like_is_a_btree_range_not_a_trigram():
    found = ddls("SELECT * FROM orders WHERE note LIKE 'abc%'")
    assert found == ["CREATE INDEX ON orders (note)"]


def test_columns_resolve_through_aliases_and_joins():
    found = ddls("SELECT o.total FROM orders o JOIN customers c ON c.id = o.customer_id "
                 "WHERE c.country = 'FR'")
    assert "CREATE INDEX ON customers (country)" in found
    assert "CREATE INDEX ON orders (customer_id)" in found


def test_nothing_is_suggested_for_what_the_primary_key_or_an_index_serves():
    assert ddls("SELECT * FROM orders WHERE id = 5",
                "SELECT * FROM orders WHERE id = 5 AND status = 'x'",
                "SELECT * FROM orders WHERE id BETWEEN 1 AND 9") == []
    indexed = {"orders": _table("orders", [IndexInfo("by_customer",
                                                     ["customer_id", "created_at"])])}
    assert ddls("SELECT * FROM orders WHERE customer_id = 3", tables=indexed) == []
    assert ddls("SELECT * FROM orders WHERE customer_id = 3 AND created_at > now()",
                tables=indexed) == []


def test_or_predicates_and_unknown_tables_give_no_candidates():
    assert ddls("SELECT * FROM orders WHERE status = 'a' OR total > 3",
                "SELECT * FROM nowhere WHERE x = 1") == []


def test_history_groups_statements_that_differ_only_in_constants():
    history = [[{"statement": "SELECT * FROM orders WHERE customer_id = 1", "elapsed_ms": 10}],
               [{"statement": "SELECT * FROM orders WHERE customer_id = 2;", "elapsed_ms": 30},
                {"statement": "SELECT 1 FROM orders WHERE total > 3", "elapsed_ms": 5},
                {"statement": "INSERT INTO orders VALUES (1)", "elapsed_ms": 500},
                {"statement": f"{MARKER} SELECT 2 FROM orders", "elapsed_ms": 900},
                {"statement": "SELECT oid FROM pg_type WHERE oid = 1", "elapsed_ms": 900},
                {"statement": "SELECT * FROM orders WHERE x = 1", "elapsed_ms": 800,
                 "error": {"type": "QueryError", "message": "no column x"}}]]
    entries = from_history(history)
    assert [(e.calls, e.total_ms, e.mean_ms) for e in entries] == [(2, 40.0, 20.0),
                                                                   (1, 5.0, 5.0)]
    assert entries[0].to_dict()["source"] == "history"


def test_the_choice_stays_within_the_budget_and_skips_what_another_pick_covers():
    parsed = [parse_statement(s, COLUMNS) for s in (
        "SELECT * FROM orders WHERE customer_id = 1",
        "SELECT * FROM orders WHERE status = 'a'")]
    cands = candidates_for([p for p in parsed if p], TABLES)
    by_ddl = {c.ddl(): i for i, c in enumerate(cands)}
    cust, status = by_ddl["CREATE INDEX ON orders (customer_id)"], by_ddl[
        "CREATE INDEX ON orders (status)"]
    fp_cust, fp_status = parsed[0].fingerprint, parsed[1].fingerprint  # type: ignore[union-attr]
    screening = Screening(base={fp_cust: 1000.0, fp_status: 1000.0},
                          costs={(cust, fp_cust): 10.0, (status, fp_status): 20.0},
                          sizes={cust: 2_000_000, status: 3_000_000})
    weights = {fp_cust: 1.0, fp_status: 1.0}
    # the most useful per byte first
    assert choose(cands, screening, weights, budget_bytes=10**9, limit=10) == [cust, status]
    assert choose(cands, screening, weights, budget_bytes=2_500_000, limit=10) == [cust]


def test_without_hypopg_each_statement_sends_its_first_candidate_and_every_gin_to_the_proof():
    parsed = [parse_statement(s, COLUMNS) for s in (
        "SELECT id, total FROM orders WHERE customer_id = 1 AND created_at > now()",
        "SELECT * FROM orders WHERE note LIKE '%x%'")]
    cands = candidates_for([p for p in parsed if p], TABLES)
    picked = [cands[i].ddl() for i in choose(cands, None, {}, budget_bytes=0, limit=10)]
    assert picked == ["CREATE INDEX ON orders (customer_id, created_at)",
                      "CREATE INDEX ON orders USING gin (note gin_trgm_ops)"]
