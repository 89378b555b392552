"""Parsing has size and depth limits that give a clear error instead of a crash or a hang.

These run in the test process itself: before the limits, the PostgreSQL statements
below segfaulted pglast's parser (and with it the whole process), and the mongosh and
Chroma ones ended in RecursionError tracebacks.
"""

from __future__ import annotations

import pytest

from engines.base import Engine
from engines.errors import ParseLimitExceeded
from engines.postgres.limits import MAX_NESTING, nesting_depth
from engines.sqlite.split import split_sqlite

PLUS_BOMB = "SELECT " + "+".join(["1"] * 40_000)
PARSER_BOMBS = {
    "40,000-term sum": PLUS_BOMB,
    "40,000 UNIONs": " UNION ".join(["SELECT 1"] * 40_000),
    "40,000 casts": "SELECT 1" + "::int" * 40_000,
    "40,000 concatenations": "SELECT " + "||".join(["'a'"] * 40_000),
    "40,000 IS NULL": "SELECT 1" + " IS NULL" * 40_000,
    "sum inside 50 nested brackets": "SELECT " + "(" * 50 + "+".join(["1"] * 3000) + ")" * 50,
}


def refused(engine: Engine, script: str) -> dict[str, object]:
    results = engine.execute(script)
    assert len(results) == 1 and results[0].error is not None, results[0].rows
    assert results[0].error["type"] == "ParseLimitExceeded", results[0].error
    return results[0].error


@pytest.mark.parametrize("bomb", list(PARSER_BOMBS.values()), ids=list(PARSER_BOMBS))
def test_postgres_refuses_statements_that_would_crash_the_parser(engine_for, bomb):
    engine = engine_for("postgres")
    error = refused(engine, "SELECT 1;\n" + bomb)
    assert "too deeply" in str(error["message"]) and error["line"] == 2
    [after] = engine.execute("SELECT 2")
    assert after.rows == [[2]]


def test_postgres_explain_refuses_the_bomb_too(engine_for):
    with pytest.raises(ParseLimitExceeded):
        engine_for("postgres").explain(PLUS_BOMB)


def test_ordinary_wide_statements_stay_far_below_the_nesting_limit(engine_for):
    many_conditions = "SELECT 1 WHERE " + " AND ".join(f"{i} = {i}" for i in range(5000))
    many_rows = "VALUES " + ",".join(f"({-i}, 'x' || {i}, {i}::numeric / 3)" for i in range(5000))
    long_in = "SELECT 1 WHERE 3 IN (" + ",".join(str(i) for i in range(20_000)) + ")"
    for sql in (many_conditions, many_rows, long_in):
        assert nesting_depth(sql)[0] < MAX_NESTING / 100
    engine = engine_for("postgres")
    results = engine.execute(";\n".join((many_conditions, many_rows, long_in)))
    assert [r.error for r in results] == [None, None, None]


def test_a_long_broken_script_fails_as_a_whole_instead_of_being_split_for_minutes(engine_for):
    unfinished = ("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC "
                  + "SELECT 1;" * 50_000)
    [result] = engine_for("postgres").execute(unfinished)
    assert result.error is not None and result.error["type"] == "QuerySyntaxError"


@pytest.mark.parametrize("kind", ["postgres", "sqlite", "mongodb"])
def test_a_script_longer_than_the_size_limit_is_refused_before_parsing(engine_for, kind):
    engine = engine_for(kind, max_script_bytes=10_000)
    script = {"postgres": "SELECT 1;", "sqlite": "SELECT 1;",
              "mongodb": "db.c.countDocuments({});"}[kind] * 2000
    error = refused(engine, script)
    assert "10,000 bytes" in str(error["message"])
    with pytest.raises(ParseLimitExceeded):
        engine.stream(script)


def test_mongosh_deep_nesting_is_a_clean_error(engine_for):
    engine = engine_for("mongodb")
    refused(engine, "db.c.find(" + "[" * 50_000 + "]" * 50_000 + ")")
    refused(engine, "db.c.find(" + "{a: " * 20_000 + "1" + "}" * 20_000 + ")")


def test_chroma_deep_nesting_is_a_clean_error(engine_for):
    engine = engine_for("chroma-embedded")
    refused(engine, "c.get(limit=" + "+".join(["1"] * 50_000) + ")")
    [result] = engine.execute("c.get(where=" + "[" * 50_000 + "]" * 50_000 + ")")
    assert result.error is not None and result.error["type"] in (
        "ParseLimitExceeded", "QuerySyntaxError")


def test_sqlite_splits_a_megabyte_of_semicolons_in_linear_time():
    # each ";" inside the unterminated string used to re-scan everything before it
    statements = split_sqlite("SELECT '" + ";" * 1_000_000)
    assert len(statements) == 1
    assert len(split_sqlite("SELECT 1;\n" * 50_000)) == 50_000


def test_a_dump_holding_a_parser_bomb_fails_its_restore_instead_of_crashing(engine_for, tmp_path):
    """A template dump is user input: the bomb in it is refused before the parser sees it,
    by line, while a COPY block's data (dates full of '-') is not mistaken for a chain."""
    from engines.errors import RestoreError

    dump = tmp_path / "bomb.sql"
    rows = "".join(f"{i}\t2005-05-24 22:53:30+00\tO'Brien\n" for i in range(20_000))
    dump.write_text("CREATE TABLE t (id int, at timestamptz, name text);\n"
                    f"COPY t (id, at, name) FROM stdin;\n{rows}\\.\n"
                    f"CREATE VIEW v AS {PLUS_BOMB};\n")
    engine = engine_for("postgres")
    with pytest.raises(RestoreError) as caught:
        engine.restore(dump)
    assert "too deeply" in str(caught.value) and caught.value.line == 20_004
    dump.write_text(dump.read_text().replace(PLUS_BOMB, "SELECT 1 + 1"))
    engine_for("postgres").restore(dump)
