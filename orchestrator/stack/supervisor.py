"""Keeps the processes of ``dbplay up`` running.

A :class:`Supervisor` polls the pid file of each service (workers, scheduler, UI, and
the ``redis-server`` when ``dbplay up`` started it) and starts again any that exited,
waiting longer after each quick failure (0.5 s, 1 s, 2 s ... at most 30 s; a child that
stayed up for a minute starts the count over). ``dbplay up`` runs it in the foreground;
``dbplay up --detach`` runs it as its own background process (``python -m
orchestrator.stack.supervisor``, pid file ``$DBPLAY_HOME/run/supervisor.pid``), which
``dbplay down`` stops first, before the services, so nothing is restarted behind it.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
import time

from orchestrator.config.file_modes import private_umask
from orchestrator.config.process_signals import configure_logging, stop_on_signals
from orchestrator.config.settings import Settings
from orchestrator.stack import services

log = logging.getLogger(__name__)

NAME = "supervisor"
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 30.0
#: a child that ran this long before exiting is restarted at once again
STABLE_S = 60.0


def commands(settings: Settings, *, ui: bool) -> dict[str, list[str]]:
    """What to keep running: the services, plus Redis when this stack started it."""
    watched = services.service_commands(settings, ui=ui)
    if services.running_pid(settings, "redis") is not None:
        watched["redis"] = services.redis_command(settings)
    return watched


def reap_children() -> None:
    """Collect the exit status of any child that ended (no zombies left behind)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class Supervisor:
    def __init__(self, settings: Settings, watched: dict[str, list[str]],
                 poll_s: float = 0.25) -> None:
        self.settings = settings
        self.watched = watched
        self.poll_s = poll_s
        now = time.monotonic()
        self._started = {name: now for name in watched}
        self._failures = {name: 0 for name in watched}
        self._due: dict[str, float] = {}
        self.restarts: dict[str, int] = {name: 0 for name in watched}

    def check(self) -> list[str]:
        """Restart what is due; returns the names started this time."""
        reap_children()
        now = time.monotonic()
        started: list[str] = []
        for name, argv in self.watched.items():
            if services.running_pid(self.settings, name) is not None:
                continue
            if name not in self._due:
                ran = now - self._started[name]
                self._failures[name] = 1 if ran >= STABLE_S else self._failures[name] + 1
                delay = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (self._failures[name] - 1))
                log.warning("%s exited after %.1f s; starting it again in %.1f s", name, ran,
                            delay)
                self._due[name] = now + delay
            if now >= self._due[name]:
                del self._due[name]
                pid = services.start(self.settings, name, argv)
                self._started[name] = now
                self.restarts[name] += 1
                log.info("restarted %s (pid %d)", name, pid)
                started.append(name)
        return started

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.check()
            except Exception:
                log.exception("supervisor check failed")
            stop.wait(self.poll_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.stack.supervisor")
    parser.add_argument("--no-ui", action="store_true")
    args = parser.parse_args(argv)
    private_umask()
    configure_logging()
    settings = Settings.load()
    stop = stop_on_signals()
    watched = commands(settings, ui=not args.no_ui)
    log.info("supervising %s", ", ".join(watched))
    Supervisor(settings, watched).run(stop)
    log.info("supervisor stopped; the services keep running until `dbplay down`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
