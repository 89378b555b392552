"""``dbplay``: the command line over the orchestrator API.

``--json`` prints JSON; on failure the exit status is non-zero and the output is
``{"error": {"type", "message"}}``. The acting user is ``--user`` or ``DBPLAY_USER``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engines.errors import DBPlayError, InvalidRequest
from orchestrator.cli import output as out
from orchestrator.cli import users as cli_users
from orchestrator.config.file_modes import private_umask, secure_home
from orchestrator.config.settings import SETTINGS, Settings, parse_duration, settings_table

SANDBOX_FIELDS = ["id", "engine", "template", "state", "expires_at", "ready_ms"]
ENDED = ("expired", "deleted", "failed")


def _text(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


def _duration(text: str) -> float:
    """``--ttl`` values: argparse reports a bad one as a usage error (not a traceback)."""
    try:
        return parse_duration(text)
    except InvalidRequest as exc:
        raise argparse.ArgumentTypeError(exc.message) from exc


def _statement_dict(r: Any) -> dict[str, Any]:
    return {"statement": r.statement, "columns": [c.name for c in r.columns], "rows": r.rows,
            "rowcount": r.rowcount, "truncated": r.truncated, "elapsed_ms": r.elapsed_ms,
            "error": r.error}


def _add_global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument("--json", action="store_true", default=default, help="print JSON")
    parser.add_argument("--user", default=default,
                        help="acting user (default: $DBPLAY_USER or your login name)")


class UsageError(Exception):
    """A command line argparse refused; carries the parser for its usage line."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class _Parser(argparse.ArgumentParser):
    """Raises :class:`UsageError` instead of exiting, so ``--json`` can shape the report."""

    def error(self, message: str) -> Any:  # argparse declares NoReturn
        raise UsageError(self, message)


class _SubcommandParser(_Parser):
    """Accepts ``--json``/``--user`` after the subcommand too (``dbplay query ID X --json``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _add_global_options(self, argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dbplay", description="DB Playground command line")
    _add_global_options(p, None)
    p.set_defaults(json=False)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_SubcommandParser)

    up = sub.add_parser("up", help="start Redis, workers, scheduler and UI (what is not running)")
    up.add_argument("--detach", action="store_true", help="start in the background and return")
    up.add_argument("--no-ui", action="store_true", help="do not start the web UI")
    sub.add_parser("down", help="stop what `dbplay up` started")
    sub.add_parser("status", help="what is running")
    sub.add_parser("settings", help="every setting as a markdown table")
    sub.add_parser("scheduler", help="run the snapshot scheduler in the foreground")
    worker = sub.add_parser("worker", help="run a worker in the foreground")
    worker.add_argument("--queues", nargs="+")

    tpl = sub.add_parser("templates", help="templates").add_subparsers(dest="action",
                                                                        required=True)
    tpl.add_parser("list")
    imp = tpl.add_parser("import")
    imp.add_argument("name")
    imp.add_argument("--engine", required=True)
    imp.add_argument("--file", required=True, type=Path)
    imp.add_argument("--description", default="")
    rm_tpl = tpl.add_parser("rm")
    rm_tpl.add_argument("name")

    sb = sub.add_parser("sandbox", help="sandboxes").add_subparsers(dest="action", required=True)
    create = sb.add_parser("create")
    create.add_argument("template")
    create.add_argument("--ttl", type=_duration)
    create.add_argument("--no-wait", action="store_true")
    sb.add_parser("list")
    for name in ("rm", "reset", "connect", "show"):
        sb.add_parser(name).add_argument("id")
    events = sb.add_parser("events")
    events.add_argument("id")
    events.add_argument("--follow", action="store_true",
                        help="keep printing new events until the sandbox ends (or Ctrl-C)")
    extend = sb.add_parser("extend")
    extend.add_argument("id")
    extend.add_argument("--ttl", type=_duration, required=True)

    for name in ("query", "explain"):
        q = sub.add_parser(name)
        q.add_argument("id")
        q.add_argument("text", help="statement(s), or - for stdin")
        if name == "query":
            q.add_argument("--max-rows", type=int)
            q.add_argument("--timeout", type=float)
    sub.add_parser("schema").add_argument("id")
    snap = sub.add_parser("snapshot")
    snap.add_argument("id")
    snap.add_argument("--name", required=True)
    sched = sub.add_parser("schedule")
    sched.add_argument("id")
    sched.add_argument("--cron", required=True)
    sched.add_argument("--name", required=True)
    schedules = sub.add_parser("schedules", help="snapshot schedules (`schedules rm ID`)")
    schedules_sub = schedules.add_subparsers(dest="action", parser_class=_SubcommandParser)
    schedules_sub.add_parser("list", help="every schedule (the default)")
    schedules_sub.add_parser("rm", help="delete a schedule (its snapshots stay)").add_argument(
        "schedule_id", type=int)
    data_in = sub.add_parser("import")
    data_in.add_argument("id")
    data_in.add_argument("target")
    data_in.add_argument("file", type=Path)
    data_in.add_argument("--format")
    data_out = sub.add_parser("export")
    data_out.add_argument("id")
    data_out.add_argument("query")
    data_out.add_argument("--format", required=True, choices=["csv", "json", "jsonl", "parquet"])
    data_out.add_argument("--out", required=True, type=Path)
    cli_users.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    private_umask()  # whatever dbplay (and what it starts) writes is this user's only
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        words = argv[: argv.index("--")] if "--" in argv else argv
        if "--json" in words:
            out.emit_error(True, "UsageError", exc.message)
        else:
            exc.parser.print_usage(sys.stderr)
            print(f"{exc.parser.prog}: error: {exc.message}", file=sys.stderr)
        return 2
    try:
        settings = Settings.load()
        if args.user:
            settings = settings.replace(user=args.user)
        secure_home(settings.home, settings.database_url)
        return _dispatch(args, settings)
    except DBPlayError as exc:
        out.emit_error(args.json, exc.type, exc.message)
    except KeyboardInterrupt:
        out.emit_error(args.json, "Interrupted", "interrupted")
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        import redis

        if isinstance(exc, redis.ConnectionError):
            out.emit_error(args.json, "ServiceUnavailable",
                           f"Redis does not answer ({exc}); start the stack with `dbplay up`")
        else:
            out.emit_error(args.json, type(exc).__name__, str(exc))
    return 1


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from orchestrator.cli import stack_commands
    from orchestrator.stack import services

    command = args.command
    if command == "settings":
        out.emit(args.json, [{"name": s.name, "default": s.default, "help": s.help}
                             for s in SETTINGS], settings_table())
        return 0
    if command == "up":
        return stack_commands.up(settings, detach=args.detach, ui=not args.no_ui,
                                 as_json=args.json)
    if command == "down":
        result = services.down(settings)
        out.emit(args.json, result, stack_commands.down_summary(result))
        return 0
    if command == "status":
        status = services.status(settings)
        human = out.records(status["services"], ["name", "running", "pid", "detail"])
        summary = stack_commands.stack_summary(status["stack"])
        out.emit(args.json, status, f"{human}\n\n{summary}")
        return 0
    if command == "scheduler":
        from orchestrator.stack.scheduler import main as scheduler_main

        return scheduler_main()
    if command == "worker":
        from workers.run import main as worker_main

        return worker_main(["--queues", *args.queues] if args.queues else [])

    from orchestrator.api.service import Orchestrator

    api = Orchestrator.from_settings(settings)
    try:
        return COMMANDS[command](api, settings.user, args)
    finally:
        api.close()


Handler = Callable[[Any, str, argparse.Namespace], int]


def _templates(api: Any, user: str, args: argparse.Namespace) -> int:
    if args.action == "list":
        items = [t.to_dict() for t in api.list_templates(user)]
        out.emit(args.json, items, out.records(items, ["name", "engine", "owner", "size_bytes",
                                                      "description"]))
    elif args.action == "import":
        view = api.import_template(user, args.name, args.engine, _read_file(args.file),
                                   args.description, file_name=args.file.name)
        out.emit(args.json, view.to_dict())
    else:
        api.delete_template(user, args.name)
        out.emit(args.json, {"deleted": args.name}, f"deleted template {args.name}")
    return 0


def _sandbox(api: Any, user: str, args: argparse.Namespace) -> int:
    action = args.action
    if action == "create":
        view = api.create_sandbox(user, args.template, args.ttl, wait=not args.no_wait)
        data = view.to_dict()
        out.emit(args.json, data, out.mapping({k: data[k] for k in SANDBOX_FIELDS}))
    elif action == "list":
        items = [s.to_dict() for s in api.list_sandboxes(user)]
        out.emit(args.json, items, out.records(items, SANDBOX_FIELDS))
    elif action == "rm":
        api.delete_sandbox(user, args.id)
        out.emit(args.json, {"deleted": args.id}, f"deleted sandbox {args.id}")
    elif action == "reset":
        out.emit(args.json, api.reset_sandbox(user, args.id).to_dict())
    elif action == "extend":
        out.emit(args.json, api.extend_sandbox(user, args.id, args.ttl).to_dict())
    elif action == "show":
        out.emit(args.json, api.get_sandbox(user, args.id).to_dict())
    elif action == "events" and args.follow:
        _follow(api, user, args)
    elif action == "events":
        items = [e.to_dict() for e in api.sandbox_events(user, args.id)]
        out.emit(args.json, items, out.records(items, ["at", "from_state", "to_state", "reason"]))
    else:
        url = api.connection_string(user, args.id)
        warning = api.connection_warning(user, args.id)
        out.emit(args.json, {"id": args.id, "url": url, "warning": warning},
                 url if warning is None else f"{url}\nwarning: {warning}")
    return 0


def _follow(api: Any, user: str, args: argparse.Namespace) -> None:
    """One line per event (JSON lines with ``--json``) until the sandbox has ended."""
    last = 0
    while True:
        for event in api.wait_events(user, args.id, last, timeout_s=30):
            last = event.id
            data = event.to_dict()
            out.emit(args.json, data, f"{data['at']}  {data['from_state'] or '-'} -> "
                                      f"{data['to_state']}  {data['reason']}")
            sys.stdout.flush()
            if event.to_state in ENDED:
                return


def _check_limits(settings: Settings, args: argparse.Namespace) -> None:
    """Refuse limits above the installation's caps rather than silently lowering them."""
    cap, seconds = settings.max_rows, settings.max_query_seconds
    if args.max_rows is not None and not 1 <= args.max_rows <= cap:
        raise InvalidRequest(f"--max-rows must be between 1 and {cap} (DBPLAY_MAX_ROWS); "
                             "`dbplay export` writes a whole result to a file")
    if args.timeout is not None and not 0 < args.timeout <= seconds:
        raise InvalidRequest(f"--timeout must be above 0 and at most {seconds:g} s "
                             "(DBPLAY_MAX_QUERY_SECONDS)")


def _query(api: Any, user: str, args: argparse.Namespace) -> int:
    _check_limits(api.settings, args)
    results = api.run_query(user, args.id, _text(args.text), args.max_rows, args.timeout)
    data = [_statement_dict(r) for r in results]
    if args.json:
        out.emit(True, {"statements": data})
    else:
        shown = [{**d, "types": [c.type for c in r.columns], "notice": r.notice,
                  "returns_rows": getattr(r, "returns_rows", None)}
                 for d, r in zip(data, results)]
        out.emit(False, data, out.statements(shown, api.get_sandbox(user, args.id).engine))
    return 1 if any(r["error"] for r in data) else 0


def _explain(api: Any, user: str, args: argparse.Namespace) -> int:
    result = api.explain(user, args.id, _text(args.text)).to_dict()
    if result["plan"]:
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


def _schema(api: Any, user: str, args: argparse.Namespace) -> int:
    info = api.schema(user, args.id).to_dict()
    rows = [[t["name"], t["kind"], t.get("row_count"), ", ".join(c["name"] for c in t["columns"])]
            for t in info["tables"]]
    out.emit(args.json, info, out.table(["table", "kind", "rows", "columns"], rows))
    return 0


def _snapshot(api: Any, user: str, args: argparse.Namespace) -> int:
    out.emit(args.json, api.snapshot_sandbox(user, args.id, args.name).to_dict())
    return 0


def _schedule(api: Any, user: str, args: argparse.Namespace) -> int:
    out.emit(args.json, api.schedule_snapshots(user, args.id, args.cron, args.name).to_dict())
    return 0


def _schedules(api: Any, user: str, args: argparse.Namespace) -> int:
    if args.action == "rm":
        api.delete_schedule(user, args.schedule_id)
        out.emit(args.json, {"deleted": args.schedule_id},
                 f"deleted schedule {args.schedule_id}")
        return 0
    items = [s.to_dict() for s in api.list_schedules(user)]
    out.emit(args.json, items, out.records(items, ["id", "sandbox_id", "cron", "name", "state",
                                                  "next_run_at", "last_status"]))
    return 0


def _import(api: Any, user: str, args: argparse.Namespace) -> int:
    out.emit(args.json, api.import_data(user, args.id, args.target, _read_file(args.file),
                                        args.format, file_name=args.file.name).to_dict())
    return 0


def _read_file(path: Path) -> bytes:
    """The file's bytes, read here with the CLI user's rights (workers never open it)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidRequest(f"cannot read {path}: {exc.strerror or exc}") from exc


def _export(api: Any, user: str, args: argparse.Namespace) -> int:
    _check_writable(args.out)  # before the export runs, not after
    path = api.export(user, args.id, _text(args.query), args.format)
    try:
        shutil.move(str(path), args.out)
    except OSError as exc:
        path.unlink(missing_ok=True)
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
    "templates": _templates, "sandbox": _sandbox, "query": _query, "explain": _explain,
    "schema": _schema, "snapshot": _snapshot, "schedule": _schedule, "schedules": _schedules,
    "import": _import, "export": _export, "user": cli_users.run,
}

if __name__ == "__main__":
    sys.exit(main())
