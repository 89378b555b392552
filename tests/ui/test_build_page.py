"""Build: a grouped, joined query made by clicks on a SQLite sandbox (Chinook): the joins
offered come from foreign keys, each step shows its row count, the generated SQL is shown,
and "Run and chart" draws the server's chart of the result."""

from __future__ import annotations

from tests.ui.conftest import no_crash, texts, vega_charts
from tests.ui.test_charts_page import points, specs


def test_a_grouped_joined_query_by_clicks_shows_steps_sql_and_its_chart(app, user, sandbox,
                                                                         api):
    at = app(user, "build")
    no_crash(at)
    key = f"bd_{sandbox.id}"
    at.selectbox(key=f"{key}_source").select("Genre").run()
    joins = at.multiselect(key=f"{key}_joins")
    (track,) = [o for o in joins.options if o.startswith("Track on ")]
    joins.select(track).run()
    at.multiselect(key=f"{key}_group").select("Genre.Name").run()
    no_crash(at)
    (sql,) = [c.value for c in at.code if "GROUP BY" in c.value]
    assert 'JOIN "Track"' in sql and 'COUNT(*) AS "n"' in sql
    (genres,) = api.run_query(user, sandbox.id, "SELECT count(*) FROM Genre")
    (tracks,) = api.run_query(user, sandbox.id, "SELECT count(*) FROM Track")
    headers = [e.label for e in at.expander]
    assert any(f"{genres.rows[0][0]:,} rows" in h and "source" in h for h in headers), headers
    assert any(f"{tracks.rows[0][0]:,} rows" in h and "joins" in h for h in headers), headers
    at.button(key="bd_run_button").click().run()
    no_crash(at)
    ((spec, rows),) = vega_charts(at)
    assert rows == genres.rows[0][0] and "n by Name" in spec["title"]["text"]
    (exact,) = api.run_query(user, sandbox.id, "SELECT g.Name, count(*) FROM Genre g "
                             "JOIN Track t ON t.GenreId = g.GenreId GROUP BY g.Name")
    (drawn,) = specs(at)
    assert points(drawn) == {name: n for name, n in exact.rows}


def test_sql_outside_the_builder_is_refused_in_words(app, user, sandbox):
    at = app(user, "build")
    at.text_area(key="bd_sql").input("DELETE FROM Track").run()
    at.button(key="bd_read").click().run()
    no_crash(at)
    assert any("only SELECT" in e for e in texts(at, "error"))


def test_numbered_condition_groups_make_an_or_of_ands(app, user, sandbox, api):
    at = app(user, "build")
    key = f"bd_{sandbox.id}"
    at.selectbox(key=f"{key}_source").select("Track").run()
    at.session_state[f"{key}_filter"] = {"edited_rows": {}, "deleted_rows": [], "added_rows": [
        {"column": "Track.GenreId", "op": "=", "value": "1", "group": 1},
        {"column": "Track.Milliseconds", "op": ">", "value": "300000", "group": 1},
        {"column": "Track.GenreId", "op": "in", "value": "[2, 3]", "group": 2}]}
    at.run()
    no_crash(at)
    (sql,) = [c.value for c in at.code if "WHERE" in c.value]
    assert ('(("Track"."GenreId" = 1 AND "Track"."Milliseconds" > 300000) '
            'OR "Track"."GenreId" IN (2, 3))') in sql
    (exact,) = api.run_query(user, sandbox.id, "SELECT count(*) FROM Track WHERE "
                             "(GenreId = 1 AND Milliseconds > 300000) OR GenreId IN (2, 3)")
    headers = [e.label for e in at.expander]
    assert any(f"{exact.rows[0][0]:,} rows" in h and "filter" in h for h in headers), headers
    # AND within a group, then the groups ORed: switching both flips the meaning
    at.radio(key=f"{key}_combine").set_value("or").run()
    at.radio(key=f"{key}_between").set_value("and").run()
    (flipped,) = api.run_query(user, sandbox.id, "SELECT count(*) FROM Track WHERE "
                               "(GenreId = 1 OR Milliseconds > 300000) AND GenreId IN (2, 3)")
    headers = [e.label for e in at.expander]
    assert any(f"{flipped.rows[0][0]:,} rows" in h and "filter" in h for h in headers), headers
