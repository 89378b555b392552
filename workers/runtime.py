"""What a worker process holds: settings, metadata database, provisioners and the
statement processes that run user work (and know which job each runs, for cancel).

Built once at worker start-up by :func:`init` (``workers/run.py``); actors reach it
through :func:`get`.
"""

from __future__ import annotations

import logging

import redis

from orchestrator.config.settings import Settings
from orchestrator.results.store import ResultStore
from orchestrator.sandboxes.docker.events import USABLE_EVENTS
from orchestrator.sandboxes.provisioners import Provisioners
from orchestrator.store import state
from orchestrator.store.db import Database
from orchestrator.store.models import Event, utcnow
from orchestrator.store.templates import TemplateStore
from workers.isolation.runner import StatementProcesses

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings, *, watch_events: bool = True) -> None:
        """``watch_events``: follow Docker's events for sandboxes that die. Only the
        process that starts and stops sandboxes (the provision worker) may: it alone
        knows which deaths it caused itself (a reset replaces the container)."""
        self.settings = settings
        self.db = Database(settings.database_url, settings.home)
        self.store = TemplateStore(settings.templates_dir)
        self.redis: redis.Redis = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=3, socket_timeout=10
        )
        self.provisioners = Provisioners(
            settings, on_event=self.on_provisioner_event if watch_events else None)
        #: user work runs in fenced child processes (``workers/isolation``); the zygote
        #: they fork from starts with the first job, or at start-up (``workers/run.py``)
        self.statements = StatementProcesses(settings)
        #: each statement's whole result, kept for pages, downloads and charts
        self.results = ResultStore(self.db, settings)

    # -- running statements, for cancel -----------------------------------
    def cancel_running(self, job_id: str) -> bool:
        """Tell the statement process running ``job_id`` (if here) to stop it."""
        if self.statements.cancel(job_id):
            log.info("cancelling job %s on the server", job_id)
            return True
        return False

    # -- provisioner callbacks ----------------------------------------------
    def on_provisioner_event(self, sandbox_id: str, event: str, reason: str) -> None:
        """Docker reported a sandbox container died or ran out of memory. A memory kill
        the server survived, or a death Docker restarts from (``USABLE_EVENTS``), is only
        recorded; a container gone for good fails the sandbox with the reason."""
        with self.db.session() as session:
            sandbox = state.lock_sandbox(session, sandbox_id)
            if sandbox is None:
                return
            if event in USABLE_EVENTS:
                session.add(Event(sandbox_id=sandbox.id, at=utcnow(), from_state=sandbox.state,
                                  to_state=sandbox.state, reason=f"container {event}: {reason}"))
            elif state.can_transition(sandbox.state, state.FAILED):
                state.transition(session, sandbox, state.FAILED, f"container {event}: {reason}")


_runtime: Runtime | None = None


def init(settings: Settings, *, watch_events: bool = True) -> Runtime:
    global _runtime
    _runtime = Runtime(settings, watch_events=watch_events)
    return _runtime


def get() -> Runtime:
    if _runtime is None:
        raise RuntimeError("worker runtime not initialised (workers.runtime.init)")
    return _runtime

