"""The marks a plan view shows on every engine's plan: each node's own time, estimate
errors and the hottest nodes."""

from __future__ import annotations

from engines.plans.nodes import walk
from engines.result import PlanNode

#: actual rows this many times off the estimate (either way) are flagged
ESTIMATE_ERROR_FACTOR = 10.0
#: at most this many nodes are marked hot, each taking at least this share of the time
HOT_NODES = 3
HOT_SHARE = 0.10


def annotate(root: PlanNode) -> PlanNode:
    """Fill ``self_time_ms``, ``estimate_factor``, ``misestimated`` and ``hot`` on every
    node of ``root`` (in place; returned for convenience)."""
    for node in walk(root):
        if node.time_ms is not None:
            below = sum(c.time_ms for c in node.children if c.time_ms is not None)
            node.self_time_ms = max(0.0, node.time_ms - below)
        executed = node.loops is None or node.loops > 0
        if node.estimated_rows is not None and node.actual_rows is not None and executed:
            factor = max(node.actual_rows, 1.0) / max(node.estimated_rows, 1.0)
            node.estimate_factor = factor
            node.misestimated = (factor >= ESTIMATE_ERROR_FACTOR
                                 or factor <= 1 / ESTIMATE_ERROR_FACTOR)
    _mark_hot(root)
    return root


def _mark_hot(root: PlanNode) -> None:
    timed = [n for n in walk(root) if n.self_time_ms]
    total = root.time_ms or sum(n.self_time_ms or 0.0 for n in timed)
    if not timed or not total:
        return
    timed.sort(key=lambda n: n.self_time_ms or 0.0, reverse=True)
    for node in timed[:HOT_NODES]:
        node.hot = (node.self_time_ms or 0.0) >= HOT_SHARE * total


def hot_nodes(root: PlanNode) -> list[PlanNode]:
    """The nodes marked hot, the most time first."""
    return sorted((n for n in walk(root) if n.hot), key=lambda n: -(n.self_time_ms or 0.0))


def misestimates(root: PlanNode) -> list[PlanNode]:
    """The nodes whose row estimate was off by at least ``ESTIMATE_ERROR_FACTOR``."""
    return [n for n in walk(root) if n.misestimated]


def estimate_error_text(node: PlanNode) -> str | None:
    """ "estimated 10 rows, got 1,000 (100x more)", or ``None`` when not flagged."""
    if not node.misestimated or node.estimate_factor is None:
        return None
    factor = node.estimate_factor
    way = f"{factor:,.0f}x more" if factor >= 1 else f"{1 / factor:,.0f}x fewer"
    return (f"estimated {node.estimated_rows or 0:,.0f} rows, got "
            f"{node.actual_rows or 0:,.0f} ({way})")
