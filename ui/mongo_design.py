"""The Design page on a MongoDB sandbox: a collection's ``$jsonSchema`` validator inferred
from sampled documents and edited field by field (with how many existing documents
would fail it), set with ``collMod``; and indexes designed (compound, unique, partial,
TTL) with their ``createIndex`` command previewed, then created."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from engines.errors import DBPlayError
from orchestrator.design.mongo_index import DIRECTIONS, index_rows
from orchestrator.design.mongo_validator import (
    BSON_TYPES,
    FieldRow,
    from_fields,
    parse_types,
)
from ui import feedback, session

FIELD_COLUMNS = ["field", "bsonType", "required"]


def _collections(user: str, sandbox_id: str) -> list[Any]:
    key = f"mdesign_schema_{sandbox_id}"
    if key not in st.session_state:
        with feedback.guard():
            st.session_state[key] = session.orchestrator().schema(user, sandbox_id).tables
    return list(st.session_state.get(key) or [])


def _rows(frame: pd.DataFrame) -> list[FieldRow]:
    rows = []
    for record in frame.to_dict("records"):
        name = str(record.get("field") or "").strip()
        if name:
            rows.append(FieldRow(name, parse_types(str(record.get("bsonType") or "")),
                                 bool(record.get("required"))))
    return rows


def _checked(user: str, sandbox_id: str, collection: str,
             schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The validator's answer (inferred when ``schema`` is None), kept per schema."""
    key = f"mdesign_check_{sandbox_id}_{collection}"
    wanted = json.dumps(schema, sort_keys=True) if schema is not None else None
    cached = st.session_state.get(key)
    if cached is not None and (wanted is None or cached[0] == wanted):
        answer: dict[str, Any] = cached[1]
        return answer
    spinner = ("Sampling documents and inferring a validator…" if schema is None else
               "Counting the documents the validator would reject…")
    with feedback.guard(), st.spinner(spinner):
        answer = session.orchestrator().design_validator(user, sandbox_id, collection, schema)
        st.session_state[key] = (json.dumps(answer["validator"], sort_keys=True), answer)
        return answer
    return None


def _validator(user: str, sandbox_id: str, collection: str) -> None:
    inferred = _checked(user, sandbox_id, collection, None)
    if inferred is None:
        return
    base = f"mdesign_fields_{sandbox_id}_{collection}"
    if base not in st.session_state:
        st.session_state[base] = pd.DataFrame(inferred["fields"], columns=FIELD_COLUMNS)
    if inferred.get("sampled"):
        st.caption(f"Inferred from {inferred['sampled']:,} sampled document(s). Edit a "
                   f"field's bsonType (comma-separated, e.g. `string, null`) or whether it "
                   f"is required; add or delete rows. Paths: `a.b` nested, `a[]` array "
                   f"elements.")
    edited = st.data_editor(
        st.session_state[base], key=f"mdesign_editor_{sandbox_id}_{collection}",
        num_rows="dynamic", width="stretch", hide_index=True, column_config={
            "field": st.column_config.TextColumn("field", required=True),
            "bsonType": st.column_config.TextColumn(
                "bsonType", help="one or more of " + ", ".join(BSON_TYPES)),
            "required": st.column_config.CheckboxColumn("required", default=False)})
    try:
        schema = from_fields(_rows(edited))
    except ValueError as exc:
        st.error(str(exc))
        return
    answer = _checked(user, sandbox_id, collection, schema)
    if answer is None:
        return
    failing, total = answer["failing"], answer["total"]
    message = f"{failing:,} of {total:,} existing documents would fail this validator"
    (st.warning if failing else st.success)(message, icon=":material/rule:")
    if answer["examples"]:
        st.caption("For example `_id`: " + ", ".join(f"`{json.dumps(e)}`"
                                                      for e in answer["examples"]))
    with st.expander("The validator ($jsonSchema)"):
        st.json({"$jsonSchema": schema})
    level_col, action_col = st.columns(2)
    level = level_col.selectbox("validationLevel", ["strict", "moderate"],
                                key=f"mdesign_level_{sandbox_id}", help="moderate: "
                                "existing documents that already fail are not checked on "
                                "update")
    action = action_col.selectbox("validationAction", ["error", "warn"],
                                  key=f"mdesign_action_{sandbox_id}",
                                  help="warn: failing writes are logged, not refused")
    if st.button("Set the validator", key=f"mdesign_apply_{sandbox_id}", type="primary",
                 icon=":material/play_arrow:"):
        with feedback.guard(), st.spinner("Setting the validator (collMod)…"):
            session.orchestrator().design_validator(user, sandbox_id, collection, schema,
                                                    apply=True, level=level, action=action)
            st.success(f"Set on {collection} (validationLevel {level}, validationAction "
                       f"{action}).", icon=":material/check_circle:")


def _index_design(sandbox_id: str) -> dict[str, Any] | None:
    base = f"mdesign_keyrows_{sandbox_id}"
    if base not in st.session_state:
        st.session_state[base] = pd.DataFrame([{"field": "", "direction": "1"}])
    keys = st.data_editor(
        st.session_state[base], key=f"mdesign_keys_{sandbox_id}",
        num_rows="dynamic", width="stretch", hide_index=True, column_config={
            "field": st.column_config.TextColumn("field"),
            "direction": st.column_config.SelectboxColumn(
                "direction", options=[str(d) for d in DIRECTIONS], default="1")})
    left, right = st.columns(2)
    unique = left.checkbox("Unique", key=f"mdesign_unique_{sandbox_id}")
    ttl = left.number_input("TTL: expire after seconds (0: none)", min_value=0, step=60,
                            key=f"mdesign_ttl_{sandbox_id}")
    name = right.text_input("Name (optional)", key=f"mdesign_iname_{sandbox_id}")
    partial = right.text_area("Partial: only documents matching (JSON filter)",
                              key=f"mdesign_partial_{sandbox_id}",
                              placeholder='{"grades.score": {"$gte": 10}}')
    try:
        rows = index_rows(keys.to_dict("records"))
        filter_ = json.loads(partial) if partial.strip() else None
    except (DBPlayError, ValueError) as exc:
        st.error(getattr(exc, "message", None) or f"the partial filter is not JSON: {exc}")
        return None
    if not rows:
        st.caption("Name at least one field.")
        return None
    return {"keys": rows, "unique": unique, "partial": filter_,
            "ttl_seconds": int(ttl) or None, "name": name.strip() or None}


def _indexes(user: str, sandbox_id: str, table: Any) -> None:
    if table.indexes:
        st.caption("Existing: " + "; ".join(
            f"`{i.name}` ({', '.join(i.columns)}{', unique' if i.unique else ''})"
            for i in table.indexes))
    design = _index_design(sandbox_id)
    if design is None:
        return
    api = session.orchestrator()
    with feedback.guard():
        preview = api.design_index(user, sandbox_id, table.name, design)
        st.code(preview["command"], language="javascript")
        if st.button("Create the index", key=f"mdesign_create_{sandbox_id}", type="primary",
                     icon=":material/add:"):
            with st.spinner("Creating the index…"):
                made = api.design_index(user, sandbox_id, table.name, design, apply=True)
            st.session_state.pop(f"mdesign_schema_{sandbox_id}", None)
            feedback.flash(f"Created index {made['name']} on {table.name}.")
            st.rerun()


def render(user: str, sandbox_id: str) -> None:
    tables = [t for t in _collections(user, sandbox_id) if t.kind == "collection"]
    if not tables:
        st.info("This sandbox has no collections yet: insert some documents first.")
        return
    names = [t.name for t in tables]
    collection = st.selectbox("Collection", names, key=f"mdesign_collection_{sandbox_id}")
    table = tables[names.index(collection)]
    validator, indexes = st.tabs(["Validator", "Indexes"])
    with validator:
        _validator(user, sandbox_id, collection)
    with indexes:
        _indexes(user, sandbox_id, table)
