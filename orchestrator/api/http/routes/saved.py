"""Saved work: ``/queries`` (saved queries) and ``/dashboards``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from orchestrator.api.http.auth import CallerDep
from orchestrator.api.http.responses import json_response
from orchestrator.api.http.state import ServiceDep

router = APIRouter(tags=["saved work"])


class SaveQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    text: str
    sandbox_id: str | None = None
    engine: str | None = None
    chart: dict[str, Any] | None = None


class CreateDashboard(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class AddItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query_id: int


@router.get("/queries", summary="The caller's saved queries")
def list_queries(api: ServiceDep, caller: CallerDep) -> Response:
    return json_response([q.to_dict() for q in api.list_queries(caller.user)])


@router.post("/queries", status_code=201, summary="Save a query")
def save_query(api: ServiceDep, caller: CallerDep, body: SaveQuery) -> Response:
    view = api.save_query(caller.user, body.name, body.text, body.sandbox_id, body.engine,
                          body.chart)
    return json_response(view.to_dict(), 201)


@router.get("/dashboards", summary="The caller's dashboards with their queries")
def list_dashboards(api: ServiceDep, caller: CallerDep) -> Response:
    return json_response([d.to_dict() for d in api.list_dashboards(caller.user)])


@router.post("/dashboards", status_code=201, summary="Create a dashboard")
def create_dashboard(api: ServiceDep, caller: CallerDep, body: CreateDashboard) -> Response:
    return json_response(api.create_dashboard(caller.user, body.name).to_dict(), 201)


@router.get("/dashboards/{dashboard_id}", summary="One dashboard with its queries")
def show_dashboard(api: ServiceDep, caller: CallerDep, dashboard_id: int) -> Response:
    return json_response(api.get_dashboard(caller.user, dashboard_id).to_dict())


@router.post("/dashboards/{dashboard_id}/items", summary="Add a saved query to a dashboard")
def add_item(api: ServiceDep, caller: CallerDep, dashboard_id: int, body: AddItem) -> Response:
    return json_response(api.add_to_dashboard(caller.user, dashboard_id, body.query_id).to_dict())
