"""Work inside a sandbox: statements, plans, schema, data import (upload) and
export (download)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict
from starlette.background import BackgroundTask

from engines.result import StatementResult
from orchestrator.api.http.auth import CallerDep
from orchestrator.api.http.responses import json_response
from orchestrator.api.http.state import ServiceDep

router = APIRouter(prefix="/sandboxes/{sandbox_id}", tags=["queries"])
MEDIA_TYPES = {"csv": "text/csv", "json": "application/json", "jsonl": "application/x-ndjson",
               "parquet": "application/vnd.apache.parquet"}


class RunQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    max_rows: int | None = None
    timeout_s: float | None = None


class Explain(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


class Export(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str
    format: str


def statement_dict(r: StatementResult) -> dict[str, Any]:
    """One statement's outcome as ``dbplay query --json`` prints it, plus what the human
    output needs (``types``, ``notice``, ``returns_rows``)."""
    return {"statement": r.statement, "columns": [c.name for c in r.columns], "rows": r.rows,
            "rowcount": r.rowcount, "truncated": r.truncated, "elapsed_ms": r.elapsed_ms,
            "error": r.error, "types": [c.type for c in r.columns], "notice": r.notice,
            "returns_rows": getattr(r, "returns_rows", None), "result_id": r.result_id,
            "total_rows": r.total_rows, "result_truncated": r.result_truncated,
            "result_note": r.result_note}


@router.post("/query", summary="Run statements and wait for their results")
def run_query(api: ServiceDep, caller: CallerDep, sandbox_id: str, body: RunQuery) -> Response:
    results = api.run_query(caller.user, sandbox_id, body.text, body.max_rows, body.timeout_s)
    return json_response({"statements": [statement_dict(r) for r in results]})


@router.post("/query-jobs", status_code=202,
             summary="Start statements as a job (follow it at /jobs/{id})")
def submit_query(api: ServiceDep, caller: CallerDep, sandbox_id: str,
                 body: RunQuery) -> Response:
    job = api.submit_query(caller.user, sandbox_id, body.text, body.max_rows, body.timeout_s)
    return json_response(job.to_dict(), 202)


@router.post("/explain", summary="A statement's query plan")
def explain(api: ServiceDep, caller: CallerDep, sandbox_id: str, body: Explain) -> Response:
    return json_response(api.explain(caller.user, sandbox_id, body.text).to_dict())


@router.get("/schema", summary="Tables, columns, indexes")
def schema(api: ServiceDep, caller: CallerDep, sandbox_id: str) -> Response:
    return json_response(api.schema(caller.user, sandbox_id).to_dict())


@router.post("/import", summary="Import an uploaded file's rows into a table or collection")
def import_data(api: ServiceDep, caller: CallerDep, sandbox_id: str,
                target: Annotated[str, Form()], file: UploadFile,
                format: Annotated[str | None, Form()] = None) -> Response:
    report = api.import_data(caller.user, sandbox_id, target, file.file.read(), format or None,
                             file_name=file.filename or "")
    return json_response(report.to_dict())


@router.post("/export", summary="A query's whole result as a file (streamed download)",
             response_class=FileResponse)
def export(api: ServiceDep, caller: CallerDep, sandbox_id: str, body: Export) -> Response:
    path: Path = api.export(caller.user, sandbox_id, body.query, body.format)
    # the server's copy goes once it is sent (DBPLAY_EXPORT_TTL removes a broken one)
    return FileResponse(path, media_type=MEDIA_TYPES.get(body.format),
                        filename=f"{sandbox_id}.{body.format}",
                        background=BackgroundTask(path.unlink, missing_ok=True))
