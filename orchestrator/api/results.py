"""Stored results: pages, charts and downloads read the result a statement kept (mixed
into :class:`orchestrator.api.service.Orchestrator`); nothing here runs a statement."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from engines import formats
from engines.errors import InvalidRequest
from orchestrator.api.base import ServiceBase
from orchestrator.jobs.exports import make_room
from orchestrator.results import reading
from orchestrator.results.charts import chart, suggest
from orchestrator.results.charts.request import ChartFilter, ChartRequest
from orchestrator.results.store import ResultStore, ResultView

#: the most points a chart sends to the browser
MAX_POINTS = 5000
#: the most rows one page request may ask for
MAX_PAGE_ROWS = 10_000


class StoredResults(ServiceBase):
    results: ResultStore

    def result_info(self, user: str, result_id: str) -> ResultView:
        return self.results.get(self._user(user), result_id)

    def _table(self, user: str, result_id: str) -> tuple[ResultView, Any]:
        view = self.results.wait(self._user(user), result_id)
        return view, reading.open_table(self.results.path(user, result_id))

    def page_result(self, user: str, result_id: str, offset: int = 0,
                    limit: int = 100) -> dict[str, Any]:
        """``{"columns", "rows", "offset", "total_rows", "truncated"}``: rows ``offset`` ..
        ``offset+limit`` of the kept result (``truncated``: the store's cap stopped it)."""
        if int(offset) < 0:
            raise InvalidRequest("offset must be 0 or more")
        if not 1 <= int(limit) <= MAX_PAGE_ROWS:
            raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE_ROWS:,}")
        view, table = self._table(user, result_id)
        columns = [{"name": c["name"], "type": c["type"]}
                   for c in reading.described_columns(table)]
        rows = reading.page_rows(table, int(offset), int(limit), self.settings.max_cell_bytes)
        return {"columns": columns, "rows": rows, "offset": int(offset),
                "total_rows": view.total_rows, "truncated": view.truncated}

    def chart_result(self, user: str, result_id: str, x: str, y: str | None = None,
                     agg: str = "count", bin: str | None = None, color: str | None = None,
                     mark: str | None = None,
                     filters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """``{"rows", "spec", "rows_used", "columns", "note"}``: the chart's points,
        aggregated over every kept row (filters bound as parameters)."""
        request = ChartRequest(x=x, y=y or None, agg=agg or "count", bin=bin or None,
                               color=color or None, mark=mark or None)
        request.check()
        wanted = [ChartFilter.from_dict(f) for f in (filters or [])]
        view, table = self._table(user, result_id)
        data = chart(table, request, filters=wanted, max_points=MAX_POINTS)
        notes = [data.note] if data.note else []
        if view.truncated:
            notes.append(f"the chart covers the {view.total_rows:,} rows kept, not the "
                         f"whole result: {view.note}")
        return {"rows": data.rows, "spec": data.spec, "rows_used": data.rows_used,
                "columns": data.columns, "note": "; ".join(notes) or None}

    def suggest_chart(self, user: str, result_id: str) -> dict[str, Any] | None:
        """The chart a result suggests (keyword arguments of :meth:`chart_result`)."""
        _, table = self._table(user, result_id)
        request = suggest(table)
        if request is None:
            return None
        return {"x": request.x, "y": request.y, "agg": request.agg, "bin": request.bin,
                "color": request.color, "mark": request.mark}

    def export_result(self, user: str, result_id: str, fmt: str) -> Path:
        """The kept result as a csv, json, jsonl or parquet file (the user's export quota
        applies)."""
        if fmt not in formats.FORMATS:
            raise InvalidRequest(f"unknown export format {fmt!r}; use one of "
                                 f"{', '.join(formats.FORMATS)}")
        _, table = self._table(user, result_id)
        out = self.settings.exports_dir / self._user(user) / \
            f"{result_id}-{uuid.uuid4().hex[:6]}.{fmt}"
        out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        names = [c["name"] for c in reading.described_columns(table)]
        if fmt == "parquet":  # typed columns, as kept
            pq.write_table(table.replace_schema_metadata(None), out)
        else:
            formats.write_rows(out, fmt, names, reading.iter_rows(table))
        make_room(out, self.settings.export_quota_mb)
        return out
