"""The Build page's step widgets: each step of a builder spec as a few clicks, made from
the sandbox's schema (tables and their columns; joins suggested from foreign keys). The
widgets return the spec's JSON form; the service layer validates and compiles it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from engines.result import SchemaInfo, TableInfo

OPERATORS = ["=", "!=", "<", "<=", ">", ">=", "in", "not in", "like", "not like", "between",
             "is null", "is not null"]
AGGREGATES = ["count", "count_distinct", "sum", "avg", "min", "max"]
ALL_ROWS = "(all rows)"


@dataclass(frozen=True)
class JoinChoice:
    """A join the schema's foreign keys suggest: ``table`` joined to what came before."""
    table: str
    on: tuple[tuple[str, str], ...]  # (left, right) column references

    @property
    def label(self) -> str:
        return f"{self.table} on " + " and ".join(f"{a} = {b}" for a, b in self.on)


def suggested_joins(schema: SchemaInfo, joined: list[str]) -> list[JoinChoice]:
    """Joins from foreign keys between a table already in the query and one that is not,
    in either direction."""
    tables = {t.name: t for t in schema.tables}
    out: list[JoinChoice] = []
    for t in schema.tables:
        for fk in t.foreign_keys:
            pairs_from = tuple(zip(fk.columns, fk.ref_columns, strict=False))
            if t.name in joined and fk.ref_table not in joined and fk.ref_table in tables:
                out.append(JoinChoice(fk.ref_table, tuple(
                    (f"{t.name}.{c}", f"{fk.ref_table}.{r}") for c, r in pairs_from)))
            if fk.ref_table in joined and t.name not in joined:
                out.append(JoinChoice(t.name, tuple(
                    (f"{fk.ref_table}.{r}", f"{t.name}.{c}") for c, r in pairs_from)))
    return list(dict.fromkeys(out))


def columns_of(schema: SchemaInfo, tables: list[str]) -> list[str]:
    by_name: dict[str, TableInfo] = {t.name: t for t in schema.tables}
    return [f"{name}.{c.name}" for name in tables for c in by_name[name].columns]


def value_of(text: str) -> Any:
    """A typed value from a cell: JSON when it reads as JSON (numbers, lists, true, null),
    else the text itself."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        return text


def _condition(row: dict[str, Any]) -> dict[str, Any] | None:
    if not row.get("column") or not row.get("op"):
        return None
    item: dict[str, Any] = {"type": "condition", "column": row["column"], "op": row["op"]}
    if row["op"] not in ("is null", "is not null"):
        value = value_of(str(row.get("value") or ""))
        if row["op"] in ("like", "not like"):
            value = str(row.get("value") or "")
        item["value"] = value
    return item


def _conditions(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [c for c in map(_condition, frame.to_dict("records")) if c is not None]


def condition_groups(frame: pd.DataFrame) -> list[list[dict[str, Any]]]:
    """The conditions by their ``group`` cell (1 when empty), in group order."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for row in frame.to_dict("records"):
        condition = _condition(row)
        if condition is None:
            continue
        number = row.get("group")
        group = 1 if number is None or pd.isna(number) else int(number)
        groups.setdefault(group, []).append(condition)
    return [groups[g] for g in sorted(groups)]


def filter_tree(groups: list[list[dict[str, Any]]], inside: str,
                between: str) -> dict[str, Any] | None:
    """The spec's filter for condition groups: one group combines its conditions with
    ``inside``; several groups are each combined so, then joined with ``between``
    (``(a AND b) OR (c AND d)``)."""
    groups = [g for g in groups if g]
    if not groups:
        return None
    if len(groups) == 1:
        return {"type": "group", "combine": inside, "items": groups[0]}
    return {"type": "group", "combine": between,
            "items": [{"type": "group", "combine": inside, "items": g} for g in groups]}


def _condition_frame(grouped: bool) -> pd.DataFrame:
    columns = {"column": pd.Series([], dtype="object"), "op": pd.Series([], dtype="object"),
               "value": pd.Series([], dtype="object")}
    if grouped:
        columns["group"] = pd.Series([], dtype="Int64")
    return pd.DataFrame(columns)


def _condition_editor(label: str, options: list[str], key: str,
                      grouped: bool = False) -> pd.DataFrame:
    config: dict[str, Any] = {
        "column": st.column_config.SelectboxColumn(label, options=options),
        "op": st.column_config.SelectboxColumn("operator", options=OPERATORS),
        "value": st.column_config.TextColumn(
            "value", help="text, a number, or a JSON list for in / between")}
    if grouped:
        config["group"] = st.column_config.NumberColumn(
            "group", min_value=1, step=1, default=1,
            help="conditions with the same number form one group (in brackets)")
    frame: pd.DataFrame = st.data_editor(_condition_frame(grouped), key=key,
                                         num_rows="dynamic", width="stretch",
                                         column_config=config)
    return frame


def _filter_step(columns: list[str], key: str) -> dict[str, Any] | None:
    st.markdown("**3 · Filter**")
    inside_col, between_col = st.columns(2)
    inside = inside_col.radio("Combine conditions in a group with", ["and", "or"],
                              horizontal=True, key=f"{key}_combine")
    between = between_col.radio("Combine the groups with", ["or", "and"], horizontal=True,
                                key=f"{key}_between",
                                help="groups are numbered in the table's group column")
    frame = _condition_editor("column", columns, f"{key}_filter", grouped=True)
    return filter_tree(condition_groups(frame), inside, between)


def render(schema: SchemaInfo, key: str) -> dict[str, Any] | None:
    """The steps as widgets; the spec (JSON form) they describe, or None without a source."""
    names = [t.name for t in schema.tables]
    source = st.selectbox("1 · Source", names, index=None, key=f"{key}_source",
                          placeholder="Pick a table or collection")
    if source is None:
        return None
    spec: dict[str, Any] = {"source": {"table": source}}
    left = st.session_state.get(f"{key}_left", False)
    joined, joins, kept = [source], [], []
    for label in st.session_state.get(f"{key}_joins", []):  # each join opens the next
        offered = {j.label: j for j in suggested_joins(schema, joined)}
        if label in offered:
            kept.append(label)
            joined.append(offered[label].table)
            joins.append({"table": offered[label].table, "kind": "left" if left else "inner",
                          "on": [{"left": a, "right": b} for a, b in offered[label].on]})
    if st.session_state.get(f"{key}_joins", []) != kept:
        st.session_state[f"{key}_joins"] = kept  # a join whose way in was removed goes
    st.multiselect("2 · Joins (suggested from foreign keys)",
                   kept + [j.label for j in suggested_joins(schema, joined)],
                   key=f"{key}_joins")
    st.toggle("Left joins (keep rows without a match)", key=f"{key}_left")
    if joins:
        spec["joins"] = joins
    columns = columns_of(schema, joined)
    tree = _filter_step(columns, key)
    if tree is not None:
        spec["filter"] = tree
    keys = st.multiselect("4 · Group by", columns, key=f"{key}_group")
    aggregates = _aggregates(columns, f"{key}_aggs") if keys or st.toggle(
        "Aggregate without grouping", key=f"{key}_agg_all") else []
    if keys or aggregates:
        spec["group_by"] = keys
        spec["aggregates"] = aggregates
        st.caption("HAVING: conditions on the aggregates or group keys")
        having = _conditions(_condition_editor(
            "aggregate", [a["name"] for a in aggregates] + keys, f"{key}_having"))
        if having:
            spec["having"] = {"type": "group", "items": having}
        labels = [k.rsplit(".", 1)[-1] for k in keys] + [a["name"] for a in aggregates]
    else:
        picked = st.multiselect("Columns to show (none: all)", columns, key=f"{key}_columns")
        spec["columns"] = [{"ref": c} for c in picked]
        labels = [c.rsplit(".", 1)[-1] for c in picked] or columns
    sort_col, desc_col, limit_col, offset_col = st.columns([3, 1, 1, 1])
    sort = sort_col.selectbox("5 · Sort by", labels, index=None, key=f"{key}_sort")
    desc = desc_col.toggle("Descending", key=f"{key}_desc")
    if sort:
        spec["sort"] = [{"ref": sort, "desc": desc}]
    limit = limit_col.number_input("Limit", min_value=0, value=None, step=10,
                                   key=f"{key}_limit")
    offset = offset_col.number_input("Offset", min_value=0, value=0, step=10,
                                     key=f"{key}_offset")
    if limit is not None:
        spec["limit"] = int(limit)
    if offset:
        spec["offset"] = int(offset)
    return spec


def _aggregates(columns: list[str], key: str) -> list[dict[str, Any]]:
    start = pd.DataFrame({"function": ["count"], "column": [ALL_ROWS], "name": ["n"]})
    frame = st.data_editor(start, key=key, num_rows="dynamic", width="stretch",
                           column_config={
                               "function": st.column_config.SelectboxColumn(
                                   "aggregate", options=AGGREGATES),
                               "column": st.column_config.SelectboxColumn(
                                   "of", options=[ALL_ROWS, *columns]),
                               "name": st.column_config.TextColumn("named")})
    out = []
    for row in frame.to_dict("records"):
        if not row.get("function") or not row.get("name"):
            continue
        agg = {"name": str(row["name"]), "func": row["function"]}
        if row.get("column") and row["column"] != ALL_ROWS:
            agg["column"] = row["column"]
        out.append(agg)
    return out
