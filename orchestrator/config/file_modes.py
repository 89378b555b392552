"""Private files: ``DBPLAY_HOME`` is 0700 and everything dbplay writes in it is 0600.

Every dbplay process calls :func:`private_umask` first (the CLI, ``dbplay up`` and the
supervisor, the UI) and children started by :func:`orchestrator.stack.services.start` get the
same umask, so new files are 0600 and new directories 0700 whoever creates them.
:func:`secure_home` also repairs an installation made before that (home, metadata
database); :func:`tighten_tree` drops group/other bits from everything under home.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path

PRIVATE_UMASK = 0o077
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
#: the SQLite metadata file and the files SQLite keeps beside it
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def private_umask() -> None:
    """New files of this process (and its children) are readable by its user only."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """``path`` (and missing parents) as a directory only its owner may enter."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_DIR:
        path.chmod(PRIVATE_DIR)
    return path


def write_private(path: Path, data: bytes | str, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` as a 0600 file (``exclusive``: it must not exist yet;
    never follows a symlink planted at ``path``)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        os.write(fd, data.encode() if isinstance(data, str) else data)
    finally:
        os.close(fd)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (``flock`` on ``path``, a 0600 file in a
    0700 directory, made when missing)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, PRIVATE_FILE)
    with os.fdopen(fd, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def open_private_log(path: Path) -> int:
    """A 0600 append-only descriptor for a service's log file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    return fd


def sqlite_path(database_url: str) -> Path | None:
    """The file of a ``sqlite:///...`` URL (None for other databases and ``:memory:``)."""
    if not database_url.startswith("sqlite"):
        return None
    path = database_url.split(":///", 1)[-1]
    return Path(path) if path and path != ":memory:" else None


def private_sqlite_file(path: Path) -> None:
    """Create the SQLite file as 0600 before SQLite does (it copies the database file's
    mode onto its ``-wal``/``-shm`` files) and fix the modes of an existing one."""
    if not path.parent.exists():
        private_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    for suffix in SQLITE_SUFFIXES:
        companion = path.with_name(path.name + suffix)
        if companion.exists() and stat.S_IMODE(companion.stat().st_mode) & 0o077:
            companion.chmod(PRIVATE_FILE)


def secure_home(home: Path, database_url: str) -> None:
    """Home 0700 and the metadata database 0600 (cheap; run by every process)."""
    private_dir(home)
    db_file = sqlite_path(database_url)
    if db_file is not None:
        private_sqlite_file(db_file)


def tighten_tree(home: Path) -> list[Path]:
    """Drop group/other bits from every file and directory under ``home`` owned by this
    user (repairs an installation written before umask 077); returns what changed."""
    changed: list[Path] = []
    uid = os.geteuid()
    for root, dirs, files in os.walk(home):
        for name in [*dirs, *files]:
            path = Path(root) / name
            try:
                info = path.lstat()
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode) or info.st_uid != uid or not info.st_mode & 0o077:
                continue
            path.chmod(stat.S_IMODE(info.st_mode) & ~0o077)
            changed.append(path)
    return changed
