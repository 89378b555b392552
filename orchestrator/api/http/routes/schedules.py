"""Snapshot schedules: create one on a sandbox, list, delete."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from orchestrator.api.http.auth import CallerDep
from orchestrator.api.http.responses import json_response
from orchestrator.api.http.state import ServiceDep

router = APIRouter(tags=["schedules"])


class CreateSchedule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cron: str
    name: str


@router.post("/sandboxes/{sandbox_id}/schedules", status_code=201,
             summary="Snapshot a sandbox on a cron schedule")
def create_schedule(api: ServiceDep, caller: CallerDep, sandbox_id: str,
                    body: CreateSchedule) -> Response:
    view = api.schedule_snapshots(caller.user, sandbox_id, body.cron, body.name)
    return json_response(view.to_dict(), 201)


@router.get("/schedules", summary="The caller's snapshot schedules")
def list_schedules(api: ServiceDep, caller: CallerDep) -> Response:
    return json_response([s.to_dict() for s in api.list_schedules(caller.user)])


@router.delete("/schedules/{schedule_id}", summary="Delete a schedule (its snapshots stay)")
def delete_schedule(api: ServiceDep, caller: CallerDep, schedule_id: int) -> Response:
    api.delete_schedule(caller.user, schedule_id)
    return json_response({"deleted": schedule_id})
