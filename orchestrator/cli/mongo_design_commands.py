"""``dbplay design ID --validator COLLECTION [--schema FILE] [--apply] [--level ...]
[--action ...]`` and ``dbplay design ID --index COLLECTION --key FIELD:DIR ... [--unique]
[--partial JSON] [--ttl SECONDS] [--apply]``: the MongoDB side of the designer (a thin
client of ``/sandboxes/{id}/design/validator`` and ``/sandboxes/{id}/design/index``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engines.errors import InvalidRequest
from orchestrator.cli import output as out
from orchestrator.cli.client import ApiClient, path


def add_arguments(design: argparse.ArgumentParser) -> None:
    """The MongoDB options of ``dbplay design``."""
    mongo = design.add_argument_group("MongoDB sandboxes")
    mongo.add_argument("--validator", metavar="COLLECTION",
                       help="infer a $jsonSchema validator for COLLECTION from up to 1,000 "
                            "sampled documents and count the documents it would reject")
    mongo.add_argument("--schema", type=Path, metavar="FILE",
                       help="with --validator: use this $jsonSchema (JSON; - for stdin) "
                            "instead of inferring one")
    mongo.add_argument("--level", choices=["strict", "moderate"], default="strict",
                       help="validationLevel set by --apply")
    mongo.add_argument("--action", choices=["error", "warn"], default="error",
                       help="validationAction set by --apply")
    mongo.add_argument("--index", metavar="COLLECTION",
                       help="design an index on COLLECTION (with --key, repeated)")
    mongo.add_argument("--key", action="append", default=[], metavar="FIELD:DIR",
                       help="an index key: 1, -1, text, hashed or 2dsphere (default 1)")
    mongo.add_argument("--unique", action="store_true", help="a unique index")
    mongo.add_argument("--partial", metavar="JSON",
                       help='partialFilterExpression, e.g. \'{"rating": {"$gte": 4}}\'')
    mongo.add_argument("--ttl", type=int, metavar="SECONDS",
                       help="expireAfterSeconds (a TTL index on one date field)")
    mongo.add_argument("--name", help="the index's name")


def wanted(args: argparse.Namespace) -> bool:
    return bool(args.validator or args.index)


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"{what} is not JSON: {exc}") from exc


def _schema(file: Path | None) -> Any:
    if file is None:
        return None
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"cannot read {file}: {exc}") from exc
    return _json(text, str(file))


def _key(text: str) -> list[Any]:
    field, _, direction = text.rpartition(":") if ":" in text else (text, "", "1")
    return [field, int(direction) if direction.lstrip("-").isdigit() else direction]


def run(api: ApiClient, args: argparse.Namespace) -> int:
    if args.validator and args.index:
        raise InvalidRequest("use --validator or --index, not both")
    if args.validator:
        answer = api.post(path("sandboxes", args.id, "design", "validator"), {
            "collection": args.validator, "validator": _schema(args.schema),
            "apply": args.apply, "level": args.level, "action": args.action})
        out.emit(args.json, answer, validator_text(answer))
        return 0
    answer = api.post(path("sandboxes", args.id, "design", "index"), {
        "collection": args.index, "keys": [_key(k) for k in args.key], "unique": args.unique,
        "partial": _json(args.partial, "--partial") if args.partial else None,
        "ttl_seconds": args.ttl, "name": args.name, "apply": args.apply})
    out.emit(args.json, answer, answer["command"] + (
        f"\n-- created index {answer['name']}" if answer["applied"] else
        "\n-- dry run: nothing changed (use --apply)"))
    return 0


def validator_text(answer: dict[str, Any]) -> str:
    lines = [json.dumps({"$jsonSchema": answer["validator"]}, indent=2)]
    if answer.get("sampled"):
        lines.append(f"// inferred from {answer['sampled']:,} sampled document(s)")
    lines.append(f"// {answer['failing']:,} of {answer['total']:,} existing documents "
                 "would fail")
    if answer["examples"]:
        lines.append("// for example _id " + ", ".join(json.dumps(e) for e in answer["examples"]))
    lines.append(f"// set (validationLevel {answer['level']}, validationAction "
                 f"{answer['action']})" if answer["applied"] else
                 "// dry run: nothing changed (use --apply)")
    return "\n".join(lines)
