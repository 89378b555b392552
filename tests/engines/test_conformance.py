"""One behaviour suite for every engine kind, each against a real server.

Each kind states the same scenario in its own language (SQL, mongosh, Chroma commands);
the assertions are shared.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ENGINE_MODES


@dataclass
class Dialect:
    setup: str  # creates "items" with 3 rows: (1, 'alpha'), (2, 'beta;gamma'), (3, 'delta')
    select_all: str  # the 3 rows ordered by n, with a column named "name"
    bad_statement: str  # fails at run time
    many_rows: str  # returns far more than 1000 rows
    slow: str | None  # runs ~10 s unless stopped
    explain: str
    nothing: str  # a read that matches no rows


DIALECTS: dict[str, Dialect] = {
    "sqlite": Dialect(
        setup="CREATE TABLE items (n INTEGER PRIMARY KEY, name TEXT);\n"
        "INSERT INTO items VALUES (1, 'alpha'), (2, 'beta;gamma'), (3, 'delta');",
        select_all="SELECT n, name FROM items ORDER BY n",
        bad_statement="SELECT * FROM no_such_table",
        many_rows="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
        "WHERE x < 3000000) SELECT x FROM c",
        slow="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
        "SELECT count(*) FROM c",
        explain="SELECT * FROM items WHERE name = 'alpha'",
        nothing="SELECT n, name FROM items WHERE n > 99",
    ),
    "postgres": Dialect(
        setup="CREATE TABLE items (n integer PRIMARY KEY, name text);\n"
        "INSERT INTO items VALUES (1, 'alpha'), (2, 'beta;gamma'), (3, 'delta');",
        select_all="SELECT n, name FROM items ORDER BY n",
        bad_statement="SELECT * FROM no_such_table",
        many_rows="SELECT g FROM generate_series(1, 3000000) AS g",
        slow="SELECT pg_sleep(10)",
        explain="SELECT * FROM items WHERE name = 'alpha'",
        nothing="SELECT n, name FROM items WHERE n > 99",
    ),
    "mongodb": Dialect(
        setup='db.items.insertMany([{n: 1, name: "alpha"}, {n: 2, name: "beta;gamma"}, '
        '{n: 3, name: "delta"}])',
        select_all="db.items.find({}, {_id: 0, n: 1, name: 1}).sort({n: 1})",
        bad_statement='db.items.aggregate([{$nosuchstage: {}}])',
        many_rows="db.many.find({})",
        slow=None,
        explain='db.items.find({name: "alpha"}).explain("executionStats")',
        nothing="db.items.find({n: {$gt: 99}})",
    ),
    "chroma": Dialect(
        setup='create_collection("items")\n'
        'items.add(ids=["1", "2", "3"], documents=["alpha", "beta;gamma", "delta"], '
        'metadatas=[{"n": 1, "name": "alpha"}, {"n": 2, "name": "beta;gamma"}, '
        '{"n": 3, "name": "delta"}])',
        select_all='items.get(ids=["1", "2", "3"])',
        bad_statement="no_such_collection.count()",
        many_rows="many.get()",
        slow=None,
        explain='items.query(query_texts=["alpha"], n_results=1)',
        nothing='items.get(where={"n": {"$gt": 99}})',
    ),
}


def seeded(engine_for, kind: str, **options):
    engine = engine_for(kind, **options)
    results = engine.execute(dialect(kind).setup)
    assert all(r.error is None for r in results), results
    return engine


def names_of(result) -> list[str]:
    col = [c.name for c in result.columns].index("name")
    return [row[col] for row in result.rows]


@pytest.fixture(params=ENGINE_MODES)
def kind(request) -> str:
    return str(request.param)


def dialect(kind: str) -> Dialect:
    return DIALECTS[kind.split("-")[0]]


def test_script_returns_one_result_per_statement(engine_for, kind):
    engine = seeded(engine_for, kind)
    results = engine.execute(dialect(kind).select_all + "\n;\n" + dialect(kind).select_all
                             if kind in ("sqlite", "postgres")
                             else dialect(kind).select_all + "\n" + dialect(kind).select_all)
    assert len(results) == 2
    for result in results:
        assert result.error is None
        assert sorted(names_of(result)) == ["alpha", "beta;gamma", "delta"]
        assert result.truncated is False
        assert result.elapsed_ms >= 0


def test_failing_statement_stops_script_and_keeps_earlier_results(engine_for, kind):
    d = dialect(kind)
    engine = seeded(engine_for, kind)
    sep = ";\n" if kind in ("sqlite", "postgres") else "\n"
    script = sep.join([d.select_all, d.select_all, d.bad_statement, d.select_all, d.select_all])
    results = engine.execute(script)
    assert len(results) == 3
    assert [r.error is None for r in results] == [True, True, False]
    assert results[2].error["type"]
    assert results[2].error["message"]
    assert results[2].line == 3


def test_read_matching_nothing_reports_zero_rows(engine_for, kind):
    engine = seeded(engine_for, kind)
    [result] = engine.execute(dialect(kind).nothing)
    assert result.error is None
    assert result.rows == []
    assert result.rowcount == 0
    assert result.truncated is False


def test_empty_script_gives_no_results(engine_for, kind):
    engine = engine_for(kind)
    assert engine.execute("") == []
    assert engine.execute("   \n  ") == []


def test_row_cap_truncates_and_says_so(engine_for, kind):
    engine = seeded(engine_for, kind)
    if kind == "mongodb":
        engine.execute("db.many.insertMany([" + ",".join(f"{{i: {i}}}" for i in range(1500)) + "])")
    if kind.startswith("chroma"):
        ids = json.dumps([str(i) for i in range(1200)])
        embeddings = json.dumps([[float(i), 1.0, 0.0] for i in range(1200)])
        engine.execute(f"create_collection(\"many\")\nmany.add(ids={ids}, embeddings={embeddings})")
    started = time.perf_counter()
    [result] = engine.execute(dialect(kind).many_rows, max_rows=1000)
    assert result.error is None, result.error
    assert len(result.rows) == 1000
    assert result.truncated is True
    assert time.perf_counter() - started < 30


@pytest.mark.parametrize("kind", [k for k in ENGINE_MODES if dialect(k).slow])
def test_runaway_statement_stops_at_its_timeout(engine_for, kind):
    engine = engine_for(kind)
    started = time.perf_counter()
    [result] = engine.execute(dialect(kind).slow, timeout_s=1)
    elapsed = time.perf_counter() - started
    assert result.error is not None and result.error["type"] == "QueryTimeout"
    assert elapsed < 5
    # the connection is still usable afterwards
    assert engine.execute("SELECT 1")[0].error is None


def test_dump_restores_exactly_into_an_empty_database(engine_for, kind, tmp_path: Path):
    source = seeded(engine_for, kind)
    dump = tmp_path / f"dump.{kind}"
    source.dump(dump)
    target = engine_for(kind)
    target.restore(dump)
    [before] = source.execute(dialect(kind).select_all)
    [after] = target.execute(dialect(kind).select_all)
    assert after.error is None
    assert sorted(names_of(after)) == sorted(names_of(before))
    assert {t.name for t in target.schema().tables} == {t.name for t in source.schema().tables}


def test_schema_lists_tables_with_counts(engine_for, kind):
    engine = seeded(engine_for, kind)
    table = engine.schema().table("items")
    assert table.row_count == 3
    if kind in ("sqlite", "postgres"):
        assert [c.name for c in table.columns] == ["n", "name"]
        assert table.primary_key == ["n"]


def test_explain_gives_a_plan_or_says_there_is_none(engine_for, kind):
    engine = seeded(engine_for, kind)
    explained = engine.explain(dialect(kind).explain)
    if kind.startswith("chroma"):
        assert explained.plan is None and explained.message
    else:
        assert explained.plan is not None
        assert explained.raw


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "parquet"])
def test_export_then_import_round_trips(engine_for, kind, fmt, tmp_path: Path):
    engine = seeded(engine_for, kind)
    out = tmp_path / f"items.{fmt}"
    assert engine.export(dialect(kind).select_all, fmt, out) == 3
    if kind.startswith("chroma"):
        records = [{"id": f"r{i}", "document": name, "metadata": {"name": name}}
                   for i, name in enumerate(["alpha", "beta;gamma", "delta"])]
        report = engine.import_rows("copied", records)
    else:
        report = engine.import_file("copied", out, fmt)
    assert report.rows == 3
    assert engine.schema().table("copied").row_count == 3


def test_bad_import_row_is_named_and_nothing_is_left(engine_for, kind):
    engine = seeded(engine_for, kind)
    if kind.startswith("chroma"):
        records = [{"id": "a", "document": "x"}, {"id": "b", "document": "y"}, {"document": "z"}]
    elif kind == "mongodb":
        records = [{"_id": 1, "v": 1}, {"_id": 2, "v": 2}, {"_id": 1, "v": 3}]
    else:
        engine.execute("CREATE TABLE strict_t (v integer NOT NULL)")
        records = [{"v": 1}, {"v": 2}, {"v": None}]
    from engines.errors import ImportRowError

    with pytest.raises(ImportRowError) as info:
        engine.import_rows("strict_t", records)
    assert info.value.row == 3
    tables = {t.name: t for t in engine.schema().tables}
    assert "strict_t" not in tables or tables["strict_t"].row_count == 0
