"""SQLite adapter.

URL: ``sqlite:///absolute/path/to/file.db``.

* Scripts are split by :mod:`engines.sqlite.split` (SQLite's own tokenizer,
  :func:`sqlite3.complete_statement`, decides inside trigger bodies), so ``;`` inside
  strings, comments and trigger bodies is safe.
* Every connection is fenced by :mod:`engines.sqlite.fence`: no ``ATTACH``/``VACUUM
  INTO``, no extensions, no file-touching pragmas; the statements touch only the
  sandbox's own file. A denial is a :class:`~engines.errors.PermissionDenied` saying why.
* Time limits use a progress handler that aborts the statement at its deadline
  (reported as :class:`~engines.errors.QueryTimeout`); :meth:`cancel` uses
  ``sqlite3_interrupt``.
* The connection runs in autocommit mode, like the ``sqlite3`` shell: user ``BEGIN`` /
  ``COMMIT`` work as written.
* Dump format: a SQLite database file, written with the online backup API.
  :meth:`restore` accepts such a file or a SQL script (run in one transaction).
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from engines.base import Cursor, Engine, Statement
from engines.errors import (
    EngineError,
    EngineUnavailable,
    ExecutionError,
    ImportRowError,
    InvalidRequest,
    PermissionDenied,
    QueryCancelled,
    QuerySyntaxError,
    QueryTimeout,
    RestoreError,
)
from engines.result import (
    Column,
    ColumnInfo,
    ExplainResult,
    ForeignKey,
    ImportReport,
    IndexInfo,
    SchemaInfo,
    TableInfo,
)
from engines.sqlite import fence as sqlite_fence
from engines.sqlite.descriptor import SQLITE
from engines.sqlite.plan import plan_from_rows
from engines.sqlite.split import split_sqlite
from engines.text_values import all_text, column_kinds
from engines.text_values import parse as parse_text

SQLITE_MAGIC = b"SQLite format 3\x00"
#: a script's own transaction statements (BEGIN [TRANSACTION], COMMIT, END)
_TRANSACTION_CONTROL = re.compile(
    r"\s*(BEGIN(\s+(DEFERRED|IMMEDIATE|EXCLUSIVE))?|COMMIT|END)(\s+TRANSACTION)?\s*;?\s*",
    re.IGNORECASE)
_PROGRESS_STEPS = 1000
SAMPLE_ROWS = 1000  # records read ahead to choose the columns of a new table on import


def _path_from_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme != "sqlite":
        raise InvalidRequest(f"not a SQLite URL: {url!r} (expected sqlite:///path)")
    path = unquote(parsed.path)
    return path or ":memory:"


def _value_type(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, decimal.Decimal):
        return "NUMERIC"
    return {int: "INTEGER", float: "REAL", str: "TEXT", bytes: "BLOB"}.get(type(value), "")


class SQLiteEngine(Engine):
    descriptor = SQLITE
    kind = SQLITE.kind

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self.path = _path_from_url(url)
        self._conn: sqlite3.Connection | None = None
        self._deadline = 0.0
        self._cancelled = threading.Event()
        self._fence = sqlite_fence.Fence()

    # -- connection --------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self.connect()
        assert self._conn is not None
        return self._conn

    def connect(self) -> None:
        if self._conn is not None:
            return
        if self.path != ":memory:" and not Path(self.path).parent.is_dir():
            raise EngineUnavailable(f"directory of SQLite file {self.path!r} does not exist")
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA foreign_keys = ON")
        self._fence = sqlite_fence.install(conn)
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def cancel(self) -> None:
        self._cancelled.set()
        if self._conn is not None:
            self._conn.interrupt()

    def _progress(self) -> int:
        return 1 if self._cancelled.is_set() or time.monotonic() > self._deadline else 0

    # -- statements ----------------------------------------------------------
    def split(self, script: str) -> list[Statement]:
        return split_sqlite(script)

    def run_statement(self, statement: Statement, timeout_s: float) -> Cursor:
        conn = self.conn
        self._cancelled.clear()
        self._fence.reset()
        self._deadline = time.monotonic() + timeout_s
        conn.set_progress_handler(self._progress, _PROGRESS_STEPS)
        try:
            cur = conn.execute(statement.text)
        except Exception as exc:
            conn.set_progress_handler(None, 0)
            raise self.wrap_error(exc, statement) from exc
        if cur.description is None:
            conn.set_progress_handler(None, 0)
            return Cursor(rowcount=cur.rowcount if cur.rowcount >= 0 else None)
        names = [d[0] for d in cur.description]
        first = self._fetch(cur, statement)
        columns = [Column(n, _value_type(v)) for n, v in zip(names, first or [None] * len(names))]

        def rows() -> Iterator[tuple[Any, ...]]:
            if first is None:
                return
            yield first
            while (row := self._fetch(cur, statement)) is not None:
                yield row

        def close() -> None:
            conn.set_progress_handler(None, 0)
            cur.close()

        return Cursor(columns=columns, rows=rows(), close=close)

    def _fetch(self, cur: sqlite3.Cursor, statement: Statement) -> tuple[Any, ...] | None:
        try:
            row: tuple[Any, ...] | None = cur.fetchone()
            return row
        except Exception as exc:
            raise self.wrap_error(exc, statement) from exc

    def wrap_error(self, exc: Exception, statement: Statement) -> EngineError:
        message = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and message == "interrupted":
            if self._cancelled.is_set():
                return QueryCancelled("statement cancelled", statement=statement.text,
                                      original=exc)
            return QueryTimeout("statement stopped at its time limit", statement=statement.text,
                                original=exc)
        if isinstance(exc, sqlite3.OperationalError) and (
            "syntax error" in message or "incomplete input" in message
            or "unrecognized token" in message
        ):
            return QuerySyntaxError(message, statement=statement.text, original=exc)
        if isinstance(exc, MemoryError):  # SQLITE_NOMEM: the heap cap was reached
            return ExecutionError(
                "out of memory: the statement needs more than the "
                f"{sqlite_fence.HEAP_LIMIT_BYTES // 2**20} MiB SQLite may use in a sandbox",
                statement=statement.text, original=exc)
        denial = self._fence.explain(message)
        if denial is not None:
            return PermissionDenied(denial, statement=statement.text, original=exc)
        if isinstance(exc, sqlite3.ProgrammingError) and "one statement" in message:
            return QuerySyntaxError(message, statement=statement.text, original=exc)
        return ExecutionError(message, statement=statement.text, original=exc)

    # -- explain / schema ------------------------------------------------------
    def explain(self, statement: str, *, timeout_s: float | None = None) -> ExplainResult:
        self.check_script_size(statement)
        stmts = self.split(statement)
        if len(stmts) != 1:
            raise InvalidRequest("explain takes exactly one statement")
        text = stmts[0].text.rstrip(";")
        self._fence.reset()
        try:
            raw = self.conn.execute(f"EXPLAIN QUERY PLAN {text}").fetchall()
        except Exception as exc:
            raise self.wrap_error(exc, stmts[0]) from exc
        return plan_from_rows(text, raw)

    def schema(self) -> SchemaInfo:
        conn = self.conn
        info = SchemaInfo(engine=self.kind)
        objects = conn.execute(
            "SELECT name, type FROM sqlite_master WHERE type IN ('table','view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
        for name, kind in objects:
            quoted = '"' + name.replace('"', '""') + '"'
            table = TableInfo(name=name, kind=kind)
            for _cid, col, ctype, notnull, default, pk in conn.execute(
                f"PRAGMA table_info({quoted})"
            ):
                table.columns.append(ColumnInfo(col, ctype or "", not notnull, bool(pk),
                                                default))
                if pk:
                    table.primary_key.append(col)
            fks: dict[int, ForeignKey] = {}
            for row in conn.execute(f"PRAGMA foreign_key_list({quoted})"):
                fk = fks.setdefault(row[0], ForeignKey([], row[2], []))
                fk.columns.append(row[3])
                fk.ref_columns.append(row[4] or "")
            table.foreign_keys = list(fks.values())
            for _seq, iname, unique, _origin, _partial in conn.execute(
                f"PRAGMA index_list({quoted})"
            ):
                cols = [r[2] for r in conn.execute(
                    "PRAGMA index_info(" + '"' + iname.replace('"', '""') + '")')]
                table.indexes.append(IndexInfo(iname, cols, bool(unique)))
            if kind == "table":
                table.row_count = conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
            info.tables.append(table)
        return info

    # -- dump / restore / import ------------------------------------------------
    def dump(self, path: Path) -> None:
        target = sqlite3.connect(str(path))
        try:
            self.conn.backup(target)
        finally:
            target.close()

    def restore(self, path: Path) -> None:
        with path.open("rb") as fh:
            magic = fh.read(len(SQLITE_MAGIC))
        if magic == SQLITE_MAGIC:
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                source.backup(self.conn)
            except sqlite3.DatabaseError as exc:
                raise RestoreError(f"not a usable SQLite database: {exc}", original=exc) from exc
            finally:
                source.close()
            return
        try:
            script = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise RestoreError("dump is neither a SQLite database nor a UTF-8 SQL script",
                               original=exc) from exc
        # the restore is one transaction already: a script's own BEGIN ... COMMIT (what
        # ``sqlite3 x.db .dump`` and ``iterdump()`` write) is left out
        self._run_in_transaction([st for st in self.split(script)
                                  if not _TRANSACTION_CONTROL.fullmatch(st.text)])

    def _run_in_transaction(self, statements: list[Statement]) -> None:
        conn = self.conn
        conn.execute("BEGIN")
        for st in statements:
            self._fence.reset()
            try:
                conn.execute(st.text)
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise RestoreError(
                    f"statement at line {st.line} failed: "
                    f"{self._fence.explain(str(exc)) or exc}",
                    statement=st.text, original=exc, line=st.line,
                ) from exc
        conn.execute("COMMIT")

    def import_rows(self, target: str, records: Iterable[dict[str, Any]]) -> ImportReport:
        started = time.perf_counter()
        conn = self.conn
        quoted = '"' + target.replace('"', '""') + '"'
        count = 0
        kinds: dict[str, str] = {}  # the text kind of each column, for a new table from CSV
        conn.execute("BEGIN")
        try:
            existing = [r[1] for r in conn.execute(f"PRAGMA table_info({quoted})")]
            stream = iter(records)
            sample = list(itertools.islice(stream, SAMPLE_ROWS))
            for count, record in enumerate(itertools.chain(sample, stream), 1):
                if not isinstance(record, dict):
                    raise ImportRowError(f"row {count} is not an object", row=count)
                if not existing:
                    # Columns (and their types) from every key of the first records, so a
                    # key first seen in a later JSON record still gets a column.
                    if all_text(sample):  # CSV: typed by what the strings look like
                        kinds = column_kinds(sample)
                        columns = {c: _TEXT_KIND_TYPES[k] for c, k in kinds.items()}
                    else:
                        columns = _sample_columns(sample)
                    cols = ", ".join('"' + c.replace('"', '""') + '" ' + t
                                     for c, t in columns.items())
                    conn.execute(f"CREATE TABLE {quoted} ({cols})")
                    existing = list(columns)
                names = list(record)
                sql = (f"INSERT INTO {quoted} (" +
                       ", ".join('"' + n.replace('"', '""') + '"' for n in names) +
                       ") VALUES (" + ", ".join("?" * len(names)) + ")")
                values = [_sqlite_value(record[n]) for n in names]
                if kinds:
                    values = [parse_text(v, kinds.get(n, "text")) for n, v in zip(names, values)]
                try:
                    conn.execute(sql, values)
                except sqlite3.Error as exc:
                    raise ImportRowError(f"row {count} rejected: {exc}", row=count,
                                         statement=sql, original=exc) from exc
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return ImportReport(target=target, rows=count,
                            elapsed_ms=round((time.perf_counter() - started) * 1000, 3))


# Declared types for columns of text (CSV) values; ``parse_text`` turns integers, floats
# and booleans into numbers, dates and timestamps stay ISO text (SQLite has no such type).
_TEXT_KIND_TYPES = {"integer": "INTEGER", "float": "REAL", "boolean": "INTEGER",
                    "date": "TEXT", "timestamp": "TEXT", "text": "TEXT"}


def _sample_columns(sample: list[Any]) -> dict[str, str]:
    """Column name -> declared type from the keys and first non-null values of ``sample``."""
    columns: dict[str, str] = {}
    for record in sample:
        if not isinstance(record, dict):
            break
        for key, value in record.items():
            if not columns.get(key):
                columns[key] = _value_type(value)
    return columns


def _sqlite_value(value: Any) -> Any:
    """A value SQLite can bind: JSON for containers, text for decimals, dates and times."""
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    return value
