"""The adapter interface every database kind implements, and the base class that
enforces the row cap, truncation, timing and error wrapping in one place.

An adapter subclasses :class:`Engine` and implements the small ``_``-free hooks
marked abstract below: how to split a script, how to run one statement (returning a
lazily-streamed :class:`Cursor`), and the schema/explain/dump/restore/import calls.
:meth:`Engine.execute` drives the hooks and is the only place where rows are capped.

Timeouts are enforced *by the server*: ``run_statement`` receives the time limit and
must hand it to the server (``statement_timeout``, ``maxTimeMS``, a progress handler)
and raise :class:`~engines.errors.QueryTimeout` when the server stops the statement.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from engines import formats
from engines.descriptor import EngineDescriptor
from engines.errors import (
    DBPlayError,
    EngineError,
    ExecutionError,
    InvalidRequest,
    ParseLimitExceeded,
)
from engines.result import (
    Column,
    ExplainResult,
    ImportReport,
    SchemaInfo,
    StatementResult,
    jsonable,
)
from engines.result_limits import cut_cell, cut_marker, value_size

DEFAULT_MAX_ROWS = 1000
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RESULT_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_CELL_BYTES = 64 * 1024
DEFAULT_MAX_SCRIPT_BYTES = 1024 * 1024


@dataclass
class Statement:
    """One statement of a script, with where it starts (1-based) in the script."""

    text: str
    line: int = 1
    column: int = 1


@dataclass
class Cursor:
    """What running one statement yields: column descriptions and a lazy row stream.

    ``rows`` must stream from the server (server-side cursor, batch iterator); the
    base class reads at most ``max_rows + 1`` of them. ``close`` is always called.
    """

    columns: list[Column] = field(default_factory=list)
    rows: Iterable[Sequence[Any]] = ()
    rowcount: int | None = None
    notice: str | None = None
    close: Callable[[], None] | None = None
    #: the statement yields rows even when none came back (so no columns are known)
    returns_rows: bool = False


class RowSink(Protocol):
    """Where the whole result of one statement is kept (``orchestrator/results``).

    It is fed the rows as the driver gives them (not yet made JSON-safe), the first page
    included, and answers ``False`` once it is full (then it is fed no more).
    """

    result_id: str

    def add(self, row: Sequence[Any]) -> bool: ...

    def finish(self, columns: list[Column], *, stopped: str | None = None) -> dict[str, Any]:
        """Write what was kept; ``stopped`` says why rows stopped coming early (an error).
        Returns ``{"total_rows", "result_truncated", "result_note"}``."""
        ...


#: the sink keeping statement ``index`` (0-based) of a script
SinkFactory = Callable[[int], RowSink]


class Engine(ABC):
    """A connection to one database (one sandbox) of a given kind."""

    #: what this kind is (label, script language, dump suffixes...), declared once in
    #: ``engines/<kind>/descriptor.py``
    descriptor: ClassVar[EngineDescriptor]
    kind: ClassVar[str]

    def __init__(
        self,
        url: str,
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
        max_cell_bytes: int = DEFAULT_MAX_CELL_BYTES,
        max_script_bytes: int = DEFAULT_MAX_SCRIPT_BYTES,
    ) -> None:
        self.url = url
        self.max_rows = max_rows
        self.timeout_s = timeout_s
        #: rows stop once the cells kept pass this many bytes (the result is truncated)
        self.max_result_bytes = max_result_bytes
        #: a longer cell is cut and marked (see :mod:`engines.result_limits`)
        self.max_cell_bytes = max_cell_bytes
        #: a longer script is refused before it is parsed
        self.max_script_bytes = max_script_bytes

    # -- lifecycle -------------------------------------------------------
    def connect(self) -> None:  # noqa: B027 - optional hook
        """Open the connection eagerly (adapters may also connect lazily)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the connection."""

    def __enter__(self) -> Engine:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self) -> bool:
        """True when the server answers; the one readiness check used everywhere."""
        try:
            results = self.execute(self.ping_script, timeout_s=5)
        except DBPlayError:
            return False
        return bool(results) and results[0].error is None

    ping_script: ClassVar[str] = "SELECT 1"

    # -- hooks for adapters ---------------------------------------------
    @abstractmethod
    def split(self, script: str) -> list[Statement]:
        """Split a script into statements with a real parser.

        Raises :class:`~engines.errors.QuerySyntaxError` with line/column when the
        script cannot be split.
        """

    @abstractmethod
    def run_statement(self, statement: Statement, timeout_s: float) -> Cursor:
        """Run one statement with a server-enforced time limit; rows stream lazily.

        Errors raised here give ``line``/``column`` relative to the statement text;
        :meth:`execute` shifts them to the position in the whole script.
        """

    def wrap_error(self, exc: Exception, statement: Statement) -> EngineError:
        """Turn a driver exception into an :class:`EngineError` (adapters refine this)."""
        return ExecutionError(str(exc).strip() or type(exc).__name__,
                              statement=statement.text, original=exc)

    def cancel(self) -> None:  # noqa: B027 - optional hook
        """Ask the server to stop the statement running on this connection now."""

    @abstractmethod
    def explain(self, statement: str, *, timeout_s: float | None = None) -> ExplainResult:
        """A normalized plan tree plus the engine's raw output."""

    @abstractmethod
    def schema(self) -> SchemaInfo:
        """Tables or collections with columns, keys, indexes and row counts."""

    @abstractmethod
    def dump(self, path: Path) -> None:
        """Write the whole database to ``path`` in this engine's documented dump format."""

    @abstractmethod
    def restore(self, path: Path) -> None:
        """Load a dump (or a supported source script) into this, empty, database."""

    @abstractmethod
    def import_rows(self, target: str, records: Iterable[dict[str, Any]]) -> ImportReport:
        """Insert records into ``target`` atomically where the engine has transactions.

        A bad record raises :class:`~engines.errors.ImportRowError` naming its 1-based row.
        """

    # -- the one place rows are capped ----------------------------------
    def execute(
        self,
        script: str,
        *,
        max_rows: int | None = None,
        timeout_s: float | None = None,
    ) -> list[StatementResult]:
        """Run every statement of ``script``; stop at the first failing one.

        Returns one result per statement run; a failing statement's result carries
        ``error`` and is the last one. A script that cannot be split gives a single
        error result.
        """
        results, _ = self._execute(script, max_rows, timeout_s, None, defer_last=False)
        return results

    def execute_keeping(
        self,
        script: str,
        keep: SinkFactory,
        *,
        max_rows: int | None = None,
        timeout_s: float | None = None,
    ) -> tuple[list[StatementResult], Callable[[], None] | None]:
        """Like :meth:`execute`, and each statement's whole result goes to ``keep(index)``.

        Every statement but the last is kept whole before the next one runs (a later
        statement may change the data). The last one is answered as soon as its first page
        is read: the second value, when not ``None``, keeps the rest of its rows and must
        be called (its ``total_rows`` is then unknown in the answer).
        """
        return self._execute(script, max_rows, timeout_s, keep, defer_last=True)

    def _execute(self, script: str, max_rows: int | None, timeout_s: float | None,
                 keep: SinkFactory | None, *, defer_last: bool
                 ) -> tuple[list[StatementResult], Callable[[], None] | None]:
        cap = self.max_rows if max_rows is None else max_rows
        limit = self.timeout_s if timeout_s is None else timeout_s
        try:
            self.check_script_size(script)
            statements = self.split(script)
        except EngineError as exc:
            shown = script if len(script) <= 2000 else script[:2000] + cut_marker(len(script))
            return [StatementResult(statement=shown.strip(), error=exc.to_dict(),
                                    line=exc.line or 1)], None
        results: list[StatementResult] = []
        rest: Callable[[], None] | None = None
        for index, statement in enumerate(statements):
            last = index == len(statements) - 1
            sink = keep(index) if keep is not None else None
            result, rest = self._run_capped(statement, cap, limit, sink,
                                            defer=defer_last and last)
            results.append(result)
            if result.error is not None:
                break
        return results, rest

    def _run_capped(self, statement: Statement, cap: int, timeout_s: float,
                    sink: RowSink | None = None, *, defer: bool = False
                    ) -> tuple[StatementResult, Callable[[], None] | None]:
        started = time.perf_counter()
        result = StatementResult(statement=statement.text, line=statement.line)
        cursor: Cursor | None = None
        rest: Iterator[Sequence[Any]] | None = None
        try:
            cursor = self.run_statement(statement, timeout_s)
            rest = self._collect_rows(cursor, cap, result, sink)
            result.columns = cursor.columns
            result.notice = cursor.notice
            result.rowcount = cursor.rowcount
            yields_rows = bool(cursor.columns) or cursor.returns_rows
            if result.rowcount is None and yields_rows and not result.truncated:
                result.rowcount = len(result.rows)
            if sink is not None and yields_rows:
                result.result_id = sink.result_id
            else:
                sink = None
        except Exception as exc:
            error = exc if isinstance(exc, EngineError) else self.wrap_error(exc, statement)
            if error.statement is None:
                error.statement = statement.text
            if error.line is not None:  # adapters count lines within the statement
                error.line += statement.line - 1
            result.error = error.to_dict()
            sink = None
        finally:
            result.elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
        if sink is not None and rest is not None and defer and result.truncated:
            return result, self._keeper(cursor, rest, sink)
        if sink is not None and rest is not None:
            kept = self._keep_rest(cursor, rest, sink)
            result.total_rows = kept.get("total_rows")
            result.result_truncated = bool(kept.get("result_truncated"))
            result.result_note = kept.get("result_note")
        else:
            _close(cursor)
        return result, None

    def _keeper(self, cursor: Cursor | None, rest: Iterator[Sequence[Any]],
                sink: RowSink) -> Callable[[], None]:
        def keep_rest() -> None:
            self._keep_rest(cursor, rest, sink)
        return keep_rest

    def _keep_rest(self, cursor: Cursor | None, rest: Iterator[Sequence[Any]],
                   sink: RowSink) -> dict[str, Any]:
        """Feed the rows not read yet to ``sink`` (until it is full), close, and finish."""
        stopped: str | None = None
        try:
            for row in rest:
                if not sink.add(tuple(row)):
                    break
        except Exception as exc:  # the first page was answered; say why the rest stopped
            stopped = str(exc).strip() or type(exc).__name__
        finally:
            _close(cursor)
        return sink.finish(cursor.columns if cursor is not None else [], stopped=stopped)

    def check_script_size(self, script: str) -> None:
        """Refuse a script longer than :attr:`max_script_bytes` before parsing it."""
        if len(script) * 4 <= self.max_script_bytes:
            return
        size = len(script.encode("utf-8"))
        if size > self.max_script_bytes:
            raise ParseLimitExceeded(
                f"the script is {size:,} bytes, more than the {self.max_script_bytes:,} "
                "bytes a request may send; split it or import the data from a file")

    def _collect_rows(self, cursor: Cursor, cap: int, result: StatementResult,
                      sink: RowSink | None = None) -> Iterator[Sequence[Any]]:
        """Up to ``cap`` rows, cells cut, stopping early past :attr:`max_result_bytes`;
        every row read also goes to ``sink``. Returns the rows not read yet."""
        rows: list[list[Any]] = []
        kept = 0
        stream = iter(cursor.rows)
        feeding = sink is not None
        for row in stream:
            if feeding:
                assert sink is not None
                feeding = sink.add(tuple(row))
            if len(rows) == cap:
                result.truncated = True
                result.truncated_reason = f"more than {cap:,} rows (the row cap)"
                break
            # in place when the adapter gave a list: it may still pad the rows it
            # yielded with cells of columns found later (MongoDB documents)
            cells = row if isinstance(row, list) else list(row)
            for index, value in enumerate(cells):
                cells[index] = cut_cell(jsonable(value), self.max_cell_bytes)
            rows.append(cells)
            kept += sum(value_size(c) for c in cells)
            if kept > self.max_result_bytes:
                result.truncated = True
                result.truncated_reason = (
                    f"stopped after {len(rows):,} rows: they hold more than "
                    f"{self.max_result_bytes:,} bytes (the result size cap)")
                break
        result.rows = rows
        return stream if feeding else iter(())

    # -- streaming out and in, shared by all engines ----------------------
    def stream(
        self, query: str, *, timeout_s: float | None = None
    ) -> tuple[list[Column], Iterator[list[Any]], Callable[[], None]]:
        """Run one query with no row cap; rows stream and must be consumed, then closed."""
        self.check_script_size(query)
        statements = self.split(query)
        if len(statements) != 1:
            raise InvalidRequest(f"expected exactly one statement to export, got {len(statements)}")
        statement = statements[0]
        try:
            limit = self.timeout_s if timeout_s is None else timeout_s
            cursor = self.run_statement(statement, limit)
        except EngineError:
            raise
        except Exception as exc:
            raise self.wrap_error(exc, statement) from exc
        rows = ([jsonable(v) for v in row] for row in cursor.rows)
        return cursor.columns, rows, (cursor.close or (lambda: None))

    def export(self, query: str, fmt: str, out: Path, *, timeout_s: float | None = None) -> int:
        """Write the full result of ``query`` to ``out`` as csv, json, jsonl or parquet."""
        columns, rows, close = self.stream(query, timeout_s=timeout_s)
        try:
            return formats.write_rows(out, fmt, [c.name for c in columns], rows)
        finally:
            close()

    def import_file(self, target: str, path: Path, fmt: str | None = None) -> ImportReport:
        """Import a CSV, JSON, JSONL or Parquet file into ``target``."""
        return self.import_rows(target, formats.read_records(path, fmt))


def _close(cursor: Cursor | None) -> None:
    if cursor is not None and cursor.close is not None:
        try:
            cursor.close()
        except Exception:
            pass
