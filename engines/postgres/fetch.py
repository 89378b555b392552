"""Rows of a PostgreSQL statement fetched in bounded batches, whatever the statement.

psycopg2 holds a statement's whole result in memory when it runs on a client-side
cursor, so every statement that returns rows from a table runs behind a server-side
cursor instead, and rows come in batches whose size follows the bytes of the rows
seen so far (1 row first, then up to :data:`FETCH_ROWS`, never more than the result
size cap's worth). Three ways in (:func:`cursor_plan`):

``cursor``
    ``SELECT``/``VALUES``/``TABLE`` (also ``FOR UPDATE``/``FOR SHARE``):
    ``DECLARE name NO SCROLL CURSOR FOR <statement>`` in a transaction (ours, opened
    for it and committed on close, or the user's own block).
``returning`` and ``query-into-table``
    ``INSERT``/``UPDATE``/``DELETE``/``MERGE ... RETURNING``, and queries with a
    data-modifying ``WITH`` (which a cursor may not hold): the statement runs once as
    ``CREATE TEMP TABLE name ON COMMIT DROP AS WITH r AS (<statement>) SELECT * FROM r``
    (for a query: ``... AS <query>``), server side, keeping column names and types, and
    the rows stream from that table through a cursor as above; the table is dropped on
    close. (A ``... RETURNING`` statement that itself has a data-modifying ``WITH`` cannot
    be wrapped, and runs on a client-side cursor.)
``None``
    everything else (DDL, ``SHOW``, ``EXPLAIN``, ``CALL``, ``FETCH``, ``EXECUTE``) runs on
    a client-side cursor: such results are small, or (``FETCH``, ``EXECUTE`` of a
    prepared query) are bounded by the worker process's memory limit.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extensions
from pglast import ast

from engines.errors import EngineError
from engines.result_limits import raw_size

FETCH_ROWS = 2000
_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE
_INTRANS = psycopg2.extensions.TRANSACTION_STATUS_INTRANS
_INERROR = psycopg2.extensions.TRANSACTION_STATUS_INERROR
_names = itertools.count(1)


def cursor_plan(node: Any) -> str | None:
    """``cursor``, ``returning``, ``query-into-table`` or ``None``: how ``node`` is fetched."""
    if isinstance(node, ast.SelectStmt):
        if node.intoClause is not None:
            return None
        return "query-into-table" if _modifies_data(node) else "cursor"
    modifying = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, getattr(ast, "MergeStmt", None))
    if isinstance(node, tuple(kind for kind in modifying if kind is not None)):
        # pglast 7 (PostgreSQL 16) has returningList, pglast 8 a returningClause
        if not (getattr(node, "returningList", None) or getattr(node, "returningClause", None)):
            return None
        # a data-modifying WITH may only be at the top level, not inside our wrapper
        return None if _modifies_data(node) else "returning"
    return None


def _modifies_data(node: Any) -> bool:
    with_clause = node.withClause
    if with_clause is None:
        return False
    return any(getattr(cte, "ctequery", None) is not None
               and not isinstance(cte.ctequery, ast.SelectStmt)
               for cte in with_clause.ctes or ())


def batch_size(previous: int, rows_seen: int, bytes_seen: int, max_bytes: int) -> int:
    """The next batch: at most 4x the last, :data:`FETCH_ROWS`, and ``max_bytes`` worth."""
    if rows_seen == 0:
        return 1
    average = max(1, bytes_seen // rows_seen)
    return max(1, min(FETCH_ROWS, previous * 4, max_bytes // average))


@dataclass
class ServerCursor:
    """A declared cursor (and the temp table behind it, for ``returning``)."""

    conn: Any
    name: str
    began: bool
    table: str | None = None
    rowcount: int | None = None


def declare(conn: Any, text: str, plan: str, status: Callable[[], int],
            wrap: Callable[[Exception, int], EngineError]) -> ServerCursor:
    """Run ``text`` behind a server cursor. A server error is raised as
    ``wrap(error, offset of text in what was sent)``."""
    body = text.rstrip().removesuffix(";")
    serial = next(_names)
    cursor = ServerCursor(conn, f"dbplay_c{serial}", began=status() == _IDLE)
    declare_prefix = f"DECLARE {cursor.name} NO SCROLL CURSOR FOR "
    offset = 0
    try:
        with conn.cursor() as plain:
            if cursor.began:
                plain.execute("BEGIN")
            if plan in ("returning", "query-into-table"):
                cursor.table = f"dbplay_returning_{serial}"
                prefix = f"CREATE TEMP TABLE {cursor.table} ON COMMIT DROP AS "
                if plan == "returning":
                    prefix += "WITH dbplay_rows AS ("
                    body += "\n) SELECT * FROM dbplay_rows"
                offset = len(prefix)
                plain.execute(prefix + body)
                cursor.rowcount = plain.rowcount if plain.rowcount >= 0 else None
                offset = 0
                plain.execute(f"{declare_prefix}SELECT * FROM pg_temp.{cursor.table}")
            else:
                offset = len(declare_prefix)
                plain.execute(declare_prefix + body)
    except psycopg2.Error as exc:
        raise wrap(exc, offset) from exc
    return cursor


def fetch_rows(cursor: ServerCursor, max_bytes: int,
               wrap: Callable[[Exception], EngineError]) -> tuple[
        Sequence[Any], list[Sequence[Any]], Iterator[Sequence[Any]]]:
    """The column description, the first batch, and an iterator over all rows."""
    first, description = _fetch(cursor, 1, wrap)

    def rows() -> Iterator[Sequence[Any]]:
        batch, size = first, 1
        seen = seen_bytes = 0
        while batch:
            yield from batch
            seen += len(batch)
            seen_bytes += sum(raw_size(row) for row in batch)
            if len(batch) < size:
                return
            size = batch_size(size, seen, seen_bytes, max_bytes)
            batch, _ = _fetch(cursor, size, wrap)

    return description, first, rows()


def _fetch(cursor: ServerCursor, count: int, wrap: Callable[[Exception], EngineError]) -> tuple[
        list[Sequence[Any]], Sequence[Any]]:
    try:
        with cursor.conn.cursor() as plain:
            plain.execute(f"FETCH FORWARD {int(count)} FROM {cursor.name}")
            return plain.fetchall(), plain.description
    except psycopg2.Error as exc:
        raise wrap(exc) from exc


def release(cursor: ServerCursor, status: Callable[[], int]) -> None:
    """Close the cursor, drop the temp table, and commit the transaction we opened.

    Raises psycopg2 errors; the caller recovers the connection."""
    conn = cursor.conn
    if conn.closed or status() == _INERROR:
        return
    with conn.cursor() as plain:
        plain.execute(f"CLOSE {cursor.name}")
        if cursor.began and status() == _INTRANS:
            plain.execute("COMMIT")  # ON COMMIT DROP removes the temp table
        elif cursor.table is not None:
            plain.execute(f"DROP TABLE IF EXISTS pg_temp.{cursor.table}")
