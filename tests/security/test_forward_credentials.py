"""Every connection string and forwarded port needs credentials unique to its sandbox
(issue 8, item 4), attacked for real on the Docker provisioner:

* a forwarded Chroma port (and the container's own address) answers ``401`` to a client
  without the sandbox's token, or with another token, and serves the sandbox's token;
* a forwarded PostgreSQL port needs the sandbox's password;
* a MongoDB sandbox on the offline stand-in (no authentication possible) is announced as
  such by ``dbplay sandbox connect``; on the official image its URL needs its password.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from engines.errors import EngineUnavailable
from engines.registry import connect
from orchestrator.sandboxes.connection_warning import STANDIN_WARNING
from tests.orchestrator.conftest import REPO, Stack

pytestmark = [pytest.mark.timeout(600)]

COLLECTIONS = "/api/v2/tenants/default_tenant/databases/default_database/collections"


def _connect(stack: Stack, sandbox_id: str) -> dict[str, Any]:
    rc, out = stack.cli("sandbox", "connect", sandbox_id)
    assert rc == 0, out
    assert set(out) == {"id", "url", "warning"}
    return dict(out)


def _handle_info(stack: Stack, sandbox_id: str) -> dict[str, Any]:
    from orchestrator.store.models import Sandbox

    api = stack.api()
    with api.db.session() as session:
        sandbox = session.get(Sandbox, sandbox_id)
        assert sandbox is not None and sandbox.handle
        return dict(sandbox.handle["info"])


def test_forwarded_chroma_port_refuses_clients_without_the_sandbox_token(
        docker_stack: Stack) -> None:
    sandbox_id = docker_stack.create("tldr")
    out = _connect(docker_stack, sandbox_id)
    assert out["warning"] is None
    url = urlsplit(out["url"])
    assert url.hostname == "127.0.0.1" and url.password, out["url"]
    token, base = url.password, f"http://127.0.0.1:{url.port}"
    info = _handle_info(docker_stack, sandbox_id)
    assert info["auth"] is True and info["standin"] is False
    direct = f"http://{info['host']}:{info['port']}"

    for target in (base, direct):  # the forwarded port, and the container's own address
        assert httpx.get(target + COLLECTIONS, timeout=10).status_code == 401
        assert httpx.get(target + COLLECTIONS, headers={"X-Chroma-Token": "x" * len(token)},
                         timeout=10).status_code == 401
        assert httpx.get(target + COLLECTIONS, headers={"Authorization": "Bearer nope"},
                         timeout=10).status_code == 401
        assert httpx.get(target + "/api/v2/heartbeat", timeout=10).status_code == 401
        served = httpx.get(target + COLLECTIONS, headers={"X-Chroma-Token": token},
                           timeout=10)
        assert served.status_code == 200, served.text
        assert any(c["name"] for c in served.json())
    # the connection string itself works in an HTTP client (Basic auth carries the token)
    assert httpx.get(out["url"] + COLLECTIONS, timeout=10).status_code == 200

    # Chroma's own client: refused without the token, served with it
    with pytest.raises(EngineUnavailable, match="Unauthorized"), \
            connect("chroma", f"chroma+http://127.0.0.1:{url.port}", timeout_s=10) as engine:
        engine.connect()
    with connect("chroma", f"chroma+http://:{token}@127.0.0.1:{url.port}",
                 timeout_s=30) as engine:
        listed = engine.execute("list_collections()")[0]
    assert listed.error is None and listed.rows


def test_forwarded_postgres_port_needs_the_sandbox_password(docker_stack: Stack) -> None:
    sandbox_id = docker_stack.create("chinook")
    out = _connect(docker_stack, sandbox_id)
    assert out["warning"] is None
    url = urlsplit(out["url"])
    assert url.hostname == "127.0.0.1" and url.password
    with connect("postgres", out["url"], timeout_s=10) as engine:
        assert engine.execute("SELECT current_user")[0].rows == [["sandbox"]]
    for password in ("", "wrong-password"):
        forged = out["url"].replace(f":{url.password}@", f":{password}@")
        with pytest.raises(EngineUnavailable), \
                connect("postgres", forged, timeout_s=10) as engine:
            engine.connect()


def test_mongodb_connect_warns_when_the_server_is_the_unauthenticated_standin(
        docker_stack: Stack) -> None:
    sandbox_id = docker_stack.create("restaurants")
    info = _handle_info(docker_stack, sandbox_id)
    out = _connect(docker_stack, sandbox_id)
    if info.get("standin"):  # offline images: nx-27017, which cannot authenticate
        assert info["auth"] is False
        assert out["warning"] == STANDIN_WARNING
        assert "no authentication" in out["warning"]
        human = subprocess.run(
            [sys.executable, "-m", "orchestrator.cli", "--user", "alice", "sandbox",
             "connect", sandbox_id], env=docker_stack.env, cwd=REPO, capture_output=True,
            text=True, timeout=120, check=True).stdout
        assert f"warning: {STANDIN_WARNING}" in human
    else:  # the official image: its URL carries the sandbox's own user and password
        import pymongo

        assert info["auth"] is True and out["warning"] is None
        url = urlsplit(out["url"])
        assert url.username == "sandbox" and url.password and "authSource=" in url.query
        anonymous: Any = pymongo.MongoClient(f"mongodb://127.0.0.1:{url.port}/sandbox",
                                             serverSelectionTimeoutMS=5000)
        with pytest.raises(pymongo.errors.OperationFailure):
            anonymous["sandbox"].list_collection_names()
        owner: Any = pymongo.MongoClient(out["url"], serverSelectionTimeoutMS=5000)
        assert owner["sandbox"].list_collection_names()
