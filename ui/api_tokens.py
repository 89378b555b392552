"""API tokens from the sidebar: a signed-in user makes a token for the CLI or any HTTP
client (``DBPLAY_URL`` + ``DBPLAY_TOKEN``), sees their tokens and revokes one.

The secret is shown once, right after it is made; only its hash is stored.
"""

from __future__ import annotations

import streamlit as st

from engines.errors import DBPlayError
from ui import feedback, session

NEW_SECRET = "api_token_secret"


def render_api_tokens(user: str) -> None:
    """A sidebar expander: create a token, list mine, revoke one."""
    api = session.orchestrator()
    with st.expander("API tokens", icon=":material/key:"):
        st.caption("For the `dbplay` command line on another machine, CI jobs or any HTTP "
                   "client: set `DBPLAY_URL` to this installation's API and `DBPLAY_TOKEN` "
                   "to the token. A token acts as you.")
        with st.form("new_api_token", clear_on_submit=True):
            name = st.text_input("Label", key="api_token_name", placeholder="laptop, CI …")
            made = st.form_submit_button("Create token", icon=":material/add:")
        if made:
            try:
                _view, made_secret = api.create_token(user, name.strip())
            except DBPlayError as exc:
                feedback.show_error(exc)
            else:
                st.session_state[NEW_SECRET] = made_secret
        shown = st.session_state.get(NEW_SECRET)
        if shown:
            st.success("Copy the token now: it is not shown again.")
            st.code(shown, language=None)
        live = [t for t in api.list_tokens(user) if t.revoked_at is None]
        for token in live:
            label = token.name or f"token {token.id}"
            used = token.last_used_at or "never"
            cols = st.columns([3, 1])
            cols[0].markdown(f"**{label}**  \ncreated {token.created_at[:16]}, used {used[:16]}")
            if cols[1].button("Revoke", key=f"revoke_token_{token.id}"):
                api.revoke_token(user, token.id)
                st.session_state.pop(NEW_SECRET, None)
                st.rerun()
        if not live:
            st.caption("No tokens yet.")
