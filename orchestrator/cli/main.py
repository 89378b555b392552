"""``dbplay``: the command line of DB Playground.

Every everyday command (templates, sandbox, query, ...) is a request to the HTTP API
(:mod:`orchestrator.cli.commands` over :mod:`orchestrator.cli.client`): of the local
installation, or of a remote one with ``DBPLAY_URL`` + ``DBPLAY_TOKEN``
(:mod:`orchestrator.cli.endpoint`). The commands that administer the installation itself
run in process (:mod:`orchestrator.cli.admin`).

``--json`` prints JSON; on failure the exit status is non-zero and the output is
``{"error": {"type", "message"}}`` (usage errors exit 2).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from engines.errors import DBPlayError
from orchestrator.cli import endpoint
from orchestrator.cli import output as out
from orchestrator.cli.client import ApiClient
from orchestrator.cli.commands import COMMANDS
from orchestrator.cli.parser import UsageError, build_parser
from orchestrator.config.file_modes import private_umask

#: The admin commands and the module that runs them (its ``run(args) -> int``). They are
#: imported only when one of them runs: the module pulls in the whole orchestrator
#: (SQLAlchemy, Redis, Docker, the stack), which the everyday commands, plain HTTP
#: requests, must not pay for at start-up. (It is not a way round an import cycle: the
#: admin module imports nothing of this one.)
ADMIN_COMMANDS = {name: "orchestrator.cli.admin" for name in (
    "up", "down", "status", "settings", "worker", "scheduler", "user", "token")}


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
        if args.command in ADMIN_COMMANDS:
            code: int = importlib.import_module(ADMIN_COMMANDS[args.command]).run(args)
            return code
        return _remote(args)
    except DBPlayError as exc:
        out.emit_error(args.json, exc.type, exc.message)
    except KeyboardInterrupt:
        out.emit_error(args.json, "Interrupted", "interrupted")
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        out.emit_error(args.json, type(exc).__name__, str(exc))
    return 1


def _remote(args: argparse.Namespace) -> int:
    """An everyday command: requests to the API, as the endpoint's user. (In remote mode
    the token decides the user; the API refuses a ``--user`` that names someone else.)"""
    api = ApiClient(endpoint.resolve(args.user))
    try:
        return COMMANDS[args.command](api, args)
    finally:
        api.close()


if __name__ == "__main__":
    sys.exit(main())
