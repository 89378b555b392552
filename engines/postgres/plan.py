"""``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` output normalized into a
:class:`~engines.result.PlanNode` tree.

PostgreSQL reports a node's rows and times per loop, averaged over the processes of a
parallel plan. Here ``actual_rows`` and ``estimated_rows`` cover all loops, ``time_ms`` is
the node's wall-clock time including its children (per-loop time x loops, divided by the
processes sharing the work under a Gather), and :func:`~engines.plans.annotate.annotate`
derives each node's own time, flags estimates off by 10x or more and marks the hottest
nodes. Nodes that never ran (``Actual Loops`` 0) say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engines.plans.annotate import annotate
from engines.result import ExplainResult, PlanNode

CONDITIONS = ("Index Cond", "Recheck Cond", "Hash Cond", "Merge Cond", "Join Filter",
              "Filter", "Sort Key", "Group Key", "One-Time Filter")
#: the BUFFERS counters kept, by the name shown ("shared hit"): blocks, children included
BUFFERS = ("Shared Hit", "Shared Read", "Shared Dirtied", "Shared Written", "Local Hit",
           "Local Read", "Local Dirtied", "Local Written", "Temp Read", "Temp Written")
#: how a plan from :meth:`PostgresEngine.explain` was obtained, as the view says it
ROLLED_BACK = ("executed with EXPLAIN (ANALYZE, BUFFERS) inside a transaction that was "
               "rolled back: times and rows are measured, and nothing the statement changed "
               "was kept")


def plan_result(statement: str, raw: list[dict[str, Any]]) -> ExplainResult:
    """The whole explain output (a one-element list) as an :class:`ExplainResult`."""
    top = raw[0]
    planning, execution = _number(top.get("Planning Time")), _number(top.get("Execution Time"))
    root = annotate(plan_node(top["Plan"]))
    message = f"Planning {planning:,.3f} ms, execution {execution:,.3f} ms." \
        if planning is not None and execution is not None else None
    return ExplainResult(statement=statement, plan=root, raw=raw, message=message,
                         mode=ROLLED_BACK, analyzed=execution is not None,
                         planning_ms=planning, execution_ms=execution)


def plan_node(plan: Mapping[str, Any], processes: float = 1.0) -> PlanNode:
    """Normalize one node (and its children). ``processes`` share the node's work when it
    runs under a Gather (its reported time is their average)."""
    node = str(plan.get("Node Type", "?"))
    if plan.get("Join Type") not in (None, "Inner") and "Join" in node:
        node = f"{node} ({plan['Join Type']})"
    relation = _relation(plan)
    index = plan.get("Index Name")
    parts: list[str] = []
    if plan.get("Operation") and node == "ModifyTable":
        parts.append(str(plan["Operation"]).lower())
    if relation:
        alias = plan.get("Alias")
        parts.append(f"on {relation}" + (f" {alias}" if alias and alias != plan.get(
            "Relation Name") else ""))
    for key, name in (("Index Name", "using"), ("CTE Name", "CTE"),
                      ("Function Name", "function"), ("Subplan Name", ""),
                      ("Parent Relationship", "as")):
        value = plan.get(key)
        if value and not (key == "Parent Relationship" and value in ("Outer", "Inner",
                                                                      "Member")):
            parts.append(f"{name} {value}".strip())
    for key in CONDITIONS:
        value = plan.get(key)
        if value:
            text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(f"{key.lower()}: {text}")
    removed = _number(plan.get("Rows Removed by Filter"))
    if removed:
        parts.append(f"rows removed by filter: {removed:,.0f}")
    loops = _number(plan.get("Actual Loops"))
    if loops == 0:
        parts.append("never executed")
    workers = _number(plan.get("Workers Launched"))
    inner = processes if workers is None else workers + 1
    per_loop_rows = _number(plan.get("Actual Rows"))
    estimate = _number(plan.get("Plan Rows"))
    per_loop_ms = _number(plan.get("Actual Total Time"))
    runs = loops if loops is not None else 1.0
    return PlanNode(
        node=node,
        detail="; ".join(parts),
        estimated_rows=estimate * max(runs, 1.0) if estimate is not None else None,
        actual_rows=per_loop_rows * runs if per_loop_rows is not None else None,
        cost=_number(plan.get("Total Cost")),
        time_ms=per_loop_ms * runs / processes if per_loop_ms is not None else None,
        children=[plan_node(child, inner) for child in plan.get("Plans", [])],
        relation=relation,
        index=str(index) if index else None,
        loops=loops,
        buffers={name.lower(): count for name in BUFFERS
                 if (count := _number(plan.get(f"{name} Blocks")))},
    )


def _relation(plan: Mapping[str, Any]) -> str | None:
    name = plan.get("Relation Name")
    if not name:
        return None
    schema = plan.get("Schema")
    return f"{schema}.{name}" if schema and schema != "public" else str(name)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
