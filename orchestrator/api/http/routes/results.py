"""Stored results: pages, charts and downloads of the result a statement kept (nothing
here runs a statement again)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict
from starlette.background import BackgroundTask

from orchestrator.api.http.auth import CallerDep
from orchestrator.api.http.responses import json_response
from orchestrator.api.http.routes.queries import MEDIA_TYPES
from orchestrator.api.http.state import ServiceDep

router = APIRouter(prefix="/results/{result_id}", tags=["results"])


class Chart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: str
    y: str | None = None
    agg: str = "count"
    bin: str | None = None
    color: str | None = None
    mark: str | None = None
    filters: list[dict[str, Any]] | None = None


@router.get("", summary="What a stored result is: its statement, rows, whether it is whole")
def info(api: ServiceDep, caller: CallerDep, result_id: str) -> Response:
    return json_response(api.result_info(caller.user, result_id).to_dict())


@router.get("/page", summary="Rows offset..offset+limit of a stored result")
def page(api: ServiceDep, caller: CallerDep, result_id: str, offset: int = 0,
         limit: int = 100) -> Response:
    return json_response(api.page_result(caller.user, result_id, offset, limit))


@router.post("/chart", summary="A chart aggregated over every stored row (Vega-Lite)")
def chart(api: ServiceDep, caller: CallerDep, result_id: str, body: Chart) -> Response:
    return json_response(api.chart_result(caller.user, result_id, **body.model_dump()))


@router.get("/chart-suggestion", summary="The chart a stored result suggests")
def suggestion(api: ServiceDep, caller: CallerDep, result_id: str) -> Response:
    return json_response({"chart": api.suggest_chart(caller.user, result_id)})


@router.get("/export", summary="A stored result as a file (csv, json, jsonl, parquet)",
            response_class=FileResponse)
def export(api: ServiceDep, caller: CallerDep, result_id: str, format: str) -> Response:
    path: Path = api.export_result(caller.user, result_id, format)
    return FileResponse(path, media_type=MEDIA_TYPES.get(format),
                        filename=f"{result_id}.{format}",
                        background=BackgroundTask(path.unlink, missing_ok=True))
