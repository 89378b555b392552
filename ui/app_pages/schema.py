"""Schema: what a sandbox holds.

SQL engines: tables with columns, types, keys, indexes and counts, plus an ER diagram
(graphviz) from the foreign keys. MongoDB: collections with the fields inferred from
sampled documents (BSON types, how often present) and indexes. Chroma: collections with
their metadata fields, embedding dimension, distance and HNSW index settings.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from engines.registry import descriptor_for
from engines.result import SchemaInfo, TableInfo
from ui import charts, data_import, er_diagram, feedback, picker, schema_cache, session

EXPAND_UP_TO = 3  # collections shown open when there are this few


NO_ROWS = "—"
#: kinds that store no rows of their own (a query run when read)
VIEW_KINDS = ("view",)
KIND_LABELS = {"view": "view (stores no rows)", "materialized view": "materialized view"}


def _count(table: TableInfo) -> str:
    """The row count as text: ``—`` for views, ``≈`` for an estimate, ``?`` if unknown."""
    if table.row_count is None:
        return NO_ROWS if table.kind in VIEW_KINDS else "?"
    about = "≈" if table.extra.get("row_count") == "estimate" else ""
    return f"{about}{table.row_count:,}"


def _kind(table: TableInfo) -> str:
    return KIND_LABELS.get(table.kind, table.kind)


def _overview(schema: SchemaInfo) -> None:
    """One line per table or collection: what it is and how big."""
    rows = []
    for t in schema.tables:
        row: dict[str, Any] = {"name": f"{t.schema + '.' if t.schema else ''}{t.name}",
                               "kind": _kind(t)}
        if schema.engine == "chroma":
            row |= {"records": _count(t), "metadata fields": len(t.columns),
                    "dimension": t.extra.get("dimension")}
        elif descriptor_for(schema.engine).is_sql:
            row |= {"rows": _count(t), "columns": len(t.columns), "indexes": len(t.indexes),
                    "foreign keys": len(t.foreign_keys)}
        else:
            row |= {"documents": _count(t), "fields": len(t.columns),
                    "indexes": len(t.indexes)}
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def what_is_there(schema: SchemaInfo) -> str:
    """``"15 tables and 7 views"``: views are not counted as tables."""
    views = sum(1 for t in schema.tables if t.kind in (*VIEW_KINDS, "materialized view"))
    tables = len(schema.tables) - views
    said = _plural(tables, "table")
    return f"{said} and {_plural(views, 'view')}" if views else said


def _sql_table(table: TableInfo) -> None:
    title = f"{table.schema + '.' if table.schema else ''}{table.name} · {_kind(table)}"
    if table.kind not in VIEW_KINDS:
        title += f" · {_count(table)} rows"
    with st.expander(title):
        if table.columns:
            st.dataframe(pd.DataFrame([{
                "column": c.name, "type": c.type, "nullable": c.nullable,
                "primary key": c.primary_key or c.name in table.primary_key,
                "default": c.default,
            } for c in table.columns]), hide_index=True, width="stretch")
        if table.primary_key:
            st.markdown(f"**Primary key:** {', '.join(table.primary_key)}")
        for fk in table.foreign_keys:
            st.markdown(f"**Foreign key** ({', '.join(fk.columns)}) → "
                        f"{fk.ref_table} ({', '.join(fk.ref_columns)})")
        _indexes(table)


def _indexes(table: TableInfo) -> None:
    if not table.indexes:
        return
    st.markdown("**Indexes**")
    st.dataframe(pd.DataFrame([{
        "name": i.name, "keys": ", ".join(i.columns), "unique": i.unique,
        "definition": i.definition or "",
    } for i in table.indexes]), hide_index=True, width="stretch")


def _mongo_collection(table: TableInfo, expanded: bool) -> None:
    title = f"{table.name} · {_kind(table)}" if table.kind in VIEW_KINDS else \
        f"{table.name} · {_count(table)} documents"
    with st.expander(title, expanded=expanded):
        sampled = table.extra.get("sampled")
        if table.columns:
            st.markdown("**Fields**")
            st.dataframe(pd.DataFrame([{
                "field": c.name, "BSON type": c.type, "in every document": not c.nullable,
                "key": c.primary_key or c.name in table.primary_key,
            } for c in table.columns]), hide_index=True, width="stretch")
            if sampled is not None:
                st.caption(f"Fields inferred from {sampled:,} sampled documents: MongoDB "
                           "has no fixed schema, other documents may hold more.")
        else:
            st.caption("No documents yet, so no fields to show.")
        _indexes(table)
        options = table.extra.get("options")
        if options:
            st.markdown("**Collection options**")
            st.json(options)


def _facts(items: dict[str, Any]) -> None:
    shown = {k: v for k, v in items.items() if v not in (None, "", {})}
    if shown:
        st.dataframe(pd.DataFrame([{"setting": k, "value": v if isinstance(v, str) else
                                    json.dumps(v)} for k, v in shown.items()]),
                     hide_index=True, width="stretch")


def _chroma_collection(user: str, sandbox_id: str, table: TableInfo, expanded: bool) -> None:
    with st.expander(f"{table.name} · {_count(table)} records", expanded=expanded):
        extra = table.extra
        hnsw: dict[str, Any] = (extra.get("configuration") or {}).get("hnsw") or {}
        records, dimension, space = st.columns(3)
        records.metric("Records", _count(table))
        dim = extra.get("dimension")
        dimension.metric("Embedding dimension", "?" if dim is None else str(dim))
        space.metric("Distance", hnsw.get("space", "?"))
        if table.columns:
            st.markdown("**Metadata fields**")
            st.dataframe(pd.DataFrame([{"field": c.name, "type": c.type}
                                       for c in table.columns]), hide_index=True,
                         width="stretch")
        else:
            st.caption("The records carry no metadata fields.")
        if hnsw:
            st.markdown("**Vector index (HNSW)**")
            _facts(hnsw)
        if extra.get("metadata"):
            st.markdown("**Collection metadata**")
            _facts(extra["metadata"])
        if table.row_count:
            _embedding_map(user, sandbox_id, table)


def _er_diagram(schema: SchemaInfo) -> None:
    drawn = {t.name for t in er_diagram.related_tables(schema)}
    if not er_diagram.has_relations(schema):
        st.caption("No foreign keys declared: the tables are shown unconnected.")
    left_out = [t.name for t in schema.tables if t.name not in drawn]
    if left_out:
        st.caption(f"Not drawn (views, or tables without foreign keys): {', '.join(left_out)}.")
    st.graphviz_chart(er_diagram.er_dot(schema), width="stretch")


def _load(user: str, sandbox_id: str) -> SchemaInfo | None:
    """The schema, read again whenever something ran on the sandbox since (a CREATE TABLE
    in the Playground, an import), or when asked."""
    if st.button("Refresh", key="schema_refresh", icon=":material/refresh:"):
        schema_cache.forget(sandbox_id)
    schema: SchemaInfo | None = None
    with feedback.guard(), st.spinner("Reading the schema…"):
        schema = schema_cache.schema(user, sandbox_id)
    return schema


EMBEDDING_POINTS = 500


def _embedding_map(user: str, sandbox_id: str, table: TableInfo) -> None:
    """A 2-D map (PCA) of the collection's embeddings, coloured by a metadata field."""
    key = f"schema_map_{sandbox_id}_{table.name}"
    if st.button("Show a 2-D map of the embeddings", key=f"{key}_go",
                 icon=":material/scatter_plot:"):
        statement = (f'{table.name}.get(limit={EMBEDDING_POINTS}, '
                     'include=["documents", "metadatas", "embeddings"])')
        with feedback.guard(), st.spinner("Reading the embeddings…"):
            result = session.orchestrator().run_query(user, sandbox_id, statement,
                                                      max_rows=EMBEDDING_POINTS)[0]
            if result.error:
                feedback.show_error_dict(result.error)
                return
            st.session_state[key] = pd.DataFrame(
                result.rows, columns=[c.name for c in result.columns])
    frame: pd.DataFrame | None = st.session_state.get(key)
    if frame is None:
        return
    fields = [c.name for c in table.columns]
    color = st.selectbox("Colour by", [None, *fields], key=f"{key}_color",
                         format_func=lambda f: "nothing" if f is None else f)
    try:
        projection = charts.project(frame, "embedding", color)
    except ValueError as exc:
        st.info(f"No map: {exc}.")
        return
    st.altair_chart(charts.projection_chart(projection), width="stretch")
    st.caption(f"{projection.note} Nearby points have similar embeddings. In the "
               f"Playground: `{table.name}.get(include=[\"embeddings\"])`.")


def main() -> None:
    user = session.require_user()
    st.title("Schema")
    sandbox = picker.pick_sandbox(user, key="schema_sandbox")
    if sandbox is None or sandbox.state not in picker.USABLE:
        return
    data_import.render(user, sandbox, on_done=f"{schema_cache.PREFIX}{sandbox.id}")
    schema = _load(user, sandbox.id)
    if schema is None:
        return
    described = descriptor_for(sandbox.engine)
    engine = described.label
    if not schema.tables:
        what = "table" if described.is_sql else "collection"
        st.info(f"This {engine} sandbox is empty: create a {what} in the **Playground** "
                "(then press Refresh), or import rows from a file above.")
        return
    if described.is_sql:
        st.caption(f"{what_is_there(schema)} in {engine}.")
        _overview(schema)
        structure, diagram = st.tabs(["Tables", "ER diagram"])
        with structure:
            for table in schema.tables:
                _sql_table(table)
        with diagram:
            _er_diagram(schema)
        return
    st.caption(f"{_plural(len(schema.tables), 'collection')} in {engine}. Collections have "
               "no foreign keys, so there is no ER diagram.")
    _overview(schema)
    expanded = len(schema.tables) <= EXPAND_UP_TO
    for table in schema.tables:
        if sandbox.engine == "chroma":
            _chroma_collection(user, sandbox.id, table, expanded)
        else:
            _mongo_collection(table, expanded)


main()
