"""The Playground's history: the user's query jobs on a sandbox (from the job table, so
it survives a reload) and their saved queries, with a search box."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engines.result import StatementResult

if TYPE_CHECKING:
    from orchestrator.store.views import JobView, SavedQueryView

QUERY_KIND = "query"


@dataclass(frozen=True)
class Entry:
    label: str
    text: str


def job_text(job: JobView, is_sql: bool) -> str:
    """The script a query job ran, as far as its results say (the statements run)."""
    statements = [StatementResult.from_dict(item).statement.strip() for item in _results(job)]
    if is_sql:
        statements = [s if s.endswith(";") else s + ";" for s in statements if s]
    return "\n".join(s for s in statements if s)


def entries(jobs: list[JobView], saved: list[SavedQueryView], engine: str, is_sql: bool,
            search: str = "") -> list[Entry]:
    """Newest runs first, then saved queries of this engine; only those containing
    ``search`` (case-insensitive) when one is given."""
    found: list[Entry] = []
    seen: set[str] = set()
    for job in jobs:
        if job.kind != QUERY_KIND:
            continue
        text = job_text(job, is_sql)
        if not text or text in seen:
            continue
        seen.add(text)
        mark = {"done": "✓", "failed": "✗", "cancelled": "■"}.get(job.state, "…")
        if job.state == "done" and any(r.get("error") for r in _results(job)):
            mark = "✗"
        found.append(Entry(f"{mark} {job.created_at[11:19]} · {_short(text, 60)}", text))
    for query in saved:
        if query.engine == engine:
            found.append(Entry(f"★ {query.name} · {_short(query.text, 50)}", query.text))
    needle = search.strip().lower()
    if needle:
        found = [e for e in found if needle in e.text.lower() or needle in e.label.lower()]
    return found


def _results(job: JobView) -> list[dict[str, Any]]:
    payload: Any = job.result
    if isinstance(payload, dict):
        payload = payload.get("results", [])
    return [item for item in payload or [] if isinstance(item, dict)]


def _short(text: str, width: int) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= width else one_line[:width - 1] + "…"
