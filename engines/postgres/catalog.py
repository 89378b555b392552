"""What the PostgreSQL adapter reads from the system catalogs.

* :func:`read_schema` lists the user's tables, partitioned tables and their partitions,
  views and materialized views (every schema but ``pg_catalog``, ``information_schema``,
  ``pg_toast`` and temporary ones), with columns, keys, indexes and row counts.
  Row counts are exact (``count(*)``) unless the planner's estimate (``reltuples``) says
  the table holds more than :data:`EXACT_COUNT_LIMIT` rows, or a never-analyzed table is
  bigger than :data:`EXACT_COUNT_BYTES`; ``extra["row_count"]`` says ``exact`` or
  ``estimate``. Views are not counted (that would run them). The read pins
  ``search_path`` to ``pg_catalog, pg_temp`` and qualifies every catalog name, so nothing
  a user defined (a ``public.format_type``, an operator) is ever called by it.
"""

from __future__ import annotations

from typing import Any

from engines.result import ColumnInfo, ForeignKey, IndexInfo, SchemaInfo, TableInfo

EXACT_COUNT_LIMIT = 1_000_000
EXACT_COUNT_BYTES = 256 * 1024 * 1024

#: first thing in every schema read: only ``pg_catalog`` is searched (``pg_temp`` last, so a
#: temporary table cannot shadow anything). Operators and casts resolve through the
#: search path too, and a user's ``ALTER ROLE/DATABASE ... SET search_path = public,
#: pg_catalog`` plus a ``public.format_type(oid, int)`` or an operator on ``name`` would
#: otherwise be called by these queries. Every name below is qualified as well.
PIN_SEARCH_PATH = "SET LOCAL search_path = pg_catalog, pg_temp"

_USER_SCHEMAS = """
    n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
"""

#: a relation an extension made (pg_stat_statements' view, hypopg's) is the server's,
#: not one of the user's tables
_NOT_EXTENSION_MEMBER = """
    NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x
                 WHERE x.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                   AND x.objid = c.oid AND x.deptype = 'e')
"""

_RELATIONS = f"""
SELECT c.oid, n.nspname, c.relname, c.relkind, c.relispopulated, c.reltuples::float8,
       CASE WHEN c.relkind = 'p' THEN
            (SELECT coalesce(sum(pg_catalog.pg_relation_size(t.relid)), 0)::bigint
               FROM pg_catalog.pg_partition_tree(c.oid) t WHERE t.isleaf)
            ELSE pg_catalog.pg_relation_size(c.oid) END,
       CASE WHEN c.relkind = 'p' THEN
            (SELECT sum(greatest(p.reltuples, 0))::float8
               FROM pg_catalog.pg_partition_tree(c.oid) t
               JOIN pg_catalog.pg_class p ON p.oid = t.relid WHERE t.isleaf) END,
       CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END,
       (SELECT pn.nspname::text || '.' || pc.relname::text FROM pg_catalog.pg_inherits i
          JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
          JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
         WHERE i.inhrelid = c.oid AND c.relispartition),
       CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END,
       pg_catalog.obj_description(c.oid, 'pg_class')
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_USER_SCHEMAS}
   AND {_NOT_EXTENSION_MEMBER}
 ORDER BY n.nspname <> 'public', n.nspname, c.relname
"""

_COLUMNS = f"""
SELECT a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND {_USER_SCHEMAS} AND {_NOT_EXTENSION_MEMBER}
 ORDER BY a.attrelid, a.attnum
"""

_CONSTRAINTS = f"""
SELECT k.conrelid, k.contype, k.conname,
       ARRAY(SELECT a.attname FROM pg_catalog.unnest(k.conkey) WITH ORDINALITY u(num, ord)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num
              ORDER BY u.ord)::text[],
       fn.nspname, fc.relname,
       ARRAY(SELECT a.attname FROM pg_catalog.unnest(k.confkey) WITH ORDINALITY u(num, ord)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num
              ORDER BY u.ord)::text[]
  FROM pg_catalog.pg_constraint k
  JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_class fc ON fc.oid = k.confrelid
  LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
 WHERE k.contype IN ('p', 'f') AND {_USER_SCHEMAS}
 ORDER BY k.conrelid, k.conname
"""

_INDEXES = f"""
SELECT x.indrelid, ic.relname, x.indisunique,
       ARRAY(SELECT pg_catalog.pg_get_indexdef(x.indexrelid, k, true)
               FROM pg_catalog.generate_series(1, x.indnkeyatts) k ORDER BY k)::text[],
       pg_catalog.pg_get_indexdef(x.indexrelid)
  FROM pg_catalog.pg_index x
  JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid
  JOIN pg_catalog.pg_class c ON c.oid = x.indrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE {_USER_SCHEMAS}
 ORDER BY x.indrelid, ic.relname
"""

_KINDS = {"r": "table", "p": "table", "f": "table", "v": "view", "m": "materialized view"}


def display_name(schema: str, name: str) -> str:
    """Tables of ``public`` go by their bare name, others by ``schema.name``."""
    return name if schema == "public" else f"{schema}.{name}"


def display_type(type_name: str) -> str:
    """Types of ``public`` by their bare name, as if ``public`` were on the search path
    (the pinned path makes ``format_type`` qualify them)."""
    return type_name.removeprefix("public.")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_schema(cur: Any, engine: str) -> SchemaInfo:
    """Read the schema through ``cur`` (a psycopg2 cursor inside a transaction, whose
    ``search_path`` this pins to ``pg_catalog`` until it ends)."""
    cur.execute(PIN_SEARCH_PATH)
    info = SchemaInfo(engine=engine)
    tables: dict[int, TableInfo] = {}
    sizes: dict[int, tuple[str, str, str, float, int]] = {}
    cur.execute(_RELATIONS)
    for (oid, schema, name, relkind, populated, reltuples, size, leaf_tuples, partkey, parent,
         bound, comment) in cur.fetchall():
        table = TableInfo(name=display_name(schema, name), kind=_KINDS[relkind], schema=schema)
        if relkind == "p":
            table.extra["partitioned"] = True
            table.extra["partition_key"] = partkey
            table.extra["partitions"] = []
            reltuples = leaf_tuples if leaf_tuples is not None else -1
        if relkind == "f":
            table.extra["foreign"] = True
        if parent:
            table.extra["partition_of"] = display_name(*parent.split(".", 1))
            table.extra["partition_bound"] = bound
        if relkind == "m":
            table.extra["populated"] = bool(populated)
        if comment:
            table.extra["comment"] = comment
        tables[oid] = table
        info.tables.append(table)
        if relkind in "rpm" and (relkind != "m" or populated):
            sizes[oid] = (schema, name, relkind, reltuples, size)
    by_name = {table.name: table for table in info.tables}
    for table in info.tables:
        owner = by_name.get(table.extra.get("partition_of", ""))
        if owner is not None and "partitions" in owner.extra:
            owner.extra["partitions"].append(table.name)

    cur.execute(_COLUMNS)
    for oid, name, type_name, notnull, default, identity, generated in cur.fetchall():
        if oid not in tables:
            continue
        if identity:
            default = "generated {} as identity".format("always" if identity == "a"
                                                       else "by default")
        elif generated == "s" and default is not None:
            default = f"generated always as ({default}) stored"
        tables[oid].columns.append(ColumnInfo(name, display_type(type_name), not notnull,
                                              False, default))

    cur.execute(_CONSTRAINTS)
    for oid, contype, conname, columns, ref_schema, ref_name, ref_columns in cur.fetchall():
        keyed = tables.get(oid)
        if keyed is None:
            continue
        if contype == "p":
            keyed.primary_key = list(columns)
            for column in keyed.columns:
                column.primary_key = column.name in columns
        else:
            keyed.foreign_keys.append(ForeignKey(list(columns), display_name(ref_schema, ref_name),
                                                 list(ref_columns), conname))

    cur.execute(_INDEXES)
    for oid, name, unique, columns, definition in cur.fetchall():
        if oid in tables:
            tables[oid].indexes.append(IndexInfo(name, list(columns), bool(unique), definition))

    for oid, (schema, name, _kind, reltuples, size) in sizes.items():
        table = tables[oid]
        too_big = reltuples > EXACT_COUNT_LIMIT or (reltuples < 0 and size > EXACT_COUNT_BYTES)
        if too_big:
            table.row_count = int(reltuples) if reltuples >= 0 else None
            table.extra["row_count"] = "estimate"
        else:
            cur.execute(f"SELECT count(*) FROM {quote_ident(schema)}.{quote_ident(name)}")
            table.row_count = int(cur.fetchone()[0])
            table.extra["row_count"] = "exact"
    return info

