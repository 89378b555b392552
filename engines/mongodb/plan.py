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

Every stage carries the keys and documents it examined and the rows it returned; scan
stages name their collection and index. An ``EOF`` stage (nothing to read: the
collection does not exist) says so instead of standing there bare.
:func:`plan_result` adds the totals in words ("returned 3 of 1,000 documents examined").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engines.mongodb.rows import to_cell
from engines.plans.annotate import annotate
from engines.result import ExplainResult, PlanNode

_CHILD_KEYS = ("inputStage", "outerStage", "innerStage", "thenStage", "elseStage")
_DETAIL_KEYS = ("indexName", "keyPattern", "direction", "filter", "keysExamined",
                "docsExamined", "totalKeysExamined", "totalDocsExamined")
#: stages that read a collection or an index directly (they carry its name)
_SCANS = ("COLLSCAN", "IXSCAN", "COUNT_SCAN", "DISTINCT_SCAN", "IDHACK", "EOF",
          "CLUSTERED_IXSCAN", "EXPRESS_IXSCAN", "EXPRESS_CLUSTERED_IXSCAN", "TEXT_MATCH")
EOF_DETAIL = "nothing to read: the collection does not exist, so no document was examined"
MODE = ('executed with explain("executionStats"): the query ran (it only reads) and the '
        "rows, keys and documents examined are measured; times are MongoDB's estimates")


def plan_result(statement: str, explain: Mapping[str, Any], raw: Any) -> ExplainResult:
    """The plan of one explain document with its totals in words; ``raw`` is what to keep
    of it (JSON-safe)."""
    root = plan_tree(explain)
    stats = execution_stats(explain)
    return ExplainResult(statement=statement, plan=annotate(root) if root else None, raw=raw,
                         message=_totals(stats), mode=MODE,
                         analyzed=bool(stats), execution_ms=_number(
                             stats.get("executionTimeMillis")))


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
    namespace = planner.get("namespace") if isinstance(planner, Mapping) else None
    collection = str(namespace).split(".", 1)[-1] if namespace else None
    stats = explain.get("executionStats")
    if isinstance(winning, Mapping) and isinstance(winning.get("queryPlan"), Mapping):
        # slot-based engine: its execution stages are low-level (scan, nlj, ...);
        # the query plan keeps the familiar stage names, totals go on the root
        root = _stage(winning["queryPlan"], collection)
        _put_totals(root, stats)
        return root
    if isinstance(stats, Mapping) and isinstance(stats.get("executionStages"), Mapping):
        return _stage(stats["executionStages"], collection)
    if isinstance(winning, Mapping):
        return _stage(winning, collection)
    if isinstance(winning, list):
        root = _steps(winning, collection)
        _put_totals(root, stats)
        return root
    return None


def _put_totals(root: PlanNode, stats: Any) -> None:
    """The totals of ``executionStats`` on a root whose stages carry none."""
    if not isinstance(stats, Mapping):
        return
    if root.keys_examined is None:
        root.keys_examined = _number(stats.get("totalKeysExamined"))
    if root.docs_examined is None:
        root.docs_examined = _number(stats.get("totalDocsExamined"))


def _stage(stage: Mapping[str, Any], collection: str | None = None) -> PlanNode:
    kind = str(stage.get("stage", "STAGE"))
    index = stage.get("indexName")
    node = PlanNode(
        node=kind,
        detail=EOF_DETAIL if kind == "EOF" else _detail(stage),
        actual_rows=_number(stage.get("nReturned")),
        time_ms=_number(stage.get("executionTimeMillisEstimate",
                                  stage.get("executionTimeMillis"))),
        relation=collection if kind in _SCANS else None,
        index=str(index) if index else None,
        keys_examined=_number(stage.get("keysExamined", stage.get("totalKeysExamined"))),
        docs_examined=_number(stage.get("docsExamined", stage.get("totalDocsExamined"))),
    )
    for key in _CHILD_KEYS:
        child = stage.get(key)
        if isinstance(child, Mapping):
            node.children.append(_stage(child, collection))
    for child in stage.get("inputStages") or []:
        if isinstance(child, Mapping):
            node.children.append(_stage(child, collection))
    for shard in stage.get("shards") or []:
        if isinstance(shard, Mapping):
            inner = shard.get("executionStages") or shard.get("winningPlan")
            if isinstance(inner, Mapping):
                child = _stage(inner.get("queryPlan", inner), collection)
                child.detail = f"shard {shard.get('shardName', '?')}; {child.detail}".rstrip("; ")
                node.children.append(child)
    return node


def _steps(steps: list[Any], collection: str | None) -> PlanNode:
    """A plan given as a flat list of steps (no stage tree; the stand-in writes one)."""
    root = PlanNode(node="PLAN", detail="steps of the query", relation=collection)
    for step in steps:
        if isinstance(step, Mapping):
            if "stage" in step:
                root.children.append(_stage(step, collection))
            else:
                text = str(step.get("detail", step))
                root.children.append(PlanNode(node=text.split(" ")[0] or "STEP", detail=text))
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


def execution_stats(explain: Mapping[str, Any]) -> Mapping[str, Any]:
    """``executionStats`` of a find, or of an aggregate's ``$cursor`` stage."""
    stats = explain.get("executionStats")
    if isinstance(stats, Mapping):
        return stats
    for stage in explain.get("stages") or []:
        cursor = stage.get("$cursor") if isinstance(stage, Mapping) else None
        if isinstance(cursor, Mapping) and isinstance(cursor.get("executionStats"), Mapping):
            found: Mapping[str, Any] = cursor["executionStats"]
            return found
    return {}


def _totals(stats: Mapping[str, Any]) -> str | None:
    """ "Returned 3 documents; examined 3 index keys and 3 documents (1 per document
    returned); 1 ms." """
    returned = _number(stats.get("nReturned"))
    keys = _number(stats.get("totalKeysExamined"))
    docs = _number(stats.get("totalDocsExamined"))
    if returned is None:
        return None
    text = f"Returned {returned:,.0f} document{'s' if returned != 1 else ''}"
    if keys is not None and docs is not None:
        text += f"; examined {keys:,.0f} index keys and {docs:,.0f} documents"
        if returned:
            text += f" ({docs / returned:,.3g} per document returned)"
    elapsed = _number(stats.get("executionTimeMillis"))
    if elapsed is not None:
        text += f"; {elapsed:,.0f} ms"
    return text + "."
