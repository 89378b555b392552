"""Importing rows from an uploaded file into a sandbox (Schema page), then querying them."""

from __future__ import annotations

from tests.ui.conftest import all_text, no_crash, texts
from ui.data_import import target_name

CSV = b"city,country,population\nLagos,Nigeria,15388000\nLima,Peru,10719000\nOslo,Norway,709037\n"


def upload(at, name: str, data: bytes, target: str | None = None):
    at.file_uploader(key="import_data_file").upload(name, data).run()
    if target is not None:
        (box,) = [t for t in at.text_input if str(t.key).startswith("import_target_")]
        box.input(target)
    return at.button(key="import_data_go").click().run()


def test_file_names_suggest_table_names():
    assert target_name("Sales 2024.csv") == "sales_2024"
    assert target_name("2024-sales.jsonl") == "t_2024_sales"
    assert target_name("...csv") == "imported"


def test_a_csv_becomes_a_table_shown_in_the_schema_and_queryable(app, user, sandbox, api):
    at = upload(app(user, "schema"), "World Cities.csv", CSV)
    no_crash(at)
    assert any("Imported **3** rows into **world_cities**" in s
               for s in texts(at, "success")), all_text(at)
    labels = [e.label for e in at.expander]
    assert any(label.startswith("world_cities ·") and label.endswith("3 rows")
               for label in labels), labels
    (result,) = api.run_query(user, sandbox.id,
                              "SELECT city FROM world_cities ORDER BY city")
    assert [r[0] for r in result.rows] == ["Lagos", "Lima", "Oslo"]


def test_a_file_that_cannot_be_read_is_refused_without_a_traceback(app, user, sandbox, api):
    at = upload(app(user, "schema"), "bad.json", b"[{\"a\": 1}, not json", target="bad_rows")
    no_crash(at)
    errors = texts(at, "error")
    assert errors and "Traceback" not in errors[0]
    assert not any("Imported" in s for s in texts(at, "success"))
    tables = [t.name for t in api.schema(user, sandbox.id).tables]
    assert "bad_rows" not in tables


def test_an_empty_target_name_is_asked_for(app, user, sandbox):
    at = upload(app(user, "schema"), "x.csv", CSV, target="")
    assert any("Name the table or collection" in e for e in texts(at, "error"))
