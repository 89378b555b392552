"""Who a request acts as: user tokens, the installation token with X-DBPlay-User, and
401/403 for everything else."""

from __future__ import annotations

import stat

import httpx
import pytest

from tests.api.conftest import UserClient, error_of


def test_health_answers_without_a_token(clients: UserClient):
    response = clients(token=None).get("/health")
    assert response.status_code == 200 and response.json() == {"ok": True}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"},
                                     {"Authorization": "Basic YWxpY2U6eA=="},
                                     {"Authorization": "Bearer dbp_not-a-real-token"},
                                     {"Authorization": "Bearer something-else"}])
def test_no_token_or_a_bad_one_is_401_with_the_error_shape(clients: UserClient, headers):
    response = clients(token=None, **headers).get("/sandboxes")
    error = error_of(response, 401)
    assert error["type"] == "Unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_revoked_token_is_401_at_once(clients: UserClient):
    made = clients(user="carol").post("/tokens", json={"name": "short-lived"}).json()
    carol = clients(made["token"])
    assert carol.get("/sandboxes").status_code == 200
    assert carol.delete(f"/tokens/{made['id']}").json() == {"revoked": made["id"]}
    error = error_of(carol.get("/sandboxes"), 401)
    assert error == {"type": "Unauthorized", "message": "unknown or revoked API token"}
    [listed] = [t for t in clients(user="carol").get("/tokens").json() if t["id"] == made["id"]]
    assert listed["revoked_at"] is not None


def test_a_token_is_shown_once_and_listed_without_its_secret(clients: UserClient):
    made = clients(user="dave").post("/tokens", json={"name": "laptop"})
    assert made.status_code == 201
    body = made.json()
    assert body["token"].startswith("dbp_") and len(body["token"]) > 40
    assert {k: body[k] for k in ("user", "name", "revoked_at")} == {
        "user": "dave", "name": "laptop", "revoked_at": None}
    listed = clients(body["token"]).get("/tokens").json()
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0] and body["token"] not in str(listed)
    assert set(listed[0]) == {"id", "user", "name", "created_at", "last_used_at",
                              "revoked_at"}
    assert listed[0]["last_used_at"] is not None  # that request used it


def test_the_installation_token_acts_as_the_user_it_names(clients: UserClient,
                                                          alice_sandbox: str):
    as_alice = clients(user="alice").get(f"/sandboxes/{alice_sandbox}")
    assert as_alice.status_code == 200 and as_alice.json()["owner"] == "alice"
    error_of(clients(user="bob").get(f"/sandboxes/{alice_sandbox}"), 404)


def test_the_installation_token_needs_a_user_header(clients: UserClient):
    error = error_of(clients().get("/sandboxes"), 401)
    assert "X-DBPlay-User" in error["message"]


def test_the_installation_token_file_is_private(api_stack, installation_secret: str):
    path = api_stack.home / "api.token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert installation_secret.startswith("dbpi_")


def test_a_user_token_cannot_act_as_someone_else(clients: UserClient,
                                                 user_tokens: dict[str, str],
                                                 alice_sandbox: str):
    as_alice_claiming_bob = clients(user_tokens["alice"], user="bob")
    error = error_of(as_alice_claiming_bob.get("/sandboxes"), 403)
    assert error["type"] == "NotAllowed"
    created = as_alice_claiming_bob.post("/tokens", json={"name": "sneaky"})
    error_of(created, 403)
    assert "sneaky" not in str(clients(user="bob").get("/tokens").json())
    # naming oneself is fine
    own = clients(user_tokens["alice"], user="alice").get(f"/sandboxes/{alice_sandbox}")
    assert own.status_code == 200


def test_a_user_cannot_revoke_another_users_token(clients: UserClient, bob: httpx.Client,
                                                   user_tokens: dict[str, str]):
    [alice_token] = clients(user_tokens["alice"]).get("/tokens").json()[:1]
    error_of(bob.delete(f"/tokens/{alice_token['id']}"), 404)
    error_of(bob.delete("/tokens/999999"), 404)
    assert clients(user_tokens["alice"]).get("/tokens").status_code == 200
