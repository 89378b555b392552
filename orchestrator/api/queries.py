"""Work that runs inside a sandbox as jobs on the workers: statements, paging, plans,
schema, data import and export, plus following and cancelling jobs (mixed into
:class:`orchestrator.api.service.Orchestrator`)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engines.errors import Conflict, InvalidRequest, from_dict
from engines.formats import FORMATS
from engines.result import ExplainResult, ImportReport, SchemaInfo, StatementResult
from orchestrator.api.base import ServiceBase
from orchestrator.jobs.client import CANCELLED, FINISHED
from orchestrator.jobs.exports import make_room
from orchestrator.jobs.uploads import UploadStore, uploads_root
from orchestrator.store import state
from orchestrator.store.models import Job
from orchestrator.store.views import JobView


class QueryJobs(ServiceBase):
    # -- jobs --------------------------------------------------------------------
    def _submit_on(self, user: str, sandbox_id: str, kind: str, **params: Any) -> JobView:
        def check(session: Any) -> None:
            sb = self._sandbox(session, user, sandbox_id)
            if sb.state not in state.QUERYABLE:
                raise Conflict(f"sandbox {sandbox_id} is {sb.state}")

        return JobView.of(self.jobs.submit(user, kind, sandbox_id, check=check, **params))

    def _limits(self, max_rows: int | None, timeout_s: float | None) -> dict[str, Any]:
        """The row and time limits of a statement: the installation's caps unless asked
        for less. More than a cap is refused, never silently lowered."""
        cap, limit = self.settings.max_rows, self.settings.max_query_seconds
        if max_rows is not None and not 1 <= int(max_rows) <= cap:
            raise InvalidRequest(f"max rows must be between 1 and {cap} (DBPLAY_MAX_ROWS); "
                                 "an export writes a whole result to a file")
        if timeout_s is not None and not 0 < float(timeout_s) <= limit:
            raise InvalidRequest(f"the timeout must be above 0 and at most {limit:g} s "
                                 "(DBPLAY_MAX_QUERY_SECONDS)")
        return {"max_rows": cap if max_rows is None else int(max_rows),
                "timeout_s": limit if timeout_s is None else float(timeout_s)}

    def _result(self, job_id: str, timeout_s: float) -> Any:
        job = self.jobs.wait(job_id, timeout_s, fresh=True)
        if job.state == "done":
            return job.result
        if job.state not in FINISHED:
            raise Conflict(f"job {job_id} did not finish within {timeout_s:.0f} s; are the "
                           "workers running? (`dbplay status`)")
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
            raise Conflict(f"query job {job.id} did not finish; is the interactive worker "
                           "running? (`dbplay status`)")
        raise from_dict(done.error or {"type": "DBPlayError", "message": "query failed"})

    def list_jobs(self, user: str, sandbox_id: str | None = None,
                  limit: int = 50) -> list[JobView]:
        """The user's jobs, newest first (of one sandbox if given): the job history."""
        stmt = select(Job).where(Job.owner == self._user(user))
        with self.db.session() as session:
            if sandbox_id is not None:
                self._sandbox(session, user, sandbox_id)
                stmt = stmt.where(Job.sandbox_id == sandbox_id)
            rows = session.scalars(stmt.order_by(Job.created_at.desc(), Job.id).limit(
                max(1, min(int(limit), 500)))).all()
            return [JobView.of(j) for j in rows]

    def get_job(self, user: str, job_id: str) -> JobView:
        return JobView.of(self.jobs.load(job_id, self._user(user)))

    def wait_job(self, user: str, job_id: str, timeout_s: float) -> JobView:
        return JobView.of(self.jobs.wait(job_id, timeout_s, self._user(user)))

    def cancel_job(self, user: str, job_id: str) -> JobView:
        job = self.jobs.load(job_id, self._user(user))
        if job.state in FINISHED:
            return JobView.of(job)
        if self.jobs.cancel_unstarted(job_id):  # waiting in line or queued: never runs
            return JobView.of(self.jobs.load(job_id))
        for _ in range(20):  # re-announce until the worker has stopped it
            self.jobs.request_cancel(job_id)
            job = self.jobs.wait(job_id, 0.5)
            if job.state in FINISHED:
                break
        return JobView.of(job)

    def explain(self, user: str, sandbox_id: str, text: str) -> ExplainResult:
        limits = self._limits(None, None)
        job = self._submit_on(user, sandbox_id, "explain", text=text,
                              timeout_s=limits["timeout_s"])
        return ExplainResult.from_dict(self._result(job.id, self._wait_s(limits["timeout_s"])))

    def schema(self, user: str, sandbox_id: str) -> SchemaInfo:
        job = self._submit_on(user, sandbox_id, "schema")
        return SchemaInfo.from_dict(self._result(job.id, 300))

    def import_data(self, user: str, sandbox_id: str, target: str, data: bytes | Path,
                    fmt: str | None = None, file_name: str = "") -> ImportReport:
        """Import a file's rows. The client's process reads the file (a ``Path`` is read
        here, with the client's rights); the job gets only an upload id, never a path."""
        if isinstance(data, Path):
            if not data.is_file():
                raise InvalidRequest(f"no such file: {data}")
            file_name = file_name or data.name
            data = data.read_bytes()
        uploads = UploadStore(uploads_root(self.settings.home))
        upload = uploads.put(self._user(user), data, file_name)
        try:
            job = self._submit_on(user, sandbox_id, "import_data", target=target,
                                  upload=upload, fmt=fmt)
        except BaseException:
            uploads.discard(user, upload)
            raise
        return ImportReport(**self._result(job.id, 3600))

    def export(self, user: str, sandbox_id: str, query: str, fmt: str) -> Path:
        if fmt not in FORMATS:
            raise InvalidRequest(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
        name = f"{sandbox_id}-{uuid.uuid4().hex[:8]}.{fmt}"
        out = self.settings.exports_dir / self._user(user) / name
        job = self._submit_on(user, sandbox_id, "export", query=query, fmt=fmt, out=str(out),
                              timeout_s=max(self.settings.max_query_seconds, 600.0))
        path = Path(self._result(job.id, 3600)["path"])
        make_room(path, self.settings.export_quota_mb)  # the user's export quota
        return path
