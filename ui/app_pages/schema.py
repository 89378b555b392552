"""Schema: tables/collections of a sandbox with columns, keys, indexes and counts, plus an
ER diagram built from the foreign keys (SQL engines)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engines.result import SchemaInfo, TableInfo
from ui import er_diagram, feedback, picker, session
from ui.formatting import engine_label

SQL_ENGINES = ("postgres", "sqlite")


def _table(table: TableInfo) -> None:
    count = "?" if table.row_count is None else f"{table.row_count:,}"
    noun = "documents" if table.kind == "collection" else "rows"
    title = f"{table.schema + '.' if table.schema else ''}{table.name} · {table.kind} · "
    with st.expander(f"{title}{count} {noun}"):
        if table.columns:
            st.dataframe(pd.DataFrame([{
                "column": c.name, "type": c.type, "nullable": c.nullable,
                "primary key": c.primary_key or c.name in table.primary_key,
                "default": c.default,
            } for c in table.columns]), hide_index=True, width="stretch")
        else:
            st.caption("No declared columns (schemaless).")
        if table.primary_key:
            st.markdown(f"**Primary key:** {', '.join(table.primary_key)}")
        for fk in table.foreign_keys:
            st.markdown(f"**Foreign key** ({', '.join(fk.columns)}) → "
                        f"{fk.ref_table} ({', '.join(fk.ref_columns)})")
        if table.indexes:
            st.markdown("**Indexes**")
            st.dataframe(pd.DataFrame([{
                "name": i.name, "columns": ", ".join(i.columns), "unique": i.unique,
                "definition": i.definition or "",
            } for i in table.indexes]), hide_index=True, width="stretch")
        if table.extra:
            st.markdown("**Details**")
            st.json(table.extra)


def main() -> None:
    user = session.require_user()
    st.title("Schema")
    sandbox = picker.pick_sandbox(user, key="schema_sandbox")
    if sandbox is None:
        return
    cache_key = f"schema_{sandbox.id}"
    if st.button("Refresh", key="schema_refresh", icon=":material/refresh:"):
        st.session_state.pop(cache_key, None)
    if cache_key not in st.session_state:
        with feedback.guard(), st.spinner("Reading the schema…"):
            st.session_state[cache_key] = session.orchestrator().schema(user, sandbox.id)
    schema: SchemaInfo | None = st.session_state.get(cache_key)
    if schema is None:
        return
    if not schema.tables:
        st.info(f"This {engine_label(sandbox.engine)} sandbox is empty: create a table or "
                "collection in the **Playground**, then press Refresh.")
        return
    st.caption(f"{len(schema.tables)} tables/collections in {engine_label(schema.engine)}.")
    structure, diagram = st.tabs(["Tables", "ER diagram"])
    with structure:
        for table in schema.tables:
            _table(table)
    with diagram:
        if sandbox.engine not in SQL_ENGINES:
            st.info(f"{engine_label(sandbox.engine)} has no foreign keys: ER diagrams are "
                    "drawn for SQL engines only.")
        else:
            drawn = {t.name for t in er_diagram.related_tables(schema)}
            if not er_diagram.has_relations(schema):
                st.caption("No foreign keys declared: the tables are shown unconnected.")
            left_out = [t.name for t in schema.tables if t.name not in drawn]
            if left_out:
                st.caption(f"Not drawn (views, or tables without foreign keys): "
                           f"{', '.join(left_out)}.")
            st.graphviz_chart(er_diagram.er_dot(schema), width="stretch")


main()
