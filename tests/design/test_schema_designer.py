"""The schema designer against real sandboxes: DBML export, migrations previewed (dry
run), tried on a throwaway clone and applied; renames keep data, destructive steps need
consent (issue 12)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.design.model import canonical_type
from tests.servers import unavailable


def _need(stack: Any, engine: str) -> None:
    if engine not in stack.api().provisioner_info()["engines"]:
        unavailable(f"the local provisioner cannot start {engine} sandboxes here")


def _shape(api: Any, sandbox_id: str) -> dict[str, Any]:
    """Tables with their columns (name, type, nullability), primary key and foreign keys."""
    design, dialect = api.live_design("alice", sandbox_id)
    return {t.name: {
        "columns": [(c.name, canonical_type(c.type, dialect), c.nullable) for c in t.columns],
        "primary_key": t.primary_key,
        "foreign_keys": sorted((tuple(f.columns), f.ref_table, tuple(f.ref_columns),
                                f.on_delete, f.on_update) for f in t.foreign_keys),
    } for t in design.tables}


@pytest.mark.parametrize(("template", "empty"), [("pagila", "empty-postgres"),
                                                 ("chinook-sqlite", "empty-sqlite")])
def test_a_template_exported_as_dbml_and_applied_to_an_empty_sandbox_has_the_same_tables(
        running_stack, tmp_path: Path, template: str, empty: str) -> None:
    _need(running_stack, empty.split("-")[1])
    api = running_stack.api()
    source = running_stack.create(template)
    target = running_stack.create(empty)
    try:
        rc, exported = running_stack.cli("schema", source, "--format", "dbml")
        assert rc == 0, exported
        dbml = exported["dbml"]
        assert "Table" in dbml and "Ref" in dbml
        if template == "pagila":  # what DBML cannot say is listed, not silently lost
            assert "// not in DBML: partition payment_p2022_01 of payment" in dbml
            assert 'Enum "mpaa_rating"' in dbml
        design = tmp_path / "design.dbml"
        design.write_text(dbml)
        rc, answer = running_stack.cli("design", target, "--dbml", str(design), "--apply")
        assert rc == 0, answer
        assert answer["applied"] and answer["clone"]["ok"], answer
        assert _shape(api, target) == _shape(api, source)
        # and now the sandbox matches the design: nothing left to do
        rc, again = running_stack.cli("design", target, "--dbml", str(design), "--no-clone")
        assert rc == 0 and again["statements"] == [], again["statements"]
    finally:
        api.delete_sandbox("alice", source)
        api.delete_sandbox("alice", target)


SHOP = """
Table customer {
  id integer [pk]
  name text [not null]
  email text
}
"""

SHOP_WITH_ORDERS = SHOP + """
Table orders {
  id integer [pk, increment]
  customer_id integer [not null, ref: > customer.id]
  status text [not null, default: 'new']
  indexes {
    customer_id
  }
}
"""


@pytest.mark.parametrize("engine", ["postgres", "sqlite"])
def test_adding_a_table_with_a_foreign_key_and_a_default_is_previewed_then_applied(
        running_stack, tmp_path: Path, engine: str) -> None:
    _need(running_stack, engine)
    api = running_stack.api()
    sid = running_stack.create(f"empty-{engine}")
    try:
        api.run_query("alice", sid, "CREATE TABLE customer (id integer PRIMARY KEY, "
                      "name text NOT NULL, email text); INSERT INTO customer VALUES "
                      "(1, 'ann', 'a@x'), (2, 'bob', NULL)")
        design = tmp_path / "shop.dbml"
        design.write_text(SHOP_WITH_ORDERS)
        rc, preview = running_stack.cli("design", sid, "--dbml", str(design))
        assert rc == 0, preview
        sql = "\n".join(s["sql"] for s in preview["statements"])
        assert "CREATE TABLE orders" in sql and "REFERENCES customer" in sql
        assert "DEFAULT 'new'" in sql
        assert not preview["destructive"] and preview["clone"]["ok"] and not preview["applied"]
        tables = {t.name for t in api.schema("alice", sid).tables}
        assert tables == {"customer"}  # the dry run changed nothing
        rc, applied = running_stack.cli("design", sid, "--dbml", str(design), "--apply")
        assert rc == 0 and applied["applied"], applied
        assert {t.name for t in api.schema("alice", sid).tables} == {"customer", "orders"}
        rows = api.run_query("alice", sid, "INSERT INTO orders (customer_id) VALUES (2); "
                                           "SELECT c.name, o.status FROM orders o JOIN customer c "
                                           "ON c.id = o.customer_id")
        assert rows[-1].error is None and rows[-1].rows == [["bob", "new"]]
        kept = api.run_query("alice", sid, "SELECT id, name, email FROM customer ORDER BY id")
        assert kept[0].rows == [[1, "ann", "a@x"], [2, "bob", None]]
    finally:
        api.delete_sandbox("alice", sid)


@pytest.mark.parametrize("engine", ["postgres", "sqlite"])
def test_dropping_a_column_is_refused_without_allow_destructive(
        running_stack, tmp_path: Path, engine: str) -> None:
    _need(running_stack, engine)
    api = running_stack.api()
    sid = running_stack.create(f"empty-{engine}")
    try:
        api.run_query("alice", sid, "CREATE TABLE customer (id integer PRIMARY KEY, "
                      "name text NOT NULL, email text); INSERT INTO customer VALUES (1, 'ann', "
                      "'a@x')")
        design = tmp_path / "no-email.dbml"
        design.write_text(SHOP.replace("  email text\n", ""))
        rc, refused = running_stack.cli("design", sid, "--dbml", str(design), "--apply",
                                        "--no-clone")
        assert rc != 0 and refused["error"]["type"] == "InvalidRequest", refused
        assert "--allow-destructive" in refused["error"]["message"]
        columns = [c.name for c in api.schema("alice", sid).table("customer").columns]
        assert columns == ["id", "name", "email"]
        rc, preview = running_stack.cli("design", sid, "--dbml", str(design), "--no-clone")
        assert rc == 0 and preview["destructive"]
        assert any(s["destructive"] and "email" in s["note"] for s in preview["statements"])
        rc, applied = running_stack.cli("design", sid, "--dbml", str(design), "--apply",
                                        "--allow-destructive")
        assert rc == 0 and applied["applied"], applied
        assert [c.name for c in api.schema("alice", sid).table("customer").columns] == [
            "id", "name"]
        assert api.run_query("alice", sid, "SELECT * FROM customer")[0].rows == [[1, "ann"]]
    finally:
        api.delete_sandbox("alice", sid)


def _checksums(api: Any, sid: str, columns: list[str]) -> list[Any]:
    """One checksum per column: the ordered concatenation of its values (NULLs marked)."""
    parts = ", ".join(f"group_concat(coalesce(CAST({c} AS TEXT), '<null>'), '|')"
                      for c in columns)
    engine = api.get_sandbox("alice", sid).engine
    if engine == "postgres":
        parts = ", ".join(f"md5(string_agg(coalesce({c}::text, '<null>'), '|' ORDER BY id))"
                          for c in columns)
        result = api.run_query("alice", sid, f"SELECT {parts} FROM customer")
    else:
        result = api.run_query("alice", sid, f"SELECT {parts} FROM (SELECT * FROM customer "
                                             "ORDER BY id)")
    assert result[0].error is None, result[0].error
    return list(result[0].rows[0])


@pytest.mark.parametrize("engine", ["postgres", "sqlite"])
def test_a_rename_marked_in_the_design_keeps_the_data(running_stack, tmp_path: Path,
                                                      engine: str) -> None:
    _need(running_stack, engine)
    api = running_stack.api()
    sid = running_stack.create(f"empty-{engine}")
    try:
        api.run_query("alice", sid, "CREATE TABLE customer (id integer PRIMARY KEY, "
                      "name text NOT NULL, email text); INSERT INTO customer VALUES "
                      "(1, 'ann', 'a@x'), (2, 'bob', NULL), (3, 'cy', 'c@x')")
        before = _checksums(api, sid, ["id", "name", "email"])
        # a rename and, on SQLite, a change that needs a rebuild (email becomes NOT NULL
        # with a default): both keep every value
        design = tmp_path / "renamed.dbml"
        design.write_text(SHOP.replace("name text [not null]",
                                       "full_name text [not null, note: 'renamed from name']")
                          .replace("email text", "email text [unique]"))
        rc, applied = running_stack.cli("design", sid, "--dbml", str(design), "--apply")
        assert rc == 0 and applied["applied"], applied
        assert not applied["destructive"]
        assert not any("DROP COLUMN" in s["sql"] for s in applied["statements"])
        assert _checksums(api, sid, ["id", "full_name", "email"]) == before
    finally:
        api.delete_sandbox("alice", sid)


def test_the_preview_counts_rows_that_would_violate_new_constraints(
        running_stack, tmp_path: Path) -> None:
    _need(running_stack, "postgres")
    api = running_stack.api()
    sid = running_stack.create("empty-postgres")
    try:
        api.run_query("alice", sid, "CREATE TABLE customer (id integer PRIMARY KEY, "
                      "name text NOT NULL, email text); INSERT INTO customer VALUES "
                      "(1, 'ann', 'same@x'), (2, 'bob', NULL), (3, 'cy', 'same@x'); "
                      "CREATE TABLE note (body text)")
        design = tmp_path / "strict.dbml"
        design.write_text(SHOP.replace("email text", "email text [not null, unique]")
                          + "Table note {\n  body text\n  customer_id integer "
                            "[ref: > customer.id]\n}\n")
        rc, preview = running_stack.cli("design", sid, "--dbml", str(design))
        assert rc == 1, preview  # the clone refused it
        assert not preview["clone"]["ok"] and preview["clone"]["failed_statement"]
        risks = {(r["kind"], r["table"]): r for r in preview["risks"]}
        assert risks[("not_null", "customer")]["rows"] == 1
        assert risks[("unique", "customer")]["rows"] == 2
        assert ("no_primary_key", "note") in risks
        assert ("unindexed_fk", "note") in risks
        assert api.run_query("alice", sid, "SELECT count(*) FROM customer WHERE email IS NULL"
                             )[0].rows == [[1]]  # nothing changed
    finally:
        api.delete_sandbox("alice", sid)


@pytest.mark.parametrize("engine", ["postgres", "sqlite"])
def test_a_migration_failing_on_the_sandbox_is_rolled_back_whole(running_stack, tmp_path: Path,
                                                                 engine: str) -> None:
    _need(running_stack, engine)
    api = running_stack.api()
    sid = running_stack.create(f"empty-{engine}")
    try:
        api.run_query("alice", sid, "CREATE TABLE customer (id integer PRIMARY KEY, "
                      "name text NOT NULL, email text); INSERT INTO customer VALUES "
                      "(1, 'ann', 'a@x'), (2, 'bob', NULL)")
        before = _shape(api, sid)
        design = tmp_path / "strict.dbml"
        # a new table first, then a NOT NULL that bob's row refuses
        design.write_text(SHOP.replace("email text", "email text [not null]")
                          + "Table tag {\n  id integer [pk]\n}\n")
        rc, failed = running_stack.cli("design", sid, "--dbml", str(design), "--apply",
                                       "--no-clone")
        assert rc != 0 and failed["error"]["type"] == "Conflict", failed
        assert "rolled back" in failed["error"]["message"]
        assert _shape(api, sid) == before  # no new table, no half-rebuilt one
        rows = api.run_query("alice", sid, "SELECT id, name, email FROM customer ORDER BY id")
        assert rows[0].rows == [[1, "ann", "a@x"], [2, "bob", None]]
    finally:
        api.delete_sandbox("alice", sid)
