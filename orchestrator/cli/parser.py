"""The ``dbplay`` command line: its arguments, for every command (the API commands and
the local admin ones alike). Building it imports nothing heavy."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engines.errors import InvalidRequest
from orchestrator.cli import (
    builder_commands,
    design_commands,
    share_commands,
    tokens,
    tuning_commands,
)
from orchestrator.cli import users as cli_users
from orchestrator.config.durations import parse_duration


def _duration(text: str) -> float:
    """``--ttl`` values: argparse reports a bad one as a usage error (not a traceback)."""
    try:
        return parse_duration(text)
    except InvalidRequest as exc:
        raise argparse.ArgumentTypeError(exc.message) from exc


def _add_global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument("--json", action="store_true", default=default, help="print JSON")
    parser.add_argument("--user", default=default,
                        help="acting user (default: $DBPLAY_USER or your login name; with "
                             "DBPLAY_TOKEN, the token's user)")


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

    up = sub.add_parser("up", help="start Redis, workers, scheduler, API and UI (what is not "
                                       "running)")
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
    schema = sub.add_parser("schema")
    schema.add_argument("id")
    schema.add_argument("--format", choices=["table", "dbml"], default="table",
                        help="dbml: the schema as DBML (the designer's exchange format)")
    design_commands.add_parsers(sub)
    tuning_commands.add_parsers(sub)
    builder_commands.add_parsers(sub)
    share_commands.add_parsers(sub)
    page = sub.add_parser("page", help="rows of a stored result (`query` prints result ids)")
    page.add_argument("result_id")
    page.add_argument("--offset", type=int, default=0)
    page.add_argument("--limit", type=int, default=100)
    chart = sub.add_parser("chart", help="a chart aggregated over every row of a stored "
                                         "result (rows and a Vega-Lite spec)")
    chart.add_argument("result_id")
    chart.add_argument("--x", required=True)
    chart.add_argument("--y")
    chart.add_argument("--agg", default="count", choices=["count", "sum", "avg", "min", "max"])
    chart.add_argument("--bin", choices=["hour", "day", "week", "month", "year"])
    chart.add_argument("--color")
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
    tokens.add_parser(sub)
    return p
