"""Values never change a statement's shape: quotes, ``;--``, backslashes, ``$``, NUL-free
control characters and the like in filter values come out as one literal of the same
statement, on PostgreSQL, SQLite and MongoDB, and find exactly the row holding them on
the real servers."""

from __future__ import annotations

import random

import pytest
import sqlglot
from sqlglot import exp

from engines.mongodb.mongosh import parse_command
from orchestrator.builder.mongo_compiler import compile_mongosh, compile_pipeline
from orchestrator.builder.spec import QuerySpec, parse_spec
from orchestrator.builder.sql_compiler import compile_sql

HOSTILE = ["'", "''", "\\", "\\'", "'; DROP TABLE t; --", "x' OR '1'='1", ";--", "\"", "`",
           "$where", "$$", "a\\nb", "\n", "\t", "/* c */", "%", "_", "[*]", "?", "\u2028",
           "é'ü", "' || pg_sleep(5) || '", "E'\\x41'", "\\\\'--", "}); db.t.drop(); ({"]


def hostile_values(count: int = 200, seed: int = 13) -> list[str]:
    pieces = ["'", "\"", "\\", ";", "--", "/*", "*/", "$", "%", "_", "\n", "\r", " ", "a",
              "Z", "0", "é", "(", ")", "{", "}", "[", "]", "`", "?", "*", "\u2028"]
    rng = random.Random(seed)
    made = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
            for _ in range(count)]
    return list(dict.fromkeys(HOSTILE + made))  # each value once


def spec_with(value: str) -> QuerySpec:
    return parse_spec({
        "source": {"table": "t"},
        "filter": {"type": "group", "combine": "or", "items": [
            {"type": "condition", "column": "v", "op": "=", "value": value},
            {"type": "condition", "column": "v", "op": "in", "value": [value, "x"]},
            {"type": "condition", "column": "v", "op": "like", "value": value},
            {"type": "condition", "column": "v", "op": "between", "value": [value, value]}]},
        "columns": [{"ref": "id"}]})


def shape(sql: str, dialect: str) -> tuple[str, list[str]]:
    """The statement with every string literal replaced, and those literals' values."""
    statements = sqlglot.parse(sql, read=dialect)
    assert len(statements) == 1 and isinstance(statements[0], exp.Select)
    (tree,) = statements
    values = [lit.this for lit in tree.find_all(exp.Literal) if lit.is_string]
    blank = tree.transform(lambda n: exp.Literal.string("?")
                           if isinstance(n, exp.Literal) and n.is_string else n)
    return blank.sql(dialect), values


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_hostile_values_stay_one_literal_of_the_same_sql_statement(dialect):
    reference, _ = shape(compile_sql(spec_with("plain"), dialect), dialect)
    for value in hostile_values():
        blank, values = shape(compile_sql(spec_with(value), dialect), dialect)
        assert blank == reference, value
        assert value in values, value  # the equality's literal is the value itself


def test_hostile_values_stay_data_of_the_same_mongodb_pipeline():
    for value in hostile_values():
        spec = spec_with(value)
        command = parse_command(compile_mongosh(spec))
        assert (command.collection, command.method) == ("t", "aggregate")
        assert command.args == [compile_pipeline(spec)], value


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
def test_hostile_values_find_exactly_their_row_on_the_sql_servers(engine_for, kind):
    engine = engine_for(kind)
    values = hostile_values(60)
    engine.import_rows("t", [{"id": i, "v": v} for i, v in enumerate(values)])
    for i, value in enumerate(values):
        spec = parse_spec({"source": {"table": "t"}, "columns": [{"ref": "id"}],
                           "filter": {"type": "condition", "column": "v", "op": "=",
                                      "value": value}})
        (result,) = engine.execute(compile_sql(spec, kind))
        assert result.error is None, (value, result.error)
        assert [row[0] for row in result.rows] == [i], value
    (count,) = engine.execute("SELECT count(*) FROM t")
    assert count.rows == [[len(values)]]  # nothing was dropped or changed


def test_hostile_values_find_exactly_their_document_on_mongodb(engine_for):
    engine = engine_for("mongodb")
    values = hostile_values(60)
    engine.import_rows("t", [{"id": i, "v": v} for i, v in enumerate(values)])
    for i, value in enumerate(values):
        spec = parse_spec({"source": {"table": "t"}, "columns": [{"ref": "id"}],
                           "filter": {"type": "condition", "column": "v", "op": "=",
                                      "value": value}})
        (result,) = engine.execute(compile_mongosh(spec))
        assert result.error is None, (value, result.error)
        assert [row[0] for row in result.rows] == [i], value
