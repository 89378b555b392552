"""``dbplay schema ID --format dbml`` and ``dbplay design ID --dbml FILE [--apply]
[--allow-destructive] [--no-clone]``: the schema designer from a terminal (a thin client
of ``/sandboxes/{id}/schema/dbml`` and ``/sandboxes/{id}/design``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engines.errors import InvalidRequest
from orchestrator.cli import mongo_design_commands
from orchestrator.cli import output as out
from orchestrator.cli.client import ApiClient, path


def add_parsers(sub: Any) -> None:
    design = sub.add_parser(
        "design", help="the migration from a sandbox's schema to a DBML design: printed, "
                       "tried on a throwaway clone, applied with --apply")
    design.add_argument("id")
    design.add_argument("--dbml", type=Path, help="the design (- for stdin)")
    design.add_argument("--apply", action="store_true",
                        help="run the migration on the sandbox (one transaction)")
    design.add_argument("--allow-destructive", action="store_true",
                        help="let --apply drop tables or columns and narrow types")
    design.add_argument("--no-clone", action="store_true",
                        help="preview only: do not try the migration on a throwaway clone")
    mongo_design_commands.add_arguments(design)  # --validator / --index (MongoDB)


def schema_dbml(api: ApiClient, args: argparse.Namespace) -> int:
    answer = api.get(path("sandboxes", args.id, "schema", "dbml"))
    out.emit(args.json, answer, answer["dbml"].rstrip("\n"))
    return 0


def _read(file: Path) -> str:
    if str(file) == "-":
        return sys.stdin.read()
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"cannot read {file}: {exc}") from exc


def design(api: ApiClient, args: argparse.Namespace) -> int:
    if mongo_design_commands.wanted(args):
        return mongo_design_commands.run(api, args)
    if args.dbml is None:
        raise InvalidRequest("design needs --dbml FILE (or, on MongoDB, --validator or --index)")
    answer = api.post(path("sandboxes", args.id, "design"), {
        "dbml": _read(args.dbml), "apply": args.apply,
        "allow_destructive": args.allow_destructive, "try_clone": not args.no_clone})
    out.emit(args.json, answer, human(answer))
    clone = answer.get("clone")
    return 1 if clone is not None and not clone["ok"] else 0


def human(answer: dict[str, Any]) -> str:
    steps = answer["statements"]
    if not steps:
        return "the sandbox already matches the design: nothing to do"
    lines = [f"-- migration ({answer['dialect']}), {len(steps)} statement(s)"]
    for step in steps:
        flag = "DESTRUCTIVE: " if step["destructive"] else ""
        lines += [f"-- {flag}{step['note']}", step["sql"]]
    for risk in answer["risks"]:
        lines.append(f"-- risk: {risk['message']}")
    clone = answer.get("clone")
    if clone is not None:
        lines.append("-- tried on a throwaway clone: " + (
            "it ran" if clone["ok"] else
            f"FAILED at {clone['failed_statement']!r}: {clone['error']}"))
    lines.append("-- applied to the sandbox" if answer["applied"] else
                 "-- dry run: nothing changed (use --apply)")
    return "\n".join(lines)


COMMANDS = {"design": design}
