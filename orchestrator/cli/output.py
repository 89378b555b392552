"""How the CLI prints: JSON with ``--json``, readable tables otherwise."""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any

MAX_CELL = 60
#: how ``str(datetime.timedelta)`` looks: ``[-]D day[s], ]H:MM:SS[.ffffff]``
_TIMEDELTA = re.compile(r"(?:(-?\d+) days?, )?(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?")


def _cell(value: Any, null: str = "NULL") -> str:
    if value is None:
        return null
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def width(text: str) -> int:
    """Terminal columns ``text`` takes: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0
               if unicodedata.combining(ch) else 1 for ch in text)


def _pad(text: str, columns: int) -> str:
    return text + " " * (columns - width(text))


def interval(text: str) -> str:
    """A Python ``timedelta`` string as PostgreSQL prints an interval: ``1 day``,
    ``01:00:00``, ``2 days 03:04:05.5``; other text is returned unchanged."""
    match = _TIMEDELTA.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return text
    days, hours, minutes, seconds, fraction = match.groups()
    micros = int((fraction or "0").ljust(6, "0"))
    total = ((int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds))
             * 1_000_000 + micros)
    sign = "-" if total < 0 else ""
    whole_days, rest = divmod(abs(total), 86_400_000_000)
    parts = [f"{sign}{whole_days} day{'' if whole_days == 1 else 's'}"] if whole_days else []
    if rest or not parts:
        secs, micro = divmod(rest, 1_000_000)
        clock = f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
        if micro:
            clock += f".{micro:06d}".rstrip("0")
        parts.append(sign + clock)
    return " ".join(parts)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], null: str = "NULL",
          types: Sequence[str] | None = None) -> str:
    """``null`` stands for missing values: ``NULL`` in query results, ``-`` in metadata.
    ``types`` (column types) let intervals print the way PostgreSQL prints them."""
    if types and "interval" in types:
        rows = [[interval(v) if t == "interval" else v for v, t in zip(row, types)]
                for row in rows]
    cells = [[_cell(v, null) for v in row] for row in rows]
    widths = [width(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], width(value))
    line = "  ".join(_pad(h, w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(_pad(v, w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(line.rstrip() for line in out)


def _count(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def records(items: Sequence[dict[str, Any]], fields: Sequence[str]) -> str:
    if not items:
        return "(none)"
    return table(fields, [[item.get(f) for f in fields] for item in items], null="-")


def mapping(item: dict[str, Any]) -> str:
    width = max((len(k) for k in item), default=0)
    return "\n".join(f"{k.ljust(width)}  {_cell(v, '-')}" for k, v in item.items())


def is_read(result: dict[str, Any], document_store: bool) -> bool:
    """Whether a result with no columns is a read that found nothing (not a write).

    ``returns_rows`` says so when the result carries it; otherwise a document store's
    statement with neither columns nor a notice is a read (its writes report either)."""
    if result.get("returns_rows") is not None:
        return bool(result["returns_rows"])
    return document_store and not result.get("notice")


def statements(data: list[dict[str, Any]], document_store: bool = False) -> str:
    parts = []
    for result in data:
        head = result["statement"].strip().splitlines()[0] if result["statement"].strip() else ""
        if result.get("error"):
            err = result["error"]
            parts.append(f"-- {head}\nerror: {err['type']}: {err['message']}")
            continue
        more = ", truncated" if result["truncated"] else ""
        if result["columns"]:
            body = table(result["columns"], result["rows"], types=result.get("types"))
            parts.append(f"{body}\n({_count(len(result['rows']))}{more}, "
                         f"{result['elapsed_ms']:.1f} ms)")
        elif is_read(result, document_store):
            parts.append(f"({_count(len(result['rows']))}{more}, "
                         f"{result['elapsed_ms']:.1f} ms)")
        else:
            count = result["rowcount"]
            parts.append(f"OK{'' if count is None else f', {count} rows affected'} "
                         f"({result['elapsed_ms']:.1f} ms)")
    return "\n\n".join(parts)


def emit(as_json: bool, data: Any, human: str | None = None) -> None:
    if as_json:
        json.dump(data, sys.stdout, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    else:
        print(human if human is not None else (mapping(data) if isinstance(data, dict)
                                                  else json.dumps(data, indent=2, default=str)))


def emit_error(as_json: bool, kind: str, message: str) -> None:
    if as_json:
        json.dump({"error": {"type": kind, "message": message}}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(f"error: {kind}: {message}", file=sys.stderr)
