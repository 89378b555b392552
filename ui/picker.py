"""Choosing one of my sandboxes, shared by the Playground, Charts and Schema pages.

The choice is remembered in the session (``current_sandbox``) so moving between pages
keeps the same sandbox selected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ui import feedback, session
from ui.formatting import engine_label

if TYPE_CHECKING:
    from orchestrator.store.views import SandboxView

CURRENT = "current_sandbox"
TEMPLATES_PAGE = "app_pages/templates.py"
USABLE = ("ready", "busy", "snapshotting")


def label(sandbox: SandboxView) -> str:
    engine = engine_label(sandbox.engine)
    return f"{sandbox.template} · {engine} · {sandbox.id[:8]} ({sandbox.state})"


def no_sandboxes() -> None:
    st.info("You have no sandboxes yet. Launch one from **Templates**.")
    st.page_link(TEMPLATES_PAGE, label="Go to Templates", icon=":material/dataset:")


def pick_sandbox(user: str, key: str) -> SandboxView | None:
    """A select box of my live sandboxes; ``None`` (with a hint shown) when there is none."""
    sandboxes: list[SandboxView] = []
    with feedback.guard():
        sandboxes = [
            s for s in session.orchestrator().list_sandboxes(user)
            if s.state not in ("deleted", "expired")
        ]
    if not sandboxes:
        no_sandboxes()
        return None
    ids = [s.id for s in sandboxes]
    current = st.session_state.get(CURRENT)
    index = ids.index(current) if current in ids else 0
    by_id = {s.id: s for s in sandboxes}
    chosen_id = st.selectbox(
        "Sandbox", ids, index=index, format_func=lambda i: label(by_id[i]), key=key
    )
    if chosen_id is None:
        return None
    chosen = by_id[chosen_id]
    st.session_state[CURRENT] = chosen.id
    if chosen.state not in USABLE:
        st.warning(f"This sandbox is **{chosen.state}**. "
                   + ("Wait a moment and reload." if chosen.state in ("requested", "provisioning")
                      else "Reset it from **My sandboxes** or launch a new one."))
    return chosen
