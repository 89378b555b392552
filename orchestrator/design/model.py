"""The designer's typed model: tables, columns, keys, indexes and enums of one schema.

Types are kept as the database spells them (``character varying(20)``, ``text[]``,
``mpaa_rating``); :func:`same_type` compares two spellings of one type. A column's
``renamed_from`` carries a rename marked in a design (see :data:`RENAME_NOTE`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: a DBML column (or table) note marking a rename: ``note: 'renamed from old_name'``
RENAME_NOTE = re.compile(r"^\s*renamed from\s+\"?([^\"\s]+)\"?\s*$", re.IGNORECASE)


@dataclass
class Column:
    name: str
    type: str
    nullable: bool = True
    default: str | None = None  # an SQL expression, as the database would print it
    identity: str | None = None  # "always" | "by default" (PostgreSQL) or "autoincrement"
    note: str | None = None
    renamed_from: str | None = None


@dataclass
class ForeignKey:
    columns: list[str]
    ref_table: str
    ref_columns: list[str]
    name: str | None = None
    on_delete: str | None = None  # "cascade", "set null", ... None = no action
    on_update: str | None = None


@dataclass
class Index:
    name: str | None
    columns: list[str]  # column names or expressions (``lower(email)``)
    unique: bool = False
    where: str | None = None  # a partial index's predicate
    #: a UNIQUE constraint rather than a plain unique index
    constraint: bool = False

    @property
    def has_expressions(self) -> bool:
        return any(not _PLAIN_NAME.fullmatch(c) for c in self.columns)


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


@dataclass
class Table:
    name: str
    columns: list[Column] = field(default_factory=list)
    primary_key: list[str] = field(default_factory=list)
    primary_key_name: str | None = None
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    note: str | None = None
    renamed_from: str | None = None
    row_count: int | None = None  # live tables only

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass
class Enum:
    name: str
    values: list[str]


@dataclass
class Design:
    """One schema: what a sandbox holds now, or what a design asks for."""

    tables: list[Table] = field(default_factory=list)
    enums: list[Enum] = field(default_factory=list)
    #: what the live schema holds that DBML cannot say (views, partitions, ...)
    left_out: list[str] = field(default_factory=list)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)

    def enum(self, name: str) -> Enum | None:
        return next((e for e in self.enums if e.name == name), None)


# -- types ---------------------------------------------------------------------------

#: PostgreSQL's long type names and their short aliases (DBML types cannot hold spaces
#: unquoted; both spellings name one type)
PG_ALIASES = {
    "character varying": "varchar", "character": "char", "timestamp without time zone":
    "timestamp", "timestamp with time zone": "timestamptz", "time without time zone": "time",
    "time with time zone": "timetz", "double precision": "float8", "bit varying": "varbit",
    "integer": "int4", "int": "int4", "smallint": "int2", "bigint": "int8", "real": "float4",
    "boolean": "bool", "decimal": "numeric", "serial": "int4", "bigserial": "int8",
    "smallserial": "int2",
}
_TYPE = re.compile(r"^\s*(?P<base>[^(\[]+?)\s*(?:\((?P<args>[^)]*)\))?\s*(?P<array>(\[\])*)\s*$")


def split_type(spelling: str) -> tuple[str, str, str]:
    """``character varying(20)[]`` -> (``character varying``, ``20``, ``[]``)."""
    match = _TYPE.match(spelling)
    if match is None:
        return spelling.strip().lower(), "", ""
    args = (match["args"] or "").replace(" ", "")
    return match["base"].strip().lower().strip('"'), args, match["array"] or ""


def canonical_type(spelling: str, dialect: str) -> str:
    """One spelling per type, for comparing (not for DDL)."""
    if dialect == "sqlite":
        return re.sub(r"\s+", " ", spelling.strip().upper())
    base, args, array = split_type(spelling)
    base = PG_ALIASES.get(base, base).removeprefix("public.")
    if base == "varchar" and not args:
        base = "varchar"
    return base + (f"({args})" if args else "") + array


def same_type(a: str, b: str, dialect: str) -> bool:
    return canonical_type(a, dialect) == canonical_type(b, dialect)


def short_type(spelling: str) -> str:
    """A PostgreSQL type's spelling without spaces where an alias exists (for DBML)."""
    base, args, array = split_type(spelling)
    short = {k: v for k, v in PG_ALIASES.items() if " " in k}.get(base, base)
    return short + (f"({args})" if args else "") + array


_WIDER_INTS = ["int2", "int4", "int8", "numeric"]


def is_widening(old: str, new: str, dialect: str) -> bool:
    """True when every value of type ``old`` fits ``new`` unchanged (else the change may
    narrow or lose data and counts as destructive)."""
    if same_type(old, new, dialect):
        return True
    if dialect == "sqlite":
        return canonical_type(new, dialect) in ("", "TEXT", "BLOB")
    ob, oargs, oarr = split_type(canonical_type(old, dialect))
    nb, nargs, narr = split_type(canonical_type(new, dialect))
    if oarr != narr:
        return False
    if nb == "text" and ob in ("varchar", "char", "text"):
        return True
    if ob in ("varchar", "char") and nb == "varchar":
        return not nargs or (oargs.isdigit() and nargs.isdigit() and int(nargs) >= int(oargs))
    if ob in _WIDER_INTS and nb in _WIDER_INTS:
        if nb == "numeric":
            if ob == "numeric":
                return _numeric_fits(oargs, nargs)
            return not nargs
        return ob != "numeric" and _WIDER_INTS.index(nb) >= _WIDER_INTS.index(ob)
    return (ob, nb) in {("float4", "float8"), ("timestamp", "timestamptz"), ("date", "timestamp"),
                        ("date", "timestamptz")}


def _numeric_fits(old: str, new: str) -> bool:
    if not new:
        return True
    if not old:
        return False
    op, _, os_ = old.partition(",")
    np_, _, ns = new.partition(",")
    oscale, nscale = int(os_ or 0), int(ns or 0)
    return nscale >= oscale and int(np_) - nscale >= int(op) - oscale
