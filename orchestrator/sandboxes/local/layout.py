"""Where the local provisioner keeps things, and its registry of sandboxes.

Everything lives under the provisioner's home (``$DBPLAY_HOME/local``), a 0700
directory whose files are 0600:

* ``sandboxes/<id>.json`` - the registry: one record per sandbox (labels, handle, and
  ``halted`` with a reason once the storage guard stopped it), written before anything
  of the sandbox exists so the reaper finds what a crash left behind;
* ``sqlite/``, ``chroma/`` - the embedded engines' files;
* ``mongo/<id>/`` - one MongoDB server per sandbox (data, log, ``state.json``);
* ``postgres/`` - prepared template clusters (``prepared/<digest>``) and one cluster
  per sandbox (``sandboxes/<id>``), with the secrets of prepared clusters in
  ``pg-secrets``. PostgreSQL refuses to run as root: when we are root its data
  directories live in the ``postgres`` OS user's home instead (``~postgres/dbplay/
  <digest of our home>``), owned by that user, mode 0700.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import uuid
from pathlib import Path
from typing import Any

from orchestrator.config.file_modes import private_dir, write_private

#: the OS user PostgreSQL runs as when we are root
PG_OS_USER = "postgres"


def running_as_root() -> bool:
    return os.geteuid() == 0


class LocalLayout:
    """The paths of one local provisioner home."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.registry_dir = self.home / "sandboxes"
        self.sqlite_dir = self.home / "sqlite"
        self.chroma_dir = self.home / "chroma"
        self.mongo_dir = self.home / "mongo"
        self.pg_secrets = self.home / "pg-secrets"
        self.locks = self.home / "locks"
        self.pg_root = self._pg_root()

    def _pg_root(self) -> Path:
        if not running_as_root():
            return self.home / "postgres"
        try:
            entry = pwd.getpwnam(PG_OS_USER)
        except KeyError:  # initdb will say what is missing
            return self.home / "postgres"
        digest = hashlib.sha256(str(self.home.resolve()).encode()).hexdigest()[:16]
        return Path(entry.pw_dir) / "dbplay" / digest

    def pg_prepared(self, digest: str) -> Path:
        return self.pg_root / "prepared" / digest

    def pg_sandbox(self, sandbox_id: str) -> Path:
        return self.pg_root / "sandboxes" / sandbox_id

    def mongo_sandbox(self, sandbox_id: str) -> Path:
        return self.mongo_dir / sandbox_id

    def lock(self, name: str) -> Path:
        return private_dir(self.locks) / f"{name}.lock"


class Registry:
    """One 0600 JSON file per sandbox: its labels and, once started, its handle."""

    def __init__(self, directory: Path) -> None:
        self.directory = private_dir(directory)

    def _path(self, sandbox_id: str) -> Path:
        return self.directory / f"{sandbox_id}.json"

    def write(self, sandbox_id: str, record: dict[str, Any]) -> None:
        path = self._path(sandbox_id)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        write_private(tmp, json.dumps(record, indent=2), exclusive=True)
        os.replace(tmp, path)

    def update(self, sandbox_id: str, **fields: Any) -> None:
        record = self.read(sandbox_id)
        if record is not None:
            self.write(sandbox_id, {**record, **fields})

    def read(self, sandbox_id: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self._path(sandbox_id).read_text())
        except (OSError, ValueError):
            return None
        return data

    def delete(self, sandbox_id: str) -> None:
        self._path(sandbox_id).unlink(missing_ok=True)

    def all(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for path in sorted(self.directory.glob("*.json")):
            record = self.read(path.stem)
            if record is not None:
                found[path.stem] = record
        return found


def tree_bytes(root: Path) -> int:
    """Bytes allocated on disk by the files under ``root`` (like ``du``)."""
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
            except OSError:
                continue
    return total
