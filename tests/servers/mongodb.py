"""A MongoDB server for the test suite.

With ``MONGO_URL`` set (e.g. ``mongodb://127.0.0.1:27017`` or a replica set URL), the
suite uses that real server and gives each test its own uniquely named database.
Otherwise it starts the wire-compatible stand-in ``nx-27017`` (SQLite-backed, from
the dev dependencies) in a temporary directory on a free port; ``is_standin`` then
says so, and tests of behaviour the stand-in lacks are marked ``standin_gap``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.servers import free_port, unavailable

START_TIMEOUT_S = 20.0


def standin_binary() -> str | None:
    beside_python = Path(sys.executable).with_name("nx-27017")
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("nx-27017")


class MongoServer:
    def __init__(self) -> None:
        self.base_url = os.environ.get("MONGO_URL", "").strip()
        self.is_standin = not self.base_url
        self.root: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.created: list[str] = []

    def start(self) -> None:
        if not self.is_standin:
            self._wait_ready(self.base_url)
            return
        binary = standin_binary()
        if binary is None:
            unavailable("neither MONGO_URL nor the nx-27017 stand-in (pip install nx-27017)")
        self.root = Path(tempfile.mkdtemp(prefix="dbplay-mongo-"))
        port = free_port()
        log = (self.root / "server.log").open("wb")
        self.process = subprocess.Popen(
            [binary, "--data-dir", str(self.root / "data"), "-p", str(port),
             "--host", "127.0.0.1", "--log-file", str(self.root / "nx.log"),
             "--pid-file", str(self.root / "nx.pid")],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        (self.root / "data").mkdir(exist_ok=True)
        self.base_url = f"mongodb://127.0.0.1:{port}"
        self._wait_ready(self.base_url)

    def _wait_ready(self, url: str) -> None:
        import pymongo

        deadline = time.monotonic() + START_TIMEOUT_S
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
                url, serverSelectionTimeoutMS=500)
            try:
                client.admin.command("ping")
                return
            except Exception as exc:
                last = exc
            finally:
                client.close()
            time.sleep(0.2)
        self.stop()
        unavailable(f"MongoDB at {url} did not answer a ping: {last}")

    def new_database(self) -> str:
        """The URL of a fresh database (a unique name; MongoDB creates it on first write)."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.created.append(name)
        parts = urlsplit(self.base_url)
        return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))

    def stop(self) -> None:
        if not self.is_standin and self.created:
            self._drop_created()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def _drop_created(self) -> None:
        import pymongo

        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            self.base_url, serverSelectionTimeoutMS=2000)
        try:
            for name in self.created:
                client.drop_database(name)
        except Exception:
            pass
        finally:
            client.close()
        self.created.clear()
