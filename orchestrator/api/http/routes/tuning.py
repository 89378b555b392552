"""Tuning insights: a sandbox's workload and index advice proven on a throwaway clone."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from fastapi.routing import APIRouter
from pydantic import BaseModel, ConfigDict

from orchestrator.api.http.auth import CallerDep
from orchestrator.api.http.responses import json_response
from orchestrator.api.http.state import ServiceDep

router = APIRouter(prefix="/sandboxes/{sandbox_id}", tags=["tuning"])


class Advise(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: apply the N-th suggestion (1-based) of the sandbox's last advice instead
    apply: int | None = None


@router.get("/workload", summary="The sandbox's statements ranked by total time")
def workload(api: ServiceDep, caller: CallerDep, sandbox_id: str) -> Response:
    return json_response({"workload": api.tuning_workload(caller.user, sandbox_id)})


@router.post("/advice", summary="Index advice, every suggestion proven on a throwaway clone "
             "(takes tens of seconds); with apply=N run suggestion N on the sandbox")
def advise(api: ServiceDep, caller: CallerDep, sandbox_id: str, body: Advise) -> Response:
    advice: dict[str, Any] = api.advise(caller.user, sandbox_id, apply=body.apply)
    return json_response(advice)


@router.get("/advice", summary="The sandbox's last advice (null when none)")
def last_advice(api: ServiceDep, caller: CallerDep, sandbox_id: str) -> Response:
    return json_response({"advice": api.last_advice(caller.user, sandbox_id)})
