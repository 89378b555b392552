"""What a migration may break, said before it runs.

Static notes come from the designs alone (tables rewritten, foreign keys without an
index, tables without a primary key); the rows a new NOT NULL, UNIQUE or foreign key
would refuse are counted by :func:`count_queries`, read-only statements run on the live
sandbox, each answering one number.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from orchestrator.design.ddl import needs_rebuild
from orchestrator.design.diff import Migration, TableDiff
from orchestrator.design.model import Design, Table, canonical_type, is_widening, split_type


@dataclass
class Risk:
    kind: str  # not_null | unique | foreign_key | rewrite | unindexed_fk | no_primary_key
    table: str
    message: str
    rows: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _q(name: str) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in name.split("."))


def static_risks(migration: Migration, target: Design, dialect: str) -> list[Risk]:
    risks: list[Risk] = []
    for d in migration.tables_changed:
        rewritten = needs_rebuild(d) if dialect == "sqlite" else any(
            c.type_changed and _rewrites(c.old.type, c.new.type)
            for c in d.altered)
        if rewritten:
            risks.append(Risk("rewrite", d.target.name,
                              f"{d.target.name} is rewritten (every row copied); it is locked "
                              "while that runs", d.live.row_count))
    changed = {t.name for t in migration.tables_added} | {
        d.target.name for d in migration.tables_changed}
    for table in target.tables:
        if table.name not in changed:
            continue
        if not table.primary_key:
            risks.append(Risk("no_primary_key", table.name,
                              f"{table.name} has no primary key"))
        for fk in table.foreign_keys:
            if not _indexed(table, fk.columns):
                risks.append(Risk("unindexed_fk", table.name,
                                  f"foreign key {table.name}({', '.join(fk.columns)}) -> "
                                  f"{fk.ref_table} has no index: deletes and updates of "
                                  f"{fk.ref_table} scan {table.name}"))
    return risks


def _rewrites(old: str, new: str) -> bool:
    """PostgreSQL rewrites a table for a type change, but for widening a varchar/text."""
    kinds = ("varchar", "text")
    return not (split_type(canonical_type(old, "postgresql"))[0] in kinds
                and split_type(canonical_type(new, "postgresql"))[0] in kinds
                and is_widening(old, new, "postgresql"))


def _indexed(table: Table, columns: list[str]) -> bool:
    leading = [table.primary_key] + [i.columns for i in table.indexes if not i.where]
    return any(cols[:len(columns)] == columns for cols in leading)


def count_queries(migration: Migration) -> list[tuple[Risk, str]]:
    """Risks whose row count a query gives: (risk, ``SELECT count(*) ...`` on the live
    sandbox). Tables new in the design are empty, so only changed ones are counted."""
    out: list[tuple[Risk, str]] = []
    for d in migration.tables_changed:
        out += _table_counts(d)
    return out


def _table_counts(d: TableDiff) -> list[tuple[Risk, str]]:
    out: list[tuple[Risk, str]] = []
    live, name = _q(d.live.name), d.target.name
    source = {c.name: d.source_of(c.name) for c in d.target.columns}
    for change in d.altered:
        if change.nullable_changed and not change.new.nullable:
            out.append((Risk("not_null", name, f"rows of {name} with {change.new.name} NULL "
                             "would violate the new NOT NULL"),
                        f"SELECT count(*) FROM {live} WHERE {_q(change.old.name)} IS NULL"))
    for column in d.added:
        if not column.nullable and column.default is None and not column.identity:
            out.append((Risk("not_null", name, f"new column {column.name} is NOT NULL with "
                             f"no default: every existing row of {name} violates it"),
                        f"SELECT count(*) FROM {live}"))
    for index in d.indexes_added:
        old = [source.get(c) for c in index.columns]
        if not index.unique or any(o is None for o in old):
            continue
        cols = ", ".join(_q(str(o)) for o in old)
        where = f" WHERE {index.where}" if index.where else ""
        out.append((Risk("unique", name, f"rows of {name} sharing a ({', '.join(index.columns)})"
                         " would violate the new UNIQUE"),
                    f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {live}{where} "
                    f"GROUP BY {cols} HAVING count(*) > 1) AS dup"))
    for fk in d.fks_added:
        old = [source.get(c) for c in fk.columns]
        if any(o is None for o in old):
            continue
        match = " AND ".join(f"p.{_q(r)} = c.{_q(str(o))}" for o, r in zip(old, fk.ref_columns))
        present = " AND ".join(f"c.{_q(str(o))} IS NOT NULL" for o in old)
        out.append((Risk("foreign_key", name, f"rows of {name} whose ({', '.join(fk.columns)}) "
                         f"has no match in {fk.ref_table} would violate the new foreign key"),
                    f"SELECT count(*) FROM {live} AS c WHERE {present} AND NOT EXISTS "
                    f"(SELECT 1 FROM {_q(fk.ref_table)} AS p WHERE {match})"))
    return out
