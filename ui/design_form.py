"""The Design page's table form: a table's columns in an editable grid, its foreign keys
picked from the design's tables, its indexes; "Put into the design" writes it back into
the working design (DBML text kept in the session). On PostgreSQL the design's enum types
have a grid of their own."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from orchestrator.design.dbml import to_dbml
from orchestrator.design.model import RENAME_NOTE, Column, Design, Enum, ForeignKey, Index, Table

NEW = "(new table)"
ACTIONS = ["", "cascade", "set null", "restrict", "set default"]


def _columns_frame(table: Table | None) -> pd.DataFrame:
    if table is None:
        rows = [{"name": "id", "type": "integer", "not null": True, "primary key": True,
                 "unique": False, "default": "", "note": ""}]
    else:
        unique = {i.columns[0] for i in table.indexes if i.unique and i.constraint
                  and len(i.columns) == 1}
        rows = [{"name": c.name, "type": c.type, "not null": not c.nullable,
                 "primary key": c.name in table.primary_key, "unique": c.name in unique,
                 "default": c.default or "",
                 "note": f"renamed from {c.renamed_from}" if c.renamed_from else c.note or ""}
                for c in table.columns]
    return pd.DataFrame(rows, columns=["name", "type", "not null", "primary key", "unique",
                                       "default", "note"])


def _fk_frame(table: Table | None) -> pd.DataFrame:
    rows = [{"column": ", ".join(fk.columns),
             "references": f"{fk.ref_table}.{', '.join(fk.ref_columns)}",
             "on delete": fk.on_delete or ""} for fk in (table.foreign_keys if table else [])]
    return pd.DataFrame(rows, columns=["column", "references", "on delete"])


def _index_frame(table: Table | None) -> pd.DataFrame:
    rows = [{"columns": ", ".join(i.columns), "unique": i.unique, "where": i.where or ""}
            for i in (table.indexes if table else [])
            if not (i.constraint and len(i.columns) == 1)]
    return pd.DataFrame(rows, columns=["columns", "unique", "where"]).astype(
        {"columns": "object", "unique": "bool", "where": "object"})


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def table_from_form(name: str, columns: pd.DataFrame, fks: pd.DataFrame,
                    indexes: pd.DataFrame, old: Table | None) -> Table:
    """The table the form describes (rows without a name are skipped)."""
    table = Table(name.strip(), note=old.note if old else None)
    if old is not None and table.name != old.name:
        table.renamed_from = old.renamed_from or old.name
    for row in columns.to_dict("records"):
        column_name = _text(row.get("name")).strip()
        if not column_name:
            continue
        note = _text(row.get("note")).strip() or None
        rename = RENAME_NOTE.match(note or "")
        table.columns.append(Column(column_name, _text(row.get("type")).strip() or "text",
                                    nullable=not (row.get("not null") or row.get("primary key")),
                                    default=_text(row.get("default")).strip() or None,
                                    note=None if rename else note,
                                    renamed_from=rename.group(1) if rename else None))
        if row.get("primary key"):
            table.primary_key.append(column_name)
        if row.get("unique"):
            table.indexes.append(Index(None, [column_name], unique=True, constraint=True))
    for row in fks.to_dict("records"):
        cols = [c.strip() for c in _text(row.get("column")).split(",") if c.strip()]
        ref = _text(row.get("references"))
        if not cols or "." not in ref:
            continue
        ref_table, ref_cols = ref.rsplit(".", 1)
        table.foreign_keys.append(ForeignKey(cols, ref_table, [c.strip() for c in
                                                               ref_cols.split(",")],
                                             on_delete=_text(row.get("on delete")) or None))
    for row in indexes.to_dict("records"):
        cols = [c.strip() for c in _text(row.get("columns")).split(",") if c.strip()]
        if cols:
            table.indexes.append(Index(None, cols, bool(row.get("unique")),
                                       _text(row.get("where")).strip() or None))
    return table


def _enum_frame(design: Design) -> pd.DataFrame:
    rows = [{"name": e.name, "values": ", ".join(e.values)} for e in design.enums]
    return pd.DataFrame(rows, columns=["name", "values"]).astype(
        {"name": "object", "values": "object"})


def enums_from_form(frame: pd.DataFrame) -> list[Enum]:
    """The enum types the grid describes (rows without a name or values are skipped)."""
    enums = []
    for row in frame.to_dict("records"):
        name = _text(row.get("name")).strip()
        values = [v.strip() for v in _text(row.get("values")).split(",") if v.strip()]
        if name and values:
            enums.append(Enum(name, list(dict.fromkeys(values))))
    return enums


def _render_enums(design: Design, dialect: str, key: str) -> str | None:
    """The enum grid; returns the new DBML when the user put the enums into the design."""
    st.caption("Enum types (values comma separated, in their order). A column uses one by "
               "naming it as its type. Values can be added; removing a type drops it.")
    frame = st.data_editor(_enum_frame(design), num_rows="dynamic", hide_index=True,
                           key=f"{key}_enums", width="stretch")
    if not st.button("Put the enums into the design", key=f"{key}_put_enums",
                     icon=":material/list:"):
        return None
    design.enums = enums_from_form(frame)
    return to_dbml(design, dialect)


def render(design: Design, dialect: str, key: str) -> str | None:
    """The form over the working design (parsed once by the page; the form changes it
    only on its way to the DBML it returns); returns the new DBML when the user put a
    table into (or removed one from) the design, else None."""
    names = [t.name for t in design.tables]
    chosen = st.selectbox("Table", [NEW, *names], key=f"{key}_table")
    old = design.table(chosen) if chosen != NEW else None
    # widget keys become CSS classes (st-key-...): only word characters in them
    form_key = f"{key}_" + ("new" if old is None else re.sub(r"\W", "_", chosen))
    name = st.text_input("Table name", value=old.name if old else "", key=f"{form_key}_name")
    st.caption("Columns (types as the sandbox's SQL spells them; defaults are SQL "
               "expressions: `'new'`, `0`, `now()`). A note `renamed from OLD` keeps a "
               "renamed column's data.")
    columns = st.data_editor(_columns_frame(old), num_rows="dynamic", hide_index=True,
                             key=f"{form_key}_columns", width="stretch")
    targets = [f"{t.name}.{', '.join(t.primary_key)}" for t in design.tables if t.primary_key]
    st.caption("Foreign keys: pick the referenced table's key")
    fks = st.data_editor(_fk_frame(old), num_rows="dynamic", hide_index=True,
                         key=f"{form_key}_fks", width="stretch", column_config={
                             "references": st.column_config.SelectboxColumn(options=targets),
                             "on delete": st.column_config.SelectboxColumn(options=ACTIONS)})
    st.caption("Indexes (columns or expressions, comma separated; `where` makes it partial)")
    indexes = st.data_editor(_index_frame(old), num_rows="dynamic", hide_index=True,
                             key=f"{form_key}_indexes", width="stretch", column_config={
                                 "unique": st.column_config.CheckboxColumn(default=False)})
    put, remove = st.columns(2)
    if put.button("Put into the design", key=f"{key}_put", icon=":material/add_box:",
                  type="primary"):
        if not name.strip():
            st.error("Give the table a name.")
            return None
        table = table_from_form(name, columns, fks, indexes, old)
        if not table.columns:
            st.error("Give the table at least one column.")
            return None
        if old is not None:
            design.tables[design.tables.index(old)] = table
        else:
            design.tables.append(table)
        return to_dbml(design, dialect)
    if old is not None and remove.button("Remove from the design", key=f"{key}_remove",
                                         icon=":material/delete:"):
        design.tables.remove(old)
        return to_dbml(design, dialect)
    if dialect == "postgresql":
        st.divider()
        return _render_enums(design, dialect, key)
    return None
