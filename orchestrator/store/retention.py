"""Snapshot retention: a schedule keeps its newest ``DBPLAY_SNAPSHOT_KEEP`` templates.

Only templates the schedule itself created (``Template.schedule_id``) and owned by the
schedule's owner are candidates; one that a live sandbox was created from is kept
whatever its age (a reset of that sandbox restores from it). A dump file is removed
only when no template row refers to its digest any more.
"""

from __future__ import annotations

from sqlalchemy import select

from orchestrator.store import state
from orchestrator.store.db import Database
from orchestrator.store.models import Sandbox, Template
from orchestrator.store.templates import TemplateStore


def prune_schedule_snapshots(db: Database, store: TemplateStore, schedule_id: int, owner: str,
                             keep: int) -> list[str]:
    """Delete the schedule's snapshot templates beyond the newest ``keep``; returns their
    names."""
    removed: list[str] = []
    digests: set[str] = set()
    with db.session() as session:
        made = list(session.scalars(select(Template).where(
            Template.schedule_id == schedule_id, Template.owner == owner).order_by(
            Template.created_at.desc(), Template.id.desc())))
        old = made[max(keep, 0):]
        if not old:
            return removed
        in_use = set(session.scalars(select(Sandbox.template_id).where(
            Sandbox.state.in_(state.LIVE), Sandbox.template_id.in_([t.id for t in old]))))
        for template in old:
            if template.id in in_use:
                continue
            removed.append(template.name)
            digests.add(template.digest)
            session.delete(template)
        session.flush()
        unused = [d for d in digests if session.scalars(select(Template.id).where(
            Template.digest == d)).first() is None]
    for digest in unused:
        store.discard(digest)
    return removed
