"""The orchestrator API: the one entry point of the UI and the CLI (see notes/API.md).

Every method takes the acting user first and checks ownership itself: another user's
sandbox or job is reported exactly like a missing one (``NotFound``). Work that touches
a sandbox runs as a job on the Dramatiq workers; the blocking helpers submit and wait.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select

from engines.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    ProvisionError,
    QuotaExceeded,
    ServiceUnavailable,
    from_dict,
)
from engines.registry import descriptor_for
from orchestrator.api.accounts import Accounts
from orchestrator.api.builder import QueryBuilder
from orchestrator.api.clones import Clones
from orchestrator.api.dashboards import Dashboards
from orchestrator.api.design import SchemaDesigner
from orchestrator.api.mongo_design import CollectionDesigner
from orchestrator.api.queries import QueryJobs
from orchestrator.api.results import StoredResults
from orchestrator.api.saved import SavedWork
from orchestrator.api.shares import Shares
from orchestrator.api.tokens import Tokens
from orchestrator.api.tuning import Tuning
from orchestrator.api.web_sessions import WebSessions
from orchestrator.config.settings import Settings, format_duration
from orchestrator.jobs.client import JobClient
from orchestrator.jobs.heartbeat import stack_status, status_client
from orchestrator.jobs.uploads import UploadStore, uploads_root
from orchestrator.results.store import ResultStore
from orchestrator.sandboxes.connection_warning import warning_for
from orchestrator.sandboxes.provisioners import Provisioners
from orchestrator.sandboxes.provisioning import SandboxHandle
from orchestrator.store import state
from orchestrator.store.db import Database
from orchestrator.store.models import POOL_OWNER, Event, Sandbox, Template, utcnow
from orchestrator.store.owner_locks import lock_owner
from orchestrator.store.sandbox_rows import add_requested_sandbox
from orchestrator.store.template_rules import (
    check_name,
    check_no_clash,
    delete_templates,
    dump_in_use,
)
from orchestrator.store.templates import TemplateStore, sync_builtins
from orchestrator.store.views import EventView, SandboxView, TemplateView

log = logging.getLogger(__name__)

PROVISION_WAIT_S = 600.0
#: how often :meth:`Orchestrator.wait_events` looks for new events (one indexed query)
EVENT_POLL_S = 0.1


class Orchestrator(Accounts, Dashboards, QueryBuilder, QueryJobs, SavedWork, StoredResults,
                   Tokens, Clones, SchemaDesigner, Tuning, Shares, WebSessions,
                   CollectionDesigner):
    def __init__(self, settings: Settings, db: Database, jobs: JobClient,
                 provisioners: Provisioners, store: TemplateStore) -> None:
        self.settings = settings
        self.db = db
        self.jobs = jobs
        self.results = ResultStore(db, settings)
        self.provisioners = provisioners
        self.store = store
        self._status_redis = status_client(settings)
        self._provisioner: dict[str, Any] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Orchestrator:
        settings.home.mkdir(parents=True, exist_ok=True)
        db = Database(settings.database_url, settings.home)
        store = TemplateStore(settings.templates_dir)
        with db.session() as session:
            sync_builtins(session, store)
        return cls(settings, db, JobClient(settings, db), Provisioners(settings), store)

    def close(self) -> None:
        self._status_redis.close()
        self.jobs.close()
        self.db.dispose()

    def provisioner_info(self) -> dict[str, Any]:
        self._provisioner = self.provisioners.info()
        return self._provisioner

    def stack_status(self) -> dict[str, Any]:
        """Which parts of the stack are up, from Redis in one round trip; never raises:
        ``{"redis", "workers": {"interactive", "provision", "background"}, "scheduler",
        "provisioner": {"name", "engines"}}``. The provisioner is the one the workers
        announce (else the last one seen here, else the setting with no engines)."""
        fallback = self._provisioner or {"name": self.settings.provisioner, "engines": []}
        return stack_status(self._status_redis, fallback)

    # -- templates -------------------------------------------------------------
    def _visible_templates(self, user: str) -> Any:
        return select(Template).where(or_(Template.owner.is_(None), Template.owner == user,
                                          Template.shared.is_(True)))

    def list_templates(self, user: str) -> list[TemplateView]:
        self._user(user)
        with self.db.session() as session:
            rows = session.scalars(self._visible_templates(user).order_by(
                Template.owner.is_not(None), Template.engine, Template.name)).all()
            return [TemplateView.of(t) for t in rows]

    def _template(self, session: Any, user: str, name: str) -> Template:
        rows = session.scalars(self._visible_templates(user).where(Template.name == name)).all()
        if not rows:
            raise NotFound(f"no template {name!r}")
        rows.sort(key=lambda t: (t.owner != user, t.owner is not None))
        template: Template = rows[0]
        return template

    def import_template(self, user: str, name: str, engine: str, dump: bytes | Path,
                        description: str = "", file_name: str = "") -> TemplateView:
        """A template from a dump's bytes (a ``Path`` is read here, in the client's
        process); the worker gets only the stored dump's digest, never a path."""
        self._user(user)
        check_name(name)
        descriptor_for(engine)  # InvalidRequest for an unknown engine
        if isinstance(dump, Path):
            if not dump.is_file():
                raise InvalidRequest(f"no such file: {dump}")
            file_name = file_name or dump.name
            dump = dump.read_bytes()
        with self.db.session() as session:
            check_no_clash(session, user, name)
        digest, size = self._store_dump(user, dump, file_name or f"{name}.dump")
        try:
            job = self.jobs.submit(user, "import_template", None, name=name, engine=engine,
                                   digest=digest, size=size, description=description,
                                   source=f"imported from {Path(file_name).name or name}",
                                   password=secrets.token_urlsafe(12))
        except ServiceUnavailable:
            with self.db.session() as session:
                unused = not dump_in_use(session, digest)
            if unused:  # nothing was made of it yet: only the stored file goes
                self.store.discard(digest)
            raise
        return TemplateView(**self._result(job.id, PROVISION_WAIT_S))

    def _store_dump(self, user: str, dump: bytes, file_name: str) -> tuple[str, int]:
        """Into the content-addressed template store, through a private upload file."""
        uploads = UploadStore(uploads_root(self.settings.home))
        upload = uploads.put(user, dump, file_name)
        try:
            return self.store.put(uploads.open_path(user, upload), Path(file_name).name)
        finally:
            uploads.discard(user, upload)

    def delete_template(self, user: str, name: str) -> None:
        with self.db.session() as session:
            template = session.scalars(select(Template).where(
                Template.name == name, Template.owner == self._user(user))).one_or_none()
            if template is None:
                raise NotFound(f"no template {name!r} of yours")
            unused = delete_templates(session, [template])
        for digest in unused:
            self._release_dump(digest)

    def _release_dump(self, digest: str) -> None:
        """A dump no template uses any more: its stored file goes here, and a worker frees
        what the provisioners made of it (baked image, prepared cluster, seeded cache);
        this process never touches Docker."""
        self.store.discard(digest)
        try:
            self.jobs.submit(POOL_OWNER, "forget_template", digest=digest)
        except ServiceUnavailable as exc:
            log.warning("could not ask the workers to free dump %s: %s", digest, exc.message)

    # -- sandboxes -------------------------------------------------------------
    def _ttl(self, ttl_s: int | None) -> int:
        ttl = self.settings.default_ttl if ttl_s is None else int(ttl_s)
        if ttl <= 0:
            raise InvalidRequest("the time to live must be positive")
        if ttl > self.settings.max_ttl:
            raise QuotaExceeded(f"the longest time to live is "
                                f"{format_duration(self.settings.max_ttl)} (DBPLAY_MAX_TTL)")
        return ttl

    def create_sandbox(self, user: str, template: str, ttl_s: int | None = None,
                       wait: bool = True) -> SandboxView:
        return self._launch(user, lambda session: self._template(session, user, template),
                            ttl_s, wait)

    def _launch(self, user: str, find_template: Callable[[Any], Template],
                ttl_s: int | None = None, wait: bool = True) -> SandboxView:
        """A new sandbox of ``user`` from the template ``find_template(session)`` gives
        (the caller decides who may see it: by name, or through a share link)."""
        ttl = self._ttl(ttl_s)
        now = utcnow()
        with self.db.session() as session:
            self._user(user)
            tpl = find_template(session)
            # count and insert atomically: concurrent creates of one user queue here
            lock_owner(session, user, "sandboxes")
            live = session.scalar(select(func.count()).select_from(Sandbox).where(
                Sandbox.owner == user, Sandbox.state.in_(state.LIVE)))
            if live is not None and live >= self.settings.max_sandboxes_per_user:
                raise QuotaExceeded(
                    f"you have {live} live sandboxes; the limit is "
                    f"{self.settings.max_sandboxes_per_user}: delete one first")
            claimed = self._claim_from_pool(session, user, tpl, now, ttl)
            if claimed is None:
                sb = add_requested_sandbox(session, user, tpl, ttl,
                                           f"requested from template {tpl.name!r}", now)
        if claimed is not None:
            self._refill_pool()  # after the commit: the job row needs the write lock
            return SandboxView.of(claimed)
        try:
            job = self.jobs.submit(user, "provision", sb.id)
        except ServiceUnavailable as exc:
            self._fail(sb.id, f"not provisioned: {exc.message}")
            raise
        self._refill_pool()
        if not wait:
            return self.get_sandbox(user, sb.id)
        finished = self.jobs.wait(job.id, PROVISION_WAIT_S)
        view = self.get_sandbox(user, sb.id)
        if view.state == state.FAILED or finished.state == "failed":
            raise from_dict(finished.error or {"type": "ProvisionError",
                                               "message": view.error or "provisioning failed"})
        return view

    def _refill_pool(self) -> None:
        """A template was just launched, so it is in demand: ask for the warm pool's refill
        (it keeps ready sandboxes of recently launched templates)."""
        if self.settings.pool_size <= 0:
            return
        try:
            self.jobs.submit(POOL_OWNER, "pool_refill")
        except ServiceUnavailable:
            pass  # the scheduler refills the pool too once the stack is back

    def _fail(self, sandbox_id: str, reason: str) -> None:
        with self.db.session() as session:
            sb = state.lock_sandbox(session, sandbox_id)
            if sb is not None and state.can_transition(sb.state, state.FAILED):
                state.transition(session, sb, state.FAILED, reason)

    def _claim_from_pool(self, session: Any, user: str, tpl: Template, now: dt.datetime,
                         ttl: int) -> Sandbox | None:
        if self.settings.pool_size <= 0:
            return None
        sb: Sandbox | None = session.scalars(select(Sandbox).where(
            Sandbox.owner == POOL_OWNER, Sandbox.template_id == tpl.id,
            Sandbox.state == state.READY).limit(1).with_for_update()).first()
        if sb is None:
            return None
        sb.owner, sb.expires_at, sb.ready_ms = user, now + dt.timedelta(seconds=ttl), 0.0
        session.add(Event(sandbox_id=sb.id, at=now, from_state=sb.state, to_state=sb.state,
                          reason=f"claimed from the warm pool by {user}"))
        return sb

    def list_sandboxes(self, user: str) -> list[SandboxView]:
        with self.db.session() as session:
            rows = session.scalars(select(Sandbox).where(
                Sandbox.owner == self._user(user), Sandbox.state != state.DELETED
            ).order_by(Sandbox.created_at)).all()
            return [SandboxView.of(s) for s in rows]

    def get_sandbox(self, user: str, sandbox_id: str) -> SandboxView:
        with self.db.session() as session:
            return SandboxView.of(self._sandbox(session, user, sandbox_id))

    def sandbox_events(self, user: str, sandbox_id: str, after_id: int = 0) -> list[EventView]:
        with self.db.session() as session:
            self._sandbox(session, user, sandbox_id)
            return self._events_after(session, sandbox_id, after_id)

    def _events_after(self, session: Any, sandbox_id: str, after_id: int) -> list[EventView]:
        rows = session.scalars(select(Event).where(
            Event.sandbox_id == sandbox_id, Event.id > after_id).order_by(Event.id)).all()
        return [EventView.of(e) for e in rows]

    def wait_events(self, user: str, sandbox_id: str, after_id: int = 0,
                    timeout_s: float = 10.0) -> list[EventView]:
        """Follow a sandbox live (long poll): its events after ``after_id`` as soon as
        there is one, or ``[]`` once ``timeout_s`` (at most 60 s) passed. Unlike
        :meth:`sandbox_events` it still answers for a deleted sandbox, so a follower
        sees the final ``deleted`` event."""
        deadline = time.monotonic() + min(max(timeout_s, 0.0), 60.0)
        while True:
            with self.db.session() as session:
                sb = session.get(Sandbox, sandbox_id)
                if sb is None or sb.owner != self._user(user):
                    raise NotFound(f"no sandbox {sandbox_id!r}")
                events = self._events_after(session, sandbox_id, after_id)
            if events or time.monotonic() >= deadline:
                return events
            time.sleep(min(EVENT_POLL_S, max(deadline - time.monotonic(), 0.0)))

    def extend_sandbox(self, user: str, sandbox_id: str, ttl_s: int) -> SandboxView:
        ttl = self._ttl(ttl_s)
        with self.db.session() as session:
            sb = self._sandbox(session, user, sandbox_id)
            if sb.state not in state.LIVE:
                raise Conflict(f"sandbox {sandbox_id} is {sb.state}")
            sb.expires_at = utcnow() + dt.timedelta(seconds=ttl)
            session.add(Event(sandbox_id=sb.id, at=utcnow(), from_state=sb.state,
                              to_state=sb.state, reason=f"extended by {ttl} s"))
            return SandboxView.of(sb)

    def reset_sandbox(self, user: str, sandbox_id: str) -> SandboxView:
        with self.db.session() as session:
            sb = self._sandbox(session, user, sandbox_id)
            if sb.state not in state.RESETTABLE:
                raise Conflict(f"sandbox {sandbox_id} is {sb.state}; only a ready or failed "
                               "one resets")
            if sb.state == state.FAILED:
                self._check_failed_resettable(session, sb)
        job = self.jobs.submit(user, "reset", sandbox_id)
        self._result(job.id, PROVISION_WAIT_S)
        view = self.get_sandbox(user, sandbox_id)
        if view.state == state.FAILED:
            raise ProvisionError(view.error or "the reset failed")
        return view

    def _check_failed_resettable(self, session: Any, sb: Sandbox) -> None:
        """A failed sandbox comes back only within its lifetime and the owner's quota
        (it becomes live again)."""
        if sb.expires_at.replace(tzinfo=None) <= utcnow().replace(tzinfo=None):
            raise Conflict(f"sandbox {sb.id} failed and its time is up: create a new one")
        live = session.scalar(select(func.count()).select_from(Sandbox).where(
            Sandbox.owner == sb.owner, Sandbox.state.in_(state.LIVE)))
        if live is not None and live >= self.settings.max_sandboxes_per_user:
            raise QuotaExceeded(f"you have {live} live sandboxes; the limit is "
                                f"{self.settings.max_sandboxes_per_user}: delete one before "
                                "resetting this failed one")

    def delete_sandbox(self, user: str, sandbox_id: str) -> None:
        with self.db.session() as session:
            sb = self._sandbox(session, user, sandbox_id)
            state.transition(session, sb, state.DELETED, f"deleted by {user}")
        try:
            job = self.jobs.submit(user, "delete", sandbox_id)
        except ServiceUnavailable:
            # it is deleted for the user; the reaper removes what is left of it (an
            # orphan of a deleted sandbox) once the workers are back
            with self.db.session() as session:
                session.add(Event(sandbox_id=sandbox_id, at=utcnow(), from_state=state.DELETED,
                                  to_state=state.DELETED, reason="its resources will be removed "
                                  "when the workers are back (the job queue is down)"))
            return
        self.jobs.wait(job.id, 120)

    def connection_string(self, user: str, sandbox_id: str) -> str:
        with self.db.session() as session:
            sb = self._sandbox(session, user, sandbox_id)
            if sb.state not in state.QUERYABLE or not sb.handle:
                raise Conflict(f"sandbox {sandbox_id} is {sb.state}")
            handle = SandboxHandle.from_dict(sb.handle)
        return self.provisioners.by_name(handle.provisioner).publish(handle)

    def connection_warning(self, user: str, sandbox_id: str) -> str | None:
        """What the owner must know before using the connection string (the offline
        MongoDB stand-in has no authentication), or None."""
        with self.db.session() as session:
            sb = self._sandbox(session, user, sandbox_id)
            return warning_for(dict((sb.handle or {}).get("info") or {}))

    def snapshot_sandbox(self, user: str, sandbox_id: str, name: str,
                         description: str = "") -> TemplateView:
        check_name(name)
        with self.db.session() as session:
            self._sandbox(session, user, sandbox_id)
            check_no_clash(session, user, name)
        job = self.jobs.submit(user, "snapshot", sandbox_id, name=name, description=description)
        return TemplateView(**self._result(job.id, PROVISION_WAIT_S))
