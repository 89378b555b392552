"""The builder over Pagila on real servers: SQL -> spec -> SQL gives the original's rows
(as multisets), the same specs agree between PostgreSQL and SQLite, and SQL outside the
builder's subset is refused with words naming the part that does not fit."""

from __future__ import annotations

import pytest

from engines.errors import InvalidRequest
from orchestrator.builder.spec import parse_spec, spec_dict
from orchestrator.builder.sql_compiler import compile_sql
from orchestrator.builder.sql_parser import sql_to_spec
from tests.builder.conftest import multiset, rows_of
from tests.builder.pagila_questions import NOT_TAKEN, QUESTIONS

#: at least this share of the questions must come back unchanged through the spec
ROUND_TRIP_SHARE = 0.9


def test_the_question_set_covers_at_least_25_pagila_questions():
    assert len(QUESTIONS) >= 25


def test_sql_through_the_spec_gives_the_original_rows_for_nine_in_ten(pagila_pg):
    failures: dict[str, str] = {}
    for name, sql in QUESTIONS.items():
        try:
            spec = sql_to_spec(sql, "postgres")
        except InvalidRequest as exc:
            failures[name] = exc.message
            continue
        assert parse_spec(spec_dict(spec)) == spec, name  # the JSON form reads back
        generated = compile_sql(spec, "postgres")
        original, rebuilt = rows_of(pagila_pg, sql), rows_of(pagila_pg, generated)
        assert original, f"{name} returns no rows: it proves nothing"
        if multiset(original) != multiset(rebuilt):
            failures[name] = f"different rows from {generated}"
    share = 1 - len(failures) / len(QUESTIONS)
    print(f"round trip: {len(QUESTIONS) - len(failures)}/{len(QUESTIONS)} ({share:.0%})")
    assert share >= ROUND_TRIP_SHARE, failures


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_each_question_agrees_between_postgresql_and_sqlite(pagila_pg, pagila_sqlite, name):
    spec = sql_to_spec(QUESTIONS[name], "postgres")
    on_pg = rows_of(pagila_pg, compile_sql(spec, "postgres"))
    on_sqlite = rows_of(pagila_sqlite, compile_sql(spec, "sqlite"))
    assert on_pg
    assert multiset(on_pg) == multiset(on_sqlite)


@pytest.mark.parametrize("sql", sorted(NOT_TAKEN))
def test_sql_outside_the_subset_is_refused_naming_the_part(sql):
    with pytest.raises(InvalidRequest) as refused:
        sql_to_spec(sql, "postgres")
    assert NOT_TAKEN[sql].lower() in refused.value.message.lower()


def test_unwinding_an_array_column_counts_like_unnest(pagila_pg, pagila_sqlite):
    spec = parse_spec({"source": {"table": "film"},
                       "unwinds": [{"column": "special_features", "alias": "feature"}],
                       "group_by": ["feature"],
                       "aggregates": [{"name": "films", "func": "count"}]})
    expected = rows_of(pagila_pg, "SELECT f, count(*) FROM film, "
                                  "unnest(special_features) AS f GROUP BY f")
    assert len(expected) == 4
    assert multiset(rows_of(pagila_pg, compile_sql(spec, "postgres"))) == multiset(expected)
    assert multiset(rows_of(pagila_sqlite, compile_sql(spec, "sqlite"))) == multiset(expected)
