"""A before/after comparison of two plans of the same statement, node by node.

Nodes are paired first by what they read (the same table or collection, even when the way
of reading it changed: "Seq Scan on rental" and "Index Scan on rental using ..."), then by
their kind in tree order; what is left over was removed or added. Plain data, JSON-safe,
used by the plan views and by the index advisor's proof.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from engines.plans.nodes import label, walk
from engines.result import PlanNode


@dataclass
class NodeChange:
    """One node of either plan and its counterpart in the other, if any."""

    status: str  # same | changed | removed | added
    before: str | None = None
    after: str | None = None
    before_ms: float | None = None
    after_ms: float | None = None
    before_rows: float | None = None
    after_rows: float | None = None

    def words(self) -> str:
        if self.status == "changed":
            return f"{self.before} -> {self.after}"
        if self.status == "removed":
            return f"{self.before}: removed"
        if self.status == "added":
            return f"{self.after}: added"
        return f"{self.after}: unchanged"


@dataclass
class PlanDiff:
    """``nodes`` in the order of the later plan (removed nodes last); ``changes`` says in
    words what changed ("Seq Scan on rental -> Index Scan on rental using idx")."""

    before_ms: float | None
    after_ms: float | None
    nodes: list[NodeChange] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)

    @property
    def speedup(self) -> float | None:
        """How many times faster the later plan ran (below 1: slower)."""
        if not self.before_ms or not self.after_ms:
            return None
        return self.before_ms / self.after_ms

    @property
    def same_shape(self) -> bool:
        return all(n.status == "same" for n in self.nodes)

    def summary(self) -> str:
        """One sentence: the time before and after, and the first change."""
        parts = []
        if self.before_ms is not None and self.after_ms is not None:
            speedup = self.speedup
            how = "" if speedup is None else (
                f" ({speedup:,.1f}x faster)" if speedup >= 1 else f" ({1 / speedup:,.1f}x slower)")
            parts.append(f"{self.before_ms:,.3g} ms -> {self.after_ms:,.3g} ms{how}")
        parts.append(self.changes[0] if self.changes else "the same plan")
        more = len(self.changes) - 1
        if more > 0:
            parts.append(f"and {more} more change{'s' if more > 1 else ''}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["speedup"] = self.speedup
        return data


def _paths(root: PlanNode) -> list[tuple[str, ...]]:
    """For each node (pre-order) the kinds of the nodes above it, root first."""
    paths: list[tuple[str, ...]] = []

    def down(node: PlanNode, above: tuple[str, ...]) -> None:
        paths.append(above)
        for child in node.children:
            down(child, (*above, node.node))

    down(root, ())
    return paths


def _likeness(a: PlanNode, a_path: tuple[str, ...], b: PlanNode,
              b_path: tuple[str, ...]) -> int:
    """How alike two candidates are beyond the rule that paired them: the same detail,
    then the same place in the tree (the longest common run of kinds above them)."""
    common = 0
    for x, y in zip(a_path, b_path):
        if x != y:
            break
        common += 1
    return (1000 if a.detail == b.detail else 0) + 10 * common - abs(len(a_path) - len(b_path))


def diff_plans(before: PlanNode, after: PlanNode) -> PlanDiff:
    """Compare two plans of one statement (for example before and after an index)."""
    old, new = list(walk(before)), list(walk(after))
    old_paths, new_paths = _paths(before), _paths(after)
    pairs: dict[int, int] = {}  # index in new -> index in old

    def pair(match: Any) -> None:
        taken = set(pairs.values())
        for j, b in enumerate(new):
            if j in pairs:
                continue
            candidates = [i for i, a in enumerate(old) if i not in taken and match(a, b)]
            if candidates:
                best = max(candidates, key=lambda i: _likeness(old[i], old_paths[i], b,
                                                               new_paths[j]))
                pairs[j] = best
                taken.add(best)

    pair(lambda a, b: label(a) == label(b))
    pair(lambda a, b: a.relation is not None and a.relation == b.relation)
    pair(lambda a, b: a.node == b.node)
    diff = PlanDiff(before_ms=before.time_ms, after_ms=after.time_ms)
    for j, b in enumerate(new):
        if j in pairs:
            a = old[pairs[j]]
            status = "same" if label(a) == label(b) else "changed"
            diff.nodes.append(NodeChange(status, label(a), label(b), a.time_ms, b.time_ms,
                                         a.actual_rows, b.actual_rows))
        else:
            diff.nodes.append(NodeChange("added", None, label(b), None, b.time_ms,
                                         None, b.actual_rows))
    matched = set(pairs.values())
    for i, a in enumerate(old):
        if i not in matched:
            diff.nodes.append(NodeChange("removed", label(a), None, a.time_ms, None,
                                         a.actual_rows, None))
    # what was read differently first, then nodes that came or went
    order = {"changed": 0, "added": 1, "removed": 2}
    diff.changes = [n.words() for n in sorted(
        (n for n in diff.nodes if n.status != "same"), key=lambda n: order[n.status])]
    return diff
