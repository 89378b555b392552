"""SQLite's ``EXPLAIN QUERY PLAN`` rows normalized into a :class:`~engines.result.PlanNode`
tree.

Each row is ``(id, parent, notused, detail)``; the detail says what the step does:
``SCAN t``, ``SEARCH t USING INDEX t_a (a=?)``, ``SCAN t USING COVERING INDEX t_ab``,
``SEARCH t USING INTEGER PRIMARY KEY (rowid=?)``, ``USE TEMP B-TREE FOR ORDER BY``,
``CO-ROUTINE``, ``MATERIALIZE``, ``COMPOUND QUERY``... (older versions write
``SCAN TABLE t``). The table and the index are read out of it. SQLite plans without
running the statement, so there are no row counts or times.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from engines.result import ExplainResult, PlanNode

MODE = ("planned only: SQLite's EXPLAIN QUERY PLAN does not run the statement, so it "
        "gives the steps, tables and indexes but no row counts or times")
_ACCESS = re.compile(
    r"^(?P<verb>SCAN|SEARCH)(?: TABLE)? (?P<table>\S+)(?: AS (?P<alias>\S+))?"
    r"(?: USING (?:(?P<covering>COVERING )?INDEX (?P<index>\S+)"
    r"|(?P<pk>(?:INTEGER )?PRIMARY KEY)))?")
#: step kinds named by more than their first word
_KINDS = ("USE TEMP B-TREE", "CORRELATED SCALAR SUBQUERY", "SCALAR SUBQUERY",
          "CORRELATED LIST SUBQUERY", "LIST SUBQUERY", "COMPOUND QUERY", "LEFT-MOST SUBQUERY",
          "MULTI-INDEX OR", "BLOOM FILTER ON", "MERGE (UNION ALL)")


def step_node(detail: str) -> PlanNode:
    """One step: ``SEARCH t USING INDEX t_a (a=?)`` is node ``SEARCH`` on ``t`` using
    ``t_a``."""
    access = _ACCESS.match(detail)
    if access:
        index = access["index"] or access["pk"]
        return PlanNode(node=access["verb"], detail=detail, relation=access["table"],
                        index=index)
    kind = next((k for k in _KINDS if detail.startswith(k)), detail.split(" ")[0])
    return PlanNode(node=kind, detail=detail)


def plan_from_rows(statement: str, rows: Sequence[Sequence[Any]]) -> ExplainResult:
    root = PlanNode(node="QUERY", detail="the statement")
    nodes: dict[int, PlanNode] = {0: root}
    for node_id, parent, _unused, detail in rows:
        node = step_node(str(detail))
        nodes[int(node_id)] = node
        nodes.get(int(parent), root).children.append(node)
    return ExplainResult(statement=statement, plan=root, raw=[list(r) for r in rows],
                         mode=MODE, analyzed=False)
