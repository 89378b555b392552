"""Saved work: ``/queries`` (saved queries); dashboards are in ``routes/dashboards.py``."""

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


@router.get("/queries", summary="The caller's saved queries")
def list_queries(api: ServiceDep, caller: CallerDep) -> Response:
    return json_response([q.to_dict() for q in api.list_queries(caller.user)])


@router.post("/queries", status_code=201, summary="Save a query")
def save_query(api: ServiceDep, caller: CallerDep, body: SaveQuery) -> Response:
    view = api.save_query(caller.user, body.name, body.text, body.sandbox_id, body.engine,
                          body.chart)
    return json_response(view.to_dict(), 201)
