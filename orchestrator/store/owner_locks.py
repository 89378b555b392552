"""Transaction locks per user, for checks that must count and then write atomically
(a user's job line, a user's sandbox quota).

:func:`lock_owner` serializes, until the transaction ends, every transaction that locks
the same ``(owner, scope)``. Take it first in the transaction, before any row lock, so
locks are always taken in the same order.

* PostgreSQL: an advisory transaction lock on a 64-bit hash of the pair.
* SQLite: the first write of a transaction takes the database's single write lock
  (held until commit), so a write that changes nothing serializes the transaction
  with every other writer; reads after it see every earlier commit.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from orchestrator.store.models import Job


def owner_lock_key(owner: str, scope: str) -> int:
    """A signed 64-bit key naming ``(owner, scope)`` (for ``pg_advisory_xact_lock``)."""
    digest = hashlib.blake2b(f"{scope}\0{owner}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_owner(session: Session, owner: str, scope: str) -> None:
    """Hold ``(owner, scope)`` until the session's transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": owner_lock_key(owner, scope)})
    else:
        session.execute(update(Job).where(Job.id == "").values(state=Job.state))
