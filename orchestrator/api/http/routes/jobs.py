"""``/jobs``: the caller's job history, one job (optionally waiting for it), cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from orchestrator.api.http.auth import CallerDep
from orchestrator.api.http.responses import json_response
from orchestrator.api.http.state import ServiceDep

router = APIRouter(prefix="/jobs", tags=["jobs"])
MAX_JOB_WAIT_S = 60.0


@router.get("", summary="The caller's jobs, newest first (of one sandbox if given)")
def list_jobs(api: ServiceDep, caller: CallerDep, sandbox_id: str | None = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
    return json_response([j.to_dict() for j in api.list_jobs(caller.user, sandbox_id, limit)])


@router.get("/{job_id}", summary="One job; wait > 0 waits up to that long for it to finish")
def show_job(api: ServiceDep, caller: CallerDep, job_id: str,
             wait: Annotated[float, Query(ge=0, le=MAX_JOB_WAIT_S)] = 0) -> Response:
    if wait > 0:
        return json_response(api.wait_job(caller.user, job_id, wait).to_dict())
    return json_response(api.get_job(caller.user, job_id).to_dict())


@router.post("/{job_id}/cancel", summary="Cancel a job (a finished one is left as it is)")
def cancel_job(api: ServiceDep, caller: CallerDep, job_id: str) -> Response:
    return json_response(api.cancel_job(caller.user, job_id).to_dict())
