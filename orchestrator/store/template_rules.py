"""The rules every way of making or dropping a template follows (import, snapshot,
scheduled snapshot, ``templates rm``, snapshot retention), in one place for the API and
the workers alike.

* A template name is letters, digits, '-', '_' and '.' (at most 100).
* A user's template may not take the name of one of their own or of a built-in.
* Deleting templates retires their unclaimed warm-pool sandboxes (they expire now and
  the reaper removes them): nobody can claim them any more.
* A dump (by content address) is in use while any template row refers to it; once none
  does, its file and whatever the provisioners made of it (baked image, prepared
  cluster, seeded cache) may go.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engines.errors import Conflict, InvalidRequest
from orchestrator.store import warm_pool
from orchestrator.store.models import Template, utcnow

NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
NAME_MAX = 100


def check_name(name: str, what: str = "template name") -> None:
    """``InvalidRequest`` unless ``name`` is a usable template (or snapshot) name."""
    if not name or len(name) > NAME_MAX or not set(name) <= NAME_CHARS:
        raise InvalidRequest(f"bad {what} {name!r}: use letters, digits, '-', '_' and '.'")


def check_no_clash(session: Session, owner: str, name: str) -> None:
    """``Conflict`` when ``owner`` has a template named ``name`` or a built-in has it."""
    clash = session.scalars(select(Template.id).where(
        Template.name == name, or_(Template.owner == owner, Template.owner.is_(None)))).first()
    if clash is not None:
        raise Conflict(f"a template named {name!r} exists already")


def dump_in_use(session: Session, digest: str) -> bool:
    """True while a template row refers to the dump ``digest`` (the empty digest of an
    empty template is no dump and never "in use")."""
    if not digest:
        return False
    return session.scalars(select(Template.id).where(Template.digest == digest)).first() \
        is not None


def unused_dumps(session: Session, digests: Iterable[str]) -> list[str]:
    """Which of ``digests`` no template refers to any more (call after the deletes were
    flushed, and act on the answer after the commit)."""
    return sorted({d for d in digests if d and not dump_in_use(session, d)})


def delete_templates(session: Session, templates: Iterable[Template]) -> list[str]:
    """Delete ``templates`` and retire their warm-pool sandboxes; returns the digests of
    the dumps no template uses any more (free them after the commit)."""
    doomed = list(templates)
    if not doomed:
        return []
    warm_pool.retire_templates(session, [t.id for t in doomed], utcnow())
    digests = {t.digest for t in doomed}
    for template in doomed:
        session.delete(template)
    session.flush()
    return unused_dumps(session, digests)
