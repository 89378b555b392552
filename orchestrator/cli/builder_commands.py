"""``dbplay build ID --from-sql SQL [--run]`` and ``dbplay build ID --spec FILE [--run]``:
the query builder from a terminal (a thin client of ``/sandboxes/{id}/build``). Prints
``{"spec", "query", "statements"}``: the spec, the query it compiles to on the sandbox's
engine, and with ``--run`` the results exactly as ``dbplay query`` prints them."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engines.errors import InvalidRequest
from orchestrator.cli import output as out
from orchestrator.cli.client import ApiClient, path


def add_parsers(sub: Any) -> None:
    build = sub.add_parser(
        "build", help="the query builder: a spec from SQL or a spec file, compiled for the "
                      "sandbox's engine (SQL or a MongoDB pipeline); --run runs it")
    build.add_argument("id")
    source = build.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-sql", metavar="SQL", help="one SELECT (- for stdin)")
    source.add_argument("--spec", type=Path, metavar="FILE",
                        help="a spec as JSON (- for stdin)")
    build.add_argument("--run", action="store_true", help="run the built query")
    build.add_argument("--max-rows", type=int)
    build.add_argument("--timeout", type=float)


def _spec(file: Path) -> Any:
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"cannot read {file}: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"{file} is not JSON: {exc}") from exc


def build(api: ApiClient, args: argparse.Namespace, fields: Sequence[str]) -> int:
    sql = None if args.from_sql is None else (
        sys.stdin.read() if args.from_sql == "-" else args.from_sql)
    answer = api.post(path("sandboxes", args.id, "build"), {
        "sql": sql, "spec": None if args.spec is None else _spec(args.spec),
        "run": args.run, "max_rows": args.max_rows, "timeout_s": args.timeout})
    shown = answer["statements"]
    data = {"spec": answer["spec"], "query": answer["query"],
            "statements": [{k: s.get(k) for k in fields} for s in shown]}
    human = answer["query"] + ("\n\n" + out.statements(shown) if shown else "")
    out.emit(args.json, data, human)
    return 1 if any(s["error"] for s in shown) else 0


def handlers(fields: Sequence[str]) -> dict[str, Callable[[ApiClient, argparse.Namespace], int]]:
    """``fields``: what ``dbplay query --json`` prints of each statement."""
    return {"build": lambda api, args: build(api, args, fields)}
