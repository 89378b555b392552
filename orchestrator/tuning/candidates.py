"""Index candidates from what statements ask of a table (:mod:`.statements`): btree
keys ordered equality, then one range, then the sort (with its direction); the same with
INCLUDE columns (an index-only scan); partial indexes for null tests; GIN for jsonb
``@>`` and full text; trigram GIN for ``LIKE '%x%'``. A candidate an existing index or
primary key already serves is never made."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from engines.result import TableInfo
from orchestrator.tuning.statements import ParsedStatement, TableUse, quote_ident

#: at most this many INCLUDE columns (beyond them an index is half a table copy)
MAX_INCLUDE = 3


@dataclass
class Candidate:
    table: str
    keys: list[tuple[str, str]]  # (column or expression, ASC|DESC|"")
    method: str = "btree"  # btree | gin
    opclass: str = ""  # jsonb_path_ops, gin_trgm_ops
    include: list[str] = field(default_factory=list)
    where: str = ""
    #: fingerprints of the statements it may serve
    statements: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[object, ...]:
        return (self.table, tuple(self.keys), self.method, self.opclass, tuple(self.include),
                self.where)

    def ddl(self, engine: str = "postgres", name: str = "") -> str:
        cols = []
        for col, direction in self.keys:
            text = col if col.startswith("(") else quote_ident(col)
            if self.opclass:
                text += f" {self.opclass}"
            if direction == "DESC":
                text += " DESC"
            cols.append(text)
        if not name and engine == "sqlite":  # SQLite wants every index named
            name = "_".join([self.table, *(re.sub(r"\W+", "_", c).strip("_")
                                           for c, _ in self.keys), "idx"])
        named = f"{quote_ident(name)} " if name else ""
        using = f" USING {self.method}" if self.method != "btree" else ""
        ddl = f"CREATE INDEX {named}ON {quote_ident(self.table)}{using} ({', '.join(cols)})"
        if self.include and engine == "postgres":
            ddl += f" INCLUDE ({', '.join(quote_ident(c) for c in self.include)})"
        if self.where:
            ddl += f" WHERE {self.where}"
        return ddl


def candidates_for(statements: Iterable[ParsedStatement], tables: dict[str, TableInfo],
                   engine: str = "postgres", trigram: bool = True) -> list[Candidate]:
    """Every candidate of every statement, merged (one candidate serving several
    statements lists them all), less those an existing index serves."""
    merged: dict[tuple[object, ...], Candidate] = {}
    for stmt in statements:
        for use in stmt.uses:
            table = tables.get(use.table)
            if table is None or table.kind != "table":
                continue
            for cand in _for_use(use, engine, trigram):
                if served_by_existing(cand, table):
                    continue
                known = merged.setdefault(cand.key, cand)
                if stmt.fingerprint not in known.statements:
                    known.statements.append(stmt.fingerprint)
    return list(merged.values())


def _for_use(use: TableUse, engine: str, trigram: bool) -> list[Candidate]:
    out: list[Candidate] = []
    keys = [(c, "") for c in use.equality]
    why: list[str] = [f"equality on {', '.join(use.equality)}"] if use.equality else []
    if use.ranges:
        keys.append((use.ranges[0], ""))
        why.append(f"range on {use.ranges[0]}")
    sort_keys = [c for c, _ in use.sort]
    if use.sort and (not use.ranges or sort_keys[0] == use.ranges[0]):
        sorted_keys = keys[:-1] if use.ranges else keys
        mixed = len({d for _, d in use.sort}) > 1
        # one direction: a btree is read backwards as fast; mixed ones need it written
        sorted_keys = sorted_keys + [(c, d if mixed else "")
                                     for c, d in use.sort if (c, "") not in sorted_keys]
        out.append(Candidate(use.table, sorted_keys,
                             why=[*why[:1], f"order by {', '.join(sort_keys)}"]))
    if keys:
        out.append(Candidate(use.table, keys, why=list(why)))
    for base in list(out):
        extra = [c for c in (use.selected or []) if c not in {k for k, _ in base.keys}]
        if engine == "postgres" and use.selected and 0 < len(extra) <= MAX_INCLUDE:
            out.append(Candidate(base.table, base.keys, include=extra,
                                 why=[*base.why, f"includes {', '.join(extra)}"]))
    for col in use.joins:  # a nested loop looks rows up by the join column
        if (col, "") not in keys:
            out.append(Candidate(use.table, [(col, "")], why=[f"join on {col}"]))
    for test in use.null_tests:
        body = keys or [(c, d) for c, d in use.sort]
        if body:
            out.append(Candidate(use.table, body, where=test, why=[*why, f"only rows {test}"]))
    if engine == "postgres":
        for col in use.jsonb_contains:
            out.append(Candidate(use.table, [(col, "")], method="gin", opclass="jsonb_path_ops",
                                 why=[f"jsonb containment (@>) on {col}"]))
        for expr in use.full_text:
            out.append(Candidate(use.table, [(f"({expr})", "")], method="gin",
                                 why=[f"full text search on {expr}"]))
        if trigram:
            for col in use.contains_text:
                out.append(Candidate(use.table, [(col, "")], method="gin",
                                     opclass="gin_trgm_ops",
                                     why=[f"LIKE '%...%' on {col} (trigram)"]))
    return out


def served_by_existing(cand: Candidate, table: TableInfo) -> bool:
    """Whether an existing index (the primary key's included) already serves it: its
    leading columns are the candidate's keys, or it is unique on a subset of the
    candidate's equality columns (at most one row to find)."""
    if cand.method != "btree" or cand.where:
        return any(_definition_matches(cand, ix.definition or "") for ix in table.indexes)
    wanted = [c for c, _ in cand.keys]
    existing = [list(ix.columns) for ix in table.indexes]
    unique = [list(ix.columns) for ix in table.indexes if ix.unique]
    if table.primary_key:
        existing.append(list(table.primary_key))
        unique.append(list(table.primary_key))
    if any(cols[:len(wanted)] == wanted for cols in existing):
        return not cand.include or False
    eq_cols = set(wanted)
    return any(cols and set(cols) <= eq_cols for cols in unique)


def _definition_matches(cand: Candidate, definition: str) -> bool:
    lowered = definition.lower()
    col = cand.keys[0][0].lower()
    if cand.method == "gin":
        return " gin " in lowered and col.strip("()") in lowered
    return bool(cand.where) and cand.where.lower() in lowered and col in lowered
