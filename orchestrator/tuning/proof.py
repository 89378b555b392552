"""The proof on a throwaway clone (PostgreSQL): each statement timed by
``EXPLAIN (ANALYZE, TIMING OFF)`` - it runs for real, its rows are not shipped - one
warm-up run then the median of :data:`RUNS`; writes (``UPDATE``/``DELETE``, the scripted
insert batch) inside ``BEGIN ... ROLLBACK`` so the clone keeps its data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engines.result import TableInfo
from orchestrator.tuning.plan_facts import PlanFacts, facts
from orchestrator.tuning.screening import Target
from orchestrator.tuning.scripts import Script, median
from orchestrator.tuning.statements import quote_ident

RUNS = 5
WRITE_RUNS = 5
#: rows the scripted insert batch writes
WRITE_BATCH_ROWS = 2000
ANALYZE = "ANALYZE, TIMING OFF, FORMAT JSON"
_INTEGER_TYPES = ("integer", "bigint", "smallint", "int", "int4", "int8", "int2")


@dataclass
class Timing:
    median_ms: float | None
    plan: PlanFacts | None  # of the last run


@dataclass
class Measured:
    times: dict[str, Timing] = field(default_factory=dict)  # fingerprint -> timing
    writes: dict[str, float] = field(default_factory=dict)  # table -> median ms
    size: int | None = None
    plans: dict[str, PlanFacts] = field(default_factory=dict)  # fingerprint -> plan


def _timed(script: Script, target: Target, runs: int, warm_up: bool) -> None:
    wrap = target.kind in ("update", "delete")
    for k in range(0 if warm_up else 1, runs + 1):  # run 0 warms the cache, not counted
        if wrap:
            script.add("begin", "BEGIN")
        script.add(f"t:{target.fingerprint}:{k}", target.explain(ANALYZE, ""))
        if wrap:
            script.add("rollback", "ROLLBACK")


def insert_batch(table: TableInfo) -> str | None:
    """An INSERT of :data:`WRITE_BATCH_ROWS` copies of existing rows (a single integer
    primary key shifted past its maximum), or None when a copy would break a key."""
    names = [c.name for c in table.columns]
    if not names:
        return None
    pk = table.primary_key
    if len(pk) > 1 or any(ix.unique and list(ix.columns) != list(pk) for ix in table.indexes):
        return None
    selected = [quote_ident(n) for n in names]
    qt = quote_ident(table.name)
    if pk:
        col = next((c for c in table.columns if c.name == pk[0]), None)
        if col is None or col.type.lower() not in _INTEGER_TYPES:
            return None
        key = quote_ident(pk[0])
        selected[names.index(pk[0])] = f"{key} + (SELECT max({key}) FROM {qt})"
    return (f"INSERT INTO {qt} ({', '.join(quote_ident(n) for n in names)}) "
            f"OVERRIDING SYSTEM VALUE SELECT {', '.join(selected)} FROM {qt} "
            f"LIMIT {WRITE_BATCH_ROWS}")


def timing_script(targets: Sequence[Target], writes: dict[str, str], prefix: Sequence[str] = (),
                  suffix: Sequence[str] = (), runs: int = RUNS,
                  warm_tables: Sequence[str] = ()) -> Script:
    """Each statement timed ``runs`` times after a warm-up run; with ``warm_tables`` one
    read of each table warms the cache for all (the slow "before" runs: a warm-up per
    statement would cost a sixth of the time for nothing)."""
    script = Script()
    for n, statement in enumerate(prefix):
        script.add(f"pre:{n}", statement)
    for table in warm_tables:
        script.add("warm", f"SELECT count(*) FROM {quote_ident(table)}")
    for target in targets:
        if target.concrete:
            _timed(script, target, runs, warm_up=not warm_tables)
    for table, statement in writes.items():
        for k in range(WRITE_RUNS):
            script.add("begin", "BEGIN")
            script.add(f"w:{table}:{k}", f"EXPLAIN ({ANALYZE}) {statement}")
            script.add("rollback", "ROLLBACK")
    for n, statement in enumerate(suffix):
        script.add(f"post:{n}", statement)
    return script


def read_timings(script: Script, results: Sequence[Any]) -> Measured:
    runs: dict[str, list[float]] = {}
    last: dict[str, PlanFacts] = {}
    writes: dict[str, list[float]] = {}
    out = Measured()
    for tag, cell in script.results(results):
        kind, _, rest = tag.partition(":")
        if kind in ("t", "w"):
            key, _, k = rest.rpartition(":")
            plan = facts(cell)
            if plan is None or plan.execution_ms is None:
                continue
            if kind == "w":
                writes.setdefault(key, []).append(plan.execution_ms)
            elif k != "0":
                runs.setdefault(key, []).append(plan.execution_ms)
                last[key] = plan
        elif kind == "size" and cell is not None:
            out.size = int(cell)
        elif kind == "plan":
            plan = facts(cell)
            if plan is not None:
                out.plans[rest] = plan
    out.times = {fp: Timing(median(v), last.get(fp)) for fp, v in runs.items()}
    out.writes = {t: m for t, v in writes.items() if (m := median(v)) is not None}
    return out


def build_script(name: str, ddl: str, table: str, keys: Sequence[tuple[str, str]],
                 targets: Sequence[Target], write: str | None = None) -> Script:
    """The write batch without the index (timed right before, so the machine's load
    drifts as little as possible between the two), then the index built on the clone,
    its size, and the plans of the statements on its table (which of them use it)."""
    script = Script()
    for k in range(WRITE_RUNS if write else 0):
        script.add("begin", "BEGIN")
        script.add(f"w:{table}:{k}", f"EXPLAIN ({ANALYZE}) {write}")
        script.add("rollback", "ROLLBACK")
    script.add("build", ddl)
    if any(col.startswith("(") for col, _ in keys):  # an expression needs its statistics
        script.add("analyze", f"ANALYZE {quote_ident(table)}")
    script.add("size", f"SELECT pg_relation_size('{name}'::regclass)")
    for target in targets:
        if target.concrete:
            script.add(f"plan:{target.fingerprint}", target.explain("FORMAT JSON", ""))
    return script
