"""Design: change a PostgreSQL or SQLite sandbox's schema by form or as DBML, see the
exact migration before it runs, try it on a throwaway clone, then apply it.

The working design is DBML kept in the session (started from the sandbox's live schema);
the table form, the DBML editor, a DBML upload and DDL of another dialect (converted by
sqlglot) all change it. The migration is recomputed whenever it changes.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from engines.errors import DBPlayError
from engines.registry import descriptor_for
from orchestrator.design.dbml import from_dbml
from orchestrator.design.model import Design
from ui import design_diagram, design_form, design_preview, feedback, mongo_design, picker, session

#: sqlglot's names of the dialects whose DDL can be converted
DDL_DIALECTS = ["postgres", "mysql", "sqlite", "tsql", "oracle", "snowflake", "bigquery",
                "duckdb", "redshift", "databricks"]


def _keys(sandbox_id: str) -> dict[str, str]:
    return {name: f"design_{name}_{sandbox_id}" for name in
            ("dbml", "text", "preview", "outcome", "error", "ddl", "ddl_dialect", "upload")}


def _set_design(keys: dict[str, str], dbml: str) -> None:
    st.session_state[keys["dbml"]] = dbml
    st.session_state[keys["text"]] = dbml


def _start_over(user: str, sandbox_id: str, keys: dict[str, str]) -> None:
    _set_design(keys, session.orchestrator().schema_dbml(user, sandbox_id))
    st.session_state.pop(keys["outcome"], None)


def _uploaded(keys: dict[str, str]) -> None:
    upload = st.session_state.get(keys["upload"])
    if upload is not None:
        _set_design(keys, upload.getvalue().decode("utf-8", errors="replace"))


def _convert(user: str, sandbox_id: str, keys: dict[str, str]) -> None:
    try:
        dbml = session.orchestrator().ddl_as_dbml(user, sandbox_id,
                                                  st.session_state.get(keys["ddl"], ""),
                                                  st.session_state.get(keys["ddl_dialect"], ""))
    except DBPlayError as exc:
        st.session_state[keys["error"]] = exc.message
        return
    st.session_state.pop(keys["error"], None)
    _set_design(keys, dbml)


def _parsed(keys: dict[str, str]) -> Design | DBPlayError:
    """The working design, parsed once per run (the diagram and the form both draw it),
    or why its DBML does not parse."""
    try:
        return from_dbml(st.session_state[keys["dbml"]])
    except DBPlayError as exc:
        return exc


def _editors(user: str, sandbox_id: str, dialect: str, keys: dict[str, str],
             design: Design | DBPlayError) -> None:
    form, text, ddl = st.tabs(["Table form", "DBML", "Import DDL"])
    with form, feedback.guard():
        if isinstance(design, DBPlayError):
            raise design
        changed = design_form.render(design, dialect, key=f"design_form_{sandbox_id}")
        if changed is not None:
            _set_design(keys, changed)
            st.rerun()
    with text:
        st.text_area("The design as DBML", key=keys["text"], height=400)
        st.session_state[keys["dbml"]] = st.session_state[keys["text"]]
        down, up = st.columns(2)
        down.download_button("Download DBML", st.session_state[keys["dbml"]],
                             file_name=f"{sandbox_id}.dbml", icon=":material/download:")
        up.file_uploader("Upload DBML", type=["dbml", "txt"], key=keys["upload"],
                         on_change=_uploaded, args=(keys,))
    with ddl:
        st.selectbox("Dialect of the DDL", DDL_DIALECTS, key=keys["ddl_dialect"])
        st.text_area("CREATE TABLE statements", key=keys["ddl"], height=200)
        st.button("Convert into the design", key=f"design_convert_{sandbox_id}",
                  on_click=_convert, args=(user, sandbox_id, keys))
        if st.session_state.get(keys["error"]):
            st.error(st.session_state[keys["error"]])


def _migration(user: str, sandbox_id: str, keys: dict[str, str]) -> dict[str, Any] | None:
    dbml = st.session_state[keys["dbml"]]
    cached = st.session_state.get(keys["preview"])
    if cached is not None and cached[0] == dbml:
        answer: dict[str, Any] = cached[1]
        return answer
    with feedback.guard(), st.spinner("Computing the migration…"):
        answer = session.orchestrator().design_migration(user, sandbox_id, dbml,
                                                         try_clone=False)
        st.session_state[keys["preview"]] = (dbml, answer)
        return answer
    return None


def _actions(user: str, sandbox_id: str, keys: dict[str, str], answer: dict[str, Any]) -> None:
    if not answer["statements"]:
        return
    dbml = st.session_state[keys["dbml"]]
    allow = st.checkbox("Allow destructive steps", key=f"design_allow_{sandbox_id}",
                        disabled=not answer["destructive"])
    trial, apply = st.columns(2)
    api = session.orchestrator()
    if trial.button("Try on a clone", key=f"design_try_{sandbox_id}", icon=":material/science:"):
        with feedback.guard(), st.spinner("Copying the sandbox and running the migration…"):
            tried = api.design_migration(user, sandbox_id, dbml)
            st.session_state[keys["outcome"]] = {"dbml": dbml, "clone": tried["clone"]}
    if apply.button("Apply", key=f"design_apply_{sandbox_id}", type="primary",
                    icon=":material/play_arrow:"):
        with feedback.guard(), st.spinner("Trying on a clone, then applying…"):
            api.design_migration(user, sandbox_id, dbml, apply=True, allow_destructive=allow)
            feedback.flash("Applied: the sandbox now matches the design.")
            st.session_state.pop(keys["preview"], None)
            st.session_state.pop(keys["dbml"], None)  # read again from the sandbox
            st.session_state.pop(keys["outcome"], None)
            st.rerun()
    outcome = st.session_state.get(keys["outcome"])
    if outcome is not None and outcome.get("dbml") == dbml and outcome.get("clone") is not None:
        design_preview.render_clone(outcome["clone"])


def _diagram(sandbox_id: str, design: Design | DBPlayError) -> None:
    """The working design's tables; a click on one opens it in the table form."""
    if isinstance(design, DBPlayError) or not design.tables:
        return  # the form says what does not parse
    with st.expander("Diagram of the design: click a table to edit it in the form",
                     expanded=True):
        event = st.altair_chart(design_diagram.chart(design), width="content",
                                on_select="rerun",
                                selection_mode=design_diagram.PICK,
                                key=f"design_diagram_{sandbox_id}")
    table = design_diagram.picked(event)
    applied = f"design_diagram_picked_{sandbox_id}"
    # a click is applied once: later runs keep whatever the form's table picker says
    if table != st.session_state.get(applied):
        st.session_state[applied] = table
        if table is not None and design.table(table) is not None:
            st.session_state[f"design_form_{sandbox_id}_table"] = table


def main() -> None:
    user = session.require_user()
    st.title("Design")
    feedback.show_flash()
    sandbox = picker.pick_sandbox(user, key="design_sandbox")
    if sandbox is None or sandbox.state not in picker.USABLE:
        return
    if sandbox.engine == "mongodb":  # validators and indexes (ui/mongo_design.py)
        mongo_design.render(user, sandbox.id)
        return
    if not descriptor_for(sandbox.engine).is_sql or sandbox.engine not in ("postgres",
                                                                            "sqlite"):
        st.info("The designer changes PostgreSQL, SQLite and MongoDB sandboxes; pick one "
                "of those.")
        return
    keys = _keys(sandbox.id)
    if keys["dbml"] not in st.session_state:
        with feedback.guard(), st.spinner("Reading the schema…"):
            _start_over(user, sandbox.id, keys)
        if keys["dbml"] not in st.session_state:
            return
    design = _parsed(keys)
    _diagram(sandbox.id, design)
    st.button("Start over from the sandbox", key=f"design_reset_{sandbox.id}",
              icon=":material/restart_alt:", on_click=_start_over, args=(user, sandbox.id, keys))
    dialect = "postgresql" if sandbox.engine == "postgres" else "sqlite"
    _editors(user, sandbox.id, dialect, keys, design)
    st.subheader("Migration")
    answer = _migration(user, sandbox.id, keys)
    if answer is None:
        return
    design_preview.render(answer)
    _actions(user, sandbox.id, keys, answer)


main()
