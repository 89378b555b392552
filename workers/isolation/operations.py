"""The work a statement process does on its sandbox's engine, one function per job kind.

Each takes the connected engine and the job's parameters and returns what the job
records (the engines' result dicts), exactly as the worker computed it before user work
moved into statement processes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engines.base import Engine
from orchestrator.results import files
from orchestrator.results.keeper import ArrowKeeper
from workers.isolation.protocol import Answered


def execute(engine: Engine, p: dict[str, Any]) -> list[dict[str, Any]] | Answered:
    """The statements' first pages; with ``p["keep"]`` each whole result is also kept
    (``orchestrator/results``), and the answer comes as soon as the last statement's
    first page is read (:class:`Answered`: its remaining rows are kept after)."""
    keep = p.get("keep")
    if not keep:
        results = engine.execute(p["text"], max_rows=p["max_rows"], timeout_s=p["timeout_s"])
        return [r.to_dict() for r in results]
    directory = Path(keep["dir"])

    def keeper(index: int) -> ArrowKeeper:
        return ArrowKeeper(directory, files.result_id(keep["prefix"], index),
                           max_rows=keep["max_rows"], max_bytes=keep["max_bytes"])

    results, rest = engine.execute_keeping(p["text"], keeper, max_rows=p["max_rows"],
                                           timeout_s=p["timeout_s"])
    answer = [r.to_dict() for r in results]
    return answer if rest is None else Answered(answer, rest)


def explain(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    return engine.explain(p["text"], timeout_s=p["timeout_s"]).to_dict()


def schema(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    return engine.schema().to_dict()


def export(engine: Engine, p: dict[str, Any]) -> int:
    return engine.export(p["query"], p["fmt"], Path(p["out"]), timeout_s=p["timeout_s"])


def import_file(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    return engine.import_file(p["target"], Path(p["path"]), p.get("fmt")).to_dict()


def dump(engine: Engine, p: dict[str, Any]) -> None:
    engine.dump(Path(p["path"]))


def restore(engine: Engine, p: dict[str, Any]) -> None:
    engine.restore(Path(p["path"]))
