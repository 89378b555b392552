"""The metadata database: engine and session factory, migrated on start-up.

SQLite (the default) is opened in WAL mode with a busy timeout, because the API,
the workers and the scheduler are separate processes writing to the same file.
Migrations run programmatically under a file lock so concurrent start-ups are safe.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.config.file_modes import private_dir, private_sqlite_file, sqlite_path
from orchestrator.store.secret_columns import attach_key, load_or_create_key

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: beside the metadata database's lock, in ``DBPLAY_HOME`` (0600)
SECRET_KEY_FILE = "secret.key"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def migrate(engine: Engine, lock_dir: Path) -> None:
    """Bring the schema to the newest Alembic revision (idempotent, process-safe)."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    lock_path = lock_dir / ".migrate.lock"
    with os.fdopen(os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Database:
    """An engine plus a session factory; ``with db.session() as s:`` commits on success."""

    def __init__(self, url: str, lock_dir: Path) -> None:
        self.url = url
        if not lock_dir.exists():
            private_dir(lock_dir)
        db_file = sqlite_path(url)
        if db_file is not None:  # 0600 before SQLite creates it (its -wal/-shm copy the mode)
            private_sqlite_file(db_file)
        self.engine = make_engine(url)
        # the key of the encrypted columns (sandbox handles and passwords)
        attach_key(self.engine, load_or_create_key(lock_dir / SECRET_KEY_FILE))
        migrate(self.engine, lock_dir)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
