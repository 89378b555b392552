"""Cheap screening with HypoPG, then a choice across the whole workload.

Hypothetical indexes live only in the session that made them, so the whole screening is
ONE script (one query job): the baseline plans, then per candidate
``hypopg_create_index`` + the plans of the statements on its table + ``hypopg_reset()``.
Statements known only with ``$1`` placeholders are planned through ``PREPARE`` with
``plan_cache_mode = force_generic_plan`` (PostgreSQL 15 has no ``EXPLAIN (GENERIC_PLAN)``).
HypoPG knows btree (and brin, hash, bloom) only: GIN candidates skip screening and go
straight to the proof.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.tuning.candidates import Candidate
from orchestrator.tuning.plan_facts import facts
from orchestrator.tuning.scripts import Script, dollar_quoted

_PARAM = re.compile(r"\$(\d+)")
#: a hypothetical index counts for a statement when its plan costs at most this much of
#: the plan without it
USEFUL_COST_RATIO = 0.5


@dataclass
class Target:
    """A workload statement the advice is about."""

    fingerprint: str
    text: str  # the concrete example when known, else the text with $n
    kind: str
    tables: set[str]
    weight: float  # its share of the workload's time (total ms)
    concrete: bool

    def explain(self, options: str, name: str) -> str:
        if self.concrete:
            return f"EXPLAIN ({options}) {self.text}"
        params = max((int(n) for n in _PARAM.findall(self.text)), default=0)
        args = f"({', '.join(['NULL'] * params)})" if params else ""
        return f"EXPLAIN ({options}) EXECUTE {name}{args}"


@dataclass
class Screening:
    base: dict[str, float] = field(default_factory=dict)  # fingerprint -> cost
    costs: dict[tuple[int, str], float] = field(default_factory=dict)  # (cand, fp) -> cost
    sizes: dict[int, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)  # hypothetical index names
    #: (cand, fp) whose plan uses the hypothetical index, however much it saves
    uses: set[tuple[int, str]] = field(default_factory=set)

    def serves(self, index: int) -> list[str]:
        return [fp for (i, fp), cost in self.costs.items()
                if i == index and fp in self.base
                and cost <= self.base[fp] * USEFUL_COST_RATIO]


def _prepared_name(n: int) -> str:
    return f"dbplay_advice_p{n}"


def screening_script(targets: Sequence[Target], candidates: Sequence[Candidate]) -> Script:
    script = Script()
    script.add("mode", "SET plan_cache_mode = force_generic_plan")
    names: dict[str, str] = {}
    for n, target in enumerate(targets):
        names[target.fingerprint] = _prepared_name(n)
        if not target.concrete:
            script.add(f"prep:{n}", f"PREPARE {_prepared_name(n)} AS {target.text}")
    for target in targets:
        script.add(f"base:{target.fingerprint}",
                   target.explain("FORMAT JSON", names[target.fingerprint]))
    for i, cand in enumerate(candidates):
        if cand.method != "btree":
            continue
        script.add(f"size:{i}", "SELECT hypopg_relation_size(indexrelid), indexname FROM "
                   f"hypopg_create_index({dollar_quoted(cand.ddl())})")
        for target in targets:
            if cand.table in target.tables:
                script.add(f"hyp:{i}:{target.fingerprint}",
                           target.explain("FORMAT JSON", names[target.fingerprint]))
        script.add("reset", "SELECT hypopg_reset()")
    script.add("mode", "RESET plan_cache_mode")
    return script


def read_screening(script: Script, results: Sequence[Any]) -> Screening:
    out = Screening()
    for tag, rows in script.rows(results).items():
        kind, _, rest = tag.partition(":")
        cell = rows[0][0] if rows and rows[0] else None
        if kind == "base":
            plan = facts(cell)
            if plan is not None:
                out.base[rest] = plan.cost
        elif kind == "size" and cell is not None:
            out.sizes[int(rest)] = int(cell)
            out.names[int(rest)] = str(rows[0][1])
        elif kind == "hyp":
            index, _, fp = rest.partition(":")
            plan = facts(cell)
            if plan is not None:
                out.costs[(int(index), fp)] = plan.cost
                if out.names.get(int(index), "\0") in plan.indexes:
                    out.uses.add((int(index), fp))
    return out


def choose(candidates: Sequence[Candidate], screening: Screening | None,
           weights: dict[str, float], budget_bytes: int, limit: int) -> list[int]:
    """Greedy over the whole workload: each round takes the candidate that saves the most
    weighted plan cost per byte over what is already chosen, within the size budget.
    Without screening (no HypoPG) each statement's first candidate goes to the proof.
    Unscreenable candidates (GIN) go to the proof too."""
    unscreened = [i for i, c in enumerate(candidates) if c.method != "btree"]
    chosen: list[int] = []
    if screening is None:
        seen: set[str] = set()
        for i, cand in enumerate(candidates):
            if cand.method == "btree" and not set(cand.statements) <= seen:
                chosen.append(i)
                seen.update(cand.statements)
        return (chosen + unscreened)[:limit]
    best = dict(screening.base)
    used = 0
    pool = {i for i, c in enumerate(candidates) if c.method == "btree" and i in screening.sizes}
    while pool and len(chosen) < limit:
        def gain(i: int) -> float:
            return sum(weights.get(fp, 1.0) * max(0.0, best[fp] - screening.costs[(i, fp)])
                       / max(screening.base[fp], 1e-9)
                       for fp in screening.serves(i))
        scored = [(gain(i) / max(screening.sizes[i], 8192), i) for i in pool
                  if gain(i) > 0 and used + screening.sizes[i] <= budget_bytes]
        if not scored:
            break
        _, pick = max(scored)
        pool.discard(pick)
        chosen.append(pick)
        used += screening.sizes[pick]
        for fp in screening.serves(pick):
            best[fp] = min(best[fp], screening.costs[(pick, fp)])
    return (chosen + unscreened)[:max(limit, len(chosen))]  # the most useful first
