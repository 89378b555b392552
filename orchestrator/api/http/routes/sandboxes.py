"""``/sandboxes``: create, list, show, delete, reset, extend, connection string, events,
snapshots."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from orchestrator.api.http.auth import CallerDep
from orchestrator.api.http.responses import json_response
from orchestrator.api.http.state import ServiceDep

router = APIRouter(prefix="/sandboxes", tags=["sandboxes"])
#: the longest long poll of ``GET /sandboxes/{id}/events?wait=``
MAX_EVENT_WAIT_S = 60.0


class CreateSandbox(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str
    ttl_s: int | None = None
    wait: bool = True


class ExtendSandbox(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ttl_s: int


class Snapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""


@router.post("", status_code=201, summary="Create a sandbox from a template")
def create_sandbox(api: ServiceDep, caller: CallerDep, body: CreateSandbox) -> Response:
    view = api.create_sandbox(caller.user, body.template, body.ttl_s, wait=body.wait)
    return json_response(view.to_dict(), 201)


@router.get("", summary="The caller's sandboxes")
def list_sandboxes(api: ServiceDep, caller: CallerDep) -> Response:
    return json_response([s.to_dict() for s in api.list_sandboxes(caller.user)])


@router.get("/{sandbox_id}", summary="One sandbox")
def show_sandbox(api: ServiceDep, caller: CallerDep, sandbox_id: str) -> Response:
    return json_response(api.get_sandbox(caller.user, sandbox_id).to_dict())


@router.delete("/{sandbox_id}", summary="Delete a sandbox")
def delete_sandbox(api: ServiceDep, caller: CallerDep, sandbox_id: str) -> Response:
    api.delete_sandbox(caller.user, sandbox_id)
    return json_response({"deleted": sandbox_id})


@router.post("/{sandbox_id}/reset", summary="Reset a sandbox to its template")
def reset_sandbox(api: ServiceDep, caller: CallerDep, sandbox_id: str) -> Response:
    return json_response(api.reset_sandbox(caller.user, sandbox_id).to_dict())


@router.post("/{sandbox_id}/extend", summary="Set a sandbox's remaining lifetime")
def extend_sandbox(api: ServiceDep, caller: CallerDep, sandbox_id: str,
                   body: ExtendSandbox) -> Response:
    return json_response(api.extend_sandbox(caller.user, sandbox_id, body.ttl_s).to_dict())


@router.get("/{sandbox_id}/connection", summary="Connection string (and what to know first)")
def connection(api: ServiceDep, caller: CallerDep, sandbox_id: str) -> Response:
    url = api.connection_string(caller.user, sandbox_id)
    warning = api.connection_warning(caller.user, sandbox_id)
    return json_response({"id": sandbox_id, "url": url, "warning": warning})


@router.get("/{sandbox_id}/events", summary="State changes; wait > 0 long-polls for new ones")
def events(api: ServiceDep, caller: CallerDep, sandbox_id: str,
           after: Annotated[int, Query(ge=0)] = 0,
           wait: Annotated[float, Query(ge=0, le=MAX_EVENT_WAIT_S)] = 0) -> Response:
    if wait > 0:
        found = api.wait_events(caller.user, sandbox_id, after, timeout_s=wait)
    else:
        found = api.sandbox_events(caller.user, sandbox_id, after)
    return json_response([e.to_dict() for e in found])


@router.post("/{sandbox_id}/snapshots", status_code=201,
             summary="Save the sandbox's current data as a new template")
def snapshot(api: ServiceDep, caller: CallerDep, sandbox_id: str, body: Snapshot) -> Response:
    view = api.snapshot_sandbox(caller.user, sandbox_id, body.name, body.description)
    return json_response(view.to_dict(), 201)
