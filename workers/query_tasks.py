"""Job bodies that run user work inside a sandbox: statements, plans, schema, paging,
imports and exports. Each runs in a short-lived fenced statement process of its own
(``workers/isolation``), never in the worker, with the sandbox's user role and the
server-side time limit; a cancel request reaches the process, which stops the statement
on the server (see ``workers/control.py``). A statement that crashes its process fails
its own job only.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from engines.errors import EngineUnavailable, NotFound, QueryCancelled
from orchestrator.jobs.uploads import UploadStore, uploads_root
from orchestrator.sandboxes.provisioning import SandboxHandle
from orchestrator.store.models import Job, Sandbox, utcnow
from workers.isolation import operations
from workers.isolation.fence import sandbox_paths
from workers.isolation.protocol import Operation
from workers.jobrun import claimed_sandbox
from workers.memory_kills import memory_kill_reason
from workers.runtime import Runtime
from workers.server_recovery import LOCAL, recover_server, stopped_message


def _sandbox(rt: Runtime, job: Job) -> Sandbox:
    with rt.db.session() as session:
        sb = session.get(Sandbox, job.sandbox_id)
    if sb is None or sb.owner != job.owner:
        raise NotFound(f"no sandbox {job.sandbox_id!r}")
    return sb


def _job_sandbox(rt: Runtime, job: Job) -> Sandbox:
    """The job's sandbox: the row read when the job was claimed, else read now."""
    sb = claimed_sandbox()
    return sb if sb is not None and sb.id == job.sandbox_id else _sandbox(rt, job)


def _run(rt: Runtime, job: Job, operation: Operation, params: dict[str, Any], *, label: str,
         job_reads: Iterable[Path] = (), job_writes: Iterable[Path] = (),
         finished: Callable[[str], None] | None = None) -> Any:
    """``operation`` on the job's sandbox, run in a fenced statement process of its own
    (``workers/isolation``) as the sandbox's user role, cancellable by the job's id (the
    job was counted on the sandbox - ready -> busy - when it was claimed)."""
    sb = _job_sandbox(rt, job)
    handle = SandboxHandle.from_dict(sb.handle or {})
    # a cancel that arrives before the child is registered is announced again by the API
    # until the job ends, so no extra round trip to Redis here
    try:
        return rt.statements.run(
            job.id, engine=sb.engine, url=handle.user_url, operation=operation,
            params=params, label=label,
            sandbox_files=sandbox_paths(sb.id, sb.engine, handle.user_url),
            job_reads=job_reads, job_writes=job_writes, finished=finished)
    except EngineUnavailable as exc:
        # its server is not running (local sandboxes): start it again, say what happened
        outcome = recover_server(rt, sb.id)
        if outcome is None:
            raise
        kind, reason = outcome
        again = ": run it again" if kind == "restarting" else ""
        raise EngineUnavailable(f"the sandbox's server was not running: {reason}{again}"
                                ) from exc


def query(rt: Runtime, job: Job) -> list[dict[str, Any]]:
    """The statements' first pages; each whole result is kept in the result store as the
    statement runs (the last one's remaining rows after the answer)."""
    p = dict(job.params)
    started = utcnow() - dt.timedelta(seconds=1)
    keep = rt.results.keep_params(job.owner) if rt.settings.result_max_rows > 0 else None
    answered = threading.Event()
    out: list[dict[str, Any]] = []

    def finished(how: str) -> None:  # the statement process ended after answering
        answered.wait(10)
        rt.results.ended(job.owner, out, how)

    out.extend(_run(rt, job, operations.execute, {**p, "keep": keep}, label=p["text"],
                    job_writes=[Path(keep["dir"])] if keep else [], finished=finished))
    answered.set()
    rt.results.register(job.owner, job.sandbox_id, job.id, _job_sandbox(rt, job).engine, out)
    _explain_lost_connections(rt, _job_sandbox(rt, job), started, out)
    error = out[-1].get("error") if out else None
    if error and error.get("type") == "QueryCancelled":
        raise _CancelledWithResults(out)
    return out


def _explain_lost_connections(rt: Runtime, sb: Sandbox, since: dt.datetime,
                              results: list[dict[str, Any]]) -> None:
    """Replace "connection lost" errors in ``results`` by what happened to the sandbox's
    server: a memory kill Docker reported meanwhile, or (local sandboxes) the server
    stopped under the statement, recovered first."""
    lost = [r for r in results if (r.get("error") or {}).get("type") == "EngineUnavailable"]
    if not lost:
        return
    if sb.provisioner == "docker":
        message = memory_kill_reason(rt, sb.id, since)
    elif sb.provisioner == LOCAL:
        message = stopped_message(recover_server(rt, sb.id))
    else:
        message = None
    if message is None:
        return
    for result in lost:
        result["error"] = {**result["error"], "type": "ExecutionError", "message": message}


class _CancelledWithResults(QueryCancelled):
    def __init__(self, results: list[dict[str, Any]]) -> None:
        super().__init__("query cancelled on request")
        self.results = results

    @property
    def type(self) -> str:
        return "QueryCancelled"


def explain(rt: Runtime, job: Job) -> dict[str, Any]:
    result: dict[str, Any] = _run(rt, job, operations.explain, job.params,
                                  label=job.params["text"])
    return result


def schema(rt: Runtime, job: Job) -> dict[str, Any]:
    result: dict[str, Any] = _run(rt, job, operations.schema, {}, label="schema read")
    return result


def import_data(rt: Runtime, job: Job) -> dict[str, Any]:
    """Rows of an upload (see ``orchestrator/uploads.py``): only an upload id of the job's
    owner is accepted, never a path."""
    p = job.params
    uploads = UploadStore(uploads_root(rt.settings.home))
    path = uploads.open_path(job.owner, p.get("upload", ""))
    try:
        report: dict[str, Any] = _run(
            rt, job, operations.import_file, {**p, "path": str(path)},
            label=f"import into {p['target']}", job_reads=[path])
        return report
    finally:
        uploads.discard(job.owner, p["upload"])


def export(rt: Runtime, job: Job) -> dict[str, Any]:
    p = job.params
    out = Path(p["out"])
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        out.touch(mode=0o600)  # the statement process may write this one file only
        rows: int = _run(rt, job, operations.export, {**p, "out": str(out)},
                         label=p["query"], job_writes=[out])
    except BaseException:
        out.unlink(missing_ok=True)  # no half-written file left behind
        raise
    return {"path": str(out), "rows": rows}
