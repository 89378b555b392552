"""A syntax error fails only its own statement: the ones before it run, as in psql."""

from __future__ import annotations

import pytest

from engines.postgres.script import split_script


def test_statements_before_a_syntax_error_run_and_the_error_has_its_position(engine_for):
    pg = engine_for("postgres")
    results = pg.execute("SELECT 1; SELECT 2;\n  SELEC 3; SELECT 4")
    assert [r.rows for r in results[:2]] == [[[1]], [[2]]]
    assert [r.error for r in results[:2]] == [None, None]
    assert len(results) == 3
    bad = results[2]
    assert bad.statement == "SELEC 3"
    assert bad.error is not None and bad.error["type"] == "QuerySyntaxError"
    assert 'at or near "SELEC"' in bad.error["message"]
    assert (bad.error["line"], bad.error["column"]) == (2, 3)


def test_statements_before_a_syntax_error_are_committed(engine_for):
    pg = engine_for("postgres")
    pg.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (1); INSERT INTO kept VALUS (2);"
               " INSERT INTO kept VALUES (3)")
    [result] = pg.execute("SELECT n FROM kept")
    assert result.rows == [[1]]


def test_error_after_a_dollar_quoted_body_and_strings_keeps_them_whole(engine_for):
    pg = engine_for("postgres")
    script = ("CREATE FUNCTION semi() RETURNS text LANGUAGE plpgsql AS $body$\n"
              "BEGIN RETURN 'a;b'; END $body$;\n"
              "SELECT E'it\\'s; fine', semi(); /* ; */ -- ;\n"
              "CREATE FUNCTION one() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\n"
              "SELECT one();\n"
              "SELECT FROM WHERE;\n"
              "SELECT 'never'")
    results = pg.execute(script)
    assert [r.error for r in results[:4]] == [None] * 4
    assert results[1].rows == [["it's; fine", "a;b"]]
    assert results[3].rows == [[1]]
    assert len(results) == 5 and results[4].error is not None
    assert (results[4].error["line"], results[4].error["column"]) == (6, 13)


def test_unterminated_string_fails_its_statement_only():
    statements = split_script("SELECT 1;\nSELECT 'abc")
    assert [s.error is None for s in statements] == [True, False]
    error = statements[1].error
    assert error is not None and error.message.startswith("unterminated quoted string")
    assert (error.line, error.column) == (1, 8)  # line within the statement; column in the script


def test_explain_still_rejects_a_script_that_does_not_parse(engine_for):
    from engines.errors import QuerySyntaxError

    with pytest.raises(QuerySyntaxError):
        engine_for("postgres").explain("SELEC 1")
