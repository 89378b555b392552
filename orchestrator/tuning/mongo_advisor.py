"""The MongoDB loop: the workload from the profiler (``system.profile``, where the server
profiles) or else the playground's history of the sandbox; equality-sort-range candidates
(:mod:`.mongo_statements`); each one built on a throwaway clone and proven there.

The proof, per candidate: the statements of its collection explained with
``executionStats`` (keys and documents examined per document returned) and timed (one
warm-up run, then the median of :data:`RUNS`) before and after the index is built; the
write cost as the time of a scripted insert batch (copies of existing documents, removed
again) without and with the index; the index size from ``$collStats``. A suggestion is
verified when its statements examine at least :data:`MIN_DOCS_DROP` times fewer
documents per document returned, or run :data:`~.advice.MIN_SPEEDUP` times faster, and
none runs slower. A candidate the measurements cannot prove (a server whose explain
reports no documents examined, a collection too small to time) is still listed, with
``verified: false`` and the figures measured.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engines.mongodb.plan import execution_stats
from engines.result import StatementResult
from orchestrator.tuning.advice import MIN_SPEEDUP, NOISE_MS, SLOWER_RATIO, Suggestion
from orchestrator.tuning.mongo_statements import (
    MongoCandidate,
    MongoRead,
    candidates_for,
    collection_ref,
    index_keys,
    read_of,
)
from orchestrator.tuning.runner import AdviceInputs, Runner
from orchestrator.tuning.scripts import median
from orchestrator.tuning.workload import HISTORY, WorkloadEntry, rank

RUNS = 5
WRITE_RUNS = 3
WRITE_BATCH_DOCS = 500
#: documents examined per document returned must fall at least this much
MIN_DOCS_DROP = 10.0
PROFILER = "profiler"
_BATCH_FIELD = "_dbplay_write_batch"
PROFILE_QUERY = ('db.getCollection("system.profile").aggregate(['
                 '{$match: {op: {$in: ["query", "command"]}}}, {$sort: {ts: -1}}, '
                 '{$limit: 2000}, {$project: {_id: 0, ns: 1, millis: 1, c: ["$command"]}}])')


@dataclass
class Measure:
    median_ms: float | None = None
    docs_per_returned: float | None = None
    keys_per_returned: float | None = None
    indexes: tuple[str, ...] = ()


# -- the workload ------------------------------------------------------------------------
def profiled_text(command: Mapping[str, Any]) -> str | None:
    """The mongosh statement of a profiled ``find``/``aggregate`` command (None for the
    server's own ``system.*`` collections: the advisor's reads of the profile itself)."""
    collection = command.get("find", command.get("aggregate"))
    if isinstance(collection, str) and collection.startswith("system."):
        return None
    if "find" in command:
        text = (f"{collection_ref(str(command['find']))}.find("
                f"{json.dumps(command.get('filter') or {})})")
        if command.get("sort"):
            text += f".sort({json.dumps(command['sort'])})"
        if command.get("limit"):
            text += f".limit({int(command['limit'])})"
        return text
    if "aggregate" in command and isinstance(command.get("pipeline"), list):
        return (f"{collection_ref(str(command['aggregate']))}.aggregate("
                f"{json.dumps(command['pipeline'])})")
    return None


def from_profiler(run: Runner) -> list[WorkloadEntry]:
    """The profiled reads of the sandbox's database, grouped by shape; empty when the
    profiler is off or the role may not read ``system.profile``."""
    try:
        results = run(PROFILE_QUERY)
    except Exception:  # the stand-in, a role without the privilege: no profiler
        return []
    if not results or results[0].error:
        return []
    res = results[0]
    names = [c.name for c in res.columns]
    pairs: list[tuple[str, float]] = []
    for row in res.rows:
        cells = _decoded(dict(zip(names, row, strict=False)))
        command = (cells.get("c") or [None])[0]
        text = profiled_text(command) if isinstance(command, Mapping) else None
        if text:
            pairs.append((text, float(cells.get("millis") or 0.0)))
    return _grouped(pairs, PROFILER)


def from_history(job_results: Sequence[Any]) -> list[WorkloadEntry]:
    pairs = [(str(item.get("statement") or "").strip().rstrip(";"),
              float(item.get("elapsed_ms") or 0.0))
             for result in job_results for item in result or ()
             if isinstance(item, dict) and not item.get("error")]
    return _grouped(pairs, HISTORY)


def _grouped(pairs: Sequence[tuple[str, float]], source: str) -> list[WorkloadEntry]:
    groups: dict[str, WorkloadEntry] = {}
    for text, ms in pairs:
        read = read_of(text) if text else None
        if read is None:
            continue
        entry = groups.get(read.fingerprint)
        if entry is None:
            groups[read.fingerprint] = WorkloadEntry(text, 1, ms, ms, source,
                                                     read.fingerprint, example=text)
        else:
            entry.calls += 1
            entry.total_ms += ms
            entry.mean_ms = entry.total_ms / entry.calls
    return rank(groups.values())


def workload(run: Runner, history: Sequence[Any]) -> list[WorkloadEntry]:
    """The profiler's statistics where it has a statement, the history for the rest."""
    profiled = from_profiler(run)
    seen = {e.fingerprint for e in profiled}
    return rank([*profiled, *(e for e in from_history(history) if e.fingerprint not in seen)])


# -- measuring on the clone ----------------------------------------------------------------
def _document(res: StatementResult) -> dict[str, Any]:
    """The first row as a document."""
    return _decoded(dict(zip([c.name for c in res.columns], res.rows[0], strict=False))
                    if res.rows else {})


def _decoded(doc: dict[str, Any]) -> dict[str, Any]:
    """A row's cells, a nested value that came back as its JSON text decoded."""
    for name, value in doc.items():
        if isinstance(value, str) and value[:1] in "{[":
            try:
                doc[name] = json.loads(value)
            except ValueError:
                pass
    return doc


def _index_names(value: Any) -> set[str]:
    """The indexes a plan reads (the winning plan's: never those of rejected plans)."""
    if isinstance(value, Mapping):
        found = {str(value["indexName"])} if "indexName" in value else set()
        for key, v in value.items():
            if key not in ("rejectedPlans", "allPlansExecution"):
                found |= _index_names(v)
        return found
    if isinstance(value, list):
        return set().union(*(_index_names(v) for v in value)) if value else set()
    return set()


def explain_figures(explain: Mapping[str, Any]) -> Measure:
    """Keys and documents examined per document returned, and the indexes the winning
    plan reads, from one ``explain("executionStats")`` document (no time)."""
    m = Measure()
    stats = execution_stats(explain)
    returned = stats.get("nReturned")
    docs, keys = stats.get("totalDocsExamined"), stats.get("totalKeysExamined")
    if isinstance(returned, (int, float)) and isinstance(docs, (int, float)) and (
            docs or returned):
        m.docs_per_returned = float(docs) / max(float(returned), 1.0)
        if isinstance(keys, (int, float)):
            m.keys_per_returned = float(keys) / max(float(returned), 1.0)
    m.indexes = tuple(sorted(_index_names(explain.get("queryPlanner"))
                             | _index_names(explain.get("stages"))))
    return m


def measure(run: Runner, texts: Sequence[str]) -> list[Measure]:
    """Each statement explained with ``executionStats`` (a script of its own: not every
    read can be explained) and timed (a warm-up run, then RUNS)."""
    out = []
    for text in texts:
        explained = run(f"{text}.explain(\"executionStats\")")
        m = Measure()
        if explained and not explained[0].error:
            m = explain_figures(_document(explained[0]))
        results = run(";\n".join([text] * (RUNS + 1)))
        timed = [r.elapsed_ms for r in results[1:] if not r.error]
        if len(timed) == RUNS:
            m.median_ms = median(timed)
        out.append(m)
    return out


def _write_batch(collection: str) -> str:
    ref = collection_ref(collection)
    return (f"{ref}.aggregate([{{$limit: {WRITE_BATCH_DOCS}}}, {{$project: {{_id: 0}}}}, "
            f"{{$addFields: {{{_BATCH_FIELD}: true}}}}, "
            f"{{$merge: {{into: {json.dumps(collection)}, whenMatched: \"fail\"}}}}])")


def write_cost(run: Runner, collection: str) -> float | None:
    """Median time of the scripted insert batch; its documents are removed each time."""
    ref = collection_ref(collection)
    cleanup = f"{ref}.deleteMany({{{_BATCH_FIELD}: true}})"
    times = []
    for _ in range(WRITE_RUNS):
        results = run(f"{_write_batch(collection)};\n{cleanup}")
        if not results or results[0].error or len(results) < 2 or results[1].error:
            run(cleanup)
            return None
        times.append(results[0].elapsed_ms)
    return median(times)


def index_size(run: Runner, collection: str, name: str) -> int | None:
    results = run(f"{collection_ref(collection)}.aggregate("
                  "[{$collStats: {storageStats: {}}}])")
    if not results or results[0].error:
        return None
    sizes = _document(results[0]).get("storageStats.indexSizes")
    value = sizes.get(name) if isinstance(sizes, Mapping) else None
    return int(value) if isinstance(value, (int, float)) else None


# -- the loop ------------------------------------------------------------------------------
def advise(inputs: AdviceInputs) -> dict[str, Any]:
    entries = workload(inputs.run_on_sandbox, inputs.history)
    reads: dict[str, tuple[MongoRead, str]] = {}
    for entry in entries:
        read = read_of(entry.example or entry.statement)
        if read is not None:
            reads[read.fingerprint] = (read, entry.example or entry.statement)
    existing = {t.name: [index_keys(ix.definition, ix.columns) for ix in t.indexes]
                for t in inputs.schema.tables if t.kind == "collection"}
    candidates = [c for c in candidates_for([r for r, _ in reads.values()], existing)
                  if c.collection in existing][:inputs.limit]
    suggestions: list[Suggestion] = []
    if candidates:
        with inputs.clone() as clone:
            suggestions = [s for n, cand in enumerate(candidates)
                           if (s := _prove(clone, cand, n, reads)) is not None]
    suggestions.sort(key=lambda s: (not s.verified, -(s.before_ms or 0.0)))
    return {"suggestions": [s.to_dict() for s in suggestions],
            "workload": [e.to_dict() for e in entries]}


def _prove(clone: Runner, cand: MongoCandidate, n: int,
           reads: Mapping[str, tuple[MongoRead, str]]) -> Suggestion | None:
    """Build the candidate on the clone, measure, drop it again (each candidate is judged
    against the collection as the user has it)."""
    same = [(fp, text) for fp, (read, text) in reads.items()
            if read.collection == cand.collection]
    texts = [text for _, text in same]
    before = measure(clone, texts)
    write_before = write_cost(clone, cand.collection)
    name = f"dbplay_advice_{n}"
    built = clone(cand.ddl(name))
    if not built or built[0].error:
        return None
    try:
        after = measure(clone, texts)
        write_after = write_cost(clone, cand.collection)
        size = index_size(clone, cand.collection, name)
    finally:
        clone(f"{collection_ref(cand.collection)}.dropIndex({json.dumps(name)})")
    uses_index = any(name in m.indexes for m in after)
    affected = [k for k, (fp, _) in enumerate(same)
                if (name in after[k].indexes) or (not uses_index and fp in cand.statements)]
    return judge(cand, [texts[k] for k in affected], [before[k] for k in affected],
                 [after[k] for k in affected], size, write_before, write_after)


def judge(cand: MongoCandidate, texts: Sequence[str], before: Sequence[Measure],
          after: Sequence[Measure], size: int | None, write_before: float | None,
          write_after: float | None) -> Suggestion | None:
    if not texts:
        return None
    better, slower = [], []
    for k, (b, a) in enumerate(zip(before, after, strict=True)):
        docs_drop = (b.docs_per_returned is not None and a.docs_per_returned is not None
                     and b.docs_per_returned >= MIN_DOCS_DROP * max(a.docs_per_returned, 0.1))
        faster = (b.median_ms is not None and a.median_ms is not None
                  and a.median_ms * MIN_SPEEDUP <= b.median_ms)
        if b.median_ms is not None and a.median_ms is not None and \
                a.median_ms > b.median_ms * SLOWER_RATIO + NOISE_MS and not docs_drop:
            slower.append(k)
        elif docs_drop or faster:
            better.append(k)
    verified = bool(better) and not slower
    chosen = better if verified else list(range(len(texts)))
    before_ms = median([m for k in chosen if (m := before[k].median_ms) is not None])
    after_ms = median([m for k in chosen if (m := after[k].median_ms) is not None])
    write_pct = None
    if write_before and write_after is not None:
        write_pct = (write_after - write_before) / write_before * 100
    return Suggestion(ddl=cand.ddl(), statements=[texts[k] for k in chosen],
                      before_ms=before_ms, after_ms=after_ms, verified=verified,
                      size_bytes=size, write_cost_pct=write_pct,
                      reason=_reason(cand, [before[k] for k in chosen],
                                     [after[k] for k in chosen], before_ms, after_ms,
                                     verified, len(slower)))


def _reason(cand: MongoCandidate, before: Sequence[Measure], after: Sequence[Measure],
            before_ms: float | None, after_ms: float | None, verified: bool,
            slower: int) -> str:
    order = ", ".join(f"{k} {'desc' if d < 0 else 'asc'}" for k, d in cand.keys)
    text = (f"For {len(before)} statement(s) on {cand.collection} ({'; '.join(cand.why)}): "
            f"an equality-sort-range index ({order})")
    pairs = [(b.docs_per_returned, a.docs_per_returned) for b, a in zip(before, after,
                                                                        strict=True)
             if b.docs_per_returned is not None and a.docs_per_returned is not None]
    if pairs:
        b_docs, a_docs = max(pairs, key=lambda p: p[0] - p[1])
        text += (f"; documents examined per document returned fell from {b_docs:,.0f} to "
                 f"{a_docs:,.0f}")
        keys = [a.keys_per_returned for a in after if a.keys_per_returned is not None]
        if keys:
            text += f" (index keys examined per document returned: {max(keys):,.0f})"
    else:
        text += "; the server's explain reports no documents examined, so only time is known"
    if before_ms is not None and after_ms is not None:
        text += (f". Measured on a clone: median {before_ms:,.1f} ms before, "
                 f"{after_ms:,.2f} ms after ({before_ms / max(after_ms, 1e-3):,.1f}x)")
    if not verified:
        text += (". Not proven: " + (f"{slower} statement(s) ran slower" if slower else
                                     "no statement examined 10x fewer documents or ran "
                                     f"{MIN_SPEEDUP}x faster"))
    return text + "."
