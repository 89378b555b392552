"""Job bodies that start, reset, delete and snapshot sandboxes (provision/background queues).

Each is idempotent: it reads the sandbox's state first, so a redelivered message
(after a worker was killed) never creates a second sandbox, and a half-made one
left by the dead worker is removed before trying again.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from engines.errors import Conflict, DBPlayError, InvalidRequest, NotFound
from engines.registry import connect, descriptor_for
from orchestrator.sandboxes.provisioning import SandboxHandle, SandboxRequest
from orchestrator.store import state
from orchestrator.store.models import Event, Job, Sandbox, Schedule, Template, utcnow
from orchestrator.store.retention import prune_schedule_snapshots
from orchestrator.store.template_rules import check_no_clash, unused_dumps
from orchestrator.store.views import SandboxView, TemplateView
from workers.dumps import is_digest, release_dumps
from workers.runtime import Runtime

log = logging.getLogger(__name__)


def _request(rt: Runtime, sb: Sandbox, template: Template | None) -> SandboxRequest:
    digest = template.digest if template is not None else ""
    return SandboxRequest(
        sandbox_id=sb.id, owner=sb.owner, engine=sb.engine, template=sb.template,
        dump_path=rt.store.path(digest), dump_digest=digest,
        expires_at=sb.expires_at.replace(tzinfo=dt.UTC), password=sb.password,
    )


def _start(rt: Runtime, job: Job, *, reset: bool) -> dict[str, Any]:
    with rt.db.session() as session:
        sb = state.lock_sandbox(session, job.sandbox_id or "")
        if sb is None:
            raise NotFound(f"no sandbox {job.sandbox_id!r}")
        if sb.state in (state.READY, state.BUSY, state.SNAPSHOTTING) and (
                not reset or job.attempts > 1):
            return SandboxView.of(sb).to_dict()  # already done by an earlier delivery
        if sb.state in (state.DELETED, state.EXPIRED) or (
                sb.state == state.FAILED and (not reset or job.attempts > 1)):
            return SandboxView.of(sb).to_dict()  # a failed one starts again only by reset
        leftover = sb.state == state.PROVISIONING
        was_failed = sb.state == state.FAILED
        old = SandboxHandle.from_dict(sb.handle) if sb.handle else None
        if not leftover:
            state.transition(session, sb, state.PROVISIONING,
                             f"{'reset' if reset else 'provision'} job {job.id}")
        elif job.attempts > 1:
            session.add(_note(sb, f"attempt {job.attempts} of job {job.id}"))
        template = session.get(Template, sb.template_id) if sb.template_id else None
        request = _request(rt, sb, template)
        engine, sandbox_id = sb.engine, sb.id
    provisioner = rt.provisioners.for_engine(engine)
    if old is not None:
        rt.provisioners.by_name(old.provisioner).destroy(old)
    if leftover or was_failed:
        provisioner.remove_by_id(sandbox_id)  # what a killed worker or a failure left
    if rt.settings.fault_provision_delay:
        time.sleep(rt.settings.fault_provision_delay)
    handle = provisioner.create(request)
    if rt.settings.fault_ready_delay:
        time.sleep(rt.settings.fault_ready_delay)
    with rt.db.session() as session:
        sb = state.lock_sandbox(session, sandbox_id)
        if sb is None or sb.state != state.PROVISIONING:  # deleted while we worked
            provisioner.destroy(handle)
            return SandboxView.of(sb).to_dict() if sb else {}
        sb.handle, sb.provisioner = handle.to_dict(), provisioner.name
        sb.generation += 1
        if not reset:
            sb.ready_ms = round((utcnow() - sb.created_at).total_seconds() * 1000, 1)
        state.transition(session, sb, state.READY, "reset done" if reset else "provisioned")
        return SandboxView.of(sb).to_dict()


def _note(sb: Sandbox, reason: str) -> Event:
    return Event(sandbox_id=sb.id, at=utcnow(), from_state=sb.state, to_state=sb.state,
                 reason=reason)


def provision(rt: Runtime, job: Job) -> dict[str, Any]:
    return _start(rt, job, reset=False)


def reset(rt: Runtime, job: Job) -> dict[str, Any]:
    return _start(rt, job, reset=True)


def provision_failed(rt: Runtime, job: Job, error: DBPlayError) -> None:
    """Give up on a sandbox: remove whatever exists of it and mark it failed."""
    with rt.db.session() as session:
        sb = state.lock_sandbox(session, job.sandbox_id or "")
        if sb is None:
            return
        for name in {sb.provisioner or "", rt.provisioners.for_engine(sb.engine).name} - {""}:
            try:
                rt.provisioners.by_name(name).remove_by_id(sb.id)
            except Exception:
                log.exception("could not remove sandbox %s", sb.id)
        if state.can_transition(sb.state, state.FAILED):
            state.transition(session, sb, state.FAILED, f"{error.type}: {error.message}")


def delete(rt: Runtime, job: Job) -> dict[str, Any]:
    """Remove a sandbox's resources (its row is already marked deleted or expired)."""
    with rt.db.session() as session:
        sb = session.get(Sandbox, job.sandbox_id)
        if sb is None:
            return {}
        handle = SandboxHandle.from_dict(sb.handle) if sb.handle else None
        engine = sb.engine
    if handle is not None:
        rt.provisioners.by_name(handle.provisioner).destroy(handle)
    else:
        rt.provisioners.for_engine(engine).remove_by_id(job.sandbox_id or "")
    rt.results.forget_sandbox(job.sandbox_id or "")  # its stored results go with it
    return {"deleted": job.sandbox_id}


# -- snapshots -----------------------------------------------------------------
def snapshot(rt: Runtime, job: Job) -> dict[str, Any]:
    return _snapshot(rt, job, job.params["name"], job.params.get("description", ""))


def scheduled_snapshot(rt: Runtime, job: Job) -> dict[str, Any]:
    """A schedule's snapshot; then the schedule's older snapshots beyond
    ``DBPLAY_SNAPSHOT_KEEP`` are deleted."""
    name = f"{job.params['name']}-{utcnow():%Y%m%d-%H%M%S}"
    schedule_id = job.params["schedule_id"]
    try:
        result = _snapshot(rt, job, name, f"scheduled snapshot ({job.params['cron']})",
                           schedule_id=schedule_id)
        status = "done"
        try:
            pruned = prune_schedule_snapshots(rt.db, schedule_id, job.owner,
                                              rt.settings.snapshot_keep)
            result["pruned"] = pruned.names
            release_dumps(rt, pruned.unused_digests)
        except Exception:
            log.exception("could not prune the snapshots of schedule %s", schedule_id)
        return result
    except Exception:
        status = "failed"
        raise
    finally:
        with rt.db.session() as session:
            schedule = session.get(Schedule, schedule_id)
            if schedule is not None:
                schedule.last_status, schedule.last_job_id = status, job.id


def _snapshot(rt: Runtime, job: Job, name: str, description: str,
              schedule_id: int | None = None) -> dict[str, Any]:
    with rt.db.session() as session:
        sb = state.lock_sandbox(session, job.sandbox_id or "")
        if sb is None or sb.owner != job.owner:
            raise NotFound(f"no sandbox {job.sandbox_id!r}")
        check_no_clash(session, job.owner, name)
        if sb.state != state.READY:
            raise Conflict(f"sandbox {sb.id} is {sb.state}; snapshots need it ready")
        state.transition(session, sb, state.SNAPSHOTTING, f"snapshot {name!r} (job {job.id})")
        handle = SandboxHandle.from_dict(sb.handle or {})
        engine = sb.engine
    try:
        with tempfile.TemporaryDirectory(dir=rt.settings.home) as tmp:
            out = Path(tmp) / f"{name}{descriptor_for(engine).dump_suffix}"
            rt.provisioners.by_name(handle.provisioner).snapshot(handle, out)
            digest, size = rt.store.put(out)
        tables = _tables(handle, engine)
    finally:
        with rt.db.session() as session:
            sb = state.lock_sandbox(session, job.sandbox_id or "")
            if sb is not None and sb.state == state.SNAPSHOTTING:
                state.transition(session, sb, state.READY, f"snapshot {name!r} finished")
    with rt.db.session() as session:
        check_no_clash(session, job.owner, name)
        template = Template(name=name, engine=engine, description=description, owner=job.owner,
                            shared=False, digest=digest, size_bytes=size, tables=tables,
                            source=f"snapshot of sandbox {job.sandbox_id}", license="",
                            created_at=utcnow(), schedule_id=schedule_id)
        session.add(template)
        session.flush()
        return TemplateView.of(template).to_dict()


def _tables(handle: SandboxHandle, engine: str) -> list[str]:
    """The sandbox's tables, read as its own user: a schema read never needs more rights
    than the user's statements have (nothing the user defined runs as an admin)."""
    try:
        with connect(engine, handle.user_url) as db:
            return [t.name for t in db.schema().tables]
    except DBPlayError as exc:
        log.warning("could not list tables of %s: %s", handle.sandbox_id, exc)
        return []


def import_template(rt: Runtime, job: Job) -> dict[str, Any]:
    """Validate an uploaded dump by restoring it into a scratch sandbox, then keep it."""
    params = job.params
    if not is_digest(params.get("digest")):  # never a path
        raise InvalidRequest("refused template import: the dump is named by its digest only")
    scratch = f"scratch-{job.id[:16]}"
    provisioner = rt.provisioners.for_engine(params["engine"])
    request = SandboxRequest(
        sandbox_id=scratch, owner=job.owner, engine=params["engine"], template=params["name"],
        dump_path=rt.store.path(params["digest"]), dump_digest=params["digest"],
        expires_at=(utcnow() + dt.timedelta(hours=1)).replace(tzinfo=dt.UTC),
        password=params.get("password", "scratch"),
    )
    provisioner.remove_by_id(scratch)
    try:
        handle = provisioner.create(request)
        try:
            tables = _tables(handle, params["engine"])
        finally:
            provisioner.destroy(handle)
    except BaseException:
        provisioner.remove_by_id(scratch)
        raise
    with rt.db.session() as session:
        check_no_clash(session, job.owner, params["name"])
        template = Template(name=params["name"], engine=params["engine"],
                            description=params.get("description", ""), owner=job.owner,
                            shared=False, digest=params["digest"], size_bytes=params["size"],
                            tables=tables, source=params.get("source", "import"), license="",
                            created_at=utcnow())
        session.add(template)
        session.flush()
        return TemplateView.of(template).to_dict()


def import_template_failed(rt: Runtime, job: Job, error: DBPlayError) -> None:
    if not is_digest(job.params.get("digest")):
        return  # a refused job: nothing of it was made, and its "digest" is no store key
    rt.provisioners.for_engine(job.params["engine"]).remove_by_id(f"scratch-{job.id[:16]}")
    with rt.db.session() as session:
        unused = unused_dumps(session, [job.params["digest"]])
    release_dumps(rt, unused)  # the scratch sandbox may have baked an image
