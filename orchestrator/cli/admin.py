"""The commands that administer the installation itself, in process: ``up``, ``down``,
``status``, ``settings``, ``worker``, ``scheduler``, ``user`` and ``token``.

They need the whole orchestrator (settings, the metadata store, the process stack), so
:mod:`orchestrator.cli.main` loads this module only when one of them runs; every other
command is a request to the HTTP API (:mod:`orchestrator.cli.commands`).
"""

from __future__ import annotations

import argparse

import redis

from engines.errors import ServiceUnavailable
from orchestrator.api.service import Orchestrator
from orchestrator.cli import output as out
from orchestrator.cli import stack_commands, tokens
from orchestrator.cli import users as cli_users
from orchestrator.config.file_modes import secure_home
from orchestrator.config.settings import SETTINGS, Settings, settings_table
from orchestrator.stack import services
from orchestrator.stack.scheduler import main as scheduler_main
from workers.run import main as worker_main


def run(args: argparse.Namespace) -> int:
    settings = Settings.load()
    if args.user:
        settings = settings.replace(user=args.user)
    secure_home(settings.home, settings.database_url)
    try:
        return _dispatch(args, settings)
    except redis.ConnectionError as exc:
        raise ServiceUnavailable(f"Redis does not answer ({exc}); start the stack with "
                                 "`dbplay up`") from exc


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
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
        return scheduler_main()
    if command == "worker":
        return worker_main(["--queues", *args.queues] if args.queues else [])
    api = Orchestrator.from_settings(settings)
    try:
        if command == "token":
            return tokens.run(api, args)
        return cli_users.run(api, settings.user, args)
    finally:
        api.close()
