"""The PostgreSQL loop: workload (pg_stat_statements + history), candidates, HypoPG
screening and choice, then each chosen index built, measured and dropped on a throwaway
clone (the user's sandbox only ever reads its statistics)."""

from __future__ import annotations

import logging
import time
from typing import Any

from engines.result import TableInfo
from orchestrator.tuning.advice import Suggestion, drop_candidates, judge
from orchestrator.tuning.candidates import Candidate, candidates_for
from orchestrator.tuning.proof import build_script, insert_batch, read_timings, timing_script
from orchestrator.tuning.runner import AdviceInputs, Runner
from orchestrator.tuning.screening import (
    Screening,
    Target,
    choose,
    read_screening,
    screening_script,
)
from orchestrator.tuning.scripts import Script
from orchestrator.tuning.statements import ParsedStatement, parse_statement
from orchestrator.tuning.workload import (
    PGSS_QUERY,
    WorkloadEntry,
    from_history,
    from_pg_stat_statements,
    merge,
)

log = logging.getLogger(__name__)
#: at most this many statements of the workload are advised on (by total time)
MAX_TARGETS = 40


def read_state(run: Runner) -> tuple[set[str], dict[str, tuple[int, int]]]:
    """(installed tuning extensions, index name -> (scans, size)) of a sandbox."""
    script = Script()
    script.add("ext", "SELECT extname FROM pg_extension WHERE extname IN "
               "('pg_stat_statements', 'hypopg', 'pg_trgm')")
    script.add("usage", "SELECT indexrelname, idx_scan, pg_relation_size(indexrelid) "
               "FROM pg_stat_user_indexes")
    rows = script.rows(run(script.text))
    extensions = {str(r[0]) for r in rows.get("ext", [])}
    usage = {str(r[0]): (int(r[1] or 0), int(r[2] or 0)) for r in rows.get("usage", [])}
    return extensions, usage


def workload(run: Runner, history: list[Any], extensions: set[str]) -> list[WorkloadEntry]:
    server: list[WorkloadEntry] = []
    if "pg_stat_statements" in extensions:
        results = run(PGSS_QUERY)
        if results and not results[0].error:
            server = from_pg_stat_statements(results[0].rows)
    return merge(server, from_history(history))


def targets_of(entries: list[WorkloadEntry], tables: dict[str, TableInfo]
               ) -> tuple[list[Target], list[ParsedStatement]]:
    columns = {name: [c.name for c in t.columns] for name, t in tables.items()}
    targets, parsed = [], []
    for entry in entries[:MAX_TARGETS]:
        text = entry.example or entry.statement
        stmt = parse_statement(text, columns)
        if stmt is None or stmt.kind == "other" or not stmt.uses:
            continue
        stmt.fingerprint = entry.fingerprint
        parsed.append(stmt)
        targets.append(Target(entry.fingerprint, text, stmt.kind, {u.table for u in stmt.uses},
                              entry.total_ms, concrete=entry.example is not None))
    return targets, parsed


def advise(inputs: AdviceInputs) -> dict[str, Any]:
    extensions, usage = read_state(inputs.run_on_sandbox)
    entries = workload(inputs.run_on_sandbox, inputs.history, extensions)
    tables = {t.name: t for t in inputs.schema.tables if t.kind == "table"}
    targets, parsed = targets_of(entries, tables)
    candidates = candidates_for(parsed, tables, "postgres", trigram="pg_trgm" in extensions)
    suggestions: list[Suggestion] = []
    if candidates:
        started = time.perf_counter()
        with inputs.clone() as clone:
            log.info("advice: clone ready in %.1f s", time.perf_counter() - started)
            suggestions = _prove(clone, inputs, targets, candidates, tables,
                                 hypopg="hypopg" in extensions)
    drops = drop_candidates(list(tables.values()), usage, sum(e.calls for e in entries))
    return {"suggestions": [s.to_dict() for s in suggestions + drops],
            "workload": [e.to_dict() for e in entries]}


def _prove(clone: Runner, inputs: AdviceInputs, targets: list[Target],
           candidates: list[Candidate], tables: dict[str, TableInfo],
           hypopg: bool) -> list[Suggestion]:
    started = time.perf_counter()
    clone("ANALYZE")
    screening: Screening | None = None
    if hypopg and any(c.method == "btree" for c in candidates):
        script = screening_script(targets, candidates)
        screening = read_screening(script, clone(script.text))
    log.info("advice: %d candidates screened in %.1f s", len(candidates),
             time.perf_counter() - started)
    weights = {t.fingerprint: max(t.weight, 1e-3) for t in targets}
    picks = choose(candidates, screening, weights, inputs.budget_bytes, inputs.limit)
    chosen = [candidates[i] for i in picks]
    if not chosen:
        return []
    on_tables = {c.table for c in chosen}
    measured = [t for t in targets if t.fingerprint in _timed_statements(
        candidates, picks, screening)]
    writes = {name: sql for name in on_tables
              if (sql := insert_batch(tables[name])) is not None}
    base_script = timing_script(measured, {}, warm_tables=sorted(on_tables))
    baseline = read_timings(base_script, clone(base_script.text))
    log.info("advice: %d statements timed before in %.1f s", len(measured),
             time.perf_counter() - started)
    texts = {t.fingerprint: t.text for t in targets}
    suggestions: list[Suggestion] = []
    # each index is proven on top of those already accepted (kept built on the clone), so
    # its gain is what it adds to them and a regression is judged against them too
    current = dict(baseline.times)
    for n, cand in enumerate(chosen):
        name = f"dbplay_advice_{n}"
        same_table = [t for t in measured if cand.table in t.tables]
        suggestion = None
        try:
            built_script = build_script(name, cand.ddl(name=name), cand.table, cand.keys,
                                        same_table, writes.get(cand.table))
            built = read_timings(built_script, clone(built_script.text))
            if built.size is None and cand.table in writes:  # the write batch failed
                del writes[cand.table]
                built_script = build_script(name, cand.ddl(name=name), cand.table,
                                            cand.keys, same_table)
                built = read_timings(built_script, clone(built_script.text))
            affected = [fp for fp, plan in built.plans.items() if name in plan.indexes]
            if not affected:
                continue
            table_writes = {cand.table: writes[cand.table]} if cand.table in writes else {}
            after_script = timing_script([t for t in same_table if t.fingerprint in affected],
                                         table_writes)
            after = read_timings(after_script, clone(after_script.text))
            suggestion = judge(cand, texts, affected, current, after.times, built.size,
                               built.writes.get(cand.table), after.writes.get(cand.table))
        finally:
            if suggestion is None:
                clone(f"DROP INDEX IF EXISTS {name}")
        if suggestion is not None:
            suggestions.append(suggestion)
            current.update({fp: after.times[fp] for fp in affected if fp in after.times})
    log.info("advice: %d indexes proven in %.1f s", len(chosen), time.perf_counter() - started)
    if screening is not None:
        suggestions += _planner_only(candidates, picks, screening, targets)
    return keep_best(suggestions)


def _planner_only(candidates: list[Candidate], picks: list[int], screening: Screening,
                  targets: list[Target]) -> list[Suggestion]:
    """Chosen indexes that serve only statements known with ``$1`` placeholders (from
    pg_stat_statements: no constants to run them with): offered unverified, on the
    planner's estimate."""
    placeholders = {t.fingerprint: t.text for t in targets if not t.concrete}
    out = []
    for i in picks:
        served = [fp for fp in screening.serves(i) if fp in placeholders]
        if not served:
            continue
        cand = candidates[i]
        before = sum(screening.base[fp] for fp in served)
        after = sum(screening.costs[(i, fp)] for fp in served)
        out.append(Suggestion(
            ddl=cand.ddl(), statements=[placeholders[fp] for fp in served], before_ms=None,
            after_ms=None, verified=False, size_bytes=screening.sizes.get(i),
            write_cost_pct=None,
            reason=(f"For {len(served)} statement(s) on {cand.table} ({'; '.join(cand.why)}) "
                    f"known only with placeholders (pg_stat_statements): the planner's "
                    f"estimated cost falls from {before:,.0f} to {after:,.0f} with it "
                    "(HypoPG, generic plan). Not timed: no constants to run them with.")))
    return out


def _timed_statements(candidates: list[Candidate], picks: list[int],
                      screening: Screening | None) -> set[str]:
    """The statements worth timing: those whose plan used a chosen hypothetical index
    (however much it saved: a slower plan must be seen too), else those a candidate
    was made for."""
    wanted: set[str] = set()
    for i in picks:
        if screening is not None and candidates[i].method == "btree":
            wanted |= {fp for (j, fp) in screening.uses if j == i}
        else:
            wanted |= set(candidates[i].statements)
    return wanted


def keep_best(suggestions: list[Suggestion]) -> list[Suggestion]:
    """The fastest first; one that brings nothing for a statement no better suggestion
    already serves is left out (the same index with or without INCLUDE, say)."""
    ordered = sorted(suggestions, key=lambda s: (not s.verified, -s.speedup))
    claimed: set[str] = set()
    kept = []
    for suggestion in ordered:
        if set(suggestion.statements) - claimed:
            kept.append(suggestion)
            claimed.update(suggestion.statements)
    return kept
