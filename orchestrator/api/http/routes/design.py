"""The schema designer: the live schema as DBML, and a design's migration previewed,
tried on a throwaway clone and applied (see :mod:`orchestrator.api.design`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from orchestrator.api.http.auth import CallerDep
from orchestrator.api.http.responses import json_response
from orchestrator.api.http.state import ServiceDep

router = APIRouter(prefix="/sandboxes/{sandbox_id}", tags=["design"])


class DesignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dbml: str
    apply: bool = False
    allow_destructive: bool = False
    try_clone: bool = True


@router.get("/schema/dbml", summary="The live schema as DBML")
def schema_dbml(api: ServiceDep, caller: CallerDep, sandbox_id: str) -> Response:
    return json_response({"dbml": api.schema_dbml(caller.user, sandbox_id)})


@router.post("/design", summary="The migration to a DBML design: preview, try on a clone, "
                                "apply")
def design(api: ServiceDep, caller: CallerDep, sandbox_id: str, body: DesignRequest) -> Response:
    return json_response(api.design_migration(
        caller.user, sandbox_id, body.dbml, apply=body.apply,
        allow_destructive=body.allow_destructive, try_clone=body.try_clone))


# -- MongoDB: validators and indexes (orchestrator/api/mongo_design.py) ------------------

class ValidatorRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    collection: str
    validator: dict[str, Any] | None = None  # None: inferred from sampled documents
    apply: bool = False
    level: Literal["strict", "moderate"] = "strict"
    action: Literal["error", "warn"] = "error"
    sample: int = 1000


class IndexRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    collection: str
    keys: list[tuple[str, int | str]]
    unique: bool = False
    partial: dict[str, Any] | None = None
    ttl_seconds: int | None = None
    name: str | None = None
    apply: bool = False


@router.post("/design/validator", summary="A MongoDB collection's $jsonSchema validator: "
                                          "inferred, checked against its documents, set")
def design_validator(api: ServiceDep, caller: CallerDep, sandbox_id: str,
                     body: ValidatorRequest) -> Response:
    return json_response(api.design_validator(
        caller.user, sandbox_id, body.collection, body.validator, apply=body.apply,
        level=body.level, action=body.action, sample=body.sample))


@router.post("/design/index", summary="A MongoDB index (compound, unique, partial, TTL): "
                                      "its createIndex command, run with apply")
def design_index(api: ServiceDep, caller: CallerDep, sandbox_id: str,
                 body: IndexRequest) -> Response:
    design = body.model_dump(exclude={"collection", "apply"})
    return json_response(api.design_index(caller.user, sandbox_id, body.collection, design,
                                          apply=body.apply))
