"""Export files on the server: ``<exports_dir>/<user>/``, a disk quota per user, removal.

An export job writes the whole result to a file in its user's directory. Once written,
:func:`make_room` holds the user to ``DBPLAY_EXPORT_QUOTA_MB``: an export larger than
the quota on its own is removed and refused; otherwise the user's oldest other exports
are removed until the total fits. A file leaves the server once downloaded (the CLI
moves it to ``--out``, the UI reads it and removes it) or, at the latest, when the
reaper finds it older than ``DBPLAY_EXPORT_TTL`` (:func:`remove_expired`).
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager
from pathlib import Path

from engines.errors import QuotaExceeded
from orchestrator.config.file_modes import file_lock

log = logging.getLogger(__name__)
MIB = 1024 * 1024
#: the lock file of a user's export directory (not an export, never counted or removed)
LOCK_NAME = ".quota.lock"


def user_exports_dir(exports_dir: Path, user: str) -> Path:
    return exports_dir / user


def _exports(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return [p for p in directory.iterdir() if p.is_file() and p.name != LOCK_NAME]


def _locked(directory: Path) -> AbstractContextManager[None]:
    """One user's quota accounting at a time (concurrent exports of the same user)."""
    return file_lock(directory / LOCK_NAME)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def make_room(new_file: Path, quota_mb: int) -> list[Path]:
    """Keep the user's exports (``new_file``'s directory) within ``quota_mb``: refuse
    ``new_file`` (removed, :class:`QuotaExceeded`) if it alone is larger, else remove the
    user's oldest other exports until everything fits. Returns the files removed."""
    quota = quota_mb * MIB
    directory = new_file.parent
    removed: list[Path] = []
    with _locked(directory):
        size = _size(new_file)
        if size > quota:
            new_file.unlink(missing_ok=True)
            raise QuotaExceeded(
                f"this export is {size / MIB:.1f} MiB, more than your export quota of "
                f"{quota_mb} MiB (DBPLAY_EXPORT_QUOTA_MB): export fewer rows or columns")
        others = sorted((p for p in _exports(directory) if p != new_file), key=_mtime)
        total = size + sum(_size(p) for p in others)
        for old in others:
            if total <= quota:
                break
            total -= _size(old)
            old.unlink(missing_ok=True)
            removed.append(old)
            log.info("export quota of %s: removed the older export %s", directory.name, old.name)
    return removed


def usage_bytes(exports_dir: Path, user: str) -> int:
    """Disk space the user's exports take now."""
    return sum(_size(p) for p in _exports(user_exports_dir(exports_dir, user)))


def remove_expired(exports_dir: Path, ttl_s: float, now: float | None = None) -> list[Path]:
    """Remove every user's exports last written more than ``ttl_s`` seconds ago."""
    cutoff = (time.time() if now is None else now) - ttl_s
    removed: list[Path] = []
    if not exports_dir.is_dir():
        return removed
    for directory in exports_dir.iterdir():
        if not directory.is_dir():
            continue
        with _locked(directory):
            for path in _exports(directory):
                if _mtime(path) < cutoff:
                    path.unlink(missing_ok=True)
                    removed.append(path)
    return removed


def take(path: Path) -> bytes:
    """The export's content, removed from the server (a download)."""
    data = path.read_bytes()
    path.unlink(missing_ok=True)
    return data
