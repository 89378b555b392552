"""The Design page's migration: the statements for the sandbox's dialect (destructive
ones flagged), the risk notes, and the outcome of a try on a throwaway clone."""

from __future__ import annotations

from typing import Any

import streamlit as st


def render(answer: dict[str, Any]) -> None:
    steps = answer["statements"]
    if not steps:
        st.success("The sandbox already matches the design: nothing to migrate.",
                   icon=":material/check_circle:")
        return
    destructive = sum(1 for s in steps if s["destructive"])
    st.caption(f"{len(steps)} statement(s) for {answer['dialect']}, run in one transaction"
               + (f"; **{destructive} destructive**" if destructive else ""))
    for step in steps:
        if step["destructive"]:
            st.error(f"Destructive: {step['note']}", icon=":material/warning:")
        else:
            st.caption(step["note"])
        st.code(step["sql"], language="sql")
    for risk in answer["risks"]:
        st.warning(risk["message"], icon=":material/report:")
    if answer.get("clone") is not None:
        render_clone(answer["clone"])
    with st.expander("The whole script"):
        st.code(answer["script"], language="sql")


def render_clone(clone: dict[str, Any]) -> None:
    """How the migration went on a throwaway clone."""
    if clone["ok"]:
        st.success("Tried on a throwaway clone: every statement ran.", icon=":material/science:")
    else:
        st.error(f"On a throwaway clone it failed: {clone['error']}", icon=":material/science:")
        st.code(clone["failed_statement"] or "", language="sql")
