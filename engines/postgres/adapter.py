"""PostgreSQL adapter (psycopg2).

URL: ``postgresql://user:password@host:port/dbname`` (any libpq URI or DSN).

Scripts
    Split with PostgreSQL's own grammar through pglast (see :mod:`engines.postgres.script`
    for why not sqlparse or sqlglot). Each statement keeps its parse tree, which decides
    how it runs.

Transactions
    The connection is in autocommit mode, like ``psql``: every statement commits on its
    own. A user ``BEGIN`` opens a real transaction block on the server and the following
    statements run inside it until ``COMMIT``/``ROLLBACK``. When a statement fails inside
    a block, the block is rolled back (the server would refuse everything else in it
    anyway), so the connection is usable again. A script that ends inside a block has the
    block rolled back, as ``psql -f`` does when it exits, and says so in a notice.

Streaming and limits
    Every statement that returns rows from a table runs behind a server-side cursor
    (``DECLARE ... NO SCROLL CURSOR`` in a transaction we open, or in the user's own
    block), and ``INSERT/UPDATE/DELETE ... RETURNING`` first fills a temporary table
    that is then read through such a cursor: see :mod:`engines.postgres.fetch`. Rows
    come in batches sized by the bytes seen so far, so the row cap and the result size
    cap bound what the worker holds. Closing the result closes the cursor and commits
    our transaction (a ``SELECT`` may call functions that write, as in psql). DDL,
    ``SHOW``, ``EXPLAIN`` and the like use a client-side cursor.
    ``SET statement_timeout`` is sent before every statement, so the server stops it;
    for a cursor each fetch is one statement for the server, so the limit applies per
    batch. :meth:`~PostgresEngine.cancel` sends a cancel request and may be called from
    any thread. Statements nested too deeply for the parser are refused before parsing
    (:mod:`engines.postgres.limits`).

Errors, explain, schema, dumps, imports
    See :mod:`engines.postgres.errors` (error mapping), :meth:`PostgresEngine.explain`,
    :mod:`engines.postgres.catalog` (schema and plan normalization),
    :mod:`engines.postgres.dump` (dump format, psql-script restore) and
    :mod:`engines.postgres.data_import`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras

from engines.base import Cursor, Engine, Statement
from engines.errors import (
    EngineError,
    EngineUnavailable,
    InvalidRequest,
    RestoreError,
    UnsupportedCommand,
)
from engines.postgres.catalog import read_schema
from engines.postgres.data_import import import_records
from engines.postgres.descriptor import POSTGRES
from engines.postgres.dump import PsqlScriptRunner, run_pg_dump
from engines.postgres.errors import error_message, map_error
from engines.postgres.fetch import cursor_plan, declare, fetch_rows, release
from engines.postgres.limits import MAX_FALLBACK_STATEMENTS, check_nesting
from engines.postgres.plan import plan_result
from engines.postgres.script import (
    PgStatement,
    is_copy_from_stdin,
    is_copy_to_stdout,
    parse_one,
    split_script,
    split_sql,
)
from engines.result import Column, ExplainResult, ImportReport, SchemaInfo, StatementResult

log = logging.getLogger(__name__)

#: per-statement limit while restoring (a restore runs scripts, not user queries)
RESTORE_TIMEOUT_S = 600.0
_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE
_INTRANS = psycopg2.extensions.TRANSACTION_STATUS_INTRANS
_INERROR = psycopg2.extensions.TRANSACTION_STATUS_INERROR


def _timeout_ms(timeout_s: float) -> int:
    return max(1, int(timeout_s * 1000)) if timeout_s > 0 else 0


class PostgresEngine(Engine):
    descriptor = POSTGRES
    kind = POSTGRES.kind

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self._conn: Any = None
        self._types: dict[int, str] = {}
        self._cancelled = threading.Event()
        #: what the last :meth:`restore` deliberately skipped or ignored
        self.restore_notices: list[str] = []

    # -- connection ------------------------------------------------------------
    def connect(self) -> None:
        if self._conn is not None and not self._conn.closed:
            return
        try:
            conn = psycopg2.connect(self.url, connect_timeout=10, application_name="dbplay")
        except psycopg2.Error as exc:
            raise EngineUnavailable(f"cannot connect to PostgreSQL: {error_message(exc)}",
                                    original=exc) from exc
        conn.autocommit = True
        conn.notices = deque(maxlen=100)
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def _connection(self) -> Any:
        self.connect()
        return self._conn

    def _status(self) -> int:
        return int(self._conn.info.transaction_status)

    def _recover(self) -> None:
        """After an error: end any transaction so the connection is usable again."""
        conn = self._conn
        if conn is None or conn.closed:
            self._conn = None
            return
        try:
            if conn.info.transaction_status != _IDLE:
                with conn.cursor() as cur:
                    cur.execute("ROLLBACK")
        except psycopg2.Error:
            self.close()

    def cancel(self) -> None:
        self._cancelled.set()
        conn = self._conn
        if conn is not None and not conn.closed:
            try:
                conn.cancel()
            except psycopg2.Error as exc:
                log.warning("cancel request failed: %s", exc)

    def ping(self) -> bool:
        """True when the server answers ``SELECT 1`` within 5 s."""
        results = self.execute(self.ping_script, timeout_s=5)
        return bool(results) and results[0].error is None

    # -- statements ------------------------------------------------------------
    def split(self, script: str) -> list[Statement]:
        """Statements up to and including the first one that does not parse, like psql.

        A script nested too deeply for the parser is refused first, and a long one
        that does not parse fails as a whole (see :mod:`engines.postgres.limits`)."""
        shape = check_nesting(script)
        if shape.semicolons > MAX_FALLBACK_STATEMENTS:
            return list(split_sql(script))  # a syntax error fails the whole script
        return list(split_script(script))

    def execute(self, script: str, *, max_rows: int | None = None,
                timeout_s: float | None = None) -> list[StatementResult]:
        results = super().execute(script, max_rows=max_rows, timeout_s=timeout_s)
        conn = self._conn
        if results and conn is not None and not conn.closed and self._status() == _INTRANS:
            self._recover()
            note = ("the script ended inside a transaction block (BEGIN without COMMIT); "
                    "it was rolled back, as psql -f does")
            last = results[-1]
            last.notice = f"{last.notice}\n{note}" if last.notice else note
        return results

    def run_statement(self, statement: Statement, timeout_s: float) -> Cursor:
        if isinstance(statement, PgStatement):
            statement.raise_if_unparsed()
        if not isinstance(statement, PgStatement):
            check_nesting(statement.text)
        node = statement.node if isinstance(statement, PgStatement) else parse_one(statement.text)
        if is_copy_from_stdin(node):
            raise UnsupportedCommand(
                "COPY ... FROM STDIN needs data sent by the client; use import to load a "
                "CSV/JSON/Parquet file into a table", statement=statement.text)
        if is_copy_to_stdout(node):
            raise UnsupportedCommand(
                "COPY ... TO STDOUT is not run here; use export to write a query's result "
                "to a file", statement=statement.text)
        conn = self._connection()
        self._cancelled.clear()
        conn.notices.clear()
        try:
            with conn.cursor() as setter:
                setter.execute(f"SET statement_timeout = {_timeout_ms(timeout_s)}")
        except psycopg2.Error as exc:
            error = self._wrap(exc, statement)
            self._recover()
            raise error from exc
        plan = cursor_plan(node)
        if plan is not None:
            return self._server_cursor(conn, statement, plan)
        cur = conn.cursor()
        try:
            cur.execute(statement.text)
        except psycopg2.Error as exc:
            error = self._wrap(exc, statement)
            cur.close()
            self._recover()
            raise error from exc
        rowcount = cur.rowcount if cur.rowcount >= 0 else None
        if cur.description is None:
            return Cursor(rowcount=rowcount, notice=self._notices(), close=cur.close)
        return Cursor(columns=self._columns(cur.description), rows=iter(cur),
                      rowcount=rowcount, notice=self._notices(), close=cur.close)

    def _server_cursor(self, conn: Any, statement: Statement, plan: str) -> Cursor:
        """Rows through a server-side cursor, in bounded batches (:mod:`postgres_fetch`)."""
        try:
            opened = declare(conn, statement.text, plan, self._status,
                             lambda exc, offset: self._wrap(exc, statement, offset))
            description, _first, rows = fetch_rows(
                opened, self.max_result_bytes, lambda exc: self._wrap(exc, statement))
            columns = self._columns(description)
        except (psycopg2.Error, EngineError) as exc:
            error = exc if isinstance(exc, EngineError) else self._wrap(exc, statement)
            self._recover()
            raise error from exc

        def close() -> None:
            if self._conn is None or self._conn.closed:
                return
            try:
                release(opened, self._status)
            except psycopg2.Error:
                self._recover()
            if self._status() == _INERROR:
                self._recover()

        return Cursor(columns=columns, rows=rows, rowcount=opened.rowcount,
                      notice=self._notices(), close=close)

    @staticmethod
    def _discard(cur: Any) -> None:
        try:
            cur.close()
        except psycopg2.Error:
            pass

    def _notices(self) -> str | None:
        notices = [str(n).strip() for n in self._conn.notices]
        self._conn.notices.clear()
        return "\n".join(notices) or None

    def _columns(self, description: Sequence[Any]) -> list[Column]:
        missing = sorted({d.type_code for d in description} - set(self._types))
        if missing:
            with self._conn.cursor() as cur:
                cur.execute("SELECT oid::int, format_type(oid, NULL) FROM pg_type "
                            "WHERE oid = ANY(%s::oid[])", (missing,))
                self._types.update(dict(cur.fetchall()))
        return [Column(d.name, self._types.get(d.type_code, str(d.type_code)))
                for d in description]

    # -- errors ------------------------------------------------------------------
    def wrap_error(self, exc: Exception, statement: Statement) -> EngineError:
        return self._wrap(exc, statement)

    def _wrap(self, exc: Exception, statement: Statement, offset: int = 0) -> EngineError:
        return map_error(exc, statement.text, offset=offset,
                         cancel_requested=self._cancelled.is_set())

    # -- explain / schema ----------------------------------------------------------
    def explain(self, statement: str, *, timeout_s: float | None = None) -> ExplainResult:
        """``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)``, normalized by
        :mod:`engines.postgres.plan`; ``raw`` is the JSON.

        ANALYZE executes the statement, so it always runs inside a transaction (or, in
        an open user block, a savepoint) that is rolled back: explaining an ``INSERT``,
        ``DELETE`` or a ``SELECT`` of a writing function changes nothing.
        """
        self.check_script_size(statement)
        check_nesting(statement)
        statements = split_sql(statement)
        if len(statements) != 1:
            raise InvalidRequest(f"explain takes exactly one statement, got {len(statements)}")
        target = statements[0]
        prefix = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
        conn = self._connection()
        self._cancelled.clear()
        nested = self._status() == _INTRANS
        limit = self.timeout_s if timeout_s is None else timeout_s
        with conn.cursor() as cur:
            try:
                cur.execute("SAVEPOINT dbplay_explain" if nested else "BEGIN")
                cur.execute(f"SET LOCAL statement_timeout = {_timeout_ms(limit)}")
                cur.execute(prefix + target.text)
                raw = cur.fetchone()[0]
                cur.execute("ROLLBACK TO SAVEPOINT dbplay_explain; RELEASE dbplay_explain"
                            if nested else "ROLLBACK")
            except psycopg2.Error as exc:
                error = self._wrap(exc, target, len(prefix))
                self._recover()
                raise error from exc
        if isinstance(raw, str):
            raw = json.loads(raw)
        return plan_result(target.text, raw)

    def schema(self) -> SchemaInfo:
        conn = self._connection()
        with conn.cursor() as cur:
            try:
                cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                cur.execute(f"SET LOCAL statement_timeout = {_timeout_ms(self.timeout_s)}")
                info = read_schema(cur, self.kind)
                cur.execute("COMMIT")
            except psycopg2.Error as exc:
                error = self._wrap(exc, Statement("-- schema introspection"))
                self._recover()
                raise error from exc
        return info

    # -- dump / restore / import -----------------------------------------------------
    def dump(self, path: Path) -> None:
        """Write a plain-SQL ``pg_dump --no-owner --no-privileges`` file to ``path``."""
        run_pg_dump(self.url, self._connection().server_version // 10000, path)

    def restore(self, path: Path) -> None:
        """Run a psql script (a plain ``pg_dump`` file, Pagila, Chinook) in one transaction.

        What is run, skipped or refused is described in :class:`PsqlScriptRunner`. A
        failure raises :class:`RestoreError` naming the line and leaves nothing behind.
        Session settings the script changed (``search_path``...) are reset afterwards,
        so later queries see the usual defaults.
        """
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RestoreError(f"cannot read {path.name} as a UTF-8 SQL script: {exc}",
                               original=exc) from exc
        conn = self._connection()
        self._recover()
        self._cancelled.clear()
        cur = conn.cursor()
        runner = PsqlScriptRunner(cur, self._wrap)
        try:
            cur.execute("BEGIN")
            cur.execute(f"SET LOCAL statement_timeout = {_timeout_ms(RESTORE_TIMEOUT_S)}")
            runner.run(text)
            cur.execute("COMMIT")
        except psycopg2.Error as exc:
            self._recover()
            raise RestoreError(f"restore failed: {error_message(exc)}", original=exc) from exc
        except BaseException:
            self._recover()
            raise
        finally:
            self.restore_notices = runner.notices
            cur.close()
            self._reset_session()

    def _reset_session(self) -> None:
        conn = self._conn
        if conn is None or conn.closed:
            return
        try:
            with conn.cursor() as cur:
                cur.execute("RESET ALL")
        except psycopg2.Error:
            self._recover()

    def import_rows(self, target: str, records: Iterable[dict[str, Any]]) -> ImportReport:
        """Insert ``records`` in one transaction (see :mod:`engines.postgres.data_import`)."""
        started = time.perf_counter()
        conn = self._connection()
        self._recover()
        try:
            count = import_records(conn, target, records)
        except psycopg2.Error as exc:
            self._recover()
            raise self._wrap(exc, Statement(f"-- import into {target}")) from exc
        except BaseException:
            self._recover()
            raise
        return ImportReport(target=target, rows=count,
                            elapsed_ms=round((time.perf_counter() - started) * 1000, 3))
