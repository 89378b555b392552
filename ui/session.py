"""Who is signed in, and the one :class:`Orchestrator` every page talks to.

Pages never build an orchestrator themselves: :func:`orchestrator` returns one shared
instance per settings (read from the environment at start-up, see
``orchestrator/config/settings.py``), cached for the life of the Streamlit server.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from orchestrator.api.service import Orchestrator

USER_KEY = "dbplay_user"
OIDC_KEY = "dbplay_oidc_account"
#: the browser cookie holding the signed session (see ``orchestrator/api/web_sessions.py``)
COOKIE = "dbplay_session"
#: this browser session's cookie value, and one still to be written to (or cleared from)
#: the browser: ``""`` clears it
COOKIE_KEY = "dbplay_session_cookie"
PENDING_COOKIE = "dbplay_pending_cookie"


def _settings_fingerprint() -> tuple[tuple[str, str], ...]:
    """The settings-relevant environment, so a changed environment gets a new orchestrator."""
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("DBPLAY_")))


@st.cache_resource(show_spinner=False)
def _build_orchestrator(fingerprint: tuple[tuple[str, str], ...]) -> Orchestrator:
    from orchestrator.api.service import Orchestrator
    from orchestrator.config.settings import Settings

    return Orchestrator.from_settings(Settings.load())


def orchestrator() -> Orchestrator:
    return _build_orchestrator(_settings_fingerprint())


def oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section (OpenID Connect)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own error type
        return False


def oidc_identity() -> tuple[str, str, str] | None:
    """(issuer, subject, display name) of a user signed in through OpenID Connect.

    The account is keyed by issuer and subject only, the two claims an identity provider
    never reassigns; e-mail and name are mutable and only shown."""
    if not oidc_configured():
        return None
    try:
        if not st.user.is_logged_in:
            return None
        issuer, subject = st.user.get("iss"), st.user.get("sub")
        shown = next((st.user.get(c) for c in ("email", "preferred_username", "name")
                      if st.user.get(c)), None)
    except Exception:
        return None
    if not issuer or not subject:
        return None  # no stable identity: not signed in
    return str(issuer), str(subject), str(shown or subject)


def oidc_user() -> str | None:
    """The account name (``oidc:<hash>``) of the OpenID Connect user, if any; the account
    is made on first sign-in (see ``orchestrator/api/accounts.py``)."""
    identity = oidc_identity()
    if identity is None:
        return None
    cached = st.session_state.get(OIDC_KEY)
    if cached and tuple(cached[0]) == identity[:2]:
        return str(cached[1])
    name = orchestrator().oidc_account(*identity)
    st.session_state[OIDC_KEY] = (identity[:2], name)
    return name


def _browser_cookie() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no browser behind this run (AppTest, bare mode)
        return None
    return str(value) if value else None


def _from_cookie() -> str | None:
    """The user of this browser's session cookie, when it is live on the server: a reload
    keeps the sign-in. A session ended elsewhere (signed out in another tab) ends here."""
    cookie = st.session_state.get(COOKIE_KEY) or _browser_cookie()
    if not cookie or st.session_state.get(PENDING_COOKIE) == "":
        return None
    user = orchestrator().web_session_user(cookie)
    if user is None:
        st.session_state.pop(USER_KEY, None)
        st.session_state.pop(COOKIE_KEY, None)
        if _browser_cookie():
            st.session_state[PENDING_COOKIE] = ""  # drop the dead cookie from the browser
        return None
    st.session_state[COOKIE_KEY] = cookie
    st.session_state[USER_KEY] = user
    return user


def current_user() -> str | None:
    if st.session_state.get(COOKIE_KEY) or (not st.session_state.get(USER_KEY)
                                            and _browser_cookie()):
        return _from_cookie() or oidc_user()
    user = st.session_state.get(USER_KEY)
    if user:
        return str(user)
    return oidc_user()


def display_name(user: str) -> str:
    """How to show the signed-in user: an OIDC account's e-mail or name, else its name."""
    identity = oidc_identity()
    if identity is not None and st.session_state.get(USER_KEY) is None:
        return identity[2]
    return user


def sign_in(name: str) -> None:
    """Sign ``name`` in (already authenticated) and open a server session whose signed
    cookie the browser keeps, so a reload stays signed in."""
    cookie = orchestrator().open_web_session(name)
    st.session_state[USER_KEY] = name
    st.session_state[COOKIE_KEY] = cookie
    st.session_state[PENDING_COOKIE] = cookie


def sign_out() -> None:
    """End the session on the server, drop the browser's cookie and forget everything
    this session kept about the user."""
    was_oidc = st.session_state.get(USER_KEY) is None and oidc_identity() is not None
    cookie = st.session_state.get(COOKIE_KEY) or _browser_cookie()
    if cookie:
        orchestrator().close_web_session(cookie)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[PENDING_COOKIE] = ""
    if was_oidc:
        st.logout()


def write_cookie() -> None:
    """Hand the browser the cookie :func:`sign_in` made (or clear it after signing out):
    a line of script, as Streamlit cannot set cookies from the server."""
    value = st.session_state.pop(PENDING_COOKIE, None)
    if value is None:
        return
    ttl = orchestrator().settings.web_session_ttl if value else 0
    cookie = f"{COOKIE}={value}; Max-Age={ttl}; Path=/; SameSite=Strict"
    st.html(f"<script>document.cookie = {json.dumps(cookie)};</script>",
            unsafe_allow_javascript=True)


def require_user() -> str:
    """The signed-in user; stops the page when nobody is (the app shows sign-in instead)."""
    user = current_user()
    if user is None:
        st.warning("You are not signed in. Open **Sign in** to continue.")
        st.stop()
    return user
