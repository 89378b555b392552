"""Share links: ``POST /sandboxes/{id}/shares`` makes one, ``POST /shares/{id}/open``
launches the caller's own sandbox of it, ``GET /shares/{id}`` reads it (a public one
with no token at all), ``DELETE /shares/{id}`` revokes it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict

from orchestrator.api.http.auth import Caller, CallerDep, caller
from orchestrator.api.http.responses import json_response
from orchestrator.api.http.state import ServiceDep

router = APIRouter(tags=["shares"])


class MakeShare(BaseModel):
    model_config = ConfigDict(extra="forbid")
    script: str = ""
    public: bool = False


class OpenShare(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: lifetime of the new sandbox in seconds; the default TTL when absent
    ttl_s: int | None = None


async def _caller_if_any(request: Request) -> Caller | None:
    """The caller when the request names one (a token); None when it sends none."""
    if not request.headers.get("authorization", "").strip():
        return None
    return await caller(request)


MaybeCallerDep = Annotated[Caller | None, Depends(_caller_if_any)]


@router.post("/sandboxes/{sandbox_id}/shares", status_code=201,
             summary="Freeze the sandbox (a snapshot) with a script into a share link; a "
                     "public share runs the script once on a copy and keeps its results")
def make_share(api: ServiceDep, caller: CallerDep, sandbox_id: str,
               body: MakeShare) -> Response:
    view = api.share_sandbox(caller.user, sandbox_id, body.script, body.public)
    return json_response({"id": view.id, "url": view.url}, 201)


@router.get("/shares", summary="The caller's share links (revoked ones flagged)")
def list_shares(api: ServiceDep, caller: CallerDep) -> Response:
    return json_response([s.to_dict() for s in api.list_shares(caller.user)])


@router.get("/shares/{share_id}",
            summary="A share's script and stored results; a public one needs no token")
def view_share(api: ServiceDep, who: MaybeCallerDep, share_id: str) -> Response:
    user = who.user if who is not None else None
    view = api.view_share(user, share_id)
    return json_response(view.to_dict() if user == view.owner else view.public_dict())


@router.post("/shares/{share_id}/open", status_code=201,
             summary="A new sandbox of the caller's launched from the share's frozen state: "
                     "{id, script}; the owner's sandbox is untouched")
def open_share(api: ServiceDep, caller: CallerDep, share_id: str,
               body: OpenShare | None = None) -> Response:
    ttl_s = body.ttl_s if body is not None else None
    return json_response(api.open_share(caller.user, share_id, ttl_s), 201)


@router.delete("/shares/{share_id}", summary="Revoke a share link of the caller's")
def revoke_share(api: ServiceDep, caller: CallerDep, share_id: str) -> Response:
    return json_response(api.revoke_share(caller.user, share_id).to_dict())
