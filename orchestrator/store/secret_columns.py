"""Columns that hold secrets, encrypted at rest in the metadata database.

A sandbox's handle (connection URLs with passwords, the admin URL) and its password are
stored as ``enc:v1:<Fernet token>`` (AES-128-CBC + HMAC-SHA256, from ``cryptography``).
The key is the installation's ``$DBPLAY_HOME/secret.key`` (0600), made on first use and
loaded by :class:`orchestrator.store.db.Database` when it is constructed (never at import): it
is attached to that database's SQLAlchemy dialect, which is what these column types see
when they convert values. A copy of ``dbplay.db`` (a backup, a PostgreSQL dump of the
metadata) then holds no usable credential without the key file. Rows written before
(plain values) are read as they are and encrypted when next written.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import JSON, Text
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import TypeDecorator

from orchestrator.config.file_modes import write_private

log = logging.getLogger(__name__)

PREFIX = "enc:v1:"
_DIALECT_ATTR = "dbplay_fernet"


def load_or_create_key(path: Path) -> bytes:
    """The key in ``path``; a new one is written (0600) when there is none. Concurrent
    first start-ups agree on one key (written aside, then linked into place)."""
    if not path.exists():
        aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        write_private(aside, Fernet.generate_key(), exclusive=True)
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process was first: use its key
        finally:
            aside.unlink(missing_ok=True)
    return path.read_bytes().strip()


def attach_key(engine: Engine, key: bytes) -> None:
    setattr(engine.dialect, _DIALECT_ATTR, Fernet(key))


def _fernet(dialect: Dialect) -> Fernet:
    fernet = getattr(dialect, _DIALECT_ATTR, None)
    if fernet is None:
        raise RuntimeError("no secret key for encrypted columns: open the metadata database "
                           "through orchestrator.store.db.Database")
    return fernet


def _seal(dialect: Dialect, text: str) -> str:
    return PREFIX + _fernet(dialect).encrypt(text.encode()).decode()


def _open(dialect: Dialect, stored: str) -> str | None:
    try:
        return _fernet(dialect).decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken:
        log.error("a secret column does not decrypt with $DBPLAY_HOME/secret.key "
                  "(was the key file replaced?)")
        return None


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value stored as one encrypted JSON string."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else _seal(dialect, json.dumps(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str) and value.startswith(PREFIX):
            text = _open(dialect, value)
            return None if text is None else json.loads(text)
        return value  # written before encryption


class EncryptedText(TypeDecorator[str]):
    """A text value (a password) stored encrypted."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _seal(dialect, value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and value.startswith(PREFIX):
            return _open(dialect, value) or ""
        return value
