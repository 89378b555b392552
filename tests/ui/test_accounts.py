"""Adding accounts: after the first (admin) account, an admin adds colleagues from the
sidebar; other users see no form, and the orchestrator refuses them anyway."""

from __future__ import annotations

import uuid

import pytest
from streamlit.testing.v1 import AppTest

from engines.errors import NotAllowed
from tests.ui.conftest import all_text, no_crash, texts
from ui.session import USER_KEY

PASSWORD = "long enough pw"


def add_account(at: AppTest, name: str, password: str, repeat: str | None = None) -> AppTest:
    at.text_input(key="add_name").input(name)
    at.text_input(key="add_password").input(password)
    at.text_input(key="add_repeat").input(password if repeat is None else repeat)
    return at.button(key="FormSubmitter:add_account-Add account").click().run()


@pytest.fixture
def admin(api, user) -> str:
    """``user``, made an admin account."""
    api.create_user(None, user, f"{user} admin secret", admin=True)
    return user


def test_an_admin_adds_an_account_that_can_sign_in(app, admin, api):
    colleague = f"c{uuid.uuid4().hex[:10]}"
    at = add_account(app(admin), colleague, PASSWORD)
    no_crash(at)
    assert any(f"Account **{colleague}** created" in s for s in texts(at, "success"))
    assert at.session_state[USER_KEY] == admin  # still signed in as themselves
    assert api.authenticate(colleague, PASSWORD)
    assert not api.authenticate(colleague, "wrong password")
    assert not api.is_admin(colleague)


def test_a_non_admin_sees_no_form_and_the_api_refuses_them(app, admin, api):
    member = f"m{uuid.uuid4().hex[:10]}"
    api.create_user(admin, member, PASSWORD)
    at = app(member)
    no_crash(at)
    assert not [t for t in at.text_input if t.key == "add_name"]
    assert "Add an account" not in [e.label for e in at.expander]
    intruder = f"x{uuid.uuid4().hex[:10]}"
    with pytest.raises(NotAllowed):
        api.create_user(member, intruder, PASSWORD)
    with pytest.raises(NotAllowed):
        api.delete_user(member, admin)
    assert not api.authenticate(intruder, PASSWORD)
    assert api.is_admin(admin)


@pytest.mark.parametrize("weak", ["pw", "password1234"])
def test_a_weak_password_is_refused_saying_why(app, admin, api, weak):
    name = f"c{uuid.uuid4().hex[:10]}"
    at = add_account(app(admin), name, weak)
    errors = texts(at, "error")
    assert any("**InvalidRequest**" in e and "too easy to guess" in e for e in errors), errors
    assert not api.authenticate(name, weak)


def test_mismatched_passwords_are_refused(app, admin, api):
    name = f"c{uuid.uuid4().hex[:10]}"
    at = add_account(app(admin), name, PASSWORD, "other long pw")
    assert any("do not match" in e for e in texts(at, "error"))
    assert not api.authenticate(name, PASSWORD)


def test_an_existing_user_name_is_refused_without_changing_its_password(app, admin, api):
    taken = f"c{uuid.uuid4().hex[:10]}"
    api.create_user(None, taken, "original secret pw 1")
    at = add_account(app(admin), taken, "hijacked secret pw 1")
    no_crash(at)
    assert any("**Conflict**" in e for e in texts(at, "error")), all_text(at)
    assert api.authenticate(taken, "original secret pw 1")
    assert not api.authenticate(taken, "hijacked secret pw 1")


def test_the_sign_in_screen_offers_no_sign_up_once_an_admin_exists(app, admin):
    at = app(None)
    no_crash(at)
    assert "Create the first account" not in all_text(at)
    assert not [t for t in at.text_input if t.key in ("add_name", "new_name")]
