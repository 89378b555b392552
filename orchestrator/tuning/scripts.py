"""Scripts the advisor runs as query jobs, each statement tagged so its result can be
found again: a script stops at its first failing statement, so results are read by
position and a missing one means "not known"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.tuning.workload import MARKER


@dataclass
class Script:
    steps: list[tuple[str, str]] = field(default_factory=list)  # (tag, statement)

    def add(self, tag: str, statement: str) -> None:
        self.steps.append((tag, statement.strip().rstrip(";")))

    @property
    def text(self) -> str:
        return ";\n".join(f"{MARKER} {s}" for _, s in self.steps) + ";"

    def __bool__(self) -> bool:
        return bool(self.steps)

    def results(self, results: Sequence[Any]) -> list[tuple[str, Any]]:
        """(tag, first cell of the first row, or None) for each step that succeeded."""
        out: list[tuple[str, Any]] = []
        for (tag, _), res in zip(self.steps, results, strict=False):
            if res.error:
                break
            cell = res.rows[0][0] if res.rows and res.rows[0] else None
            out.append((tag, cell))
        return out

    def rows(self, results: Sequence[Any]) -> dict[str, list[list[Any]]]:
        out: dict[str, list[list[Any]]] = {}
        for (tag, _), res in zip(self.steps, results, strict=False):
            if res.error:
                break
            out[tag] = [list(r) for r in res.rows]
        return out


def dollar_quoted(text: str) -> str:
    tag = "$q$"
    n = 0
    while tag in text:
        n += 1
        tag = f"$q{n}$"
    return f"{tag}{text}{tag}"


def median(values: Sequence[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
