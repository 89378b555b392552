"""The orchestrator API: the one entry point of the UI and the CLI (see notes/API.md).

Every method takes the acting user first and checks ownership itself: another user's
sandbox or job is reported exactly like a missing one (``NotFound``). Work that touches
a sandbox runs as a job on the Dramatiq workers; the blocking helpers submit and wait.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select

from engines.errors import Conflict, InvalidRequest, NotFound, QuotaExceeded, from_dict
from engines.result import ExplainResult, ImportReport, SchemaInfo, StatementResult
from orchestrator import state
from orchestrator.db import Database
from orchestrator.jobs import CANCELLED, FINISHED, QUEUED, JobClient
from orchestrator.models import Event, Job, Sandbox, Template, User, utcnow
from orchestrator.provisioners import Provisioners
from orchestrator.provisioning import SandboxHandle
from orchestrator.reaper import POOL_OWNER
from orchestrator.saved import SavedWork
from orchestrator.settings import Settings
from orchestrator.templates import ENGINES, TemplateStore, sync_builtins
from orchestrator.views import EventView, JobView, SandboxView, TemplateView

PROVISION_WAIT_S = 600.0
_NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class Orchestrator(SavedWork):
    def __init__(self, settings: Settings, db: Database, jobs: JobClient,
                 provisioners: Provisioners, store: TemplateStore) -> None:
        self.settings = settings
        self.db = db
        self.jobs = jobs
        self.provisioners = provisioners
        self.store = store

    @classmethod
    def from_settings(cls, settings: Settings) -> Orchestrator:
        settings.home.mkdir(parents=True, exist_ok=True)
        db = Database(settings.database_url, settings.home)
        store = TemplateStore(settings.templates_dir)
        with db.session() as session:
            sync_builtins(session, store)
        return cls(settings, db, JobClient(settings, db), Provisioners(settings), store)

    def close(self) -> None:
        self.jobs.close()
        self.db.dispose()

    # -- users ---------------------------------------------------------------
    def create_user(self, name: str, password: str) -> None:
        import bcrypt

        _check_name(name, "user name")
        with self.db.session() as session:
            user = session.scalars(select(User).where(User.name == name)).one_or_none()
            if user is not None and user.password_hash:
                raise Conflict(f"user {name!r} exists already")
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
            if user is None:
                session.add(User(name=name, password_hash=hashed, created_at=utcnow()))
            else:
                user.password_hash = hashed

    def authenticate(self, name: str, password: str) -> bool:
        import bcrypt

        with self.db.session() as session:
            user = session.scalars(select(User).where(User.name == name)).one_or_none()
        if user is None or not user.password_hash:
            return False
        return bcrypt.checkpw(password.encode(), user.password_hash.encode())

    def has_users(self) -> bool:
        with self.db.session() as session:
            count = session.scalar(select(func.count()).select_from(User).where(
                User.password_hash.is_not(None)))
            return bool(count)

    def _user(self, user: str) -> str:
        if not user or user == POOL_OWNER:
            raise InvalidRequest("no acting user")
        return user

    def provisioner_info(self) -> dict[str, Any]:
        return self.provisioners.info()

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

    def get_template(self, user: str, name: str) -> TemplateView:
        with self.db.session() as session:
            return TemplateView.of(self._template(session, self._user(user), name))

    def import_template(self, user: str, name: str, engine: str, path: Path,
                        description: str = "") -> TemplateView:
        self._user(user)
        _check_name(name, "template name")
        if engine not in ENGINES:
            raise InvalidRequest(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
        path = Path(path)
        if not path.is_file():
            raise InvalidRequest(f"no such file: {path}")
        with self.db.session() as session:
            _no_template_clash(session, user, name)
        digest, size = self.store.put(path)
        job = self.jobs.submit(user, "import_template", None, name=name, engine=engine,
                               digest=digest, size=size, description=description,
                               source=f"imported from {path.name}",
                               password=secrets.token_urlsafe(12))
        return TemplateView(**self._result(job.id, PROVISION_WAIT_S))

    def delete_template(self, user: str, name: str) -> None:
        with self.db.session() as session:
            template = session.scalars(select(Template).where(
                Template.name == name, Template.owner == self._user(user))).one_or_none()
            if template is None:
                raise NotFound(f"no template {name!r} of yours")
            digest = template.digest
            session.delete(template)
            session.flush()
            still_used = session.scalars(select(Template).where(Template.digest == digest)).first()
        if still_used is None:
            self.store.discard(digest)

    # -- sandboxes -------------------------------------------------------------
    def _sandbox(self, session: Any, user: str, sandbox_id: str) -> Sandbox:
        sb = session.get(Sandbox, sandbox_id)
        if sb is None or sb.owner != self._user(user) or sb.state == state.DELETED:
            raise NotFound(f"no sandbox {sandbox_id!r}")
        return sb

    def _ttl(self, ttl_s: int | None) -> int:
        ttl = self.settings.default_ttl if ttl_s is None else int(ttl_s)
        if ttl <= 0:
            raise InvalidRequest("the time to live must be positive")
        if ttl > self.settings.max_ttl:
            raise QuotaExceeded(f"the longest time to live is {self.settings.max_ttl} s")
        return ttl

    def create_sandbox(self, user: str, template: str, ttl_s: int | None = None,
                       wait: bool = True) -> SandboxView:
        ttl = self._ttl(ttl_s)
        now = utcnow()
        with self.db.session() as session:
            tpl = self._template(session, self._user(user), template)
            live = session.scalar(select(func.count()).select_from(Sandbox).where(
                Sandbox.owner == user, Sandbox.state.in_(state.LIVE)))
            if live is not None and live >= self.settings.max_sandboxes_per_user:
                raise QuotaExceeded(
                    f"you have {live} live sandboxes; the limit is "
                    f"{self.settings.max_sandboxes_per_user}: delete one first")
            claimed = self._claim_from_pool(session, user, tpl, now, ttl)
            if claimed is not None:
                return SandboxView.of(claimed)
            sb = Sandbox(id=uuid.uuid4().hex[:12], owner=user, engine=tpl.engine,
                         template=tpl.name, template_id=tpl.id, state=state.REQUESTED,
                         created_at=now, expires_at=now + dt.timedelta(seconds=ttl),
                         password=secrets.token_urlsafe(16), generation=0, active_jobs=0)
            session.add(sb)
            session.flush()
            state.record_created(session, sb, f"requested from template {tpl.name!r}")
        job = self.jobs.submit(user, "provision", sb.id)
        if not wait:
            return self.get_sandbox(user, sb.id)
        finished = self.jobs.wait(job.id, PROVISION_WAIT_S)
        view = self.get_sandbox(user, sb.id)
        if view.state == state.FAILED or finished.state == "failed":
            raise from_dict(finished.error or {"type": "ProvisionError",
                                               "message": view.error or "provisioning failed"})
        return view

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
        self.jobs.submit(POOL_OWNER, "pool_refill")
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
            rows = session.scalars(select(Event).where(
                Event.sandbox_id == sandbox_id, Event.id > after_id).order_by(Event.id)).all()
            return [EventView.of(e) for e in rows]

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
            if sb.state != state.READY:
                raise Conflict(f"sandbox {sandbox_id} is {sb.state}; only a ready one resets")
        job = self.jobs.submit(user, "reset", sandbox_id)
        self._result(job.id, PROVISION_WAIT_S)
        return self.get_sandbox(user, sandbox_id)

    def delete_sandbox(self, user: str, sandbox_id: str) -> None:
        with self.db.session() as session:
            sb = self._sandbox(session, user, sandbox_id)
            state.transition(session, sb, state.DELETED, f"deleted by {user}")
        job = self.jobs.submit(user, "delete", sandbox_id)
        self.jobs.wait(job.id, 120)

    def connection_string(self, user: str, sandbox_id: str) -> str:
        with self.db.session() as session:
            sb = self._sandbox(session, user, sandbox_id)
            if sb.state not in state.QUERYABLE or not sb.handle:
                raise Conflict(f"sandbox {sandbox_id} is {sb.state}")
            handle = SandboxHandle.from_dict(sb.handle)
        return self.provisioners.by_name(handle.provisioner).publish(handle)

    def snapshot_sandbox(self, user: str, sandbox_id: str, name: str,
                         description: str = "") -> TemplateView:
        _check_name(name, "template name")
        with self.db.session() as session:
            self._sandbox(session, user, sandbox_id)
            _no_template_clash(session, user, name)
        job = self.jobs.submit(user, "snapshot", sandbox_id, name=name, description=description)
        return TemplateView(**self._result(job.id, PROVISION_WAIT_S))

    # -- jobs --------------------------------------------------------------------
    def _submit_on(self, user: str, sandbox_id: str, kind: str, **params: Any) -> JobView:
        def check(session: Any) -> None:
            sb = self._sandbox(session, user, sandbox_id)
            if sb.state not in state.QUERYABLE:
                raise Conflict(f"sandbox {sandbox_id} is {sb.state}")

        return JobView.of(self.jobs.submit(user, kind, sandbox_id, check=check, **params))

    def _limits(self, max_rows: int | None, timeout_s: float | None) -> dict[str, Any]:
        rows = self.settings.max_rows if max_rows is None else min(int(max_rows),
                                                                   self.settings.max_rows)
        limit = self.settings.max_query_seconds
        seconds = limit if timeout_s is None else min(float(timeout_s), limit)
        if rows < 0 or seconds <= 0:
            raise InvalidRequest("max rows and timeout must be positive")
        return {"max_rows": rows, "timeout_s": seconds}

    def _result(self, job_id: str, timeout_s: float) -> Any:
        job = self.jobs.wait(job_id, timeout_s, fresh=True)
        if job.state == "done":
            return job.result
        if job.state not in FINISHED:
            raise Conflict(f"job {job_id} did not finish within {timeout_s:.0f} s")
        raise from_dict(job.error or {"type": "DBPlayError", "message": f"job {job.state}"})

    def _wait_s(self, timeout_s: float) -> float:
        return timeout_s + 60

    def submit_query(self, user: str, sandbox_id: str, text: str, max_rows: int | None = None,
                     timeout_s: float | None = None) -> JobView:
        return self._submit_on(user, sandbox_id, "query", text=text,
                               **self._limits(max_rows, timeout_s))

    def run_query(self, user: str, sandbox_id: str, text: str, max_rows: int | None = None,
                  timeout_s: float | None = None) -> list[StatementResult]:
        job = self.submit_query(user, sandbox_id, text, max_rows, timeout_s)
        done = self.jobs.wait(job.id, self._wait_s(self._limits(max_rows, timeout_s)["timeout_s"]),
                              fresh=True)
        if done.result is not None and done.state in ("done", CANCELLED):
            return [StatementResult.from_dict(r) for r in done.result]
        if done.state not in FINISHED:
            raise Conflict(f"query job {job.id} did not finish")
        raise from_dict(done.error or {"type": "DBPlayError", "message": "query failed"})

    def get_job(self, user: str, job_id: str) -> JobView:
        return JobView.of(self.jobs.load(job_id, self._user(user)))

    def wait_job(self, user: str, job_id: str, timeout_s: float) -> JobView:
        return JobView.of(self.jobs.wait(job_id, timeout_s, self._user(user)))

    def cancel_job(self, user: str, job_id: str) -> JobView:
        job = self.jobs.load(job_id, self._user(user))
        if job.state in FINISHED:
            return JobView.of(job)
        with self.db.session() as session:
            row = session.get(Job, job_id)
            if row is not None and row.state == QUEUED:
                row.state, row.finished_at = CANCELLED, utcnow()
                row.error = {"type": "QueryCancelled", "message": "cancelled before it started"}
        for _ in range(20):  # re-announce until the worker has stopped it
            self.jobs.request_cancel(job_id)
            job = self.jobs.wait(job_id, 0.5)
            if job.state in FINISHED:
                break
        return JobView.of(job)

    def fetch_page(self, user: str, sandbox_id: str, text: str, offset: int,
                   limit: int) -> StatementResult:
        if offset < 0 or limit <= 0:
            raise InvalidRequest("offset must be >= 0 and limit > 0")
        limits = self._limits(min(limit, self.settings.max_rows), None)
        job = self._submit_on(user, sandbox_id, "fetch_page", text=text, offset=int(offset),
                              limit=limits["max_rows"], timeout_s=limits["timeout_s"])
        return StatementResult.from_dict(self._result(job.id, self._wait_s(limits["timeout_s"])))

    def explain(self, user: str, sandbox_id: str, text: str) -> ExplainResult:
        limits = self._limits(None, None)
        job = self._submit_on(user, sandbox_id, "explain", text=text,
                              timeout_s=limits["timeout_s"])
        return ExplainResult.from_dict(self._result(job.id, self._wait_s(limits["timeout_s"])))

    def schema(self, user: str, sandbox_id: str) -> SchemaInfo:
        job = self._submit_on(user, sandbox_id, "schema")
        return SchemaInfo.from_dict(self._result(job.id, 300))

    def import_data(self, user: str, sandbox_id: str, target: str, path: Path,
                    fmt: str | None = None) -> ImportReport:
        path = Path(path).resolve()
        if not path.is_file():
            raise InvalidRequest(f"no such file: {path}")
        job = self._submit_on(user, sandbox_id, "import_data", target=target, path=str(path),
                              fmt=fmt)
        return ImportReport(**self._result(job.id, 3600))

    def export(self, user: str, sandbox_id: str, query: str, fmt: str) -> Path:
        from engines.formats import FORMATS

        if fmt not in FORMATS:
            raise InvalidRequest(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
        name = f"{sandbox_id}-{uuid.uuid4().hex[:8]}.{fmt}"
        out = self.settings.exports_dir / self._user(user) / name
        job = self._submit_on(user, sandbox_id, "export", query=query, fmt=fmt, out=str(out),
                              timeout_s=max(self.settings.max_query_seconds, 600.0))
        return Path(self._result(job.id, 3600)["path"])


def _check_name(name: str, what: str) -> None:
    if not name or len(name) > 100 or not set(name) <= _NAME_OK:
        raise InvalidRequest(f"bad {what} {name!r}: use letters, digits, '-', '_' and '.'")


def _no_template_clash(session: Any, user: str, name: str) -> None:
    clash = session.scalars(select(Template).where(
        Template.name == name, or_(Template.owner == user, Template.owner.is_(None)))).first()
    if clash is not None:
        raise Conflict(f"a template named {name!r} exists already")
