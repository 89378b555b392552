"""``/users``: accounts, for admins and the installation token."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from orchestrator.api.http.auth import CallerDep
from orchestrator.api.http.responses import json_response
from orchestrator.api.http.state import ServiceDep

router = APIRouter(prefix="/users", tags=["users"])


class CreateUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    password: str
    admin: bool = False


@router.get("", summary="Every account")
def list_users(api: ServiceDep, caller: CallerDep) -> Response:
    return json_response([u.to_dict() for u in api.list_users(caller.acting)])


@router.post("", status_code=201, summary="Add a local account")
def create_user(api: ServiceDep, caller: CallerDep, body: CreateUser) -> Response:
    view = api.create_user(caller.acting, body.name, body.password, admin=body.admin)
    return json_response({"name": view.name, "admin": view.admin}, 201)


@router.delete("/{name}", summary="Remove an account")
def delete_user(api: ServiceDep, caller: CallerDep, name: str) -> Response:
    api.delete_user(caller.acting, name)
    return json_response({"deleted": name})
