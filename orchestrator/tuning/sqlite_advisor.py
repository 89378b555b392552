"""The SQLite loop, the way SQLite's own ``.expert`` works (``sqlite3_expert`` is not in
Python's ``sqlite3``): candidate indexes from each statement's WHERE and ORDER BY columns
(equality, then range, then sort), judged by ``EXPLAIN QUERY PLAN`` with the index
present - on a throwaway clone rather than an in-memory schema copy, so the same clone
then times each statement (median of 5 runs, after a warm-up) before and after.

The workload is the playground's history (SQLite keeps no statement statistics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engines.result import TableInfo
from orchestrator.tuning.advice import Suggestion, drop_candidates, judge
from orchestrator.tuning.candidates import Candidate, candidates_for
from orchestrator.tuning.postgres_advisor import keep_best, targets_of
from orchestrator.tuning.proof import RUNS, WRITE_RUNS, Timing, insert_batch
from orchestrator.tuning.runner import AdviceInputs, Runner
from orchestrator.tuning.screening import Target
from orchestrator.tuning.scripts import Script, median
from orchestrator.tuning.statements import quote_ident
from orchestrator.tuning.workload import from_history


def advise(inputs: AdviceInputs) -> dict[str, Any]:
    entries = from_history(inputs.history)
    tables = {t.name: t for t in inputs.schema.tables if t.kind == "table"}
    targets, parsed = targets_of(entries, tables)
    targets = [t for t in targets if t.kind == "select"]
    candidates = candidates_for(parsed, tables, "sqlite")
    suggestions: list[Suggestion] = []
    if candidates and targets:
        with inputs.clone() as clone:
            suggestions = _prove(clone, targets, candidates[:inputs.limit * 3], tables)
    drops = drop_candidates(list(tables.values()), {}, 0)
    return {"suggestions": [s.to_dict() for s in suggestions + drops],
            "workload": [e.to_dict() for e in entries]}


def _plans(script: Script, results: Sequence[Any]) -> dict[str, str]:
    return {tag.partition(":")[2]: " | ".join(str(r[-1]) for r in rows)
            for tag, rows in script.rows(results).items() if tag.startswith("plan:")}


def _timings(script: Script, results: Sequence[Any]) -> tuple[dict[str, float], float | None]:
    runs: dict[str, list[float]] = {}
    writes: list[float] = []
    for (tag, _), res in zip(script.steps, results, strict=False):
        if res.error:
            break
        kind, _, rest = tag.partition(":")
        if kind == "t":
            fp, _, k = rest.rpartition(":")
            if k != "0":
                runs.setdefault(fp, []).append(res.elapsed_ms)
        elif kind == "w":
            writes.append(res.elapsed_ms)
    return ({fp: m for fp, v in runs.items() if (m := median(v)) is not None},
            median(writes))


def _timing_script(targets: Sequence[Target], write: str | None,
                   plans: bool = False) -> Script:
    script = Script()
    for target in targets:
        if plans:
            script.add(f"plan:{target.fingerprint}", f"EXPLAIN QUERY PLAN {target.text}")
        for k in range(RUNS + 1):
            script.add(f"t:{target.fingerprint}:{k}", target.text)
    if write:
        for _ in range(WRITE_RUNS):
            script.add("begin", "BEGIN")
            script.add("w:", write)
            script.add("rollback", "ROLLBACK")
    return script


def _build_script(cand: Candidate, name: str, same_table: Sequence[Target],
                  write: str | None) -> Script:
    """The write batch without the index first, then the index, its plans, its size
    (``dbstat``, last: not every SQLite has it)."""
    build = _timing_script([], write)
    build.add("build", cand.ddl("sqlite", name=name))
    build.add("analyze", f"ANALYZE {quote_ident(cand.table)}")
    for t in same_table:
        build.add(f"plan:{t.fingerprint}", f"EXPLAIN QUERY PLAN {t.text}")
    build.add("size", f"SELECT sum(pgsize) FROM dbstat WHERE name = '{name}'")
    return build


def _prove(clone: Runner, targets: list[Target], candidates: list[Candidate],
           tables: dict[str, TableInfo]) -> list[Suggestion]:
    clone("ANALYZE")
    on_tables = {c.table for c in candidates}
    writes = {n: insert_batch(tables[n]) for n in on_tables}
    writes = {n: w.replace(" OVERRIDING SYSTEM VALUE", "") for n, w in writes.items() if w}
    measured = [t for t in targets if t.tables & on_tables]
    base_script = _timing_script(measured, None, plans=True)
    base_results = clone(base_script.text)
    base_times, _ = _timings(base_script, base_results)
    base_plans = _plans(base_script, base_results)
    texts = {t.fingerprint: t.text for t in targets}
    suggestions = []
    current = dict(base_times)  # proven on top of the indexes accepted so far (kept)
    for n, cand in enumerate(candidates):
        name = f"dbplay_advice_{n}"
        same_table = [t for t in measured if cand.table in t.tables]
        write = writes.get(cand.table)
        suggestion = None
        try:
            build = _build_script(cand, name, same_table, write)
            built = clone(build.text)
            if write and "build" not in build.rows(built):  # the write batch failed
                write = writes.pop(cand.table) and None
                build = _build_script(cand, name, same_table, None)
                built = clone(build.text)
            plans = _plans(build, built)
            _, before_write = _timings(build, built)
            sizes = build.rows(built).get("size") or [[None]]
            size = int(sizes[0][0]) if sizes and sizes[0] and sizes[0][0] is not None else None
            affected = [t for t in same_table if f"INDEX {name}" in plans.get(t.fingerprint, "")]
            if not affected:
                continue
            after_script = _timing_script(affected, write)
            after_times, after_write = _timings(after_script, clone(after_script.text))
            before = {fp: Timing(ms, None) for fp, ms in current.items()}
            after = {fp: Timing(ms, None) for fp, ms in after_times.items()}
            suggestion = judge(cand, texts, [t.fingerprint for t in affected], before, after,
                               size, before_write, after_write, engine="sqlite")
        finally:
            if suggestion is None:
                clone(f"DROP INDEX IF EXISTS {name}")
        if suggestion is not None:
            current.update(after_times)
            final = suggestion.ddl.split()[2]  # CREATE INDEX <name> ON ...
            suggestion.reason += _plan_change(
                [base_plans.get(t.fingerprint, "") for t in affected],
                [plans.get(t.fingerprint, "").replace(name, final) for t in affected])
            suggestions.append(suggestion)
    return keep_best(suggestions)


def _plan_change(before: list[str], after: list[str]) -> str:
    text = f" Plan before: {before[0]}; with the index: {after[0]}." if before and after else ""
    if any("TEMP B-TREE" in p for p in before) and not any("TEMP B-TREE" in p for p in after):
        text += " The sort (temporary b-tree) is avoided."
    return text
