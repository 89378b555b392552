"""The query builder: ``/sandboxes/{id}/build`` (a spec from SQL or JSON, its query for
the sandbox's engine, optionally run) and ``/sandboxes/{id}/build/preview`` (rows and a
count after each step)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from orchestrator.api.http.auth import CallerDep
from orchestrator.api.http.responses import json_response
from orchestrator.api.http.routes.queries import statement_dict
from orchestrator.api.http.state import ServiceDep

router = APIRouter(prefix="/sandboxes/{sandbox_id}", tags=["query builder"])


class Build(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sql: str | None = None
    spec: dict[str, Any] | None = None
    run: bool = False
    max_rows: int | None = None
    timeout_s: float | None = None


class Preview(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spec: dict[str, Any]
    rows: int = 10


@router.post("/build", summary="A builder spec (from SQL or JSON), its query for this "
                                "sandbox's engine and, with run, its results")
def build(api: ServiceDep, caller: CallerDep, sandbox_id: str, body: Build) -> Response:
    built = api.build_query(caller.user, sandbox_id, body.sql, body.spec, body.run,
                            body.max_rows, body.timeout_s)
    return json_response({"spec": built.spec, "query": built.query,
                          "statements": [statement_dict(r) for r in built.statements]})


@router.post("/build/preview", summary="Rows and a row count after each step of a spec")
def preview(api: ServiceDep, caller: CallerDep, sandbox_id: str, body: Preview) -> Response:
    steps = api.preview_steps(caller.user, sandbox_id, body.spec, body.rows)
    return json_response({"steps": [s.to_dict() for s in steps]})
