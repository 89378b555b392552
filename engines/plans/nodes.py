"""Walking a plan tree and naming its nodes the same way everywhere."""

from __future__ import annotations

from collections.abc import Iterator

from engines.result import PlanNode


def walk(root: PlanNode) -> Iterator[PlanNode]:
    """Every node, parents before their children (pre-order)."""
    yield root
    for child in root.children:
        yield from walk(child)


def label(node: PlanNode) -> str:
    """A node in a few words: its kind, what it reads and the index it uses
    ("Index Scan on rental using idx_fk_customer_id")."""
    parts = [node.node]
    if node.relation and node.relation not in node.node:
        parts.append(f"on {node.relation}")
    if node.index and node.index not in node.node:
        parts.append(f"using {node.index}")
    return " ".join(parts)
