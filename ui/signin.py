"""Sign in: local accounts (bcrypt-hashed by the orchestrator) or OpenID Connect.

A fresh installation has no admin: the page then offers to create the first account, an
admin, with the one-time setup code ``dbplay up`` printed (without it nobody who merely
reaches the page can take the installation). OpenID Connect is offered when
``.streamlit/secrets.toml`` has an ``[auth]`` section.
"""

from __future__ import annotations

import streamlit as st

from engines.errors import DBPlayError
from ui import feedback, session


def _first_account() -> None:
    st.info("No accounts yet. Create the first account, an admin, with the setup code "
            "that `dbplay up` printed in its terminal.")
    with st.form("first_account"):
        code = st.text_input("Setup code", key="new_setup_code", placeholder="XXXX-XXXX")
        name = st.text_input("User name", key="new_name")
        password = st.text_input("Password", type="password", key="new_password")
        repeat = st.text_input("Repeat password", type="password", key="new_repeat")
        submitted = st.form_submit_button("Create account", type="primary")
    if not submitted:
        return
    if not code.strip():
        st.error("Enter the setup code that `dbplay up` printed.")
    elif not name.strip() or not password:
        st.error("Enter a user name and a password.")
    elif password != repeat:
        st.error("The passwords do not match: type them again.")
    else:
        try:
            session.orchestrator().create_first_admin(code.strip(), name.strip(), password)
        except DBPlayError as exc:
            feedback.show_error(exc)
            return
        session.sign_in(name.strip())
        st.rerun()


def _local_sign_in() -> None:
    with st.form("sign_in"):
        name = st.text_input("User name", key="login_name")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if session.orchestrator().authenticate(name.strip(), password):
            session.sign_in(name.strip())
            st.rerun()
        st.error("Wrong user name or password. Try again, or ask whoever runs this "
                 "DB Playground to create an account for you.")


def _oidc_sign_in() -> None:
    st.subheader("Single sign-on")
    if st.button("Sign in with your identity provider", key="oidc_login",
                 icon=":material/key:"):
        st.login()


def render() -> None:
    """The whole sign-in screen (shown instead of any page while nobody is signed in)."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle, feedback.guard():
        st.title("DB Playground")
        st.caption("Disposable database sandboxes: launch, query, chart, throw away.")
        if session.oidc_configured():
            _oidc_sign_in()
            st.divider()
            st.subheader("Local account")
        if session.orchestrator().has_users():
            _local_sign_in()
        else:
            _first_account()

