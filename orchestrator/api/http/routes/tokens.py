"""``/tokens``: the caller's own API tokens (make, list, revoke). Every user's tokens are
managed on the installation with ``dbplay token``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from orchestrator.api.http.auth import CallerDep
from orchestrator.api.http.responses import json_response
from orchestrator.api.http.state import ServiceDep, app_state

router = APIRouter(prefix="/tokens", tags=["tokens"])


class CreateToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = ""


@router.post("", status_code=201, summary="A new token for the caller (the secret is shown "
             "only here)")
def create_token(api: ServiceDep, caller: CallerDep, body: CreateToken | None = None) -> Response:
    view, secret = api.create_token(caller.user, body.name if body else "")
    return json_response({"token": secret, **view.to_dict()}, 201)


@router.get("", summary="The caller's tokens (never their secrets)")
def list_tokens(api: ServiceDep, caller: CallerDep) -> Response:
    return json_response([t.to_dict() for t in api.list_tokens(caller.user)])


@router.delete("/{token_id}", summary="Revoke one of the caller's tokens")
def revoke_token(request: Request, api: ServiceDep, caller: CallerDep,
                 token_id: int) -> Response:
    api.revoke_token(caller.user, token_id)
    app_state(request).tokens.clear()
    return json_response({"revoked": token_id})
