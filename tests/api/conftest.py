"""One real stack for every module here (Redis, workers, scheduler and the ``api`` service
started by ``orchestrator.stack.services``, on free ports), and httpx clients that talk
to the API over its socket."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.orchestrator.conftest import Stack

UserClient = Callable[..., httpx.Client]


def base_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.settings.api_port}/api/v1"


def wait_for_api(stack: Stack, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base_url(stack)}/health", timeout=2).json() == {"ok": True}:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            log = stack.settings.logs_dir / "api.log"
            raise AssertionError(f"the api service did not answer: "
                                 f"{log.read_text() if log.exists() else 'no log'}")
        time.sleep(0.1)


@pytest.fixture(scope="package")
def api_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("dbplay-api-home"))
    try:
        stack.start()
        wait_for_api(stack)
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="package")
def installation_secret(api_stack: Stack) -> str:
    secret = (api_stack.home / "api.token").read_text().strip()
    assert secret
    return secret


@pytest.fixture(scope="package")
def clients(api_stack: Stack, installation_secret: str) -> Iterator[UserClient]:
    """``clients(token=..., user=...)``: an httpx client sending that bearer token
    (default: the installation token) and ``X-DBPlay-User`` when ``user`` is given."""
    made: list[httpx.Client] = []

    def make(token: str | None = installation_secret, user: str | None = None,
             **headers: str) -> httpx.Client:
        sent = dict(headers)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if user is not None:
            sent["X-DBPlay-User"] = user
        client = httpx.Client(base_url=base_url(api_stack), headers=sent, timeout=180)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture(scope="package")
def user_tokens(clients: UserClient) -> dict[str, str]:
    """A user token each for alice and bob, made through POST /tokens."""
    tokens = {}
    for user in ("alice", "bob"):
        response = clients(user=user).post("/tokens", json={"name": "tests"})
        assert response.status_code == 201, response.text
        tokens[user] = response.json()["token"]
    return tokens


@pytest.fixture(scope="package")
def alice(clients: UserClient, user_tokens: dict[str, str]) -> httpx.Client:
    return clients(user_tokens["alice"])


@pytest.fixture(scope="package")
def bob(clients: UserClient, user_tokens: dict[str, str]) -> httpx.Client:
    return clients(user_tokens["bob"])


@pytest.fixture(scope="package")
def alice_sandbox(alice: httpx.Client) -> str:
    """A ready chinook-sqlite sandbox of alice's."""
    response = alice.post("/sandboxes", json={"template": "chinook-sqlite", "ttl_s": 1800})
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "ready"
    sandbox_id: str = response.json()["id"]
    return sandbox_id


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The ``{"type", "message"}`` of an error response, after checking its status and
    shape."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"type", "message"} <= set(body["error"]), body
    error: dict[str, Any] = body["error"]
    return error
