"""A :class:`~orchestrator.design.diff.Migration` as DDL statements for one dialect.

Statements are rendered by Alembic's operations in offline (``as_sql``) mode over
SQLAlchemy Core tables, so quoting and syntax are the dialect's own. Types are written as
the design spells them. SQLite cannot alter a column or a constraint in place: such a
table is rebuilt (create the new table, copy the rows, drop the old one, rename), which
keeps the data; foreign key enforcement is switched off for the script (SQLite allows
that only outside a transaction), as SQLite's documentation prescribes.
"""

from __future__ import annotations

import io
import re
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.schema import CreateTable, SetColumnComment, SetTableComment
from sqlalchemy.types import UserDefinedType

from orchestrator.design.diff import Migration, TableDiff
from orchestrator.design.model import Column, Enum, Index, Table, is_widening

SERIAL = {"int2": "smallserial", "smallint": "smallserial", "int8": "bigserial",
          "bigint": "bigserial"}
REBUILD_PREFIX = "_dbplay_new_"


@dataclass
class Step:
    sql: str
    destructive: bool = False
    note: str = ""
    table: str | None = None
    #: the statement cannot run inside a transaction (SQLite's foreign_keys pragma)
    outside_transaction: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("outside_transaction")
        return data


class RawType(UserDefinedType[Any]):
    """A column type written exactly as the design spells it."""

    cache_ok = True

    def __init__(self, spelling: str) -> None:
        self.spelling = spelling

    def get_col_spec(self, **_: Any) -> str:
        return self.spelling


class _Renderer:
    def __init__(self, dialect: str) -> None:
        self.buffer = io.StringIO()
        ctx = MigrationContext.configure(dialect_name=dialect, opts={
            "as_sql": True, "output_buffer": self.buffer, "literal_binds": True})
        self.op = Operations(ctx)
        self.dialect = ctx.dialect
        self.steps: list[Step] = []

    def emit(self, note: str, table: str | None, operation: str, *args: Any,
             destructive: bool = False, **kwargs: Any) -> None:
        """The statements Alembic's ``operation`` (``add_column``, ...) writes."""
        self.buffer.seek(0)
        self.buffer.truncate()
        getattr(self.op, operation)(*args, **kwargs)
        for sql in re.split(r";\s*\n\s*\n", self.buffer.getvalue()):
            if sql.strip():
                self.steps.append(Step(sql.strip() + ";", destructive, note, table))

    def raw(self, sql: str, note: str, table: str | None = None,
            destructive: bool = False) -> None:
        self.steps.append(Step(sql, destructive, note, table))

    def create_table(self, table: sa.Table, note: str, name: str,
                     destructive: bool = False) -> None:
        """CREATE TABLE, and PostgreSQL's comments on the table and its columns."""
        self.raw(str(CreateTable(table).compile(dialect=self.dialect)).strip() + ";", note, name,
                 destructive)
        if table.comment:
            self.raw(str(SetTableComment(table).compile(dialect=self.dialect)) + ";",
                     f"comment on {name}", name)
        for column in table.columns:
            if column.comment:
                self.raw(str(SetColumnComment(column).compile(dialect=self.dialect)) + ";",
                         f"comment on {name}.{column.name}", name)

    def quote(self, name: str) -> str:
        return ".".join(self.dialect.identifier_preparer.quote(p) for p in name.split("."))


def _split(name: str) -> tuple[str | None, str]:
    schema, dot, rest = name.partition(".")
    return (schema, rest) if dot else (None, name)


def sa_column(column: Column, dialect: str, primary: bool = False) -> sa.Column[Any]:
    spelling = column.type
    extra: list[Any] = []
    if column.identity and dialect == "postgresql":
        if column.identity in ("always", "by default"):
            extra.append(sa.Identity(always=column.identity == "always"))
        else:
            spelling = SERIAL.get(spelling.lower(), "serial")
    default = None
    if column.default is not None and not column.identity:
        default = sa.text(column.default)
    return sa.Column(column.name, RawType(spelling), *extra, primary_key=primary,
                     nullable=column.nullable and not primary, server_default=default,
                     autoincrement=False, comment=column.note if dialect == "postgresql"
                     else None)


def sa_table(table: Table, dialect: str, *, name: str | None = None,
             with_fks: bool = True, metadata: sa.MetaData | None = None) -> sa.Table:
    schema, bare = _split(name or table.name)
    metadata = metadata or sa.MetaData()
    if with_fks:  # the referenced tables, as far as the foreign keys need them
        for fk in table.foreign_keys:
            ref_schema, ref_bare = _split(fk.ref_table)
            key = f"{ref_schema}.{ref_bare}" if ref_schema else ref_bare
            if fk.ref_table != table.name and key not in metadata.tables:
                sa.Table(ref_bare, metadata, *[sa.Column(c, RawType("")) for c in
                                               fk.ref_columns], schema=ref_schema)
    columns: list[Any] = [sa_column(c, dialect, c.name in table.primary_key)
                          for c in table.columns]
    for column in columns:  # the key in its own order (not the columns'), as one constraint
        column.primary_key = False
    constraints: list[Any] = []
    if table.primary_key:
        constraints.append(sa.PrimaryKeyConstraint(*table.primary_key))
    for index in table.indexes:
        if index.unique and index.constraint and not index.where and not index.has_expressions:
            constraints.append(sa.UniqueConstraint(*index.columns, name=index.name))
    if with_fks:
        for fk in table.foreign_keys:
            constraints.append(sa.ForeignKeyConstraint(
                fk.columns, [f"{fk.ref_table}.{c}" for c in fk.ref_columns], name=fk.name,
                ondelete=_action(fk.on_delete), onupdate=_action(fk.on_update)))
    kwargs: dict[str, Any] = {"schema": schema}
    if dialect == "sqlite" and any(c.identity for c in table.columns):
        kwargs["sqlite_autoincrement"] = True
    return sa.Table(bare, metadata, *columns, *constraints,
                    comment=table.note if dialect == "postgresql" else None, **kwargs)


def _action(action: str | None) -> str | None:
    return action.upper() if action else None


def _index_name(table: Table, index: Index) -> str:
    if index.name:
        return index.name
    words = [re.sub(r"\W+", "_", c).strip("_") for c in index.columns]
    suffix = "key" if index.unique and index.constraint else "idx"
    return f"{_split(table.name)[1]}_{'_'.join(words)}_{suffix}"[:63]


def _standalone(index: Index) -> bool:
    """An index created on its own (not a UNIQUE constraint inside CREATE TABLE)."""
    return not (index.unique and index.constraint and not index.where
                and not index.has_expressions)


def _create_index(r: _Renderer, table: Table, index: Index, dialect: str) -> None:
    schema, bare = _split(table.name)
    name = _index_name(table, index)
    if not _standalone(index) and dialect == "postgresql":
        r.emit(f"unique {', '.join(index.columns)} on {table.name}", table.name,
               "create_unique_constraint", name, bare, index.columns, schema=schema)
        return
    where: dict[str, Any] = {f"{dialect}_where": sa.text(index.where)} if index.where else {}
    cols = [sa.text(c) if not re.fullmatch(r"\w+", c) else c for c in index.columns]
    r.emit(f"index {name} on {table.name}", table.name, "create_index", name, bare, cols,
           unique=index.unique, schema=schema, **where)


def _drop_index(r: _Renderer, table: Table, index: Index, dialect: str) -> None:
    schema, bare = _split(table.name)
    if index.constraint and dialect == "postgresql":
        r.emit(f"drop unique constraint {index.name}", table.name, "drop_constraint",
               index.name, bare, type_="unique", schema=schema)
    else:
        r.emit(f"drop index {index.name}", table.name, "drop_index", index.name,
               table_name=bare, schema=schema)


# -- the script ------------------------------------------------------------------------

def render(migration: Migration, dialect: str) -> list[Step]:
    r = _Renderer(dialect)
    if dialect == "postgresql":
        _postgres(r, migration)
    else:
        _sqlite(r, migration)
    return r.steps


def _create_enum(r: _Renderer, enum: Enum) -> None:
    values = ", ".join("'" + v.replace("'", "''") + "'" for v in enum.values)
    r.raw(f"CREATE TYPE {r.quote(enum.name)} AS ENUM ({values});", f"new enum {enum.name}")


def _postgres(r: _Renderer, m: Migration) -> None:
    for enum in m.enums_added:
        _create_enum(r, enum)
    for name, value in m.enum_values_added:
        r.raw(f"ALTER TYPE {r.quote(name)} ADD VALUE '{value.replace(chr(39), chr(39) * 2)}';",
              f"new value {value!r} of enum {name}")
    for d in m.tables_changed:
        for fk in d.fks_dropped:
            schema, bare = _split(d.live.name)
            r.emit(f"drop foreign key {fk.name}", d.live.name, "drop_constraint", fk.name, bare,
                   type_="foreignkey", schema=schema)
        for index in d.indexes_dropped:
            _drop_index(r, d.live, index, "postgresql")
    for d in m.tables_changed:
        _alter_postgres_table(r, d)
    for table in m.tables_added:
        r.create_table(sa_table(table, "postgresql", with_fks=False), f"new table {table.name}",
                       table.name)
        for index in table.indexes:
            if _standalone(index):
                _create_index(r, table, index, "postgresql")
    for d in m.tables_changed:
        for index in d.indexes_added:
            _create_index(r, d.target, index, "postgresql")
    for table, fks in [(t, t.foreign_keys) for t in m.tables_added] + \
            [(d.target, d.fks_added) for d in m.tables_changed]:
        schema, bare = _split(table.name)
        for fk in fks:
            ref_schema, ref_bare = _split(fk.ref_table)
            name = fk.name or f"{bare}_{'_'.join(fk.columns)}_fkey"[:63]
            r.emit(f"foreign key {table.name}({', '.join(fk.columns)}) -> {fk.ref_table}",
                   table.name, "create_foreign_key", name, bare, ref_bare, fk.columns,
                   fk.ref_columns, source_schema=schema, referent_schema=ref_schema,
                   ondelete=_action(fk.on_delete), onupdate=_action(fk.on_update))
    for table in m.tables_dropped:
        r.raw(f"DROP TABLE {r.quote(table.name)};", f"drop table {table.name} and its rows",
              table.name, destructive=True)
    for enum in m.enums_dropped:
        r.raw(f"DROP TYPE {r.quote(enum.name)};", f"drop enum {enum.name}", destructive=True)


def _alter_postgres_table(r: _Renderer, d: TableDiff) -> None:
    schema, bare = _split(d.live.name)
    if d.renamed_table:
        r.emit(f"rename table {d.live.name} to {d.target.name}", d.live.name, "rename_table",
               bare, _split(d.target.name)[1], schema=schema)
        bare = _split(d.target.name)[1]
    table = d.target.name
    for old_name, new_name in d.renamed:
        r.emit(f"rename column {old_name} to {new_name} (keeps the data)", table,
               "alter_column", bare, old_name, new_column_name=new_name, schema=schema)
    if d.pk_changed and d.live.primary_key:
        name = d.live.primary_key_name or f"{bare}_pkey"
        r.emit(f"drop the primary key ({', '.join(d.live.primary_key)})", table,
               "drop_constraint", name, bare, type_="primary", schema=schema)
    for column in d.added:
        r.emit(f"new column {column.name}", table, "add_column", bare,
               sa_column(column, "postgresql"), schema=schema)
    for change in d.altered:
        new, old = change.new, change.old
        kwargs: dict[str, Any] = {"existing_type": RawType(old.type), "schema": schema}
        if change.type_changed:
            kwargs["type_"] = RawType(new.type)
            kwargs["postgresql_using"] = f'"{new.name}"::{new.type}'
        if change.nullable_changed:
            kwargs["nullable"] = new.nullable
        if change.default_changed:
            kwargs["server_default"] = sa.text(new.default) if new.default is not None else None
        narrowing = change.type_changed and not is_widening(old.type, new.type, "postgresql")
        what = [w for w, on in (("type " + old.type + " -> " + new.type, change.type_changed),
                                ("NOT NULL" if not new.nullable else "NULL allowed",
                                 change.nullable_changed),
                                ("default", change.default_changed)) if on]
        r.emit(f"alter column {new.name}: {', '.join(what)}"
               + (" (narrows the type: values may be cut or refused)" if narrowing else ""),
               table, "alter_column", bare, new.name, destructive=narrowing, **kwargs)
    if d.pk_changed and d.target.primary_key:
        r.emit(f"primary key ({', '.join(d.target.primary_key)})", table,
               "create_primary_key", f"{bare}_pkey", bare, d.target.primary_key, schema=schema)
    for column in d.dropped:
        r.emit(f"drop column {column.name} and its values", table, "drop_column", bare,
               column.name, schema=schema, destructive=True)


# -- SQLite ----------------------------------------------------------------------------

def needs_rebuild(d: TableDiff) -> bool:
    """SQLite alters in place only renames, new plain columns and indexes."""
    def simple_add(c: Column) -> bool:
        return c.nullable or c.default is not None
    return bool(d.altered or d.dropped or d.fks_added or d.fks_dropped or d.pk_changed
                or not all(simple_add(c) for c in d.added)
                or any(not _standalone(i) for i in d.indexes_added + d.indexes_dropped))


def _sqlite(r: _Renderer, m: Migration) -> None:
    rebuilds = [d for d in m.tables_changed if needs_rebuild(d)]
    if rebuilds:
        r.steps.append(Step("PRAGMA foreign_keys = OFF;", note="SQLite: foreign keys are not "
                            "enforced while tables are rebuilt (checked again after)",
                            outside_transaction=True))
    for table in m.tables_added:
        r.create_table(sa_table(table, "sqlite"), f"new table {table.name}", table.name)
        for index in table.indexes:
            if _standalone(index):
                _create_index(r, table, index, "sqlite")
    for d in m.tables_changed:
        if d in rebuilds:
            _rebuild(r, d)
            continue
        if d.renamed_table:
            r.emit(f"rename table {d.live.name} to {d.target.name}", d.live.name,
                   "rename_table", d.live.name, d.target.name)
        for old, new in d.renamed:
            r.emit(f"rename column {old} to {new} (keeps the data)", d.target.name,
                   "alter_column", d.target.name, old, new_column_name=new)
        for index in d.indexes_dropped:
            _drop_index(r, d.target, index, "sqlite")
        for column in d.added:
            r.emit(f"new column {column.name}", d.target.name, "add_column", d.target.name,
                   sa_column(column, "sqlite"))
        for index in d.indexes_added:
            _create_index(r, d.target, index, "sqlite")
    for table in m.tables_dropped:
        r.raw(f"DROP TABLE {r.quote(table.name)};", f"drop table {table.name} and its rows",
              table.name, destructive=True)
    if rebuilds:
        r.raw("PRAGMA foreign_key_check;", "rows whose foreign keys now point nowhere")


def _rebuild(r: _Renderer, d: TableDiff) -> None:
    target = d.target
    temp = REBUILD_PREFIX + target.name
    t = sa_table(target, "sqlite", name=temp)
    why = "; ".join(filter(None, [
        ", ".join(f"drop column {c.name}" for c in d.dropped),
        ", ".join(f"alter column {c.new.name}" for c in d.altered),
        "foreign keys" if d.fks_added or d.fks_dropped else "",
        "primary key" if d.pk_changed else "",
        ", ".join(f"new column {c.name}" for c in d.added)]))
    destructive = bool(d.dropped) or any(
        c.type_changed and not is_widening(c.old.type, c.new.type, "sqlite") for c in d.altered)
    r.create_table(t, f"rebuild {target.name} ({why}): the new table", target.name,
                   destructive)
    pairs = [(c.name, old) for c in target.columns if (old := d.source_of(c.name)) is not None]
    into = ", ".join(r.quote(new) for new, _ in pairs)
    source = ", ".join(r.quote(old) for _, old in pairs)
    r.raw(f"INSERT INTO {r.quote(temp)} ({into}) SELECT {source} FROM {r.quote(d.live.name)};",
          f"rebuild {target.name}: copy every row", target.name)
    r.raw(f"DROP TABLE {r.quote(d.live.name)};", f"rebuild {target.name}: drop the old table",
          target.name, destructive)
    r.raw(f"ALTER TABLE {r.quote(temp)} RENAME TO {r.quote(target.name)};",
          f"rebuild {target.name}: the new table takes its name", target.name)
    for index in target.indexes:
        if _standalone(index):
            _create_index(r, target, index, "sqlite")


def script(steps: list[Step], dialect: str) -> str:
    """The whole migration as one script: every step in one transaction (what may not run
    inside one comes first)."""
    before = [s.sql for s in steps if s.outside_transaction]
    inside = [s.sql for s in steps if not s.outside_transaction]
    return "\n".join([*before, "BEGIN;", *inside, "COMMIT;"]) + "\n"
