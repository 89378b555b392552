"""Sign-in: first account on first start, local accounts, OpenID Connect when configured,
and a clear message when the stack is down."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.servers import free_port
from tests.ui.conftest import APP, TIMEOUT, all_text, no_crash, texts, use_settings
from ui.session import USER_KEY
from ui.stack_banner import START_HINT


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A brand-new DBPLAY_HOME with no accounts, and no Redis listening anywhere."""
    use_settings(monkeypatch, {
        "DBPLAY_HOME": str(tmp_path / "home"),
        "DBPLAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "DBPLAY_PROVISIONER": "local",
    })
    return tmp_path / "home"


def first_account(at: AppTest, name: str, password: str, repeat: str) -> AppTest:
    at.text_input(key="new_name").input(name)
    at.text_input(key="new_password").input(password)
    at.text_input(key="new_repeat").input(repeat)
    return at.button(key="FormSubmitter:first_account-Create account").click().run()


def test_first_start_creates_the_first_account_and_signs_in(fresh_home: Path):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert "Create the first account" in all_text(at)
    first_account(at, "admin", "s3cret", "s3cret")
    no_crash(at)
    assert at.session_state[USER_KEY] == "admin"
    assert [t.value for t in at.title] == ["Templates"]
    assert "Signed in as **admin**" in texts(at, "caption")


def test_mismatched_passwords_are_refused(fresh_home: Path):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    first_account(at, "admin", "one", "two")
    assert any("do not match" in e for e in texts(at, "error"))
    assert USER_KEY not in at.session_state


def test_wrong_password_is_refused_and_right_one_signs_in(fresh_home: Path):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    first_account(at, "admin", "s3cret", "s3cret")
    at.button(key="sign_out").click().run()
    assert USER_KEY not in at.session_state
    at.text_input(key="login_name").input("admin")
    at.text_input(key="login_password").input("nope")
    at.button(key="FormSubmitter:sign_in-Sign in").click().run()
    assert any("Wrong user name or password" in e for e in texts(at, "error"))
    at.text_input(key="login_password").input("s3cret")
    at.button(key="FormSubmitter:sign_in-Sign in").click().run()
    no_crash(at)
    assert at.session_state[USER_KEY] == "admin"


def test_openid_connect_is_offered_when_configured_and_its_identity_is_used(fresh_home: Path):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback",
                          "cookie_secret": "x", "client_id": "c", "client_secret": "s",
                          "server_metadata_url": "https://id.example/.well-known/openid"}
    at.user = {"is_logged_in": False}
    at.run()
    assert at.button(key="oidc_login").label.startswith("Sign in with")
    at.user = {"is_logged_in": True, "email": "carol@example.com"}
    at.run()
    no_crash(at)
    assert "Signed in as **carol@example.com**" in texts(at, "caption")


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
