"""MongoDB ``explain`` output normalised into a :class:`~engines.result.PlanNode` tree.

Handles the shapes the server produces:

* find / count / distinct: ``executionStats.executionStages`` (actual rows and time
  per stage) or, without execution stats, ``queryPlanner.winningPlan``; for the
  slot-based engine (``winningPlan.queryPlan``) the query plan, with the totals of
  ``executionStats`` on its root;
* aggregate: either the same as find (pipeline pushed into the query layer) or a
  ``stages`` list whose first entry is ``$cursor``; stages become a chain where
  each stage's child is the stage before it;
* sharded output (``shards``) and any plan given as a list of steps.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engines.mongodb.rows import to_cell
from engines.result import PlanNode

_CHILD_KEYS = ("inputStage", "outerStage", "innerStage", "thenStage", "elseStage")
_DETAIL_KEYS = ("indexName", "keyPattern", "direction", "filter", "keysExamined",
                "docsExamined", "totalKeysExamined", "totalDocsExamined")


def plan_tree(explain: Mapping[str, Any]) -> PlanNode | None:
    """The plan of one explain document, or ``None`` when it holds none."""
    if isinstance(explain.get("stages"), list):
        return _pipeline(explain["stages"])
    root = _query_layer(explain)
    if root is not None:
        stats = explain.get("executionStats") or {}
        if root.actual_rows is None and isinstance(stats.get("nReturned"), (int, float)):
            root.actual_rows = float(stats["nReturned"])
        if root.time_ms is None and isinstance(stats.get("executionTimeMillis"), (int, float)):
            root.time_ms = float(stats["executionTimeMillis"])
    return root


def _query_layer(explain: Mapping[str, Any]) -> PlanNode | None:
    planner = explain.get("queryPlanner")
    winning = planner.get("winningPlan") if isinstance(planner, Mapping) else None
    if isinstance(winning, Mapping) and isinstance(winning.get("queryPlan"), Mapping):
        # slot-based engine: its execution stages are low-level (scan, nlj, ...);
        # the query plan keeps the familiar stage names, totals go on the root
        return _stage(winning["queryPlan"])
    stats = explain.get("executionStats")
    if isinstance(stats, Mapping) and isinstance(stats.get("executionStages"), Mapping):
        return _stage(stats["executionStages"])
    if isinstance(winning, Mapping):
        return _stage(winning)
    if isinstance(winning, list):
        return _steps(winning)
    return None


def _stage(stage: Mapping[str, Any]) -> PlanNode:
    node = PlanNode(
        node=str(stage.get("stage", "STAGE")),
        detail=_detail(stage),
        actual_rows=_number(stage.get("nReturned")),
        time_ms=_number(stage.get("executionTimeMillisEstimate",
                                  stage.get("executionTimeMillis"))),
    )
    for key in _CHILD_KEYS:
        child = stage.get(key)
        if isinstance(child, Mapping):
            node.children.append(_stage(child))
    for child in stage.get("inputStages") or []:
        if isinstance(child, Mapping):
            node.children.append(_stage(child))
    for shard in stage.get("shards") or []:
        if isinstance(shard, Mapping):
            inner = shard.get("executionStages") or shard.get("winningPlan")
            if isinstance(inner, Mapping):
                child = _stage(inner.get("queryPlan", inner))
                child.detail = f"shard {shard.get('shardName', '?')}; {child.detail}".rstrip("; ")
                node.children.append(child)
    return node


def _steps(steps: list[Any]) -> PlanNode:
    """A plan given as a flat list of steps (no stage tree)."""
    root = PlanNode(node="PLAN")
    for step in steps:
        if isinstance(step, Mapping):
            if "stage" in step:
                root.children.append(_stage(step))
            else:
                root.children.append(PlanNode(node="STEP", detail=str(step.get("detail", step))))
    return root


def _pipeline(stages: list[Any]) -> PlanNode | None:
    previous: PlanNode | None = None
    for stage in stages:
        if not isinstance(stage, Mapping):
            continue
        name = next((k for k in stage if k.startswith("$")), "STAGE")
        body = stage.get(name)
        if name == "$cursor" and isinstance(body, Mapping):
            node = _query_layer(body) or PlanNode(node="$cursor")
        else:
            node = PlanNode(node=name, detail=_compact(body))
        rows = _number(stage.get("nReturned"))
        if rows is not None:
            node.actual_rows = rows
        time_ms = _number(stage.get("executionTimeMillisEstimate"))
        if time_ms is not None:
            node.time_ms = time_ms
        if previous is not None:
            node.children.append(previous)
        previous = node
    return previous


def _detail(stage: Mapping[str, Any]) -> str:
    parts = []
    for key in _DETAIL_KEYS:
        if key in stage:
            value = stage[key]
            text = value if isinstance(value, str) else _compact(value)
            parts.append(f"{key}={text}" if key != "indexName" else f"index {text}")
    if "detail" in stage:
        parts.append(str(stage["detail"]))
    return "; ".join(parts)


def _compact(value: Any) -> str:
    return json.dumps(to_cell(value), separators=(",", ":"), ensure_ascii=False)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
