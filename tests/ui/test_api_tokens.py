"""API tokens from the sidebar: made once with the secret shown once, listed, revoked; a
revoked token no longer names its user."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.ui.conftest import no_crash, texts


def _create(at: AppTest, label: str) -> AppTest:
    at.text_input(key="api_token_name").input(label)
    return at.button(key="FormSubmitter:new_api_token-Create token").click().run()


def test_a_user_makes_a_token_that_acts_as_them_and_revokes_it(app, user, api):
    at = _create(app(user), "laptop")
    no_crash(at)
    assert any("not shown again" in s for s in texts(at, "success"))
    [secret] = [c.value for c in at.code if c.value.startswith("dbp_")]
    assert api.user_for_token(secret) == user
    [token] = [t for t in api.list_tokens(user) if t.name == "laptop"]
    at = at.button(key=f"revoke_token_{token.id}").click().run()
    no_crash(at)
    assert api.user_for_token(secret) is None
    assert not [c for c in at.code if c.value == secret]  # not shown after revoking


def test_a_users_tokens_are_not_listed_to_another_user(app, user, api):
    other = f"{user}-other"
    _view, _secret = api.create_token(other, "theirs")
    at = app(user)
    no_crash(at)
    assert not [b for b in at.button if b.key and b.key.startswith("revoke_token_")]
