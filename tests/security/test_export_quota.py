"""Issue 8, item 7 (exports): exports had no disk quota and were never removed.

Now each user's exports (``<exports_dir>/<user>/``) stay within
``DBPLAY_EXPORT_QUOTA_MB``: the user's oldest exports are removed to make room, an
export larger than the whole quota is refused (and removed), a downloaded export leaves
no copy on the server, and the reaper removes exports older than ``DBPLAY_EXPORT_TTL``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engines.errors import QuotaExceeded
from orchestrator.jobs.exports import LOCK_NAME, MIB, usage_bytes
from orchestrator.store.models import POOL_OWNER
from tests.orchestrator.conftest import Stack

QUOTA_MB = 1
TTL_S = 4


def rows_of_about(kib: int) -> str:
    """A SQLite statement whose CSV export is about ``kib`` KiB (106 bytes a row)."""
    rows = kib * 1024 // 106
    return (f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows})"
            " SELECT x, printf('%0100d', x) AS pad FROM c")


@pytest.fixture(scope="module")
def export_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("dbplay-exports"),
                  DBPLAY_EXPORT_QUOTA_MB=str(QUOTA_MB), DBPLAY_EXPORT_TTL=f"{TTL_S}s")
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def sandboxes(export_stack: Stack) -> dict[str, Any]:
    api = export_stack.api()
    return {user: api.create_sandbox(user, "empty-sqlite") for user in ("alice", "bob")}


def test_exports_past_the_quota_remove_the_users_oldest_exports_first(
        export_stack: Stack, sandboxes: dict[str, Any]) -> None:
    api = export_stack.api()
    exports = export_stack.settings.exports_dir
    bobs = api.export("bob", sandboxes["bob"].id, rows_of_about(450), "csv")
    first = api.export("alice", sandboxes["alice"].id, rows_of_about(450), "csv")
    second = api.export("alice", sandboxes["alice"].id, rows_of_about(450), "csv")
    assert first.exists() and second.exists()  # 900 KiB: within 1 MiB
    third = api.export("alice", sandboxes["alice"].id, rows_of_about(450), "csv")
    assert not first.exists(), "the oldest export should have made room"
    assert second.exists() and third.exists()
    assert usage_bytes(exports, "alice") <= QUOTA_MB * MIB
    assert bobs.exists(), "another user's exports are not touched"
    assert first.parent == exports / "alice" and bobs.parent == exports / "bob"


def test_an_export_larger_than_the_whole_quota_is_refused_and_removed(
        export_stack: Stack, sandboxes: dict[str, Any]) -> None:
    api = export_stack.api()
    mine = export_stack.settings.exports_dir / "alice"
    kept = api.export("alice", sandboxes["alice"].id, rows_of_about(100), "csv")
    before = {p.name for p in mine.iterdir()}
    with pytest.raises(QuotaExceeded) as refused:
        api.export("alice", sandboxes["alice"].id, rows_of_about(1300), "csv")
    assert "export quota of 1 MiB" in refused.value.message
    assert {p.name for p in mine.iterdir()} == before  # nothing added, nothing removed
    assert kept.exists()


def test_cli_export_leaves_no_copy_on_the_server(export_stack: Stack,
                                                 sandboxes: dict[str, Any],
                                                 tmp_path: Path) -> None:
    exports = export_stack.settings.exports_dir / "bob"

    def kept() -> set[str]:  # the user's export files (the quota's lock file is not one)
        return {p.name for p in exports.iterdir() if p.name != LOCK_NAME}

    before = kept() if exports.is_dir() else set()
    out = tmp_path / "one.csv"
    rc, answer = export_stack.cli("export", sandboxes["bob"].id, "select 1 as one",
                                  "--format", "csv", "--out", str(out), user="bob")
    assert rc == 0, answer
    assert out.read_text().split() == ["one", "1"]
    assert kept() == before


def test_exports_older_than_the_ttl_are_removed_by_the_reaper(
        export_stack: Stack, sandboxes: dict[str, Any]) -> None:
    api = export_stack.api()
    path = api.export("bob", sandboxes["bob"].id, "select 2 as two", "csv")
    assert path.exists()
    time.sleep(TTL_S + 1)
    fresh = api.export("bob", sandboxes["bob"].id, "select 3 as three", "csv")
    reap = api.jobs.submit(POOL_OWNER, "reap")
    done = api.jobs.wait(reap.id, 60)
    assert done.state == "done", done.error
    assert not path.exists(), "an export older than DBPLAY_EXPORT_TTL should be gone"
    assert str(path) in done.result["exports_removed"]
    assert fresh.exists(), "a younger export stays"
