"""A :class:`~orchestrator.design.model.Design` to DBML and back, through pydbml.

Conventions beyond plain DBML (the README lists them):

* a partial index carries its predicate in its note: ``note: 'where: rental_date > now()'``;
* a composite UNIQUE constraint (rather than a unique index) has the note ``'constraint'``;
* a column or table renamed by the design says so in its note: ``'renamed from old_name'``;
* ``increment`` is PostgreSQL's ``serial``/identity or SQLite's ``AUTOINCREMENT``.
"""

from __future__ import annotations

import re
from typing import Any

from pydbml import Database, PyDBML
from pydbml.classes import Column as DColumn
from pydbml.classes import Enum as DEnum
from pydbml.classes import EnumItem, Expression, Reference
from pydbml.classes import Index as DIndex
from pydbml.classes import Table as DTable
from pydbml.exceptions import DBMLError
from pyparsing import ParseBaseException

from engines.errors import InvalidRequest
from orchestrator.design.model import (
    RENAME_NOTE,
    Column,
    Design,
    Enum,
    ForeignKey,
    Index,
    Table,
    short_type,
)

_STRING = re.compile(r"^'((?:[^']|'')*)'(::[\w .\"\[\]()]+)?$", re.DOTALL)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_WHERE_NOTE = re.compile(r"^\s*where:\s*(.+)$", re.IGNORECASE | re.DOTALL)
_SIMPLE_TYPE = re.compile(r"^[\w.]+(\([\d, ]*\))?(\[\])*$")


# -- to DBML -------------------------------------------------------------------------

def to_dbml(design: Design, dialect: str) -> str:
    db = Database()
    for enum in design.enums:
        schema, name = _split(enum.name)
        db.add(DEnum(name, [EnumItem(v) for v in enum.values], schema=schema))
    tables: dict[str, DTable] = {}
    for table in design.tables:
        schema, name = _split(table.name)
        dt = DTable(name, schema=schema, note=f"renamed from {table.renamed_from}"
                    if table.renamed_from else table.note or None)
        single_unique = {i.columns[0] for i in table.indexes
                         if i.unique and i.constraint and len(i.columns) == 1 and not i.where}
        for c in table.columns:
            note = f"renamed from {c.renamed_from}" if c.renamed_from else c.note
            dt.add_column(DColumn(
                c.name, _dbml_type(c.type, dialect),
                pk=len(table.primary_key) == 1 and c.name in table.primary_key,
                autoinc=bool(c.identity), not_null=not c.nullable,
                unique=c.name in single_unique, default=_dbml_default(c.default),
                note=note or None))
        if len(table.primary_key) > 1:
            dt.add_index(DIndex([dt[c] for c in table.primary_key], pk=True))
        for index in table.indexes:
            if index.constraint and len(index.columns) == 1 and not index.where:
                continue
            subjects: list[Any] = [dt[c] if _has_column(dt, c) else Expression(c)
                                   for c in index.columns]
            notes = (["constraint"] if index.constraint else []) + \
                ([f"where: {index.where}"] if index.where else [])
            dt.add_index(DIndex(subjects, name=index.name, unique=index.unique,
                                note="; ".join(notes) or None))
        db.add(dt)
        tables[table.name] = dt
    for table in design.tables:
        for fk in table.foreign_keys:
            ref = tables.get(fk.ref_table)
            if ref is None:
                continue
            db.add(Reference(">", [tables[table.name][c] for c in fk.columns],
                             [ref[c] for c in fk.ref_columns], name=fk.name,
                             on_delete=fk.on_delete, on_update=fk.on_update))
    text: str = db.dbml
    if design.left_out:
        text = "\n".join(f"// not in DBML: {what}" for what in design.left_out) + "\n\n" + text
    return text


def _split(name: str) -> tuple[str, str]:
    schema, dot, rest = name.partition(".")
    return (schema, rest) if dot else ("public", name)


def _has_column(table: DTable, name: str) -> bool:
    return any(c.name == name for c in table.columns)


def _dbml_type(spelling: str, dialect: str) -> str:
    short = short_type(spelling) if dialect == "postgresql" else spelling
    if _SIMPLE_TYPE.match(short):
        return short
    base, paren, rest = short.partition("(")
    return f'"{base.strip()}"' + (paren + rest if paren else "")


def _dbml_default(default: str | None) -> Any:
    if default is None:
        return None
    text = default.strip()
    string = _STRING.match(text)
    if string:
        return string.group(1).replace("''", "'")
    if _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return Expression(text)


# -- from DBML -----------------------------------------------------------------------

def from_dbml(text: str) -> Design:
    """The design a DBML text describes; a DBML mistake is an InvalidRequest."""
    try:
        parsed = PyDBML(text)
    except (DBMLError, ParseBaseException, ValueError, KeyError, AttributeError) as exc:
        raise InvalidRequest(f"the DBML does not parse: {exc}") from exc
    design = Design()
    for enum in parsed.enums:
        design.enums.append(Enum(_name(enum.schema, enum.name), [i.name for i in enum.items]))
    for dt in parsed.tables:
        table = Table(_name(dt.schema, dt.name), note=_note(dt.note))
        rename = RENAME_NOTE.match(table.note or "")
        if rename:
            table.renamed_from, table.note = rename.group(1), None
        for dc in dt.columns:
            column = Column(dc.name, _type_name(dc.type), nullable=not (dc.not_null or dc.pk),
                            default=_sql_default(dc.default),
                            identity="serial" if dc.autoinc else None, note=_note(dc.note))
            rename = RENAME_NOTE.match(column.note or "")
            if rename:
                column.renamed_from, column.note = rename.group(1), None
            table.columns.append(column)
            if dc.pk:
                table.primary_key.append(dc.name)
            if dc.unique:
                table.indexes.append(Index(None, [dc.name], unique=True, constraint=True))
        for di in dt.indexes:
            subjects = [s.name if isinstance(s, DColumn) else str(getattr(s, "text", s))
                        for s in di.subjects]
            if di.pk:
                table.primary_key = subjects
                continue
            note = _note(di.note) or ""
            parts = [p.strip() for p in note.split(";")]
            where = next((m.group(1).strip() for p in parts if (m := _WHERE_NOTE.match(p))), None)
            table.indexes.append(Index(di.name or None, subjects, bool(di.unique), where,
                                       constraint="constraint" in parts))
        design.tables.append(table)
    for ref in parsed.refs:
        child, parent = (ref.col1, ref.col2) if ref.type in (">", "-") else (ref.col2, ref.col1)
        child_table = design.table(_name(child[0].table.schema, child[0].table.name))
        if child_table is None:
            continue
        child_table.foreign_keys.append(ForeignKey(
            [c.name for c in child], _name(parent[0].table.schema, parent[0].table.name),
            [c.name for c in parent], ref.name or None, _action(ref.on_delete),
            _action(ref.on_update)))
    return design


def _name(schema: str | None, name: str) -> str:
    return name if schema in (None, "", "public") else f"{schema}.{name}"


def _note(note: Any) -> str | None:
    text = getattr(note, "text", note)
    return str(text) if text else None


def _type_name(dtype: Any) -> str:
    if isinstance(dtype, DEnum):
        return _name(dtype.schema, dtype.name)
    return str(dtype)


def _sql_default(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Expression):
        return str(value.text)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _action(action: str | None) -> str | None:
    if not action or action.lower() in ("no action",):
        return None
    return action.lower()
