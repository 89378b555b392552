"""How a sandbox comes into being in the metadata: one ``requested`` row, with its own
random id and password, and its first event. A user's create and a warm-pool refill
both make it here."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from sqlalchemy.orm import Session

from orchestrator.store import state
from orchestrator.store.models import Sandbox, Template, utcnow

#: hex characters of a sandbox id
ID_LENGTH = 12


def add_requested_sandbox(session: Session, owner: str, template: Template, ttl_s: float,
                          reason: str, now: dt.datetime | None = None) -> Sandbox:
    """Insert a ``requested`` sandbox of ``template`` for ``owner`` that expires
    ``ttl_s`` seconds from ``now``, and its creation event; flushed, not committed."""
    now = now or utcnow()
    sb = Sandbox(id=uuid.uuid4().hex[:ID_LENGTH], owner=owner, engine=template.engine,
                 template=template.name, template_id=template.id, state=state.REQUESTED,
                 created_at=now, expires_at=now + dt.timedelta(seconds=ttl_s),
                 password=secrets.token_urlsafe(16), generation=0, active_jobs=0)
    session.add(sb)
    session.flush()
    state.record_created(session, sb, reason)
    return sb
