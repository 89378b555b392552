"""The live schema as a :class:`~orchestrator.design.model.Design`.

:meth:`~orchestrator.api.queries.QueryJobs.schema` gives tables, columns, keys and
indexes; what it does not carry (foreign key actions, unique constraints, enums,
domains, column comments, SQLite's partial indexes) comes from one catalog query
(:func:`catalog_query`) run as an ordinary statement. Its rows are ``(kind, a, b, c, d)``
text tuples read by :func:`design_from_schema`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from engines.result import SchemaInfo, TableInfo
from orchestrator.design.model import Column, Design, Enum, ForeignKey, Index, Table

_SEP = "\x1f"
_USER_SCHEMAS = """n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'"""

PG_CATALOG = f"""
SELECT 'constraint', n.nspname::text, c.relname::text, k.conname::text,
       k.contype::text || k.confdeltype::text || k.confupdtype::text
  FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE k.contype IN ('p', 'u', 'f') AND {_USER_SCHEMAS}
UNION ALL
SELECT 'enum', n.nspname::text, t.typname::text,
       pg_catalog.string_agg(e.enumlabel::text, E'\\x1f' ORDER BY e.enumsortorder), NULL
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid
  JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
 WHERE {_USER_SCHEMAS} GROUP BY n.nspname, t.typname
UNION ALL
SELECT 'domain', n.nspname::text, t.typname::text,
       pg_catalog.format_type(t.typbasetype, t.typtypmod), NULL
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
 WHERE t.typtype = 'd' AND {_USER_SCHEMAS}
UNION ALL
SELECT 'comment', n.nspname::text, c.relname::text, a.attname::text,
       pg_catalog.col_description(c.oid, a.attnum)
  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
   AND pg_catalog.col_description(c.oid, a.attnum) IS NOT NULL AND {_USER_SCHEMAS}
"""

SQLITE_CATALOG = """
SELECT 'fk', m.name, f.id, f.on_update || char(31) || f.on_delete, NULL
  FROM sqlite_master m, pragma_foreign_key_list(m.name) f
 WHERE m.type = 'table' AND f.seq = 0
UNION ALL
SELECT 'index', tbl_name, name, sql, NULL FROM sqlite_master
 WHERE type = 'index' AND sql IS NOT NULL
UNION ALL
SELECT 'unique', m.name, i.name, i.origin, NULL
  FROM sqlite_master m, pragma_index_list(m.name) i WHERE m.type = 'table'
UNION ALL
SELECT 'table', name, sql, NULL, NULL FROM sqlite_master WHERE type = 'table'
"""

_ACTIONS = {"a": None, "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}
_NEXTVAL = re.compile(r"^nextval\('.*'::regclass\)$")
_WHERE = re.compile(r"\sWHERE\s+(.*)$", re.IGNORECASE | re.DOTALL)


def catalog_query(dialect: str) -> str:
    return PG_CATALOG if dialect == "postgresql" else SQLITE_CATALOG


def _qualified(schema: str, name: str) -> str:
    return name if schema in ("public", "main") else f"{schema}.{name}"


def design_from_schema(info: SchemaInfo, catalog: Sequence[Sequence[Any]],
                       dialect: str) -> Design:
    """The live schema as a design; ``catalog`` holds the rows of :func:`catalog_query`."""
    design = Design()
    rows = [tuple(r) + (None,) * (5 - len(r)) for r in catalog]
    domains = {_qualified(r[1], r[2]): r[3] for r in rows if r[0] == "domain"}
    for kind, schema, name, labels, _ in rows:
        if kind == "enum":
            design.enums.append(Enum(_qualified(schema, name), labels.split(_SEP)))
    for t in info.tables:
        if t.kind != "table" or t.extra.get("foreign"):
            if t.kind in ("view", "materialized view") or t.extra.get("foreign"):
                kind = "foreign table" if t.extra.get("foreign") else t.kind
                design.left_out.append(f"{kind} {t.name}")
            continue
        if t.extra.get("partition_of"):
            design.left_out.append(f"partition {t.name} of {t.extra['partition_of']}")
            continue
        if t.extra.get("partitioned"):
            design.left_out.append(f"the partitioning of {t.name} "
                                   f"({t.extra.get('partition_key')}): a plain table in DBML")
        design.tables.append(_table(t, dialect, domains, design.left_out))
    if dialect == "postgresql":
        _add_pg_catalog(design, rows)
    else:
        _add_sqlite_catalog(design, rows)
    return design


def _table(t: TableInfo, dialect: str, domains: dict[str, str], left_out: list[str]) -> Table:
    table = Table(t.name, primary_key=list(t.primary_key), note=t.extra.get("comment"),
                  row_count=t.row_count)
    for c in t.columns:
        column = Column(c.name, c.type, c.nullable, c.default)
        if c.type in domains:
            left_out.append(f"domain {c.type} of {t.name}.{c.name}: its base type "
                            f"{domains[c.type]} in DBML")
            column.type = domains[c.type]
        default = c.default or ""
        if default.startswith("generated") and "identity" in default:
            column.identity, column.default = default.split(" as ")[0].split(" ", 1)[1], None
        elif default.startswith("generated always as"):
            left_out.append(f"generated column {t.name}.{c.name}")
            column.default = None
        elif _NEXTVAL.match(default):
            column.identity, column.default = "serial", None
        table.columns.append(column)
    for fk in t.foreign_keys:
        table.foreign_keys.append(ForeignKey(list(fk.columns), fk.ref_table,
                                             list(fk.ref_columns), fk.name))
    for ix in t.indexes:
        where = _WHERE.search(ix.definition or "")
        table.indexes.append(Index(ix.name, list(ix.columns), ix.unique,
                                   where.group(1).strip() if where else None))
    return table


def _add_pg_catalog(design: Design, rows: list[tuple[Any, ...]]) -> None:
    for kind, schema, relname, a, b in rows:
        table = design.table(_qualified(schema, relname)) if schema else None
        if table is None:
            continue
        if kind == "comment":
            column = table.column(a)
            if column is not None:
                column.note = b
        elif kind == "constraint":
            contype, deltype, updtype = b[0], b[1], b[2]
            if contype == "p":
                table.primary_key_name = a
                table.indexes = [i for i in table.indexes if i.name != a]
            elif contype == "u":
                for index in table.indexes:
                    if index.name == a:
                        index.constraint = True
            else:
                for fk in table.foreign_keys:
                    if fk.name == a:
                        fk.on_delete, fk.on_update = _ACTIONS.get(deltype), _ACTIONS.get(updtype)


def _add_sqlite_catalog(design: Design, rows: list[tuple[Any, ...]]) -> None:
    for kind, tname, a, b, _ in rows:
        table = design.table(tname)
        if table is None:
            continue
        if kind == "fk":
            # the schema lists a table's foreign keys in PRAGMA foreign_key_list's id order
            if int(a) < len(table.foreign_keys):
                fk = table.foreign_keys[int(a)]
                update, delete = b.split(_SEP)
                fk.on_update = None if update == "NO ACTION" else update.lower()
                fk.on_delete = None if delete == "NO ACTION" else delete.lower()
        elif kind == "index":
            where = _WHERE.search(b or "")
            for index in table.indexes:
                if index.name == a and where:
                    index.where = where.group(1).strip()
        elif kind == "unique":
            for index in table.indexes:
                if index.name == a and b == "u":
                    index.constraint = True
                if index.name == a and b == "pk":
                    table.indexes.remove(index)
                    break
        elif kind == "table" and a and "AUTOINCREMENT" in a.upper():
            for column in table.columns:
                if column.name in table.primary_key and len(table.primary_key) == 1:
                    column.identity = "autoincrement"
    for table in design.tables:
        for fk in table.foreign_keys:
            if not any(fk.ref_columns):  # REFERENCES t: its primary key
                ref = design.table(fk.ref_table)
                fk.ref_columns = list(ref.primary_key) if ref else fk.ref_columns
