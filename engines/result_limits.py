"""How much of a result a worker holds: cells cut at a size, rows stopped at a total.

A cell is measured after :func:`~engines.result.jsonable` (what the result carries):

* text longer than the cell cap (in UTF-8 bytes) keeps its first ``max_cell_bytes``
  bytes (whole characters) and ends with the marker ``… [cut: 5,242,880 bytes]``,
  naming the full size;
* binary values (``{"$binary": base64}``) keep their first ``max_cell_bytes`` bytes and
  gain ``"$cut": <full size in bytes>``;
* a nested value (a JSON or BSON document, an array) whose JSON text passes the cap
  becomes that JSON text, cut and marked like text.

:func:`value_size` estimates the bytes a value takes in a result (its JSON length,
near enough), used to stop collecting rows at ``max_result_bytes``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

CUT_MARKER = "… [cut: {size:,} bytes]"


def cut_marker(size: int) -> str:
    return CUT_MARKER.format(size=size)


def _cut_text(text: str, size: int, max_cell_bytes: int) -> str:
    head = text.encode("utf-8")[:max_cell_bytes].decode("utf-8", "ignore")
    return head + cut_marker(size)


def cut_cell(value: Any, max_cell_bytes: int) -> Any:
    """``value`` (already JSON-safe) cut to ``max_cell_bytes`` and marked as cut."""
    if isinstance(value, str):
        if len(value) * 4 <= max_cell_bytes:  # cannot pass the cap whatever it holds
            return value
        size = len(value.encode("utf-8"))
        return value if size <= max_cell_bytes else _cut_text(value, size, max_cell_bytes)
    if isinstance(value, dict) and set(value) == {"$binary"} and isinstance(
            value["$binary"], str):
        encoded = value["$binary"]
        if len(encoded) * 3 // 4 <= max_cell_bytes:
            return value
        raw = base64.b64decode(encoded)
        return {"$binary": base64.b64encode(raw[:max_cell_bytes]).decode("ascii"),
                "$cut": len(raw)}
    if isinstance(value, (dict, list)):
        if value_size(value) <= max_cell_bytes:
            return value
        text = json.dumps(value, ensure_ascii=False, default=str)
        size = len(text.encode("utf-8"))
        return text if size <= max_cell_bytes else _cut_text(text, size, max_cell_bytes)
    return value


def value_size(value: Any) -> int:
    """About how many bytes ``value`` (JSON-safe) takes in a result."""
    if value is None or isinstance(value, bool):
        return 4
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, (int, float)):
        return 8
    if isinstance(value, dict):
        return 2 + sum(len(str(k)) + 4 + value_size(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return 2 + sum(value_size(v) + 1 for v in value)
    return len(str(value))


def raw_size(row: Sequence[Any]) -> int:
    """About how many bytes a driver row takes (before conversion): for batch sizing."""
    total = 0
    for value in row:
        if isinstance(value, (str, bytes, bytearray, memoryview)):
            total += len(value)
        elif isinstance(value, (dict, list, tuple)):
            total += value_size(value)
        else:
            total += 8
    return total
