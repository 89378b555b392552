"""Snapshot retention: a schedule keeps its newest ``DBPLAY_SNAPSHOT_KEEP`` templates.

Only templates the schedule itself created (``Template.schedule_id``) and owned by the
schedule's owner are candidates; one that a user's live sandbox was created from is kept
whatever its age (a reset of that sandbox restores from it); its warm-pool sandboxes
are retired with it. The dumps no template
refers to any more (:func:`orchestrator.store.template_rules.unused_dumps`) are
reported, for the caller to free once the deletes are committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from orchestrator.store import state
from orchestrator.store.db import Database
from orchestrator.store.models import POOL_OWNER, Sandbox, Template
from orchestrator.store.template_rules import delete_templates


@dataclass
class Pruned:
    #: the deleted templates' names
    names: list[str] = field(default_factory=list)
    #: their dumps that no template refers to any more
    unused_digests: list[str] = field(default_factory=list)


def prune_schedule_snapshots(db: Database, schedule_id: int, owner: str, keep: int) -> Pruned:
    """Delete the schedule's snapshot templates beyond the newest ``keep``."""
    pruned = Pruned()
    with db.session() as session:
        made = list(session.scalars(select(Template).where(
            Template.schedule_id == schedule_id, Template.owner == owner).order_by(
            Template.created_at.desc(), Template.id.desc())))
        old = made[max(keep, 0):]
        if not old:
            return pruned
        in_use = set(session.scalars(select(Sandbox.template_id).where(  # a user's, not the pool's
            Sandbox.owner != POOL_OWNER, Sandbox.state.in_(state.LIVE),
            Sandbox.template_id.in_([t.id for t in old]))))
        doomed = [t for t in old if t.id not in in_use]
        pruned.names = [t.name for t in doomed]
        pruned.unused_digests = delete_templates(session, doomed)
    return pruned
