"""Housekeeping run as jobs on the background/provision queues.

``reap``: expire sandboxes past their TTL (and free their resources), remove orphans
(resources a provisioner runs for sandboxes this installation knows to be deleted,
expired or failed - or, for unknown ids, that expired over 30 minutes ago: a Docker
engine may be shared by several installations), repair ``busy`` sandboxes whose
jobs all died, and remove export files older than ``DBPLAY_EXPORT_TTL``.
``pool_refill``: keep ``DBPLAY_POOL_SIZE`` ready sandboxes per recently launched template
(``DBPLAY_POOL_WINDOW``) and drain the pool of idle ones.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from engines.errors import DBPlayError, InvalidRequest
from orchestrator.jobs.client import RUNNING
from orchestrator.jobs.exports import remove_expired
from orchestrator.sandboxes.provisioning import SandboxHandle
from orchestrator.store import state, warm_pool
from orchestrator.store.models import POOL_OWNER, Job, Sandbox, Template, utcnow
from orchestrator.store.sandbox_rows import add_requested_sandbox
from orchestrator.store.template_rules import dump_in_use
from workers import sandbox_tasks
from workers.dumps import forget_dump, is_digest

if TYPE_CHECKING:
    from workers.runtime import Runtime

log = logging.getLogger(__name__)
#: unknown sandboxes (another installation's, or a scratch import) are left alone
#: until they expired this long ago
SCRATCH_GRACE = dt.timedelta(minutes=30)


def reap(rt: Runtime, job: Job | None = None) -> dict[str, Any]:
    expired = _expire(rt)
    orphans = _remove_orphans(rt)
    repaired = _repair_busy(rt)
    exports = remove_expired(rt.settings.exports_dir, rt.settings.export_ttl)
    results = rt.results.sweep()  # past their TTL, and files no record knows
    return {"expired": expired, "orphans": orphans, "repaired": repaired,
            "exports_removed": [str(p) for p in exports], "results_removed": results}


def _expire(rt: Runtime) -> list[str]:
    now = utcnow()
    done: list[str] = []
    with rt.db.session() as session:
        due = list(session.scalars(select(Sandbox).where(
            Sandbox.state.in_(state.LIVE), Sandbox.expires_at <= now)))
        handles = []
        for sb in due:
            if sb.state in (state.REQUESTED, state.PROVISIONING, state.SNAPSHOTTING):
                continue  # a worker is on it; next round
            state.transition(session, sb, state.EXPIRED, "time to live elapsed")
            handles.append((sb.id, sb.engine, sb.handle))
            done.append(sb.id)
    for sandbox_id in done:
        rt.results.forget_sandbox(sandbox_id)
    for sandbox_id, engine, handle in handles:
        try:
            if handle:
                h = SandboxHandle.from_dict(handle)
                rt.provisioners.by_name(h.provisioner).destroy(h)
            else:
                rt.provisioners.for_engine(engine).remove_by_id(sandbox_id)
        except DBPlayError as exc:
            log.warning("could not remove expired sandbox %s: %s", sandbox_id, exc)
    return done


def _remove_orphans(rt: Runtime) -> list[str]:
    removed: list[str] = []
    now = dt.datetime.now(dt.UTC)
    for provisioner in rt.provisioners.active():
        try:
            running = provisioner.list_running()
        except Exception as exc:
            log.warning("cannot list %s sandboxes: %s", provisioner.name, exc)
            continue
        if not running:
            continue
        with rt.db.session() as session:
            known = dict(session.execute(select(Sandbox.id, Sandbox.state).where(
                Sandbox.id.in_(list(running)))).tuples().all())
        for sandbox_id, labels in running.items():
            if known.get(sandbox_id) in state.LIVE:
                continue
            # A Docker engine may be shared with other installations: a sandbox this
            # installation has never heard of is only removed once long expired.
            if sandbox_id not in known and not _older(labels, now, SCRATCH_GRACE):
                continue
            log.info("removing orphan sandbox %s (%s)", sandbox_id, provisioner.name)
            provisioner.remove_by_id(sandbox_id)
            removed.append(sandbox_id)
    return removed


def _older(labels: dict[str, str], now: dt.datetime, grace: dt.timedelta) -> bool:
    """True when the labels say the sandbox expired more than ``grace`` ago."""
    try:
        expires = dt.datetime.fromisoformat(labels.get("expires_at", ""))
    except ValueError:
        return False
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.UTC)
    return expires + grace < now


def _repair_busy(rt: Runtime) -> list[str]:
    repaired: list[str] = []
    with rt.db.session() as session:
        for sb in session.scalars(select(Sandbox).where(Sandbox.state == state.BUSY)):
            running = session.scalar(select(func.count()).select_from(Job).where(
                Job.sandbox_id == sb.id, Job.state == RUNNING))
            if not running:
                sb.active_jobs = 0
                state.transition(session, sb, state.READY, "no job running on it any more")
                repaired.append(sb.id)
    return repaired


def pool_refill(rt: Runtime, job: Job | None = None) -> dict[str, Any]:
    """Top up the warm pool for the templates users launched recently and drain the pool
    of the idle ones (:mod:`orchestrator.store.warm_pool`); provisioned inline, one at a
    time."""
    size = rt.settings.pool_size
    created: list[str] = []
    if size <= 0:
        return {"created": created, "drained": []}
    now = utcnow()
    since = now - dt.timedelta(seconds=rt.settings.pool_window)
    engines = set(rt.provisioners.info()["engines"])
    with rt.db.session() as session:
        wanted = warm_pool.wanted_templates(session, since, engines)
        have = warm_pool.pool_counts(session)
        drained = warm_pool.drain_idle(session, [t.id for t in wanted], now)
    if drained:
        _expire(rt)
    for template in wanted:
        for _ in range(size - have.get(template.id, 0)):
            created.append(_provision_pool_sandbox(rt, template))
    return {"created": created, "drained": drained}


def _provision_pool_sandbox(rt: Runtime, template: Template) -> str:
    with rt.db.session() as session:
        sb = add_requested_sandbox(session, POOL_OWNER, template, rt.settings.max_ttl,
                                   "warm pool")
    fake = Job(id=f"pool-{sb.id}", kind="provision", owner=POOL_OWNER, sandbox_id=sb.id,
               state=RUNNING, params={}, attempts=1)
    try:
        sandbox_tasks.provision(rt, fake)
    except DBPlayError as exc:
        sandbox_tasks.provision_failed(rt, fake, exc)
    return sb.id


def forget_template(rt: Runtime, job: Job) -> dict[str, Any]:
    """Free what the provisioners made of a dump no template uses any more (``templates
    rm`` submits this: the API process never touches Docker). The deleted templates'
    warm-pool sandboxes, retired by then, are removed first: they ran from it."""
    digest = job.params.get("digest")
    if not isinstance(digest, str) or not is_digest(digest):
        raise InvalidRequest("refused: a dump is named by its digest only")
    _expire(rt)
    with rt.db.session() as session:
        if dump_in_use(session, digest):  # imported again meanwhile
            return {"forgotten": None}
    forget_dump(rt, digest)
    return {"forgotten": digest}
