"""The Playground's code editor: Ace (``streamlit-code-editor``, MIT) with the engine's
highlighting, completions from the sandbox's schema, and Ctrl/Cmd+Enter to run.

The component ships its built frontend inside the wheel (nothing is fetched at run time).
It answers only on events: Ctrl/Cmd+Enter (Ace's ``submit`` command, carrying the text
and the current selection), its **Run all** button, and leaving the editor (blur), so the
page's buttons (Run all, Save) see the current text. No answer while typing: a debounced
one could land just after a Ctrl+Enter and replace it before the page read it. Each
answer has a fresh ``id``: an answer already handled is ignored, so a later rerun never
runs the same statement twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st
from code_editor import code_editor

from engines.descriptor import EngineDescriptor
from engines.result import SchemaInfo

#: the script text the page holds (what Run all runs, what Save saves)
TEXT = "pg_editor"
#: bumped to load another text into the editor (a new component instance shows it)
VERSION = "pg_editor_version"
HANDLED = "pg_editor_handled"
#: Ace's own mode names for the descriptor's ``highlight``
ACE_MODES = {"sql": "pgsql", "javascript": "javascript", "python": "python"}
RUN_ALL = "run_all"
BUTTONS = [
    {"name": "Run (Ctrl+Enter)", "feather": "Play", "primary": True, "hasText": True,
     "showWithIcon": True, "alwaysOn": True, "commands": ["submit"],
     "style": {"bottom": "0.44rem", "right": "0.4rem"}},
    {"name": "Run all", "feather": "FastForward", "hasText": True, "showWithIcon": True,
     "alwaysOn": True, "commands": [["response", RUN_ALL]],
     "style": {"bottom": "0.44rem", "right": "11rem"}},
]


@dataclass(frozen=True)
class RunRequest:
    """What the user asked to run from the editor, and whether it was a selection."""

    text: str
    selection: bool


def ace_mode(engine: EngineDescriptor) -> str:
    return ACE_MODES.get(engine.highlight, engine.highlight)


def completions(schema: SchemaInfo | None) -> list[dict[str, Any]]:
    """Ace completion items: every table/collection, then its columns/fields (the meta
    says which table a column is in)."""
    if schema is None:
        return []
    items: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    container = "table" if schema.engine in ("postgres", "sqlite") else "collection"
    for table in schema.tables:
        kind = table.kind if table.kind != "table" else container
        names = [table.name]
        if schema.engine == "mongodb":
            names.append(f"db.{table.name}")
        for name in names:
            if (name, kind) not in seen:
                seen.add((name, kind))
                items.append({"caption": name, "value": name, "meta": kind, "name": name,
                              "score": 1000})
        for column in table.columns:
            meta = f"{table.name}.{column.type}" if column.type else table.name
            if (column.name, table.name) not in seen:
                seen.add((column.name, table.name))
                items.append({"caption": column.name, "value": column.name, "meta": meta,
                              "name": column.name, "score": 900})
    return items


def request_of(response: dict[str, Any] | None) -> RunRequest | None:
    """The run an editor answer asks for: Ctrl/Cmd+Enter runs the selection when there is
    one, else everything; the Run all button runs everything. Other answers (typing)
    ask for nothing."""
    if not response:
        return None
    kind = response.get("type")
    text = str(response.get("text") or "")
    if kind == "submit":
        selected = str(response.get("selected") or "")
        if selected.strip():
            return RunRequest(selected, selection=True)
        return RunRequest(text, selection=False)
    if kind == RUN_ALL:
        return RunRequest(text, selection=False)
    return None


def load(text: str) -> None:
    """Put ``text`` into the editor (history, saved query, a link): a new component
    instance starts with it."""
    st.session_state[TEXT] = text
    st.session_state[VERSION] = int(st.session_state.get(VERSION, 0)) + 1


def render(engine: EngineDescriptor, schema: SchemaInfo | None) -> RunRequest | None:
    """The editor; returns a run request when the user pressed Ctrl/Cmd+Enter or Run."""
    version = int(st.session_state.get(VERSION, 0))
    response = code_editor(
        st.session_state.get(TEXT, ""), lang=ace_mode(engine), height=[8, 24],
        shortcuts="vscode", buttons=BUTTONS, completions=completions(schema),
        response_mode="blur", ghost_text=engine.example,
        options={"wrap": True, "showLineNumbers": True},
        props={"placeholder": engine.example}, key=f"pg_code_{version}")
    if not response or not response.get("id"):
        return None
    if response["id"] == st.session_state.get(HANDLED):
        return None
    st.session_state[HANDLED] = response["id"]
    st.session_state[TEXT] = str(response.get("text") or "")
    return request_of(response)
