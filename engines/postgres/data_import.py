"""Importing records into a PostgreSQL table, atomically.

* The whole import is one transaction: a rejected record rolls everything back and
  raises :class:`~engines.errors.ImportRowError` naming its 1-based row.
* ``target`` is ``table`` (created in the first schema of the ``search_path``,
  normally ``public``) or ``schema.table``. When the table does not exist it is
  created with one column per key (in order of first appearance in the first
  :data:`BATCH_ROWS` records), typed from that column's non-null values there:
  ``bigint`` for integers (``numeric`` beyond 64 bits), ``double precision`` for floats
  (or ints mixed with floats), ``boolean``, ``jsonb`` for objects and arrays,
  ``numeric``/``date``/``timestamp [with time zone]``/``bytea`` for the matching Python
  values (Parquet), and ``text`` for strings, mixed types or no value at all. CSV
  values are all strings: their columns are typed by what the strings look like
  (:mod:`engines.text_values`: ``bigint``, ``double precision``, ``boolean``, ``date``,
  ``timestamp with time zone`` or ``text``) and the server casts each value on insert.
  A later record that does not fit the inferred type is a rejected record.
* Records are inserted :data:`BATCH_ROWS` at a time with ``execute_values``, each batch
  under a savepoint; when a batch fails it is replayed row by row to find the bad row.
  A key missing from a record inserts the column's ``DEFAULT``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
from collections.abc import Iterable
from typing import Any

import psycopg2
import psycopg2.extras
from psycopg2.extensions import AsIs

from engines.errors import ImportRowError, InvalidRequest
from engines.postgres.catalog import quote_ident
from engines.text_values import all_text, column_kinds

BATCH_ROWS = 1000
_DEFAULT = AsIs("DEFAULT")
_BIGINT = 2**63


def qualified_name(target: str) -> str:
    """``schema.table`` or ``table`` as a quoted SQL name."""
    parts = target.split(".", 1) if "." in target else [target]
    if not all(p.strip() for p in parts):
        raise InvalidRequest(f"not a table name: {target!r}")
    return ".".join(quote_ident(p.strip()) for p in parts)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint" if -_BIGINT <= value < _BIGINT else "numeric"
    if isinstance(value, float):
        return "double precision"
    if isinstance(value, (dict, list)):
        return "jsonb"
    if isinstance(value, decimal.Decimal):
        return "numeric"
    if isinstance(value, dt.datetime):
        return "timestamp with time zone" if value.tzinfo else "timestamp"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytea"
    return "text"


def infer_columns(records: list[dict[str, Any]]) -> dict[str, str]:
    """Column name -> SQL type for a new table, from sample records."""
    kinds: dict[str, set[str]] = {}
    for record in records:
        for key, value in record.items():
            seen = kinds.setdefault(str(key), set())
            if value is not None:
                seen.add(_kind(value))
    columns: dict[str, str] = {}
    for name, seen in kinds.items():
        if len(seen) == 1:
            columns[name] = seen.pop()
        elif seen and seen <= {"bigint", "numeric"}:
            columns[name] = "numeric"
        elif seen and seen <= {"bigint", "numeric", "double precision"}:
            columns[name] = "double precision"
        else:
            columns[name] = "text"
    return columns


_TEXT_KIND_TYPES = {"integer": "bigint", "float": "double precision", "boolean": "boolean",
                    "date": "date", "timestamp": "timestamp with time zone", "text": "text"}


def infer_text_columns(records: list[dict[str, Any]]) -> dict[str, str]:
    """Column name -> SQL type for a new table from records whose values are all text."""
    columns = {name: _TEXT_KIND_TYPES[kind] for name, kind in column_kinds(records).items()}
    for name, sql_type in columns.items():
        if sql_type == "bigint" and any(
            not -_BIGINT <= int(r[name]) < _BIGINT for r in records if r.get(name) is not None
        ):
            columns[name] = "numeric"
    return columns


def _adapt(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return psycopg2.extras.Json(value)
    if value is None or isinstance(value, (str, int, float, bool, decimal.Decimal, dt.date,
                                           dt.time, bytes, bytearray, memoryview)):
        return value
    return str(value)


def _checked(records: Iterable[Any], first_row: int) -> list[dict[str, Any]]:
    batch = list(records)
    for offset, record in enumerate(batch):
        if not isinstance(record, dict):
            raise ImportRowError(f"row {first_row + offset} is not an object/record",
                                 row=first_row + offset)
    return batch


def import_records(conn: Any, target: str, records: Iterable[dict[str, Any]]) -> int:
    """Insert ``records`` into ``target`` in one transaction; returns the row count.

    ``conn`` is an autocommit psycopg2 connection outside any transaction. Raises
    :class:`ImportRowError` for a rejected record (the caller rolls back).

    Sandboxes commit asynchronously (``synchronous_commit = off``), but an import is work
    a user would not want to redo: its commit is written to the WAL before this returns,
    so a server killed afterwards (at its memory limit) restarts with the rows.
    """
    table = qualified_name(target)
    stream = iter(records)
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("SET LOCAL synchronous_commit = on")
        first = _checked(itertools.islice(stream, BATCH_ROWS), 1)
        cur.execute("SELECT pg_catalog.to_regclass(%s)", (table,))
        if cur.fetchone()[0] is None:
            if not first:
                cur.execute("COMMIT")
                return 0
            columns = infer_text_columns(first) if all_text(first) else infer_columns(first)
            definition = ", ".join(f"{quote_ident(n)} {t}" for n, t in columns.items())
            cur.execute(f"CREATE TABLE {table} ({definition})")
        count = 0
        batch = first
        while batch:
            _insert_batch(cur, table, batch, count + 1)
            count += len(batch)
            batch = _checked(itertools.islice(stream, BATCH_ROWS), count + 1)
        cur.execute("COMMIT")
    return count


def _insert_batch(cur: Any, table: str, batch: list[dict[str, Any]], first_row: int) -> None:
    names = list(dict.fromkeys(str(k) for record in batch for k in record))
    if not names:
        raise ImportRowError(f"row {first_row} has no fields", row=first_row)
    sql = (f"INSERT INTO {table} ({', '.join(quote_ident(n) for n in names)}) VALUES %s")
    rows = [[_adapt(r[n]) if n in r else _DEFAULT for n in names]
            for r in ({str(k): v for k, v in record.items()} for record in batch)]
    cur.execute("SAVEPOINT dbplay_import")
    try:
        psycopg2.extras.execute_values(cur, sql, rows, page_size=len(rows))
    except psycopg2.Error:
        cur.execute("ROLLBACK TO SAVEPOINT dbplay_import")
    else:
        cur.execute("RELEASE SAVEPOINT dbplay_import")
        return
    for offset, row in enumerate(rows):  # find the row the server rejects
        cur.execute("SAVEPOINT dbplay_import_row")
        try:
            psycopg2.extras.execute_values(cur, sql, [row])
        except psycopg2.Error as exc:
            number = first_row + offset
            message = (getattr(exc.diag, "message_primary", None) or str(exc)).strip()
            raise ImportRowError(f"row {number} rejected: {message}", row=number,
                                 statement=sql, original=exc) from exc
        cur.execute("RELEASE SAVEPOINT dbplay_import_row")
    cur.execute("RELEASE SAVEPOINT dbplay_import")
