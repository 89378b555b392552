"""A sandbox's workload: its statements ranked by total time, grouped the way
``pg_stat_statements`` groups them (by parse-tree fingerprint: the same statement with
other constants is one entry).

Two sources, merged: ``pg_stat_statements`` where the server has it (every statement
the sandbox's role ran, the playground's and those of a client on the connection string),
and the playground's own history (the user's query jobs on the sandbox), which is all
there is on SQLite and the only source of *concrete* statements (with their constants)
that a clone can run and time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from orchestrator.tuning.statements import statement_fingerprint

#: every statement the advisor runs on a user's sandbox starts with this comment, so
#: its own statements never count as the user's workload
MARKER = "/* dbplay:tuning */"
HISTORY = "history"
PG_STAT_STATEMENTS = "pg_stat_statements"
#: statements the advice is about (the others still show in the workload)
_ADVISABLE = ("select", "update", "delete", "with")

PGSS_QUERY = f"""{MARKER} SELECT query, calls, total_exec_time, mean_exec_time
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND userid = (SELECT oid FROM pg_roles WHERE rolname = current_user)
 ORDER BY total_exec_time DESC LIMIT 500"""


@dataclass
class WorkloadEntry:
    statement: str
    calls: int
    total_ms: float
    mean_ms: float
    source: str
    fingerprint: str
    #: a concrete statement (constants, no ``$1``) a clone can run, if one is known
    example: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"statement": self.statement, "calls": self.calls,
                "total_ms": round(self.total_ms, 3), "mean_ms": round(self.mean_ms, 3),
                "source": self.source}


#: statements on the server's catalogs (the adapter's type lookups, schema reads)
_CATALOG = re.compile(r"\b(from|join)\s+(pg_catalog\.|information_schema\.|pg_|sqlite_)",
                      re.IGNORECASE)


def _ours(text: str) -> bool:
    lowered = text.lower()
    return (MARKER in text or "pg_stat_statements" in lowered or "hypopg" in lowered
            or _CATALOG.search(text) is not None)


def _advisable(text: str) -> bool:
    return text.lstrip("( \n\t").split(None, 1)[0].lower() in _ADVISABLE if text.strip() \
        else False


def from_history(job_results: Iterable[Any]) -> list[WorkloadEntry]:
    """From the ``result`` of query jobs (lists of statement result dicts): the
    statements that ran without error, grouped by fingerprint."""
    groups: dict[str, WorkloadEntry] = {}
    for result in job_results:
        for item in result or ():
            if not isinstance(item, dict) or item.get("error"):
                continue
            text = str(item.get("statement") or "").strip().rstrip(";").strip()
            if not text or _ours(text) or not _advisable(text):
                continue
            fp = statement_fingerprint(text)
            if fp is None:
                continue
            ms = float(item.get("elapsed_ms") or 0.0)
            entry = groups.get(fp)
            if entry is None:
                groups[fp] = WorkloadEntry(text, 1, ms, ms, HISTORY, fp, example=text)
            else:
                entry.calls += 1
                entry.total_ms += ms
                entry.mean_ms = entry.total_ms / entry.calls
    return rank(groups.values())


def from_pg_stat_statements(rows: Iterable[list[Any]]) -> list[WorkloadEntry]:
    entries: dict[str, WorkloadEntry] = {}
    for query, calls, total, mean in rows:
        text = str(query).strip()
        if _ours(text) or not _advisable(text):
            continue
        fp = statement_fingerprint(text)
        if fp is None:
            continue
        known = entries.get(fp)
        if known is None:
            entries[fp] = WorkloadEntry(text, int(calls), float(total), float(mean),
                                        PG_STAT_STATEMENTS, fp)
        else:  # the same shape under another role or search path
            known.calls += int(calls)
            known.total_ms += float(total)
            known.mean_ms = known.total_ms / max(known.calls, 1)
    return list(entries.values())


def merge(server: list[WorkloadEntry], history: list[WorkloadEntry]) -> list[WorkloadEntry]:
    """The server's statistics where it has the statement (they count every call), the
    history's concrete statement as its example; history alone for the rest."""
    by_fp = {e.fingerprint: e for e in history}
    merged: list[WorkloadEntry] = []
    for entry in server:
        seen = by_fp.pop(entry.fingerprint, None)
        if seen is not None:
            entry.example = seen.example
            if entry.calls < seen.calls:  # statistics reset since: the history knows more
                entry = seen
        merged.append(entry)
    merged.extend(by_fp.values())
    return rank(merged)


def rank(entries: Iterable[WorkloadEntry]) -> list[WorkloadEntry]:
    return sorted(entries, key=lambda e: (-e.total_ms, -e.mean_ms, e.statement))
