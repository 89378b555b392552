"""MongoDB sandboxes of the local provisioner: one server process each.

Each sandbox gets its own server in ``mongo/<id>`` (its data directory, log and
``state.json``) on its own port of 127.0.0.1, so another user's connection string
points at another process that holds none of this sandbox's data.

* With a real ``mongod`` the server runs with ``--auth``: an administrative user
  (random password) is made through the localhost exception, then the sandbox user
  (the sandbox password) with ``readWrite`` and ``dbAdmin`` on the one database.
* The ``nx-27017`` stand-in has no authentication at all: the handle's info says
  ``"auth": false, "standin": true`` so the UI and CLI can warn when its port is opened.

Dumps are restored through the sandbox user's own URL.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pymongo

from engines.registry import connect
from orchestrator.sandboxes.local.layout import LocalLayout
from orchestrator.sandboxes.local.process import start_on_a_free_port
from orchestrator.sandboxes.local.servers import MongoProcess

DATABASE = "sandbox"
ADMIN = "dbplay_admin"
USER = "sandbox"


def _url(port: int, user: str | None, password: str, auth_db: str) -> str:
    if user is None:
        return f"mongodb://127.0.0.1:{port}/{DATABASE}"
    return (f"mongodb://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:{port}/"
            f"{DATABASE}?authSource={auth_db}")


class MongoSandboxes:
    def __init__(self, layout: LocalLayout, executable: Path | None) -> None:
        self.layout = layout
        self.executable = executable

    def server(self, sandbox_id: str) -> MongoProcess:
        return MongoProcess(self.executable, self.layout.mongo_sandbox(sandbox_id))

    @property
    def has_auth(self) -> bool:
        return self.executable is not None and not self.server("x").is_standin

    def create(self, sandbox_id: str, password: str,
               dump_path: Path | None) -> tuple[str, str, dict[str, Any]]:
        """Start the sandbox's server and seed it; returns (user URL, admin URL, info)."""
        server = self.server(sandbox_id)
        port = start_on_a_free_port(lambda chosen: server.start(chosen, auth=self.has_auth))
        if self.has_auth:
            admin_password = secrets.token_urlsafe(24)
            self._make_users(port, admin_password, password)
            user = _url(port, USER, password, DATABASE)
            admin = _url(port, ADMIN, admin_password, "admin")
        else:
            user = admin = _url(port, None, "", "")
        if dump_path is not None:
            with connect("mongodb", user) as engine:
                engine.restore(dump_path)
        info = {"database": DATABASE, "port": port, "path": str(server.root),
                "auth": self.has_auth, "standin": server.is_standin}
        return user, admin, info

    @staticmethod
    def _make_users(port: int, admin_password: str, password: str) -> None:
        local: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            f"mongodb://127.0.0.1:{port}/admin", serverSelectionTimeoutMS=10000)
        try:  # the localhost exception allows exactly this first user
            local.admin.command("createUser", ADMIN, pwd=admin_password, roles=["root"])
        finally:
            local.close()
        admin: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            _url(port, ADMIN, admin_password, "admin"), serverSelectionTimeoutMS=10000)
        try:
            admin[DATABASE].command("createUser", USER, pwd=password,
                                    roles=[{"role": "readWrite", "db": DATABASE},
                                           {"role": "dbAdmin", "db": DATABASE}])
        finally:
            admin.close()

    def start(self, sandbox_id: str, port: int) -> bool:
        server = self.server(sandbox_id)
        if server.running_pid() is not None:
            return False
        server.start(port, auth=self.has_auth)
        return True

    def stop(self, sandbox_id: str) -> bool:
        return self.server(sandbox_id).stop()

    def remove(self, sandbox_id: str) -> None:
        root = self.layout.mongo_sandbox(sandbox_id)
        if root.exists():
            self.server(sandbox_id).stop()
            shutil.rmtree(root, ignore_errors=True)
