"""Dashboards: items bound to a template, a grid layout, filters, refresh (on demand or
on a cron through the scheduler)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from orchestrator.api.http.auth import CallerDep
from orchestrator.api.http.responses import json_response
from orchestrator.api.http.state import ServiceDep

router = APIRouter(tags=["dashboards"])


class CreateDashboard(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class AddItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query_id: int
    #: the template it runs on (default: its saved query's sandbox's template)
    template: str | None = None
    #: ``{"x", "y", "agg", "bin", "color", "mark"}`` (default: the saved query's chart)
    chart: dict[str, Any] | None = None
    width: int = 6
    height: int = 300


class Layout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: ``[{"item_id", "width"?, "height"?, "position"?}]``
    items: list[dict[str, Any]]


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: ``[{"column", "kind": "range", "min", "max"} | {"column", "kind": "values", "values"}]``
    filters: list[dict[str, Any]]


class Refresh(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: replace the dashboard's filters first (default: refresh with its own)
    filters: list[dict[str, Any]] | None = None


class RefreshSchedule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: a cron expression; null stops scheduled refreshes
    cron: str | None


@router.get("/dashboards", summary="The caller's dashboards with their items")
def list_dashboards(api: ServiceDep, caller: CallerDep) -> Response:
    return json_response([d.to_dict() for d in api.list_dashboards(caller.user)])


@router.post("/dashboards", status_code=201, summary="Create a dashboard")
def create_dashboard(api: ServiceDep, caller: CallerDep, body: CreateDashboard) -> Response:
    return json_response(api.create_dashboard(caller.user, body.name).to_dict(), 201)


@router.get("/dashboards/{dashboard_id}", summary="One dashboard with its items")
def show_dashboard(api: ServiceDep, caller: CallerDep, dashboard_id: int) -> Response:
    return json_response(api.get_dashboard(caller.user, dashboard_id).to_dict())


@router.delete("/dashboards/{dashboard_id}", summary="Delete a dashboard (its queries stay)")
def delete_dashboard(api: ServiceDep, caller: CallerDep, dashboard_id: int) -> Response:
    api.delete_dashboard(caller.user, dashboard_id)
    return json_response({"deleted": dashboard_id})


@router.post("/dashboards/{dashboard_id}/items",
             summary="Add a saved query to a dashboard, bound to a template")
def add_item(api: ServiceDep, caller: CallerDep, dashboard_id: int, body: AddItem) -> Response:
    return json_response(api.add_to_dashboard(
        caller.user, dashboard_id, body.query_id, template=body.template, chart=body.chart,
        width=body.width, height=body.height).to_dict())


@router.delete("/dashboards/{dashboard_id}/items/{item_id}",
               summary="Take an item off a dashboard")
def remove_item(api: ServiceDep, caller: CallerDep, dashboard_id: int,
                item_id: int) -> Response:
    return json_response(api.remove_from_dashboard(caller.user, dashboard_id, item_id).to_dict())


@router.put("/dashboards/{dashboard_id}/layout",
            summary="Items' widths (1-12 columns), heights (px) and order")
def update_layout(api: ServiceDep, caller: CallerDep, dashboard_id: int,
                  body: Layout) -> Response:
    return json_response(api.update_layout(caller.user, dashboard_id, body.items).to_dict())


@router.put("/dashboards/{dashboard_id}/filters",
            summary="The filters every refresh binds as parameters")
def set_filters(api: ServiceDep, caller: CallerDep, dashboard_id: int,
                body: Filters) -> Response:
    return json_response(api.set_dashboard_filters(caller.user, dashboard_id,
                                                   body.filters).to_dict())


@router.put("/dashboards/{dashboard_id}/schedule",
            summary="Refresh on a cron schedule (null: on demand only)")
def set_schedule(api: ServiceDep, caller: CallerDep, dashboard_id: int,
                 body: RefreshSchedule) -> Response:
    return json_response(api.schedule_dashboard_refresh(caller.user, dashboard_id,
                                                        body.cron).to_dict())


@router.post("/dashboards/{dashboard_id}/refresh",
             summary="Run every item again and keep its chart")
def refresh(api: ServiceDep, caller: CallerDep, dashboard_id: int, body: Refresh) -> Response:
    return json_response(api.refresh_dashboard(caller.user, dashboard_id,
                                               body.filters).to_dict())
