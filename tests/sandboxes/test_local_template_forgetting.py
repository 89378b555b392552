"""Forgetting a template on the local provisioner frees what was made once per dump: the
prepared PostgreSQL cluster (with its spare copy and secret) and the seeded Chroma
directory. Real servers in a temporary home."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engines.registry import connect
from orchestrator.sandboxes.local.provisioner import LocalProvisioner, dump_key, purge_servers
from orchestrator.sandboxes.provisioning import SandboxHandle, SandboxRequest
from tests.conftest import REPO
from tests.servers import unavailable

TLDR = REPO / "orchestrator" / "store" / "builtin_templates" / "tldr" / "tldr.dump.json.gz"


@pytest.fixture(scope="module")
def provisioner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProvisioner]:
    home = tmp_path_factory.mktemp("local-forget")
    prov = LocalProvisioner(home)
    try:
        yield prov
    finally:
        purge_servers(home)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _request(engine: str, dump: Path) -> SandboxRequest:
    return SandboxRequest(
        sandbox_id=uuid.uuid4().hex[:12], owner="alice", engine=engine, template=dump.name,
        dump_path=dump, dump_digest=_digest(dump),
        expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC), password=f"pw-{uuid.uuid4().hex}")


def _scalar(handle: SandboxHandle, script: str) -> int:
    with connect(handle.engine, handle.user_url) as engine:
        results = engine.execute(script)
    assert all(r.error is None for r in results), results
    return int(results[-1].rows[0][0])


def _own_postgres_dump(tmp_path: Path) -> Path:
    """A dump no other test uses (its own digest)."""
    dump = tmp_path / "marks.sql"
    dump.write_text(f"-- {uuid.uuid4()}\nCREATE TABLE marks (v text);\n"
                    "INSERT INTO marks VALUES ('a'), ('b');\n")
    return dump


def _wait_for_spare(spares: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not list(spares.glob("ready-*")):
        assert time.monotonic() < deadline, f"no spare copy in {spares}"
        time.sleep(0.1)


def test_forgetting_a_postgres_template_deletes_its_prepared_cluster(
        provisioner: LocalProvisioner, tmp_path: Path) -> None:
    if "postgres" not in provisioner.engines():
        unavailable("PostgreSQL binaries are missing")
    dump = _own_postgres_dump(tmp_path)
    key = dump_key(_digest(dump))
    prepared = provisioner.layout.pg_prepared(key)
    spares = prepared.with_name(f"{prepared.name}.spares")
    secret = provisioner.layout.pg_secrets / f"{key}.admin"
    handle = provisioner.create(_request("postgres", dump))
    try:
        assert (prepared / "PG_VERSION").exists() and secret.exists()
        _wait_for_spare(spares)

        provisioner.forget_template(_digest(dump))

        assert not prepared.exists() and not spares.exists() and not secret.exists()
        # the sandbox made from it is a copy of its own and keeps answering
        assert _scalar(handle, "SELECT count(*) FROM marks") == 2
        provisioner.forget_template(_digest(dump))  # idempotent
    finally:
        provisioner.destroy(handle)
    again = provisioner.create(_request("postgres", dump))  # prepared anew when needed
    try:
        assert _scalar(again, "SELECT count(*) FROM marks") == 2
        assert (prepared / "PG_VERSION").exists()
    finally:
        provisioner.destroy(again)
        provisioner.forget_template(_digest(dump))
    assert not prepared.exists()


def test_forgetting_a_chroma_template_deletes_its_seeded_cache(
        provisioner: LocalProvisioner) -> None:
    cache = provisioner.chroma_dir / "cache" / dump_key(_digest(TLDR))
    handle = provisioner.create(_request("chroma", TLDR))
    try:
        assert cache.is_dir()

        provisioner.forget_template(_digest(TLDR))

        assert not cache.exists()
        assert _scalar(handle, "tldr.count()") == 500
    finally:
        provisioner.destroy(handle)


def test_forgetting_an_unknown_or_malformed_digest_does_nothing(
        provisioner: LocalProvisioner) -> None:
    before = sorted(p.name for p in provisioner.home.iterdir())
    provisioner.forget_template("")
    provisioner.forget_template("../../etc")
    provisioner.forget_template("0" * 64)
    assert sorted(p.name for p in provisioner.home.iterdir()) == before
