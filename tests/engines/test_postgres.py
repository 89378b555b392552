"""The PostgreSQL adapter against a real PostgreSQL server started by the test suite."""

from __future__ import annotations

import json
import threading
import time
import tracemalloc
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engines.errors import (
    DumpError,
    EngineUnavailable,
    ImportRowError,
    PermissionDenied,
    RestoreError,
)
from engines.postgres.adapter import PostgresEngine
from tests.conftest import REPO

PAGILA = REPO / "orchestrator" / "store" / "builtin_templates" / "pagila" / "pagila.sql"
CHINOOK = (REPO / "orchestrator" / "store" / "builtin_templates" / "chinook-postgres"
           / "Chinook_PostgreSql.sql")
DOTLESS_I = "\u0131"  # 2 bytes in UTF-8; Pagila has a domain named b\u0131g\u0131nt


@pytest.fixture
def pg(engine_for) -> PostgresEngine:
    return engine_for("postgres")


def rows(engine: PostgresEngine, sql: str) -> list[list[object]]:
    (result,) = engine.execute(sql)
    assert result.error is None, result.error
    return result.rows


def fingerprint(engine: PostgresEngine) -> dict[str, tuple[int | None, str]]:
    """Row count and an md5 of every row (as ordered JSON text) per table."""
    prints = {}
    for table in engine.schema().tables:
        if table.kind != "table":
            continue
        name = '"' + table.name + '"' if table.schema == "public" else table.name
        (digest,) = rows(engine, f"SELECT md5(coalesce(string_agg(j, E'\\n' ORDER BY j), '')) "
                                 f"FROM (SELECT row_to_json(t)::text AS j FROM {name} t) s")[0]
        prints[table.name] = (table.row_count, digest)
    return prints


# -- splitting ------------------------------------------------------------------

def test_dollar_quoted_bodies_are_one_statement(pg):
    script = """
CREATE FUNCTION add_one(i int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  RETURN i + 1;  -- a ; inside the body
END;
$$;
CREATE FUNCTION shout(t text) RETURNS text LANGUAGE sql AS $body$
  SELECT upper(t) || ';' || $x$;$x$;
$body$;
SELECT add_one(41), shout('hi');
"""
    results = pg.execute(script)
    assert [r.error for r in results] == [None, None, None]
    assert results[2].rows == [[42, "HI;;"]]
    assert results[2].line == 10


def test_semicolons_in_strings_and_comments_do_not_split(pg):
    script = ("SELECT 'a;b' AS s; -- trailing; comment\n"
              "/* block; comment\n   ; still comment */ SELECT \"semi;colon\" FROM "
              "(SELECT 1 AS \"semi;colon\") t;")
    results = pg.execute(script)
    assert [r.rows for r in results] == [[["a;b"]], [[1]]]
    assert [r.line for r in results] == [1, 3]


def test_escape_strings_keep_escaped_quotes_and_semicolons(pg):
    results = pg.execute(r"SELECT E'it\'s; fine\n'; SELECT 2")
    assert [r.rows for r in results] == [[["it's; fine\n"]], [[2]]]


def test_statement_lines_count_characters_not_utf8_bytes(pg):
    domain = f"b{DOTLESS_I}g{DOTLESS_I}nt"
    script = (f'CREATE DOMAIN "{domain}" AS bigint; SELECT \'{DOTLESS_I * 4}\';\n'
              f"SELECT '{DOTLESS_I}';\n\n  SELECT 1::\"{domain}\"")
    statements = pg.split(script)
    assert [(s.line, s.column) for s in statements] == [(1, 1), (1, 35), (2, 1), (4, 3)]
    assert statements[1].text == f"SELECT '{DOTLESS_I * 4}'"
    assert statements[3].text == f'SELECT 1::"{domain}"'
    assert [r.rows for r in pg.execute(script)][-1] == [[1]]


def test_empty_and_comment_only_scripts_run_nothing(pg):
    assert pg.execute("") == []
    assert pg.execute("  -- nothing here;\n/* nor; here */\n") == []


def test_split_syntax_error_has_script_line_and_column(pg):
    *ran, result = pg.execute("SELECT 1;\nSELECT 2;\n  SELEC 3;")
    assert [r.rows for r in ran] == [[[1]], [[2]]]  # the statements before it run, as in psql
    assert result.error["type"] == "QuerySyntaxError"
    assert (result.error["line"], result.error["column"]) == (3, 3)


def test_server_error_position_is_shifted_to_the_script(pg):
    results = pg.execute("SELECT 1;\nSELECT\n  nosuch\nFROM generate_series(1, 2);")
    assert results[1].error["type"] == "ExecutionError"
    assert "nosuch" in results[1].error["message"]
    assert (results[1].error["line"], results[1].error["column"]) == (3, 3)


def test_error_in_statement_three_of_five_keeps_first_two_results(pg):
    script = ("CREATE TABLE t (id int PRIMARY KEY);\n"
              "INSERT INTO t VALUES (1), (2);\n"
              "INSERT INTO t VALUES (2);\n"
              "INSERT INTO t VALUES (3);\n"
              "SELECT count(*) FROM t;")
    results = pg.execute(script)
    assert len(results) == 3
    assert results[0].ok and results[1].ok and results[1].rowcount == 2
    assert results[2].error["type"] == "ExecutionError"
    assert "duplicate key" in results[2].error["message"]
    assert results[2].line == 3
    assert rows(pg, "SELECT count(*) FROM t") == [[2]]


# -- running ----------------------------------------------------------------------

def test_columns_have_type_names_and_dml_has_rowcounts(pg):
    results = pg.execute("CREATE TABLE t (a int, b text, c timestamptz);\n"
                         "INSERT INTO t SELECT g, 'x', now() FROM generate_series(1, 5) g;\n"
                         "UPDATE t SET b = 'y' WHERE a > 2;\n"
                         "SELECT a, b, c, 1.5::numeric AS d FROM t ORDER BY a LIMIT 1")
    assert [r.rowcount for r in results[1:3]] == [5, 3]
    assert [(c.name, c.type) for c in results[3].columns] == [
        ("a", "integer"), ("b", "text"), ("c", "timestamp with time zone"), ("d", "numeric")]
    assert results[3].rows[0][3] == "1.5"


def test_timeout_is_enforced_by_the_server(pg):
    started = time.monotonic()
    (result,) = pg.execute("SELECT pg_sleep(10)", timeout_s=1)
    assert result.error["type"] == "QueryTimeout"
    assert time.monotonic() - started < 5
    assert rows(pg, "SELECT 1") == [[1]]


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_row_cap_streams_three_million_rows_in_bounded_memory(pg):
    baseline, peak = _rss_bytes(), [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    tracemalloc.start()
    started = time.monotonic()
    try:
        (result,) = pg.execute("SELECT g, md5(g::text) FROM generate_series(1, 3000000) g",
                               max_rows=1000)
        elapsed = time.monotonic() - started
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        done.set()
        sampler.join()
    assert result.error is None
    assert result.truncated is True
    assert len(result.rows) == 1000 and result.rows[-1][0] == 1000
    assert elapsed < 5
    # all 3M rows fetched client-side would take several hundred MB (libpq + Python)
    assert python_peak < 50 * 1024 * 1024
    assert peak[0] - baseline < 100 * 1024 * 1024
    assert pg._conn.info.transaction_status == 0  # the streaming transaction ended


def test_cancel_from_another_thread(pg):
    timer = threading.Timer(0.5, pg.cancel)
    timer.start()
    started = time.monotonic()
    (result,) = pg.execute("SELECT pg_sleep(20)", timeout_s=30)
    timer.join()
    assert result.error["type"] == "QueryCancelled"
    assert time.monotonic() - started < 10
    assert rows(pg, "SELECT 2") == [[2]]


def test_user_transactions_behave_like_psql(pg):
    pg.execute("CREATE TABLE t (id int)")
    results = pg.execute("BEGIN; INSERT INTO t VALUES (1); SELECT count(*) FROM t; ROLLBACK")
    assert [r.error for r in results] == [None] * 4
    assert results[2].rows == [[1]]
    assert rows(pg, "SELECT count(*) FROM t") == [[0]]
    pg.execute("BEGIN; INSERT INTO t VALUES (2); COMMIT")
    assert rows(pg, "SELECT count(*) FROM t") == [[1]]
    # an error inside a block rolls the block back and leaves the connection usable
    results = pg.execute("BEGIN; INSERT INTO t VALUES (3); SELECT 1/0")
    assert results[-1].error["type"] == "ExecutionError"
    assert rows(pg, "SELECT count(*) FROM t") == [[1]]
    # a block left open at the end of a script is rolled back, with a notice
    results = pg.execute("BEGIN; INSERT INTO t VALUES (4)")
    assert "rolled back" in results[-1].notice
    assert rows(pg, "SELECT count(*) FROM t") == [[1]]


def test_copy_from_stdin_is_refused_with_a_pointer_to_import(pg):
    pg.execute("CREATE TABLE t (id int)")
    (result,) = pg.execute("COPY t FROM STDIN")
    assert result.error["type"] == "UnsupportedCommand"
    assert "import" in result.error["message"]


def test_permission_errors_are_permission_denied(pg, postgres_server):
    pg.execute("CREATE TABLE secret (x int); CREATE ROLE visitor LOGIN PASSWORD 'pw'")
    url = pg.url.replace("postgres:playground-test@", "visitor:pw@")
    with PostgresEngine(url) as visitor:
        (result,) = visitor.execute("SELECT * FROM secret")
    pg.execute("DROP ROLE visitor")
    assert result.error["type"] == PermissionDenied.__name__


# -- explain, schema ------------------------------------------------------------------

def test_explain_gives_a_plan_tree_with_actual_rows(pg):
    pg.execute("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g; "
               "CREATE INDEX t_id ON t (id); ANALYZE t")
    plan = pg.explain("SELECT count(*) FROM t a JOIN t b USING (id) WHERE a.id < 100")
    assert plan.plan is not None and plan.plan.node == "Aggregate"
    assert plan.plan.actual_rows == 1 and plan.plan.cost and plan.plan.time_ms is not None
    details = []

    def walk(node):
        details.append((node.node, node.detail, node.actual_rows))
        for child in node.children:
            walk(child)

    walk(plan.plan)
    assert any("on t" in detail for _, detail, _ in details)
    assert isinstance(plan.raw, list) and "Plan" in plan.raw[0]


def test_explain_analyze_of_a_delete_changes_nothing(pg):
    pg.execute("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 50) g")
    plan = pg.explain("DELETE FROM t WHERE id > 10")
    assert plan.plan.node == "ModifyTable"
    assert rows(pg, "SELECT count(*) FROM t") == [[50]]


@pytest.fixture
def pagila(engine_for) -> PostgresEngine:
    engine = engine_for("postgres")
    engine.restore(PAGILA)
    return engine


def test_pagila_schema_has_tables_keys_indexes_and_partitions(pagila):
    schema = pagila.schema()
    names = {t.name for t in schema.tables}
    assert {"actor", "film", "rental", "payment", "payment_p2022_01", "actor_info"} <= names
    film = schema.table("film")
    assert film.primary_key == ["film_id"] and film.row_count == 1000
    assert film.extra["row_count"] == "exact"
    assert {"language_id", "title"} <= {c.name for c in film.columns}
    assert any(fk.ref_table == "language" and fk.columns == ["language_id"]
               for fk in film.foreign_keys)
    assert any(ix.name == "idx_title" and ix.columns == ["title"] for ix in film.indexes)
    payment = schema.table("payment")
    assert payment.extra["partitioned"] is True
    assert "payment_p2022_01" in payment.extra["partitions"]
    assert payment.row_count == sum(schema.table(p).row_count for p in payment.extra["partitions"])
    assert schema.table("payment_p2022_01").extra["partition_of"] == "payment"
    assert schema.table("actor_info").kind == "view"
    rental_by_category = schema.table("rental_by_category")
    assert rental_by_category.kind == "materialized view"
    assert rental_by_category.extra["populated"] is False


def test_pagila_restore_resets_search_path_and_reports_skips(pagila):
    assert rows(pagila, "SELECT count(*) FROM actor") == [[200]]
    assert rows(pagila, "SHOW search_path") == [['"$user", public']]
    assert any("no-owner" in n for n in pagila.restore_notices)


@pytest.mark.parametrize("script", [PAGILA, CHINOOK], ids=["pagila", "chinook"])
def test_restore_dump_restore_round_trip(engine_for, tmp_path, script):
    source = engine_for("postgres")
    source.restore(script)
    dump = tmp_path / "dump.sql"
    source.dump(dump)
    assert "COPY" in dump.read_text()
    copy = engine_for("postgres")
    copy.restore(dump)
    before, after = fingerprint(source), fingerprint(copy)
    assert before == after
    assert len(before) >= 11
    if script is CHINOOK:  # it creates a database and connects to it: both skipped
        assert any("CREATE DATABASE" in n for n in source.restore_notices)
        assert any("\\c chinook" in n for n in source.restore_notices)
        assert before["track"][0] == 3503


def test_broken_dump_names_the_line_and_leaves_nothing(pg, tmp_path):
    broken = tmp_path / "broken.sql"
    text = PAGILA.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    target = next(i for i, line in enumerate(lines) if line.startswith("CREATE TABLE public.film "))
    lines.insert(target, "CREATE TABLE public.oops (id int REFERENCES nowhere);\n")
    broken.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(RestoreError) as caught:
        pg.restore(broken)
    assert caught.value.line == target + 1
    assert "nowhere" in caught.value.message
    assert pg.schema().tables == []


def test_syntax_error_in_a_dump_names_its_line(pg, tmp_path):
    broken = tmp_path / "broken.sql"
    broken.write_text("CREATE TABLE a (id int);\nCOPY a (id) FROM stdin;\n1\n\\.\n"
                      "CREATE TABLE b (id int;\n", encoding="utf-8")
    with pytest.raises(RestoreError) as caught:
        pg.restore(broken)
    assert caught.value.line == 5
    assert pg.schema().tables == []


def test_bad_copy_data_names_the_data_line(pg, tmp_path):
    broken = tmp_path / "broken.sql"
    broken.write_text("CREATE TABLE a (id int);\nCOPY a (id) FROM stdin;\n1\n2\nthree\n\\.\n",
                      encoding="utf-8")
    with pytest.raises(RestoreError) as caught:
        pg.restore(broken)
    assert caught.value.line == 5


def test_restore_handles_restrict_and_refuses_unknown_meta_commands(pg, tmp_path):
    script = tmp_path / "s.sql"
    script.write_text("\\restrict abc\nCREATE TABLE a (id int);\n\\unrestrict abc\n"
                      "\\set ON_ERROR_STOP on\n", encoding="utf-8")
    pg.restore(script)
    assert rows(pg, "SELECT count(*) FROM a") == [[0]]
    script.write_text("CREATE TABLE b (id int);\n\\! rm -rf /\n", encoding="utf-8")
    with pytest.raises(RestoreError) as caught:
        pg.restore(script)
    assert caught.value.line == 2
    assert [t.name for t in pg.schema().tables] == ["a"]


# -- import / export ----------------------------------------------------------------------

def test_import_creates_a_typed_table(pg):
    report = pg.import_rows("people", [
        {"name": "ada", "age": 36, "score": 1.5, "admin": True, "tags": ["x"]},
        {"name": "bob", "age": None, "score": 2, "admin": False, "tags": {"a": 1}},
    ])
    assert report.rows == 2
    columns = {c.name: c.type for c in pg.schema().table("people").columns}
    assert columns == {"name": "text", "age": "bigint", "score": "double precision",
                       "admin": "boolean", "tags": "jsonb"}
    assert rows(pg, "SELECT tags->>'a' FROM people WHERE name = 'bob'") == [["1"]]


def test_import_with_a_bad_row_inserts_nothing(pg):
    records = [{"id": i, "n": i} for i in range(1, 2501)]
    records[1499]["id"] = "not a number"
    pg.execute("CREATE TABLE nums (id bigint, n int)")
    with pytest.raises(ImportRowError) as caught:
        pg.import_rows("nums", records)
    assert caught.value.row == 1500
    assert rows(pg, "SELECT count(*) FROM nums") == [[0]]
    # types are inferred from the first 1000 records; a later misfit is a bad row
    fresh = [{"a": i} for i in range(1, 1001)] + [{"a": "x"}]
    with pytest.raises(ImportRowError) as caught:
        pg.import_rows("fresh", fresh)
    assert caught.value.row == 1001
    assert "fresh" not in {t.name for t in pg.schema().tables}


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "parquet"])
def test_export_streams_100k_rows(pg, tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    count = pg.export("SELECT g AS id, 'row ' || g AS label FROM generate_series(1, 100000) g",
                      fmt, out)
    assert count == 100_000
    if fmt == "csv":
        lines = out.read_text().splitlines()
        assert lines[0] == "id,label" and lines[-1] == "100000,row 100000"
    elif fmt == "json":
        data = json.loads(out.read_text())
        assert len(data) == 100_000 and data[-1] == {"id": 100000, "label": "row 100000"}
    elif fmt == "jsonl":
        lines = out.read_text().splitlines()
        assert len(lines) == 100_000 and json.loads(lines[0]) == {"id": 1, "label": "row 1"}
    else:
        table = pq.read_table(out)
        assert table.num_rows == 100_000 and table.column("id")[-1].as_py() == 100000
    assert rows(pg, "SELECT 1") == [[1]]


def test_dump_failure_is_a_dump_error(pg, tmp_path):
    pg.execute("CREATE TABLE t (id int)")
    with pytest.raises(DumpError) as caught:
        pg.dump(tmp_path / "no-such-dir" / "dump.sql")
    assert "pg_dump failed" in caught.value.message


def test_unreachable_server_is_engine_unavailable():
    engine = PostgresEngine("postgresql://nobody:x@127.0.0.1:1/none")
    with pytest.raises(EngineUnavailable):
        engine.connect()
    assert engine.ping() is False


def test_backslash_lines_inside_literals_are_not_meta_commands(pg, tmp_path):
    script = tmp_path / "s.sql"
    script.write_text("CREATE TABLE a (t text);\nINSERT INTO a VALUES ('x\n\\.\ny');\n"
                      "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$\n"
                      "SELECT '\\connect'::text\n$$;\n", encoding="utf-8")
    pg.restore(script)
    assert rows(pg, "SELECT t, f() FROM a") == [["x\n\\.\ny", "\\connect"]]
