"""Splitting SQLite scripts into statements, in linear time.

SQLite's own tokenizer decides where a statement ends (:func:`sqlite3.complete_statement`)
only where it has to: inside ``CREATE TRIGGER`` bodies. Elsewhere a ``;`` outside
strings, quoted names and comments ends the statement; calling ``complete_statement``
at every ``;`` instead rereads the statement each time, which made a megabyte of
``;`` inside one unterminated string take minutes.
"""

from __future__ import annotations

import bisect
import re
import sqlite3

from engines.base import Statement
from engines.errors import ParseLimitExceeded

_LEADING_NOISE = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/|;)*", re.S)
#: strings, quoted names, comments (each possibly unterminated at the end) and ``;``
_LEXEMES = re.compile(r"'[^']*(?:'|\Z)|\"[^\"]*(?:\"|\Z)|`[^`]*(?:`|\Z)|\[[^\]]*(?:\]|\Z)"
                      r"|--[^\n]*|/\*.*?(?:\*/|\Z)|;", re.S)
_TRIGGER = re.compile(r"\bTRIGGER\b", re.I)
_ENDS_WITH_END = re.compile(r"\bEND(?:\s|--[^\n]*\n|/\*.*?\*/)*;\Z", re.I | re.S)
MAX_TRIGGER_CHECKS = 1000


def _is_blank(text: str) -> bool:
    """True when ``text`` holds only whitespace, comments and semicolons."""
    return _LEADING_NOISE.match(text).end() == len(text)  # type: ignore[union-attr]


def split_sqlite(script: str) -> list[Statement]:
    """Statements of ``script``, in linear time.

    A ``;`` outside strings, quoted names and comments (found by :data:`_LEXEMES`) ends a
    statement, except inside a ``CREATE TRIGGER`` body: there SQLite's own
    :func:`sqlite3.complete_statement` decides, at a ``;`` after ``END``. At most
    :data:`MAX_TRIGGER_CHECKS` such checks per statement, as each rereads the statement.
    """
    statements: list[Statement] = []
    newlines = [m.start() for m in re.finditer("\n", script)]
    start = checks = 0
    for match in _LEXEMES.finditer(script):
        if match.group() != ";":
            continue
        end = match.end()
        chunk = script[start:end]
        if _TRIGGER.search(chunk):
            if not _ENDS_WITH_END.search(chunk):
                continue
            checks += 1
            if checks > MAX_TRIGGER_CHECKS:
                raise ParseLimitExceeded(
                    f"a trigger body with more than {MAX_TRIGGER_CHECKS:,} END; is not split",
                    line=script.count("\n", 0, start) + 1)
            if not sqlite3.complete_statement(chunk):
                continue
        _append(statements, script, start, end, newlines)
        start, checks = end, 0
    _append(statements, script, start, len(script), newlines)
    return statements


def _append(out: list[Statement], script: str, start: int, end: int,
            newlines: list[int]) -> None:
    chunk = script[start:end]
    if _is_blank(chunk):
        return
    skipped = _LEADING_NOISE.match(chunk).end()  # type: ignore[union-attr]
    begin = start + skipped
    text = script[begin:end].strip()
    before = bisect.bisect_left(newlines, begin)  # newlines before ``begin``
    line_start = newlines[before - 1] + 1 if before else 0
    out.append(Statement(text=text, line=before + 1, column=begin - line_start + 1))
