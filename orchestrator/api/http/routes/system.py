"""Health (no token needed), engines, and the stack's status."""

from __future__ import annotations

from fastapi import APIRouter, Response

from engines import registry
from orchestrator.api.http.auth import CallerDep
from orchestrator.api.http.responses import json_response
from orchestrator.api.http.state import ServiceDep

router = APIRouter(tags=["system"])


@router.get("/health", summary="The API answers (no token needed)")
async def health() -> Response:
    return json_response({"ok": True})


@router.get("/engines", summary="The database engines and what they offer")
async def list_engines(_caller: CallerDep) -> Response:
    return json_response([d.to_dict() for d in registry.descriptors()])


@router.get("/status", summary="Which parts of the stack are up")
def status(api: ServiceDep, _caller: CallerDep) -> Response:
    return json_response(api.stack_status())
