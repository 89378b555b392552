"""Who is signed in, and the one :class:`Orchestrator` every page talks to.

Pages never build an orchestrator themselves: :func:`orchestrator` returns one shared
instance per settings (read from the environment at start-up, see
``orchestrator/settings.py``), cached for the life of the Streamlit server.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from orchestrator.api import Orchestrator

USER_KEY = "dbplay_user"


def _settings_fingerprint() -> tuple[tuple[str, str], ...]:
    """The settings-relevant environment, so a changed environment gets a new orchestrator."""
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("DBPLAY_")))


@st.cache_resource(show_spinner=False)
def _build_orchestrator(fingerprint: tuple[tuple[str, str], ...]) -> Orchestrator:
    from orchestrator.api import Orchestrator
    from orchestrator.settings import Settings

    return Orchestrator.from_settings(Settings.load())


def orchestrator() -> Orchestrator:
    return _build_orchestrator(_settings_fingerprint())


def oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section (OpenID Connect)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own error type
        return False


def oidc_user() -> str | None:
    """The identity of a user signed in through OpenID Connect, if any."""
    if not oidc_configured():
        return None
    try:
        if not st.user.is_logged_in:
            return None
    except Exception:
        return None
    for claim in ("email", "preferred_username", "name", "sub"):
        value = st.user.get(claim)
        if value:
            return str(value)
    return None


def current_user() -> str | None:
    user = st.session_state.get(USER_KEY)
    if user:
        return str(user)
    return oidc_user()


def sign_in(name: str) -> None:
    st.session_state[USER_KEY] = name


def sign_out() -> None:
    """Forget the local sign-in and everything this session kept about the user."""
    was_oidc = st.session_state.get(USER_KEY) is None and oidc_user() is not None
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if was_oidc:
        st.logout()


def require_user() -> str:
    """The signed-in user; stops the page when nobody is (the app shows sign-in instead)."""
    user = current_user()
    if user is None:
        st.warning("You are not signed in. Open **Sign in** to continue.")
        st.stop()
    return user
