"""Adding local accounts once the first (admin) one exists.

Nobody can sign up from the sign-in screen (an open sign-up would let anyone who reaches
the page in): the first account, an admin, needs the one-time setup code ``dbplay up``
prints, and after that only admins add accounts, from the sidebar. The orchestrator checks
this too (``create_user`` refuses a non-admin), so hiding the form is not the only guard.
When OpenID Connect is configured, the identity provider manages who gets in, so local
accounts are not offered.
"""

from __future__ import annotations

import streamlit as st

from engines.errors import DBPlayError
from ui import feedback, session

ADDED = "account_added"


def _check(name: str, password: str, repeat: str) -> str | None:
    """What is wrong with the entries before asking the orchestrator (which also checks
    the password's length and strength), or None."""
    if not name or not password:
        return "Enter a user name and a password."
    if password != repeat:
        return "The passwords do not match: type them again."
    return None


def render_add_account(user: str) -> None:
    """A sidebar expander with a form that creates another local account (admins only)."""
    if session.oidc_configured() or not session.orchestrator().is_admin(user):
        return
    with st.expander("Add an account", icon=":material/person_add:"):
        st.caption("Create a sign-in for a colleague. They see only their own sandboxes, "
                   "templates and dashboards; adding an account does not switch you to it.")
        with st.form("add_account", clear_on_submit=True):
            name = st.text_input("User name", key="add_name")
            password = st.text_input("Password", type="password", key="add_password")
            repeat = st.text_input("Repeat password", type="password", key="add_repeat")
            admin = st.checkbox("Admin (may add and remove accounts)", key="add_admin")
            submitted = st.form_submit_button("Add account", icon=":material/person_add:")
        if submitted:
            st.session_state.pop(ADDED, None)
            problem = _check(name.strip(), password, repeat)
            if problem:
                st.error(problem)
            else:
                try:
                    session.orchestrator().create_user(user, name.strip(), password,
                                                       admin=admin)
                except DBPlayError as exc:
                    feedback.show_error(exc, "Choose another user name." if
                                        exc.to_dict().get("type") == "Conflict" else None)
                else:
                    st.session_state[ADDED] = name.strip()
        added = st.session_state.get(ADDED)
        if added:
            st.success(f"Account **{added}** created: they can sign in now.")
