"""Facts read from a PostgreSQL ``EXPLAIN (FORMAT JSON)`` plan (with ``ANALYZE`` where
run): its cost, its execution time, which indexes it uses, how many rows each table scan
read and how many its filter removed, and whether it sorts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ScanFact:
    table: str
    node: str
    rows: float  # rows the scan returned (actual when analysed, else estimated)
    removed: float  # rows its filter removed (analysed plans only)


@dataclass
class PlanFacts:
    cost: float
    execution_ms: float | None
    indexes: set[str] = field(default_factory=set)
    scans: list[ScanFact] = field(default_factory=list)
    sorts: int = 0

    def scan_of(self, table: str) -> ScanFact | None:
        return next((s for s in self.scans if s.table == table), None)


def plan_json(cell: Any) -> dict[str, Any] | None:
    """The top object of an EXPLAIN (FORMAT JSON) result cell (a list or its text)."""
    if isinstance(cell, (str, bytes)):
        try:
            cell = json.loads(cell)
        except ValueError:
            return None
    if isinstance(cell, list) and cell and isinstance(cell[0], dict):
        return cell[0]
    return cell if isinstance(cell, dict) else None


def facts(cell: Any) -> PlanFacts | None:
    top = plan_json(cell)
    if top is None or "Plan" not in top:
        return None
    plan = top["Plan"]
    out = PlanFacts(cost=float(plan.get("Total Cost", 0.0)),
                    execution_ms=_float(top.get("Execution Time")))
    for node in _nodes(plan):
        kind = str(node.get("Node Type", ""))
        if node.get("Index Name"):
            out.indexes.add(str(node["Index Name"]))
        if kind == "Sort" or kind == "Incremental Sort":
            out.sorts += 1
        if node.get("Relation Name"):
            loops = float(node.get("Actual Loops", 1) or 1)
            rows = _float(node.get("Actual Rows"))
            out.scans.append(ScanFact(
                table=str(node["Relation Name"]), node=kind,
                rows=(rows * loops) if rows is not None else float(node.get("Plan Rows", 0)),
                removed=float(node.get("Rows Removed by Filter", 0) or 0) * loops))
    return out


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()) or ():
        yield from _nodes(child)


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
