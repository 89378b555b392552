"""Where stored results live: ``<root>/<owner>/<id>.arrow`` (an Arrow IPC file) and,
once every row is kept, ``<id>.json`` beside it (total rows, size, whether the store's
cap stopped it). The file appears whole (written aside, then renamed); the JSON comes
last, so its presence means "complete"."""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

#: the Arrow schema metadata key holding ``[{"name", "type", "field"}]``: the result's
#: column names as the engine gave them (Arrow field names are made unique)
COLUMNS_KEY = b"dbplay.columns"
_ID = re.compile(r"^[a-z0-9]{8,40}-[0-9]{1,5}$")


def owner_dir(root: Path, owner: str) -> Path:
    return root / owner


def new_prefix() -> str:
    """The first part of the ids of one run's results (``<prefix>-<statement index>``)."""
    return secrets.token_hex(10)


def result_id(prefix: str, index: int) -> str:
    return f"{prefix}-{index}"


def is_result_id(value: str) -> bool:
    return bool(_ID.match(value))


def arrow_path(directory: Path, rid: str) -> Path:
    return directory / f"{rid}.arrow"


def meta_path(directory: Path, rid: str) -> Path:
    return directory / f"{rid}.json"


def write_meta(directory: Path, rid: str, meta: dict[str, Any]) -> None:
    final = meta_path(directory, rid)
    aside = final.with_suffix(".json.part")
    aside.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(aside, final)


def read_meta(directory: Path, rid: str) -> dict[str, Any] | None:
    """The completion record, or ``None`` while rows are still being kept."""
    try:
        data: dict[str, Any] = json.loads(meta_path(directory, rid).read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data


def remove(directory: Path, rid: str) -> int:
    """Delete a result's files; the bytes freed."""
    freed = 0
    for path in (arrow_path(directory, rid), meta_path(directory, rid),
                 arrow_path(directory, rid).with_suffix(".arrow.part")):
        try:
            freed += path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            pass
    return freed
