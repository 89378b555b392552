"""Which templates keep ready sandboxes: the warm pool's demand, read from the metadata.

A template a user launched within ``DBPLAY_POOL_WINDOW`` keeps ``DBPLAY_POOL_SIZE`` ready
sandboxes owned by :data:`~orchestrator.store.models.POOL_OWNER`; creating a sandbox from it
claims one (a row update, no provisioning) and the refill makes the next. A template nobody
launched for longer keeps none: its pool sandboxes are drained so idle templates cost no
memory. The pool therefore follows what people use, with no list to maintain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from orchestrator.store import state
from orchestrator.store.models import POOL_OWNER, Sandbox, Template


def wanted_templates(session: Session, since: dt.datetime,
                     engines: Collection[str]) -> list[Template]:
    """Templates a user (not the pool) created a sandbox from since ``since``, on an engine
    the provisioners serve."""
    recent = select(Sandbox.template_id).where(
        Sandbox.owner != POOL_OWNER, Sandbox.created_at >= since,
        Sandbox.template_id.is_not(None)).distinct()
    return [t for t in session.scalars(select(Template).where(Template.id.in_(recent)))
            if t.engine in engines]


def pool_counts(session: Session) -> dict[int, int]:
    """Live pool sandboxes per template id."""
    rows = session.execute(select(Sandbox.template_id, func.count()).where(
        Sandbox.owner == POOL_OWNER, Sandbox.state.in_(state.LIVE)).group_by(
        Sandbox.template_id)).tuples().all()
    return {template_id: count for template_id, count in rows if template_id is not None}


def drain_idle(session: Session, keep: Collection[int], now: dt.datetime) -> list[str]:
    """Retire the ready pool sandboxes of templates not in ``keep``; returns their ids."""
    idle = Sandbox.template_id.not_in(list(keep)) if keep else Sandbox.template_id.is_not(None)
    return _retire(session, now, Sandbox.state == state.READY, Sandbox.expires_at > now, idle)


def retire_templates(session: Session, template_ids: Collection[int],
                     now: dt.datetime) -> list[str]:
    """Retire the live pool sandboxes of templates being deleted (nobody may claim them);
    returns their ids."""
    return _retire(session, now, Sandbox.state.in_(state.LIVE),
                   Sandbox.template_id.in_(list(template_ids)))


def _retire(session: Session, now: dt.datetime, *where: ColumnElement[bool]) -> list[str]:
    """Expire the pool sandboxes matching ``where`` at ``now``: the reaper removes them."""
    retired = session.scalars(select(Sandbox).where(Sandbox.owner == POOL_OWNER, *where)).all()
    for sb in retired:
        sb.expires_at = now
    return [sb.id for sb in retired]
