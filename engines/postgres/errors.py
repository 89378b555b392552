"""How psycopg2 errors become DB Playground errors.

==========================================  =======================================
psycopg2 / SQLSTATE                         raised as
==========================================  =======================================
``query_canceled`` (57014), cancel asked    :class:`~engines.errors.QueryCancelled`
``query_canceled`` (57014), otherwise       :class:`~engines.errors.QueryTimeout`
``InterfaceError``, class 08, 57P01-03,     :class:`~engines.errors.EngineUnavailable`
``OperationalError`` without SQLSTATE
``syntax_error`` (42601)                    :class:`~engines.errors.QuerySyntaxError`
``insufficient_privilege`` (42501)          :class:`~engines.errors.PermissionDenied`
anything else                               :class:`~engines.errors.ExecutionError`
==========================================  =======================================

The server's error position (``statement_position``, a 1-based character offset in
the text sent) becomes a line and column within the statement.
"""

from __future__ import annotations

from typing import Any

import psycopg2
import psycopg2.errors

from engines.errors import (
    EngineError,
    EngineUnavailable,
    ExecutionError,
    PermissionDenied,
    QueryCancelled,
    QuerySyntaxError,
    QueryTimeout,
)
from engines.postgres.script import LineIndex

_CONNECTION_CODES = ("57P01", "57P02", "57P03")


def error_message(exc: Exception) -> str:
    """The server's message with its DETAIL and HINT, or the exception's text."""
    diag: Any = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if diag is None or not primary:
        return str(exc).strip() or type(exc).__name__
    parts = [primary]
    if diag.message_detail:
        parts.append(f"DETAIL: {diag.message_detail}")
    if diag.message_hint:
        parts.append(f"HINT: {diag.message_hint}")
    return "\n".join(parts)


def map_error(exc: Exception, text: str, *, offset: int = 0,
              cancel_requested: bool = False) -> EngineError:
    """Wrap ``exc`` raised by the statement ``text``.

    ``offset`` is how many characters preceded ``text`` in what was sent to the server
    (``DECLARE ... FOR``, ``EXPLAIN ...``).
    """
    message = error_message(exc)
    code = getattr(exc, "pgcode", None)
    if isinstance(exc, psycopg2.errors.QueryCanceled):
        if cancel_requested or "user request" in message:
            return QueryCancelled(f"statement cancelled: {message}", statement=text,
                                  original=exc)
        return QueryTimeout(f"statement stopped at its time limit: {message}",
                            statement=text, original=exc)
    if isinstance(exc, psycopg2.InterfaceError) or (
        isinstance(exc, psycopg2.OperationalError)
        and (code is None or code.startswith("08") or code in _CONNECTION_CODES)
    ):
        return EngineUnavailable(f"PostgreSQL connection lost: {message}", statement=text,
                                 original=exc)
    line = column = None
    position = getattr(getattr(exc, "diag", None), "statement_position", None)
    if position and position.isdigit():
        index = int(position) - 1 - offset
        if 0 <= index <= len(text):
            line, column = LineIndex(text).position(index)
    cls: type[EngineError] = ExecutionError
    if code == "42601":
        cls = QuerySyntaxError
    elif code == "42501":
        cls = PermissionDenied
    return cls(message, statement=text, original=exc, line=line, column=column)
