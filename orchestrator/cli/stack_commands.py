"""``dbplay up``, ``down`` and ``status`` as the command line shows them: starting the
stack (:mod:`orchestrator.stack.services`) and supervising it in the foreground."""

from __future__ import annotations

import os
import sys
from typing import Any

from orchestrator.api.accounts import issue_setup_code
from orchestrator.cli import endpoint
from orchestrator.cli import output as out
from orchestrator.config.process_signals import stop_on_signals
from orchestrator.config.settings import Settings
from orchestrator.stack import services, supervisor
from orchestrator.store.db import Database


def down_summary(result: dict[str, Any]) -> str:
    lines = [f"stopped {name} (pid {pid})" for name, pid in result["pids"].items()]
    lines += [f"stopped local {name} server" for name in result.get("local_servers", [])]
    return "\n".join(lines) or "nothing was running"


def stack_summary(stack: dict[str, Any]) -> str:
    def word(alive: bool) -> str:
        return "up" if alive else "DOWN"

    workers = ", ".join(f"{q} {word(a)}" for q, a in stack["workers"].items())
    prov = stack["provisioner"]
    fence = ""
    if "landlock" in prov:
        landlock = f"ABI {prov['landlock']}" if prov["landlock"] else "OFF (kernel lacks it)"
        fence = f"; statement processes: landlock {landlock}"
    return (f"redis {word(stack['redis'])}; workers: {workers}; scheduler "
            f"{word(stack['scheduler'])}; provisioner {prov['name']} "
            f"({', '.join(prov['engines']) or 'engines unknown'}){fence}")


def _setup_code(settings: Settings) -> str | None:
    """A fresh one-time setup code when the installation has no admin yet (see
    :mod:`orchestrator.api.accounts`); only its hash is stored."""
    db = Database(settings.database_url, settings.home)
    try:
        return issue_setup_code(db)
    finally:
        db.dispose()


def up(settings: Settings, *, detach: bool, ui: bool, as_json: bool) -> int:
    supervised = services.running_pid(settings, supervisor.NAME) is not None
    started = services.start_stack(settings, ui=ui)
    if detach and not supervised:
        argv = [sys.executable, "-m", "orchestrator.stack.supervisor", *([] if ui else ["--no-ui"])]
        started[supervisor.NAME] = services.start(settings, supervisor.NAME, argv)
    info = services.status(settings)
    info["started"] = sorted(started)
    human = out.records(info["services"], ["name", "running", "pid", "detail"])
    url = services.ui_url(settings)
    api_url = endpoint.local_url({endpoint.LISTEN_ADDRESS: settings.listen_address,
                                  endpoint.API_PORT: str(settings.api_port)})
    human += f"\n\nAPI: {api_url}/api/v1 (OpenAPI: {api_url}/openapi.json)"
    if ui:
        human += f"\nUI: {url}"
    code = _setup_code(settings)
    if code:
        info["setup_code"], info["setup_url"] = code, url
        human += (f"\n\nOpen {url} and use setup code {code} to create the first (admin) "
                  "account (or run `dbplay user add NAME --admin`)")
    if supervised:
        human += "\n\na supervisor runs already (`dbplay down` stops the stack)"
    out.emit(as_json, info, human)
    if detach or supervised:
        return 0
    stop_event = stop_on_signals()
    pid_file = services.pid_file(settings, supervisor.NAME)
    pid_file.write_text(str(os.getpid()))
    if not as_json:
        print("running; Ctrl-C stops everything", flush=True)
    try:
        supervisor.Supervisor(settings, supervisor.commands(settings, ui=ui)).run(stop_event)
    finally:
        pid_file.unlink(missing_ok=True)  # so `down` does not signal this very process
        services.down(settings)
    return 0
