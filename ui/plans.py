"""Query plans (``ExplainResult``) drawn as an indented tree for ``st.code``."""

from __future__ import annotations

from engines.result import PlanNode


def _numbers(node: PlanNode) -> str:
    parts = []
    if node.estimated_rows is not None:
        parts.append(f"est. rows {node.estimated_rows:g}")
    if node.actual_rows is not None:
        parts.append(f"actual rows {node.actual_rows:g}")
    if node.cost is not None:
        parts.append(f"cost {node.cost:g}")
    if node.time_ms is not None:
        parts.append(f"{node.time_ms:g} ms")
    return f"  [{', '.join(parts)}]" if parts else ""


def plan_tree(node: PlanNode) -> str:
    """One line per node, children indented under their parent with box-drawing lines."""
    lines: list[str] = []

    def walk(current: PlanNode, prefix: str, last: bool, root: bool) -> None:
        branch = "" if root else ("└─ " if last else "├─ ")
        detail = f": {current.detail}" if current.detail else ""
        lines.append(f"{prefix}{branch}{current.node}{detail}{_numbers(current)}")
        child_prefix = prefix if root else prefix + ("   " if last else "│  ")
        for i, child in enumerate(current.children):
            walk(child, child_prefix, i == len(current.children) - 1, False)

    walk(node, "", True, True)
    return "\n".join(lines)
