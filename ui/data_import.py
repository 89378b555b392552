"""Importing rows from a file (CSV, JSON, JSON Lines, Parquet) into a sandbox.

The uploaded bytes go to the orchestrator, which keeps them as a private upload
(``orchestrator/jobs/uploads.py``); its ``import_data`` job reads that upload, by id only, into
a table (SQL) or collection (MongoDB, Chroma), creating it when it does not exist, and
removes it once done.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from engines.registry import descriptor_for
from ui import feedback, session
from ui.formatting import human_ms

if TYPE_CHECKING:
    from orchestrator.store.views import SandboxView

#: file endings the engines read (``engines.formats``), ndjson being JSON Lines
UPLOAD_TYPES = ["csv", "json", "jsonl", "ndjson", "parquet"]
LAST_IMPORT = "import_last"


def target_name(file_name: str) -> str:
    """A table name suggested by the file's name: ``Sales 2024.csv`` -> ``sales_2024``."""
    stem = Path(file_name).name.split(".")[0].lower()
    name = re.sub(r"[^a-z0-9_]+", "_", stem).strip("_") or "imported"
    return f"t_{name}" if name[0].isdigit() else name


def _hint(sandbox: SandboxView) -> str:
    if descriptor_for(sandbox.engine).is_sql:
        return ("An existing table gets the rows appended (the database casts each value "
                "to its column's type); a missing one is created from the file's columns. "
                "JSON and Parquet keep their types. A CSV's columns are typed too: integer, "
                "number, boolean, date or timestamp when every value in the column parses "
                "as one (codes with leading zeros stay text), empty cells become NULL.")
    if sandbox.engine == "chroma":
        return ("Each row becomes a record: an `id` column (required, unique), a `document` "
                "column to embed, an optional `embedding`; other columns become metadata.")
    return "Each row becomes a document in the collection (created when missing)."


def render(user: str, sandbox: SandboxView, on_done: str | None = None) -> None:
    """An expander with the upload form; ``on_done`` is a session key to drop afterwards
    (the page's cached schema, so the new table shows at once)."""
    noun = "table" if descriptor_for(sandbox.engine).is_sql else "collection"
    with st.expander(f"Import rows from a file into a {noun}", icon=":material/upload:"):
        st.caption(f"CSV (with a header row), JSON (an array of objects), JSON Lines or "
                   f"Parquet. {_hint(sandbox)}")
        upload = st.file_uploader("Data file", type=UPLOAD_TYPES, key="import_data_file")
        suggested = target_name(upload.name) if upload is not None else ""
        target = st.text_input(f"Into {noun}", key=f"import_target_{suggested}",
                               value=suggested, placeholder=f"{noun} name")
        clicked = st.button("Import rows", key="import_data_go", type="primary",
                            icon=":material/upload:", disabled=upload is None)
        if clicked and upload is not None:
            _import(user, sandbox, target.strip(), upload.name, upload.getvalue(), on_done)
        last = st.session_state.get(LAST_IMPORT)
        if last and last.get("sandbox") == sandbox.id:
            st.success(f"Imported **{last['rows']:,}** rows into **{last['target']}** in "
                       f"{human_ms(last['elapsed_ms'])}. Query it in the **Playground**.")


def _import(user: str, sandbox: SandboxView, target: str, file_name: str, data: bytes,
            on_done: str | None) -> None:
    st.session_state.pop(LAST_IMPORT, None)
    if not target:
        st.error("Name the table or collection to import into.")
        return
    with feedback.guard(
        "Check the file (a header row for CSV, objects for JSON) and the target name."
    ):
        with st.spinner(f"Importing {file_name} into {target}…"):
            report = session.orchestrator().import_data(user, sandbox.id, target, data,
                                                        file_name=file_name)
        st.session_state[LAST_IMPORT] = {"sandbox": sandbox.id, "target": report.target,
                                         "rows": report.rows,
                                         "elapsed_ms": report.elapsed_ms}
        if on_done:
            st.session_state.pop(on_done, None)
        st.rerun()
