"""Adding accounts: after the first account, a signed-in user adds colleagues from the
sidebar (nobody can sign up from the sign-in screen)."""

from __future__ import annotations

import uuid

from streamlit.testing.v1 import AppTest

from tests.ui.conftest import all_text, no_crash, texts
from ui.session import USER_KEY


def add_account(at: AppTest, name: str, password: str, repeat: str | None = None) -> AppTest:
    at.text_input(key="add_name").input(name)
    at.text_input(key="add_password").input(password)
    at.text_input(key="add_repeat").input(password if repeat is None else repeat)
    return at.button(key="FormSubmitter:add_account-Add account").click().run()


def test_a_signed_in_user_adds_an_account_that_can_sign_in(app, user, api):
    colleague = f"c{uuid.uuid4().hex[:10]}"
    at = add_account(app(user), colleague, "long enough pw")
    no_crash(at)
    assert any(f"Account **{colleague}** created" in s for s in texts(at, "success"))
    assert at.session_state[USER_KEY] == user  # still signed in as themselves
    assert api.authenticate(colleague, "long enough pw")
    assert not api.authenticate(colleague, "wrong password")


def test_a_short_or_mismatched_password_is_refused(app, user, api):
    name = f"c{uuid.uuid4().hex[:10]}"
    at = add_account(app(user), name, "short")
    assert any("at least 8 characters" in e for e in texts(at, "error"))
    at = add_account(at, name, "long enough pw", "other long pw")
    assert any("do not match" in e for e in texts(at, "error"))
    assert not api.authenticate(name, "long enough pw")


def test_an_existing_user_name_is_refused_without_changing_its_password(app, user, api):
    taken = f"c{uuid.uuid4().hex[:10]}"
    api.create_user(taken, "original pw 1")
    at = add_account(app(user), taken, "hijacked pw 1")
    no_crash(at)
    assert any("**Conflict**" in e for e in texts(at, "error")), all_text(at)
    assert api.authenticate(taken, "original pw 1")
    assert not api.authenticate(taken, "hijacked pw 1")


def test_the_sign_in_screen_offers_no_sign_up_once_an_account_exists(app, api):
    api.create_user(f"c{uuid.uuid4().hex[:10]}", "some password")
    at = app(None)
    no_crash(at)
    assert "Create the first account" not in all_text(at)
    assert not [t for t in at.text_input if t.key in ("add_name", "new_name")]
