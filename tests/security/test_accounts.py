"""Account rules, tried as an attacker would: only admins add or remove accounts (API,
CLI, UI), weak passwords are refused with the reason, a password never goes on the
command line, and OpenID Connect identities are keyed by issuer and subject in a name
space no local account can enter."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from engines.errors import InvalidRequest, NotAllowed
from orchestrator.api.accounts import OIDC_PREFIX
from tests.orchestrator.conftest import Stack
from tests.ui.conftest import APP, TIMEOUT, use_settings
from ui.session import USER_KEY

PASSWORD = "correct horse battery"


def fresh(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def api(running_stack: Stack) -> Any:
    return running_stack.api()


@pytest.fixture(scope="module")
def admin(api: Any) -> str:
    name = fresh("admin")
    api.create_user(None, name, PASSWORD, admin=True)
    return name


@pytest.fixture(scope="module")
def member(api: Any, admin: str) -> str:
    name = fresh("member")
    api.create_user(admin, name, PASSWORD)
    return name


def test_a_non_admin_cannot_add_or_remove_accounts_through_the_api(api, admin, member):
    intruder = fresh("intruder")
    with pytest.raises(NotAllowed):
        api.create_user(member, intruder, PASSWORD, admin=True)
    with pytest.raises(NotAllowed):
        api.create_user(member, intruder, PASSWORD)
    with pytest.raises(NotAllowed):
        api.delete_user(member, admin)
    with pytest.raises(NotAllowed):
        api.list_users(member)
    with pytest.raises(NotAllowed):  # a name that has no account at all
        api.create_user(fresh("ghost"), intruder, PASSWORD)
    assert not api.authenticate(intruder, PASSWORD)
    assert api.authenticate(admin, PASSWORD) and api.is_admin(admin)
    assert not api.is_admin(member)


def test_a_non_admin_gets_no_account_form_in_the_ui(running_stack, member, monkeypatch):
    use_settings(monkeypatch, running_stack.env)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state[USER_KEY] = member
    at.run()
    assert not at.exception
    assert not [t for t in at.text_input if t.key == "add_name"]


@pytest.mark.parametrize("weak", ["pw", "password1234"])
def test_weak_passwords_are_refused_saying_why(api, admin, running_stack, weak):
    name = fresh("weak")
    with pytest.raises(InvalidRequest, match="too easy to guess"):
        api.create_user(admin, name, weak)
    rc, out = running_stack.cli("user", "add", name, stdin=weak + "\n")
    assert rc != 0 and out["error"]["type"] == "InvalidRequest"
    assert "too easy to guess" in out["error"]["message"]
    if weak == "pw":
        assert "too short" in out["error"]["message"]
    assert not api.authenticate(name, weak)


def test_dbplay_user_add_list_rm_read_the_password_from_stdin_only(api, running_stack):
    name = fresh("ops")
    rc, out = running_stack.cli("user", "add", name, "--admin", stdin=PASSWORD + "\n")
    assert rc == 0 and out == {"name": name, "admin": True}
    assert api.authenticate(name, PASSWORD) and api.is_admin(name)
    rc, out = running_stack.cli("user", "list")
    assert rc == 0 and {"name": name, "admin": True, "display_name": name,
                        "kind": "local"} in out
    rc, out = running_stack.cli("user", "add", fresh("argv"), PASSWORD)  # no argv password
    assert rc == 2 and out["error"]["type"] == "UsageError"
    rc, out = running_stack.cli("user", "rm", name)
    assert rc == 0 and not api.authenticate(name, PASSWORD)


def test_a_local_account_cannot_take_an_oidc_name(api, admin):
    oidc_name = api.oidc_account("https://id.example", "subject-1", "carol@example.com")
    assert oidc_name.startswith(OIDC_PREFIX)
    with pytest.raises(InvalidRequest):
        api.create_user(admin, oidc_name, PASSWORD)  # ':' is never in a local name
    assert not api.authenticate(oidc_name, PASSWORD)


def test_oidc_accounts_follow_issuer_and_subject_not_mutable_claims(api):
    carol = api.oidc_account("https://id.example", "subject-1", "carol@example.com")
    renamed = api.oidc_account("https://id.example", "subject-1", "carol@new.example")
    same_mail = api.oidc_account("https://id.example", "subject-2", "carol@example.com")
    other_idp = api.oidc_account("https://other.example", "subject-1", "carol@example.com")
    assert carol == renamed
    assert len({carol, same_mail, other_idp}) == 3
    assert api.display_name(carol) == "carol@new.example"
    with pytest.raises(InvalidRequest):
        api.oidc_account("https://id.example", "", "no-subject@example.com")


def test_the_setup_code_is_refused_once_an_admin_exists(api, admin):
    assert api.issue_setup_code() is None
    with pytest.raises(NotAllowed):
        api.create_first_admin("AAAA-BBBB", fresh("late"), PASSWORD)

