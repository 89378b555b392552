"""Suggestions as the API returns them, judged from the measurements, with their reasons
in plain words; and drop candidates (unused and duplicate existing indexes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engines.result import TableInfo
from orchestrator.tuning.candidates import Candidate
from orchestrator.tuning.proof import Timing
from orchestrator.tuning.scripts import median
from orchestrator.tuning.statements import quote_ident

#: a statement counts as slower when it is this much slower (and by more than the noise)
SLOWER_RATIO = 1.10
NOISE_MS = 0.3
#: a suggestion must make its statements at least this much faster to be offered
MIN_SPEEDUP = 1.5


@dataclass
class Suggestion:
    ddl: str
    statements: list[str]
    before_ms: float | None
    after_ms: float | None
    verified: bool
    size_bytes: int | None
    write_cost_pct: float | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        def ms(v: float | None) -> float | None:
            return None if v is None else round(v, 3)

        return {"ddl": self.ddl, "statements": list(self.statements),
                "before_ms": ms(self.before_ms), "after_ms": ms(self.after_ms),
                "verified": self.verified, "size_bytes": self.size_bytes,
                "write_cost_pct": None if self.write_cost_pct is None
                else round(self.write_cost_pct, 1), "reason": self.reason}

    @property
    def speedup(self) -> float:
        if not self.before_ms or not self.after_ms:
            return 0.0
        return self.before_ms / max(self.after_ms, 1e-3)


def judge(cand: Candidate, texts: dict[str, str], affected: Sequence[str],
          before: dict[str, Timing], after: dict[str, Timing], size: int | None,
          write_before: float | None, write_after: float | None,
          engine: str = "postgres") -> Suggestion | None:
    """The suggestion for a candidate built and measured on the clone, or None when it
    helped no statement enough to be worth its writes."""
    faster, slower = [], []
    for fp in affected:
        b, a = before.get(fp), after.get(fp)
        if b is None or a is None or b.median_ms is None or a.median_ms is None:
            continue
        if a.median_ms * MIN_SPEEDUP <= b.median_ms:
            faster.append(fp)
        elif a.median_ms > b.median_ms * SLOWER_RATIO + NOISE_MS:
            slower.append(fp)
    if not faster or slower:  # a suggestion never makes a workload statement slower
        return None
    before_ms = median([t.median_ms for fp in faster if (t := before[fp]).median_ms is not None])
    after_ms = median([t.median_ms for fp in faster if (t := after[fp]).median_ms is not None])
    write_pct = None
    if write_before and write_after is not None:
        write_pct = (write_after - write_before) / write_before * 100
    reason = _reason(cand, [before[fp] for fp in faster], [after[fp] for fp in faster],
                     before_ms, after_ms)
    return Suggestion(ddl=cand.ddl(engine), statements=[texts[fp] for fp in faster],
                      before_ms=before_ms, after_ms=after_ms, verified=True,
                      size_bytes=size, write_cost_pct=write_pct, reason=reason)


def _reason(cand: Candidate, before: list[Timing], after: list[Timing],
            before_ms: float | None, after_ms: float | None) -> str:
    parts = [f"For {len(before)} statement(s) on {cand.table} ({'; '.join(cand.why)})"]
    scans = [s for t in before if t.plan and (s := t.plan.scan_of(cand.table))]
    if scans:
        scan = max(scans, key=lambda s: s.rows + s.removed)
        read = scan.rows + scan.removed
        selectivity = scan.rows / read if read else 0.0
        parts.append(f"a {scan.node.lower()} read {read:,.0f} rows and its filter removed "
                     f"{scan.removed:,.0f} to keep {scan.rows:,.0f} ({selectivity:.2%} "
                     "selective); the index finds the rows directly")
    if any(t.plan and t.plan.sorts for t in before) and not any(
            t.plan and t.plan.sorts for t in after):
        parts.append("the sort is avoided (the index gives the order)")
    if cand.include and any(t.plan and any(s.node == "Index Only Scan" for s in t.plan.scans)
                            for t in after):
        parts.append("answered from the index alone (its INCLUDE columns)")
    text = ": ".join(parts[:2]) + ("; " + "; ".join(parts[2:]) if len(parts) > 2 else "")
    if before_ms is not None and after_ms is not None:
        text += (f". Measured on a clone: median {before_ms:,.1f} ms before, "
                 f"{after_ms:,.2f} ms after ({before_ms / max(after_ms, 1e-3):,.0f}x).")
    return text


def drop_candidates(tables: Sequence[TableInfo], usage: dict[str, tuple[int, int]],
                    statements_seen: int) -> list[Suggestion]:
    """Existing indexes worth dropping: a non-unique btree whose columns start another
    index of its table (a duplicate), or one no statement scanned (``usage``: index name
    -> (scans, size); only when the sandbox saw a workload)."""
    out: list[Suggestion] = []
    for table in tables:
        plain = [ix for ix in table.indexes
                 if not ix.unique and " where " not in (ix.definition or "").lower()
                 and "using btree" in (ix.definition or "using btree").lower()]
        for ix in plain:
            wider = next((o for o in table.indexes if o.name != ix.name
                          and list(o.columns[:len(ix.columns)]) == list(ix.columns)
                          and (len(o.columns) > len(ix.columns) or o.unique or o.name < ix.name)),
                         None)
            scans, size = usage.get(ix.name, (-1, 0))
            if wider is not None:
                why = (f"duplicate: {wider.name} starts with the same columns "
                       f"({', '.join(ix.columns)}) and serves the same lookups; every write "
                       "on the table maintains both")
            elif scans == 0 and statements_seen > 0:
                why = (f"unused: no statement scanned it since the sandbox started "
                       f"({statements_seen} workload statements ran); every write on "
                       f"{table.name} maintains it")
            else:
                continue
            out.append(Suggestion(ddl=f"DROP INDEX {quote_ident(ix.name)}", statements=[],
                                  before_ms=None, after_ms=None, verified=False,
                                  size_bytes=size or None, write_cost_pct=None, reason=why))
    return out
