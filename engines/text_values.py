"""Choosing column types for records whose values are all text (CSV).

A CSV cell is a string whatever it holds, so a table created from CSV records would
have only text columns and ``sum(amount)`` would fail. When an import creates the
table, each column's type is chosen from its non-null values in the sampled records:

===============  ============================================  ==========  ========
kind             every value looks like                        PostgreSQL  SQLite
===============  ============================================  ==========  ========
``integer``      ``-12``, ``0``, ``345`` (no leading zero)     bigint      INTEGER
``float``        integers and ``1.5``, ``-.5``, ``2e10``       double      REAL
``boolean``      ``true``/``false`` (any case)                 boolean     INTEGER
``date``         ``2024-02-29``                                date        TEXT
``timestamp``    ``2024-02-29T12:00[:00[.123]][Z|+02:00]``     timestamptz TEXT
                 (a space may replace the ``T``; dates too)
``text``         anything else, or no value at all             text        TEXT
===============  ============================================  ==========  ========

Values with a leading zero (``01234``, ``007.5``) are codes, not numbers: they make
the column text. An existing table is never second-guessed: values go in as read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

KINDS = ("integer", "float", "boolean", "date", "timestamp", "text")

_INTEGER = re.compile(r"[+-]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}"
                        r"(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?")
_BOOLEANS = {"true": True, "false": False}


class TextRecord(dict[str, Any]):
    """A record read from a text format: every value is a ``str`` or ``None``."""


def all_text(records: Iterable[Any]) -> bool:
    """True when ``records`` is non-empty and every one is a :class:`TextRecord`."""
    seen = False
    for record in records:
        if not isinstance(record, TextRecord):
            return False
        seen = True
    return seen


def value_kind(value: str) -> str:
    """The narrowest kind of one text value."""
    if _INTEGER.fullmatch(value):
        return "integer"
    if _FLOAT.fullmatch(value):
        return "float"
    if value.lower() in _BOOLEANS:
        return "boolean"
    try:
        if _DATE.fullmatch(value):
            dt.date.fromisoformat(value)
            return "date"
        if _TIMESTAMP.fullmatch(value):
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return "timestamp"
    except ValueError:
        pass
    return "text"


def column_kinds(records: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Column name -> kind, from the non-null values of ``records``."""
    seen: dict[str, set[str]] = {}
    for record in records:
        for key, value in record.items():
            kinds = seen.setdefault(str(key), set())
            if value is not None and "text" not in kinds:
                kinds.add(value_kind(str(value)))
    return {name: _merge(kinds) for name, kinds in seen.items()}


def _merge(kinds: set[str]) -> str:
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds == {"integer", "float"}:
        return "float"
    if kinds == {"date", "timestamp"}:
        return "timestamp"
    return "text"


def parse(value: Any, kind: str) -> Any:
    """``value`` as a Python ``int``/``float``/``bool`` for those kinds, else unchanged.

    A value that does not fit its column's kind (a later row that was not sampled) is
    returned unchanged, for the database to accept or reject.
    """
    if not isinstance(value, str):
        return value
    if kind == "integer" and _INTEGER.fullmatch(value):
        return int(value)
    if kind == "float" and _FLOAT.fullmatch(value):
        return float(value)
    if kind == "boolean" and value.lower() in _BOOLEANS:
        return _BOOLEANS[value.lower()]
    return value
