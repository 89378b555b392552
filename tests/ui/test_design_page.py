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
