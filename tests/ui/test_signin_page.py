"""Sign-in: the first (admin) account on first start with the setup code, local accounts,
OpenID Connect (keyed by issuer and subject) when configured, and a clear message when the
stack is down."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engines.errors import NotAllowed
from orchestrator.api.accounts import issue_setup_code
from orchestrator.api.service import Orchestrator
from orchestrator.config.settings import Settings
from orchestrator.store.db import Database
from tests.servers import free_port
from tests.ui.conftest import APP, TIMEOUT, all_text, no_crash, texts, use_settings
from ui import session
from ui.session import USER_KEY
from ui.stack_banner import START_HINT

PASSWORD = "correct horse battery"
ISSUER = "https://id.example"


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A brand-new DBPLAY_HOME with no accounts, and no Redis listening anywhere."""
    use_settings(monkeypatch, {
        "DBPLAY_HOME": str(tmp_path / "home"),
        "DBPLAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "DBPLAY_PROVISIONER": "local",
    })
    return tmp_path / "home"


@pytest.fixture
def setup_code(fresh_home: Path) -> str:
    """The one-time code `dbplay up` prints on a fresh install (the same call)."""
    settings = Settings.load()
    db = Database(settings.database_url, settings.home)
    try:
        code = issue_setup_code(db)
    finally:
        db.dispose()
    assert code is not None
    return code


def first_account(at: AppTest, name: str, password: str, repeat: str,
                  code: str = "") -> AppTest:
    at.text_input(key="new_setup_code").input(code)
    at.text_input(key="new_name").input(name)
    at.text_input(key="new_password").input(password)
    at.text_input(key="new_repeat").input(repeat)
    return at.button(key="FormSubmitter:first_account-Create account").click().run()


def test_first_start_creates_the_first_account_and_signs_in(fresh_home: Path, setup_code: str):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert "Create the first account" in all_text(at)
    first_account(at, "admin", PASSWORD, PASSWORD, setup_code)
    no_crash(at)
    assert at.session_state[USER_KEY] == "admin"
    assert [t.value for t in at.title] == ["Templates"]
    assert "Signed in as **admin**" in texts(at, "caption")


def test_the_first_account_needs_the_setup_code_and_the_code_works_once(
        fresh_home: Path, setup_code: str):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    first_account(at, "mallory", PASSWORD, PASSWORD)  # no code at all
    assert any("setup code" in e for e in texts(at, "error"))
    first_account(at, "mallory", PASSWORD, PASSWORD, "AAAA-BBBB")  # a guessed one
    assert any("**NotAllowed**" in e for e in texts(at, "error"))
    assert USER_KEY not in at.session_state
    first_account(at, "admin", PASSWORD, PASSWORD, setup_code)
    assert at.session_state[USER_KEY] == "admin"
    api = Orchestrator.from_settings(Settings.load())
    try:
        assert api.is_admin("admin") and not api.authenticate("mallory", PASSWORD)
        with pytest.raises(NotAllowed):  # used up, even on a fresh screen
            api.create_first_admin(setup_code, "mallory", PASSWORD)
    finally:
        api.close()


def test_a_weak_first_password_is_refused_with_why(fresh_home: Path, setup_code: str):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    first_account(at, "admin", "pw", "pw", setup_code)
    errors = texts(at, "error")
    assert any("too short" in e and "too easy to guess" in e for e in errors), errors
    assert USER_KEY not in at.session_state


def test_mismatched_passwords_are_refused(fresh_home: Path, setup_code: str):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    first_account(at, "admin", "one", "two", setup_code)
    assert any("do not match" in e for e in texts(at, "error"))
    assert USER_KEY not in at.session_state


def test_wrong_password_is_refused_and_right_one_signs_in(fresh_home: Path, setup_code: str):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    first_account(at, "admin", PASSWORD, PASSWORD, setup_code)
    at.button(key="sign_out").click().run()
    assert USER_KEY not in at.session_state
    at.text_input(key="login_name").input("admin")
    at.text_input(key="login_password").input("nope")
    at.button(key="FormSubmitter:sign_in-Sign in").click().run()
    assert any("Wrong user name or password" in e for e in texts(at, "error"))
    at.text_input(key="login_password").input(PASSWORD)
    at.button(key="FormSubmitter:sign_in-Sign in").click().run()
    no_crash(at)
    assert at.session_state[USER_KEY] == "admin"


def _cookie_scripts(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.get("html") if "document.cookie" in h.proto.body]


def test_signing_in_opens_a_server_session_kept_in_a_cookie_and_signing_out_ends_it(
        fresh_home: Path, setup_code: str):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    first_account(at, "admin", PASSWORD, PASSWORD, setup_code)
    cookie = at.session_state[session.COOKIE_KEY]
    scripts = _cookie_scripts(at)
    assert scripts and f"{session.COOKIE}={cookie}; Max-Age=43200" in scripts[0]
    api = Orchestrator.from_settings(Settings.load())
    try:
        assert api.web_session_user(cookie) == "admin"
        assert api.web_session_user(cookie[:-2] + ("A" if cookie[-1] != "A" else "B") * 2) \
            is None  # altered: the signature no longer matches
        at.button(key="sign_out").click().run()
        no_crash(at)
        assert USER_KEY not in at.session_state
        assert api.web_session_user(cookie) is None  # ended on the server
        assert any("Max-Age=0" in s for s in _cookie_scripts(at))  # and dropped in the browser
    finally:
        api.close()


def test_a_session_ends_when_its_time_is_up(fresh_home: Path, setup_code: str,
                                             monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DBPLAY_WEB_SESSION_TTL", "1s")
    api = Orchestrator.from_settings(Settings.load())
    try:
        api.create_first_admin(setup_code, "admin", PASSWORD)
        cookie = api.open_web_session("admin")
        assert api.web_session_user(cookie) == "admin"
        time.sleep(2.1)
        assert api.web_session_user(cookie) is None
    finally:
        api.close()


def _oidc_app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback",
                          "cookie_secret": "x", "client_id": "c", "client_secret": "s",
                          "server_metadata_url": "https://id.example/.well-known/openid"}
    return at


def test_openid_connect_is_offered_when_configured_and_its_identity_is_used(fresh_home: Path):
    at = _oidc_app()
    at.user = {"is_logged_in": False}
    at.run()
    assert at.button(key="oidc_login").label.startswith("Sign in with")
    at.user = {"is_logged_in": True, "iss": ISSUER, "sub": "248289761001",
               "email": "carol@example.com"}
    at.run()
    no_crash(at)
    assert "Signed in as **carol@example.com**" in texts(at, "caption")  # shown, not the key
    assert session.OIDC_KEY in at.session_state


def test_openid_accounts_are_keyed_by_issuer_and_subject_not_by_mutable_claims(
        fresh_home: Path):
    accounts = {}
    for label, claims in {
        "carol": {"sub": "1", "email": "carol@example.com"},
        "carol, new e-mail": {"sub": "1", "email": "carol@new.example"},
        "same e-mail, other subject": {"sub": "2", "email": "carol@example.com"},
        "a local name as e-mail": {"sub": "3", "email": "admin"},
    }.items():
        at = _oidc_app()
        at.user = {"is_logged_in": True, "iss": ISSUER, **claims}
        at.run()
        no_crash(at)
        accounts[label] = at.session_state[session.OIDC_KEY][1]
    assert accounts["carol"] == accounts["carol, new e-mail"]
    assert accounts["carol"] != accounts["same e-mail, other subject"]
    assert all(name.startswith("oidc:") for name in accounts.values())  # never a local name
    at = _oidc_app()
    at.user = {"is_logged_in": True, "email": "carol@example.com"}  # no issuer/subject
    at.run()
    assert session.OIDC_KEY not in at.session_state
    assert at.button(key="oidc_login")  # still the sign-in screen


def test_launch_says_the_stack_is_down_and_how_to_start_it(fresh_home: Path):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state[USER_KEY] = "dave"
    at.run()
    errors = texts(at, "error")
    assert any(START_HINT in e and "Redis" in e for e in errors)  # the banner, before acting
    at.button(key="launch_chinook-sqlite").click().run()
    assert not at.exception
    errors = texts(at, "error")
    assert any(e.startswith("**ServiceUnavailable**") and "dbplay up" in e for e in errors)
    assert not [e for e in errors if "Traceback" in e or "Unexpected error" in e]
