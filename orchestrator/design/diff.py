"""What changes between two designs (the live schema and a target), table by table.

Columns match by name, or by a rename the target marks (``renamed_from``), so a marked
rename is never a drop plus an add. Keys and indexes match by what they cover, not by
their names (DBML usually leaves names out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from orchestrator.design.model import Column, Design, Enum, ForeignKey, Index, Table, same_type


@dataclass
class ColumnChange:
    old: Column
    new: Column
    type_changed: bool = False
    nullable_changed: bool = False
    default_changed: bool = False


@dataclass
class TableDiff:
    live: Table
    target: Table
    added: list[Column] = field(default_factory=list)
    dropped: list[Column] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (old, new)
    altered: list[ColumnChange] = field(default_factory=list)
    fks_added: list[ForeignKey] = field(default_factory=list)
    fks_dropped: list[ForeignKey] = field(default_factory=list)
    indexes_added: list[Index] = field(default_factory=list)
    indexes_dropped: list[Index] = field(default_factory=list)
    pk_changed: bool = False

    @property
    def renamed_table(self) -> bool:
        return self.live.name != self.target.name

    @property
    def empty(self) -> bool:
        return not (self.added or self.dropped or self.renamed or self.altered or self.fks_added
                    or self.fks_dropped or self.indexes_added or self.indexes_dropped
                    or self.pk_changed or self.renamed_table)

    def source_of(self, target_column: str) -> str | None:
        """The live column a target column's values come from (None for a new one)."""
        for old, new in self.renamed:
            if new == target_column:
                return old
        return target_column if self.live.column(target_column) else None


@dataclass
class Migration:
    enums_added: list[Enum] = field(default_factory=list)
    enum_values_added: list[tuple[str, str]] = field(default_factory=list)
    enums_dropped: list[Enum] = field(default_factory=list)
    tables_added: list[Table] = field(default_factory=list)
    tables_dropped: list[Table] = field(default_factory=list)
    tables_changed: list[TableDiff] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.enums_added or self.enum_values_added or self.enums_dropped
                    or self.tables_added or self.tables_dropped or self.tables_changed)


def diff(live: Design, target: Design, dialect: str) -> Migration:
    migration = Migration()
    for enum in target.enums:
        old = live.enum(enum.name)
        if old is None:
            migration.enums_added.append(enum)
        else:
            migration.enum_values_added += [(enum.name, v) for v in enum.values
                                            if v not in old.values]
    migration.enums_dropped = [e for e in live.enums if target.enum(e.name) is None]
    matched: set[str] = set()
    for table in target.tables:
        old_table = live.table(table.name)
        if old_table is None and table.renamed_from and target.table(table.renamed_from) is None:
            old_table = live.table(table.renamed_from)
        if old_table is None:
            migration.tables_added.append(table)
            continue
        matched.add(old_table.name)
        changes = diff_table(old_table, table, dialect)
        if not changes.empty:
            migration.tables_changed.append(changes)
    migration.tables_dropped = [t for t in live.tables if t.name not in matched]
    return migration


def diff_table(live: Table, target: Table, dialect: str) -> TableDiff:
    changes = TableDiff(live, target)
    target_names = {c.name for c in target.columns}
    used: set[str] = set()
    for column in target.columns:
        old = live.column(column.name)
        if old is None and column.renamed_from and column.renamed_from not in target_names:
            old = live.column(column.renamed_from)
            if old is not None:
                changes.renamed.append((old.name, column.name))
        if old is None:
            changes.added.append(column)
            continue
        used.add(old.name)
        change = ColumnChange(old, column,
                              type_changed=not same_type(old.type, column.type, dialect),
                              nullable_changed=old.nullable != column.nullable,
                              default_changed=not column.identity and not old.identity
                              and normal_default(old.default) != normal_default(column.default))
        if change.type_changed or change.nullable_changed or change.default_changed:
            changes.altered.append(change)
    changes.dropped = [c for c in live.columns if c.name not in used]
    renames = dict(changes.renamed)

    def moved(names: list[str]) -> list[str]:
        return [renames.get(n, n) for n in names]

    changes.pk_changed = moved(live.primary_key) != target.primary_key
    live_fks = {_fk_key(fk, moved(fk.columns)): fk for fk in live.foreign_keys}
    target_fks = {_fk_key(fk, fk.columns): fk for fk in target.foreign_keys}
    changes.fks_added = [fk for key, fk in target_fks.items() if key not in live_fks]
    changes.fks_dropped = [fk for key, fk in live_fks.items() if key not in target_fks]
    live_ix = {_index_key(ix, moved(ix.columns)): ix for ix in live.indexes}
    target_ix = {_index_key(ix, ix.columns): ix for ix in target.indexes}
    changes.indexes_added = [ix for key, ix in target_ix.items() if key not in live_ix]
    changes.indexes_dropped = [ix for key, ix in live_ix.items() if key not in target_ix]
    return changes


def _fk_key(fk: ForeignKey, columns: list[str]) -> tuple[object, ...]:
    return (tuple(columns), fk.ref_table, tuple(fk.ref_columns), fk.on_delete or None,
            fk.on_update or None)


def _index_key(ix: Index, columns: list[str]) -> tuple[object, ...]:
    return (tuple(_normal_sql(c) for c in columns), ix.unique, _normal_sql(ix.where or ""))


_CAST = re.compile(r"::[\w .\"\[\]]+$")


def normal_default(default: str | None) -> str | None:
    """A default as a comparable text: ``'G'::mpaa_rating`` and ``'G'`` are one default."""
    if default is None or default.strip().upper() == "NULL":
        return None
    text = default.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    previous = None
    while previous != text:
        previous, text = text, _CAST.sub("", text).strip()
        if text.startswith("(") and text.endswith(")"):
            text = text[1:-1].strip()
    if re.fullmatch(r"'-?\d+(\.\d+)?'", text):
        text = text.strip("'")
    return text.lower()


def _normal_sql(text: str) -> str:
    text = re.sub(r"\s+", " ", text.strip()).lower()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    return text.replace('"', "")
