"""Job bodies that run user work inside a sandbox: statements, plans, schema, paging,
imports and exports. Statements run with the sandbox's user role and the server-side
time limit; a cancel request stops them on the server (see ``workers/control.py``).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engines.base import Engine
from engines.errors import NotFound, QueryCancelled
from engines.result import StatementResult
from orchestrator.models import Job, Sandbox
from workers.jobrun import claimed_sandbox
from workers.runtime import Runtime


def _sandbox(rt: Runtime, job: Job) -> Sandbox:
    with rt.db.session() as session:
        sb = session.get(Sandbox, job.sandbox_id)
    if sb is None or sb.owner != job.owner:
        raise NotFound(f"no sandbox {job.sandbox_id!r}")
    return sb


@contextmanager
def _busy(rt: Runtime, job: Job) -> Iterator[Engine]:
    """The sandbox's engine, registered for cancel while the job runs (the job was
    counted on the sandbox - ready -> busy - when it was claimed)."""
    sb = claimed_sandbox()
    if sb is None or sb.id != job.sandbox_id:
        sb = _sandbox(rt, job)
    engine = rt.engine_for(sb)
    # a cancel that arrives before this registration is announced again by the API
    # until the job ends, so no extra round trip to Redis here
    rt.register_running(job.id, engine)
    try:
        yield engine
    finally:
        rt.unregister_running(job.id)


def query(rt: Runtime, job: Job) -> list[dict[str, Any]]:
    p = job.params
    with _busy(rt, job) as engine:
        results = engine.execute(p["text"], max_rows=p["max_rows"], timeout_s=p["timeout_s"])
    if any(r.error and r.error.get("type") == "EngineUnavailable" for r in results):
        rt.drop_engine(job.sandbox_id or "")
    out = [r.to_dict() for r in results]
    if results and results[-1].error and results[-1].error.get("type") == "QueryCancelled":
        raise _CancelledWithResults(out)
    return out


class _CancelledWithResults(QueryCancelled):
    def __init__(self, results: list[dict[str, Any]]) -> None:
        super().__init__("query cancelled on request")
        self.results = results

    @property
    def type(self) -> str:
        return "QueryCancelled"


def explain(rt: Runtime, job: Job) -> dict[str, Any]:
    with _busy(rt, job) as engine:
        return engine.explain(job.params["text"], timeout_s=job.params["timeout_s"]).to_dict()


def schema(rt: Runtime, job: Job) -> dict[str, Any]:
    with _busy(rt, job) as engine:
        return engine.schema().to_dict()


def fetch_page(rt: Runtime, job: Job) -> dict[str, Any]:
    """Rows ``offset`` .. ``offset+limit`` of one statement, streamed from the server."""
    p = job.params
    started = time.perf_counter()
    with _busy(rt, job) as engine:
        columns, rows, close = engine.stream(p["text"], timeout_s=p["timeout_s"])
        try:
            page = list(itertools.islice(rows, p["offset"], p["offset"] + p["limit"] + 1))
        finally:
            close()
    result = StatementResult(statement=p["text"], columns=columns, rows=page[:p["limit"]],
                             rowcount=len(page[:p["limit"]]), truncated=len(page) > p["limit"])
    result.elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
    return result.to_dict()


def import_data(rt: Runtime, job: Job) -> dict[str, Any]:
    p = job.params
    with _busy(rt, job) as engine:
        return engine.import_file(p["target"], Path(p["path"]), p.get("fmt")).to_dict()


def export(rt: Runtime, job: Job) -> dict[str, Any]:
    p = job.params
    out = Path(p["out"])
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _busy(rt, job) as engine:
            rows = engine.export(p["query"], p["fmt"], out, timeout_s=p["timeout_s"])
    except BaseException:
        out.unlink(missing_ok=True)  # no half-written file left behind
        raise
    return {"path": str(out), "rows": rows}
