"""Template import is validated by a restore into a scratch sandbox."""

from __future__ import annotations

import sqlite3

import pytest

from engines.errors import RestoreError
from orchestrator.sandboxes.provisioners import Provisioners
from orchestrator.store.templates import CATALOG, builtin_available, builtin_dump


def test_builtin_catalog_lists_available_templates_and_empties(running_stack):
    names = {t.name: t for t in running_stack.api().list_templates("alice")}
    for kind in ("postgres", "mongodb", "chroma", "sqlite"):
        assert names[f"empty-{kind}"].engine == kind
    for entry in CATALOG:
        assert (entry.name in names) == builtin_available(entry)
    assert names["chinook-sqlite"].license.startswith("MIT")


def test_broken_dump_raises_restore_error_and_leaves_nothing(running_stack, tmp_path):
    api = running_stack.api()
    dump = tmp_path / "broken.sql"
    dump.write_text("CREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1);\n"
                    "INSERT INTO nope VALUES (2);\n")
    with pytest.raises(RestoreError) as info:
        api.import_template("alice", "broken", "sqlite", dump)
    assert "nope" in info.value.message
    assert "broken" not in {t.name for t in api.list_templates("alice")}
    assert Provisioners(running_stack.settings).local().list_running() == {}


def test_imported_dump_becomes_a_template_a_sandbox_can_start_from(running_stack, tmp_path):
    api = running_stack.api()
    path = tmp_path / "mine.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE pets (name TEXT)")
        conn.execute("INSERT INTO pets VALUES ('rex')")
    conn.close()
    view = api.import_template("alice", "pets", "sqlite", path, "my pets")
    assert view.tables == ["pets"] and view.owner == "alice"
    assert "pets" not in {t.name for t in api.list_templates("bob")}
    sb = api.create_sandbox("alice", "pets")
    assert api.run_query("alice", sb.id, "SELECT name FROM pets")[0].rows == [["rex"]]
    api.delete_sandbox("alice", sb.id)
    api.delete_template("alice", "pets")


def test_builtin_templates_list_their_tables_and_empties_say_where_they_come_from(
        running_stack):
    names = {t.name: t for t in running_stack.api().list_templates("alice")}
    for entry in CATALOG:
        if entry.name in names and entry.pattern:
            assert entry.tables and names[entry.name].tables == list(entry.tables), entry.name
    for kind in ("postgres", "mongodb", "chroma", "sqlite"):
        empty = names[f"empty-{kind}"]
        assert (empty.tables, empty.source, empty.license) == ([], "DB Playground", "n/a")


def test_catalog_tables_are_what_the_restored_dump_holds(tmp_path):
    from engines.registry import connect

    entry = next(e for e in CATALOG if e.name == "chinook-sqlite")
    dump = builtin_dump(entry)
    assert dump is not None
    copy = tmp_path / "chinook.sqlite"
    copy.write_bytes(dump.read_bytes())
    with connect("sqlite", f"sqlite:///{copy}") as db:
        assert tuple(t.name for t in db.schema().tables) == entry.tables
