"""How the CLI prints: JSON with ``--json``, readable tables otherwise."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any

MAX_CELL = 60


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def width(text: str) -> int:
    """Terminal columns ``text`` takes: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0
               if unicodedata.combining(ch) else 1 for ch in text)


def _pad(text: str, columns: int) -> str:
    return text + " " * (columns - width(text))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
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
    return table(fields, [[item.get(f) for f in fields] for item in items])


def mapping(item: dict[str, Any]) -> str:
    width = max((len(k) for k in item), default=0)
    return "\n".join(f"{k.ljust(width)}  {_cell(v)}" for k, v in item.items())


def statements(data: list[dict[str, Any]]) -> str:
    parts = []
    for result in data:
        head = result["statement"].strip().splitlines()[0] if result["statement"].strip() else ""
        if result.get("error"):
            err = result["error"]
            parts.append(f"-- {head}\nerror: {err['type']}: {err['message']}")
            continue
        if result["columns"]:
            body = table(result["columns"], result["rows"])
            more = ", truncated" if result["truncated"] else ""
            parts.append(f"{body}\n({_count(len(result['rows']))}{more}, "
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
