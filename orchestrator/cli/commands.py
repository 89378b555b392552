"""The everyday ``dbplay`` commands, each one or a few requests to the HTTP API.

The API answers with exactly what ``--json`` prints (see the route table in the README);
these handlers add the human rendering. Files are read and written here, with the CLI
user's rights: ``import`` uploads the bytes, ``export`` downloads into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engines.errors import InvalidRequest
from orchestrator.cli import (
    builder_commands,
    design_commands,
    share_commands,
    tuning_commands,
)
from orchestrator.cli import output as out
from orchestrator.cli.client import ApiClient, path

SANDBOX_FIELDS = ["id", "engine", "template", "state", "expires_at", "ready_ms"]
ENDED = ("expired", "deleted", "failed")
#: what ``query --json`` prints of each statement (the API adds what the human output uses)
STATEMENT_FIELDS = ("statement", "columns", "rows", "rowcount", "truncated", "elapsed_ms",
                    "error", "result_id", "total_rows")
#: how long one long-poll request of ``sandbox events --follow`` waits for news
FOLLOW_WAIT_S = 30

Handler = Callable[[ApiClient, argparse.Namespace], int]


def _text(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


def _read_file(file: Path) -> bytes:
    """The file's bytes, read here with the CLI user's rights (the server never opens it)."""
    try:
        return file.read_bytes()
    except OSError as exc:
        raise InvalidRequest(f"cannot read {file}: {exc.strerror or exc}") from exc


def templates(api: ApiClient, args: argparse.Namespace) -> int:
    if args.action == "list":
        items = api.get(path("templates"))
        out.emit(args.json, items, out.records(items, ["name", "engine", "owner", "size_bytes",
                                                      "description"]))
    elif args.action == "import":
        data = _read_file(args.file)
        view = api.upload(path("templates"), {"name": args.name, "engine": args.engine,
                                              "description": args.description},
                          args.file.name, data)
        out.emit(args.json, view)
    else:
        deleted = api.delete(path("templates", args.name))
        out.emit(args.json, deleted, f"deleted template {args.name}")
    return 0


def sandbox(api: ApiClient, args: argparse.Namespace) -> int:
    action = args.action
    if action == "create":
        data = api.post(path("sandboxes"), {"template": args.template, "ttl_s": args.ttl,
                                            "wait": not args.no_wait})
        out.emit(args.json, data, out.mapping({k: data.get(k) for k in SANDBOX_FIELDS}))
    elif action == "list":
        items = api.get(path("sandboxes"))
        out.emit(args.json, items, out.records(items, SANDBOX_FIELDS))
    elif action == "rm":
        deleted = api.delete(path("sandboxes", args.id))
        out.emit(args.json, deleted, f"deleted sandbox {args.id}")
    elif action == "reset":
        out.emit(args.json, api.post(path("sandboxes", args.id, "reset")))
    elif action == "extend":
        out.emit(args.json, api.post(path("sandboxes", args.id, "extend"), {"ttl_s": args.ttl}))
    elif action == "show":
        out.emit(args.json, api.get(path("sandboxes", args.id)))
    elif action == "events" and args.follow:
        _follow(api, args)
    elif action == "events":
        items = api.get(path("sandboxes", args.id, "events"))
        out.emit(args.json, items, out.records(items, ["at", "from_state", "to_state", "reason"]))
    else:
        info = api.get(path("sandboxes", args.id, "connection"))
        url, warning = info["url"], info.get("warning")
        out.emit(args.json, info, url if warning is None else f"{url}\nwarning: {warning}")
    return 0


def _follow(api: ApiClient, args: argparse.Namespace) -> None:
    """One line per event (JSON lines with ``--json``) until the sandbox has ended; each
    request long-polls the API for the events after the last one seen."""
    last = 0
    while True:
        events = api.get(path("sandboxes", args.id, "events"),
                         {"after": last, "wait": FOLLOW_WAIT_S})
        for event in events:
            last = event["id"]
            out.emit(args.json, event, f"{event['at']}  {event['from_state'] or '-'} -> "
                                       f"{event['to_state']}  {event['reason']}")
            sys.stdout.flush()
            if event["to_state"] in ENDED:
                return


def query(api: ApiClient, args: argparse.Namespace) -> int:
    """Limits above the installation's caps are refused by the API (422, naming them)."""
    answer = api.post(path("sandboxes", args.id, "query"),
                      {"text": _text(args.text), "max_rows": args.max_rows,
                       "timeout_s": args.timeout})
    shown = answer["statements"]
    data = [{k: s.get(k) for k in STATEMENT_FIELDS} for s in shown]
    if args.json:
        out.emit(True, {"statements": data})
    else:
        out.emit(False, data, out.statements(shown, _document_store_if_needed(api, args.id, shown)))
    return 1 if any(s["error"] for s in data) else 0


def _document_store_if_needed(api: ApiClient, sandbox_id: str,
                              shown: list[dict[str, Any]]) -> bool:
    """Whether the sandbox's engine stores documents (its descriptor, from the API), asked
    for only when a result leaves the human output to guess whether a statement was a read
    (see :func:`output.is_read`)."""
    if all(s.get("error") or s.get("columns") or s.get("returns_rows") is not None
           for s in shown):
        return False
    engine = api.get(path("sandboxes", sandbox_id))["engine"]
    return any(d["kind"] == engine and d["document_store"] for d in api.get(path("engines")))


def explain(api: ApiClient, args: argparse.Namespace) -> int:
    result = api.post(path("sandboxes", args.id, "explain"), {"text": _text(args.text)})
    if result.get("plan"):
        human = _plan_text(result["plan"])
    elif result.get("raw") is not None:
        human = json.dumps(result["raw"], indent=2, ensure_ascii=False, default=str)
    else:
        human = result.get("message") or "(no plan)"
    out.emit(args.json, result, human)
    return 0


def _plan_text(node: dict[str, Any], depth: int = 0) -> str:
    detail = node.get("detail") or ""
    text = detail if detail.split(" ")[0] == node["node"] else f"{node['node']} {detail}"
    line = "  " * depth + f"-> {text}".rstrip()
    return "\n".join([line] + [_plan_text(c, depth + 1) for c in node.get("children", [])])


def schema(api: ApiClient, args: argparse.Namespace) -> int:
    if getattr(args, "format", None) == "dbml":
        return design_commands.schema_dbml(api, args)
    info = api.get(path("sandboxes", args.id, "schema"))
    rows = [[t["name"], t["kind"], t.get("row_count"), ", ".join(c["name"] for c in t["columns"])]
            for t in info["tables"]]
    out.emit(args.json, info, out.table(["table", "kind", "rows", "columns"], rows))
    return 0


def page(api: ApiClient, args: argparse.Namespace) -> int:
    data = api.get(path("results", args.result_id, "page"),
                   {"offset": args.offset, "limit": args.limit})
    shown = out.table([c["name"] for c in data["columns"]], data["rows"])
    total = data["total_rows"]
    more = f"rows {data['offset'] + 1}-{data['offset'] + len(data['rows'])} of {total:,}"
    if data["truncated"]:
        more += " kept (the result store's cap stopped the rest)"
    out.emit(args.json, data, f"{shown}\n{more}" if data["rows"] else more)
    return 0


def chart(api: ApiClient, args: argparse.Namespace) -> int:
    data = api.post(path("results", args.result_id, "chart"),
                    {"x": args.x, "y": args.y, "agg": args.agg, "bin": args.bin,
                     "color": args.color})
    shown = {k: data[k] for k in ("rows", "spec", "rows_used")}
    text = out.table(data.get("columns") or [], data["rows"]) + \
        f"\n{len(data['rows']):,} points over {data['rows_used']:,} rows"
    if data.get("note"):
        text += f"\n{data['note']}"
    out.emit(args.json, shown, text)
    return 0


def snapshot(api: ApiClient, args: argparse.Namespace) -> int:
    out.emit(args.json, api.post(path("sandboxes", args.id, "snapshots"), {"name": args.name}))
    return 0


def schedule(api: ApiClient, args: argparse.Namespace) -> int:
    out.emit(args.json, api.post(path("sandboxes", args.id, "schedules"),
                                 {"cron": args.cron, "name": args.name}))
    return 0


def schedules(api: ApiClient, args: argparse.Namespace) -> int:
    if args.action == "rm":
        deleted = api.delete(path("schedules", args.schedule_id))
        out.emit(args.json, deleted, f"deleted schedule {args.schedule_id}")
        return 0
    items = api.get(path("schedules"))
    out.emit(args.json, items, out.records(items, ["id", "sandbox_id", "cron", "name", "state",
                                                  "next_run_at", "last_status"]))
    return 0


def import_data(api: ApiClient, args: argparse.Namespace) -> int:
    data = _read_file(args.file)
    out.emit(args.json, api.upload(path("sandboxes", args.id, "import"),
                                   {"target": args.target, "format": args.format},
                                   args.file.name, data))
    return 0


def export(api: ApiClient, args: argparse.Namespace) -> int:
    _check_writable(args.out)  # before the export runs, not after
    try:
        api.download(path("sandboxes", args.id, "export"),
                     {"query": _text(args.query), "format": args.format}, args.out)
    except OSError as exc:
        raise InvalidRequest(f"cannot write --out {args.out}: {exc.strerror or exc}") from exc
    out.emit(args.json, {"path": str(args.out.resolve())}, f"wrote {args.out}")
    return 0


def _check_writable(out_path: Path) -> None:
    if out_path.is_dir():
        raise InvalidRequest(f"--out {out_path} is a directory; give a file name")
    parent = out_path.parent
    if not parent.is_dir():
        raise InvalidRequest(f"cannot write --out {out_path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (out_path.exists() and not os.access(out_path, os.W_OK)):
        raise InvalidRequest(f"cannot write --out {out_path}: permission denied")


COMMANDS: dict[str, Handler] = {
    "templates": templates, "sandbox": sandbox, "query": query, "explain": explain,
    "schema": schema, "page": page, "chart": chart, "snapshot": snapshot,
    "schedule": schedule, "schedules": schedules,
    "import": import_data, "export": export,
    **design_commands.COMMANDS,
    **tuning_commands.COMMANDS,
    **builder_commands.handlers(STATEMENT_FIELDS),
    **share_commands.COMMANDS,
}
