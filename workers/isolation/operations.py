"""The work a statement process does on its sandbox's engine, one function per job kind.

Each takes the connected engine and the job's parameters and returns what the job
records (the engines' result dicts), exactly as the worker computed it before user work
moved into statement processes.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from engines.base import Engine
from engines.result import StatementResult


def execute(engine: Engine, p: dict[str, Any]) -> list[dict[str, Any]]:
    results = engine.execute(p["text"], max_rows=p["max_rows"], timeout_s=p["timeout_s"])
    return [r.to_dict() for r in results]


def explain(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    return engine.explain(p["text"], timeout_s=p["timeout_s"]).to_dict()


def schema(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    return engine.schema().to_dict()


def fetch_page(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    """Rows ``offset`` .. ``offset+limit`` of one statement, streamed from the server."""
    started = time.perf_counter()
    columns, rows, close = engine.stream(p["text"], timeout_s=p["timeout_s"])
    try:
        page = list(itertools.islice(rows, p["offset"], p["offset"] + p["limit"] + 1))
    finally:
        close()
    result = StatementResult(statement=p["text"], columns=columns, rows=page[:p["limit"]],
                             rowcount=len(page[:p["limit"]]), truncated=len(page) > p["limit"])
    result.elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
    return result.to_dict()


def export(engine: Engine, p: dict[str, Any]) -> int:
    return engine.export(p["query"], p["fmt"], Path(p["out"]), timeout_s=p["timeout_s"])


def import_file(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    return engine.import_file(p["target"], Path(p["path"]), p.get("fmt")).to_dict()


def dump(engine: Engine, p: dict[str, Any]) -> None:
    engine.dump(Path(p["path"]))


def restore(engine: Engine, p: dict[str, Any]) -> None:
    engine.restore(Path(p["path"]))
