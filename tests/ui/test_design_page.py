"""Design page: a table made by the form becomes a previewed migration (the dry run
changes nothing), which "Apply" runs on the sandbox; destructive designs need consent."""

from __future__ import annotations

from tests.ui.conftest import no_crash


def _codes(at) -> str:
    return "\n".join(c.value for c in at.code)


def test_a_table_put_in_by_form_is_previewed_then_applied(app, user, sandbox, api):
    at = app(user, "design")
    no_crash(at)
    assert "Table \"Album\"" in at.text_area[0].value  # the live schema as DBML
    assert any("already matches" in s.value for s in at.success)
    at.text_input(key=f"design_form_{sandbox.id}_new_name").set_value("wishlist").run()
    at.button(key=f"design_form_{sandbox.id}_put").click().run()
    no_crash(at)
    assert 'Table "wishlist"' in at.text_area[0].value
    assert "CREATE TABLE wishlist" in _codes(at)
    assert "wishlist" not in {t.name for t in api.schema(user, sandbox.id).tables}
    at.button(key=f"design_apply_{sandbox.id}").click().run()
    no_crash(at)
    assert any("Applied" in s.value for s in at.success)
    assert "wishlist" in {t.name for t in api.schema(user, sandbox.id).tables}


def test_a_destructive_design_is_flagged_and_not_applied_without_consent(app, user, sandbox,
                                                                           api):
    at = app(user, "design")
    text_key = f"design_text_{sandbox.id}"
    dbml = at.session_state[text_key]
    composer = '    "Composer" NVARCHAR(220)\n'
    assert composer in dbml
    at.text_area(key=text_key).set_value(dbml.replace(composer, "")).run()
    no_crash(at)
    assert any(e.value.startswith("Destructive") and "drop column Composer" in e.value
               for e in at.error)
    at.button(key=f"design_apply_{sandbox.id}").click().run()
    assert any("--allow-destructive" in e.value for e in at.error)
    columns = {c.name for c in api.schema(user, sandbox.id).table("Track").columns}
    assert "Composer" in columns


def test_a_postgresql_design_lists_its_enums_and_an_enum_put_in_is_created_on_apply(
        app, user, api):
    pagila = api.create_sandbox(user, "pagila")
    at = app(user, "design", current_sandbox=pagila.id)
    no_crash(at)
    key = f"design_form_{pagila.id}"
    grid = next(d for d in at.dataframe if d.key == f"{key}_enums")
    assert grid.value.to_dict("records") == [
        {"name": "mpaa_rating", "values": "G, PG, PG-13, R, NC-17"}]
    at.session_state[f"{key}_enums"] = {
        "edited_rows": {}, "deleted_rows": [],
        "added_rows": [{"name": "mood", "values": "sad, ok, happy"}]}
    at.button(key=f"{key}_put_enums").click().run()
    no_crash(at)
    assert 'Enum "mood" {' in at.text_area[0].value
    assert "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');" in _codes(at)
    at.button(key=f"design_apply_{pagila.id}").click().run()
    no_crash(at)
    assert any("Applied" in s.value for s in at.success)
    (answer,) = api.run_query(user, pagila.id, "SELECT enum_range(NULL::mood)::text AS r")
    assert answer.rows == [["{sad,ok,happy}"]]


def test_a_sqlite_design_has_no_enum_grid(app, user, sandbox):
    at = app(user, "design")
    no_crash(at)
    assert not [d for d in at.dataframe if d.key == f"design_form_{sandbox.id}_enums"]


def test_a_click_on_a_table_in_the_diagram_opens_it_in_the_form(app, user, sandbox):
    at = app(user, "design")
    no_crash(at)
    charts = [e for e in at.main if getattr(e, "type", None) == "vega_lite_chart"]
    assert [c.key for c in charts] == [f"design_diagram_{sandbox.id}"]
    at.session_state[f"design_diagram_{sandbox.id}"] = {
        "selection": {"pick": [{"table": "Track"}]}}
    at.run()
    no_crash(at)
    table = at.selectbox(key=f"design_form_{sandbox.id}_table")
    assert table.value == "Track"
    assert at.text_input(key=f"design_form_{sandbox.id}_Track_name").value == "Track"
    # the click is applied once: the form's own picker then decides
    table.set_value("Album").run()
    assert at.selectbox(key=f"design_form_{sandbox.id}_table").value == "Album"


def test_dbml_that_does_not_parse_is_reported_and_draws_no_diagram(app, user, sandbox):
    at = app(user, "design")
    at.text_area(key=f"design_text_{sandbox.id}").set_value("Table broken {").run()
    at.run()  # the design the text area set is drawn on the next run
    no_crash(at)
    assert any("the DBML does not parse" in e.value for e in at.error), [e.value for e in at.error]
    assert not [e for e in at.main if getattr(e, "type", None) == "vega_lite_chart"]
