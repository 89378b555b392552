"""``/templates``: list, import (a dump uploaded as multipart), delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response, UploadFile

from orchestrator.api.http.auth import CallerDep
from orchestrator.api.http.responses import json_response
from orchestrator.api.http.state import ServiceDep

router = APIRouter(prefix="/templates", tags=["templates"])


@router.get("", summary="Templates the caller may use")
def list_templates(api: ServiceDep, caller: CallerDep) -> Response:
    return json_response([t.to_dict() for t in api.list_templates(caller.user)])


@router.post("", status_code=201, summary="Import a template from an uploaded dump")
def import_template(api: ServiceDep, caller: CallerDep, name: Annotated[str, Form()],
                    engine: Annotated[str, Form()], file: UploadFile,
                    description: Annotated[str, Form()] = "") -> Response:
    view = api.import_template(caller.user, name, engine, file.file.read(), description,
                               file_name=file.filename or "")
    return json_response(view.to_dict(), 201)


@router.delete("/{name}", summary="Delete one of the caller's templates")
def delete_template(api: ServiceDep, caller: CallerDep, name: str) -> Response:
    api.delete_template(caller.user, name)
    return json_response({"deleted": name})
