"""Secrets are not world-readable: after `dbplay up` (which also repairs an installation
written before), ``DBPLAY_HOME`` is 0700 and every file in it 0600, including the
metadata database, logs, pid files, the local provisioner's registry and uploads."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.config.settings import Settings
from orchestrator.jobs.uploads import UploadStore, uploads_root
from orchestrator.store.db import Database
from orchestrator.store.models import Sandbox
from tests.security.installation import Installation

PASSWORD = "correct horse battery"


def loose_entries(home: Path) -> list[str]:
    """Everything under ``home`` (and home itself) that group or others may use."""
    loose = []
    for path in [home, *home.rglob("*")]:
        try:
            info = path.lstat()
        except FileNotFoundError:  # removed while we walked (a finished job's file)
            continue
        if not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o077:
            loose.append(f"{oct(stat.S_IMODE(info.st_mode))} {path.relative_to(home)}")
    return loose


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    """An older installation's home (0755, world-readable database and log), started
    with `dbplay up`, with an account, a sandbox and an import done through the CLI."""
    home = tmp_path_factory.mktemp("dbplay-modes") / "home"
    old_umask = os.umask(0o022)
    try:
        home.mkdir(mode=0o755)
        sqlite3.connect(home / "dbplay.db").close()
        (home / "logs").mkdir()
        (home / "logs" / "old.log").write_text("from an older version\n")
    finally:
        os.umask(old_umask)
    assert (home / "dbplay.db").stat().st_mode & 0o044
    inst = Installation(home)
    try:
        inst.up(ui=False)
        rc, _ = inst.dbplay_json("user", "add", "alice", stdin=PASSWORD + "\n")
        assert rc == 0
        rc, sandbox = inst.dbplay_json("--user", "alice", "sandbox", "create",
                                       "chinook-sqlite")
        assert rc == 0, sandbox
        data = home.parent / "pets.csv"
        data.write_text("name,legs\ncat,4\nhen,2\n")
        rc, report = inst.dbplay_json("--user", "alice", "import", sandbox["id"], "pets",
                                      str(data))
        assert rc == 0, report
        inst.made["sandbox"] = sandbox["id"]
        yield inst
    finally:
        inst.down()


def test_home_is_0700_and_every_file_in_it_0600(installation: Installation):
    home = installation.home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "dbplay.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "logs" / "old.log").stat().st_mode) == 0o600  # repaired
    assert list((home / "logs").glob("worker-*.log")) and list((home / "run").glob("*.pid"))
    assert loose_entries(home) == []


def test_the_local_sandbox_registry_holds_no_readable_secret(installation: Installation):
    records = list((installation.home / "local").rglob("*.json"))
    assert records  # the local provisioner's registry of the sandbox made above
    for record in records:
        assert stat.S_IMODE(record.stat().st_mode) & 0o077 == 0, record


def test_an_upload_is_0600_in_a_0700_folder_and_gone_after_its_import(
        installation: Installation):
    store = UploadStore(uploads_root(installation.home))
    assert list(store.root.rglob("*.*")) == []  # the CLI import above left nothing
    old_umask = os.umask(0o022)  # whatever the caller's umask
    try:
        upload = store.put("alice", b"a,b\n1,2\n", "x.csv")
    finally:
        os.umask(old_umask)
    path = store.open_path("alice", upload)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
    store.discard("alice", upload)


def test_sandbox_passwords_and_handles_are_not_in_the_database_in_plain_text(
        installation: Installation):
    home = installation.home
    db = Database(Settings.load(installation.env).database_url, home)
    try:
        with db.session() as session:
            sandbox = session.get(Sandbox, installation.made["sandbox"])
            assert sandbox is not None and sandbox.password and sandbox.handle
            password, handle_url = sandbox.password, sandbox.handle["user_url"]
    finally:
        db.dispose()
    raw = b"".join(p.read_bytes() for p in home.glob("dbplay.db*"))  # with -wal
    assert password.encode() not in raw
    assert handle_url.encode() not in raw
    assert stat.S_IMODE((home / "secret.key").stat().st_mode) == 0o600
