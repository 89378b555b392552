"""What a worker process holds: settings, metadata database, provisioners, cached
engine connections and the registry of running statements (for cancel).

Built once at worker start-up by :func:`init` (``workers/run.py``); actors reach it
through :func:`get`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

import redis

from engines import connect
from engines.base import Engine
from orchestrator.db import Database
from orchestrator.models import Sandbox
from orchestrator.provisioners import Provisioners
from orchestrator.provisioning import SandboxHandle
from orchestrator.settings import Settings
from orchestrator.templates import TemplateStore

log = logging.getLogger(__name__)
_CACHE_PER_THREAD = 16


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
        self._local = threading.local()
        self._running: dict[str, Engine] = {}
        self._running_lock = threading.Lock()

    # -- engine connections, cached per thread ----------------------------
    def engine_for(self, sandbox: Sandbox) -> Engine:
        """A connected adapter for the sandbox's user URL (reused while it is the same
        incarnation of the sandbox)."""
        cache: OrderedDict[str, tuple[int, Engine]] = getattr(self._local, "engines", None) \
            or OrderedDict()
        self._local.engines = cache
        hit = cache.get(sandbox.id)
        if hit is not None and hit[0] == sandbox.generation:
            cache.move_to_end(sandbox.id)
            return hit[1]
        if hit is not None:
            self.drop_engine(sandbox.id)
        handle = SandboxHandle.from_dict(sandbox.handle or {})
        engine = connect(sandbox.engine, handle.user_url)
        engine.connect()
        cache[sandbox.id] = (sandbox.generation, engine)
        while len(cache) > _CACHE_PER_THREAD:
            _, (_, old) = cache.popitem(last=False)
            _close_quietly(old)
        return engine

    def drop_engine(self, sandbox_id: str) -> None:
        cache: OrderedDict[str, tuple[int, Engine]] | None = getattr(self._local, "engines", None)
        if cache and sandbox_id in cache:
            _close_quietly(cache.pop(sandbox_id)[1])

    # -- running statements, for cancel -----------------------------------
    def register_running(self, job_id: str, engine: Engine) -> None:
        with self._running_lock:
            self._running[job_id] = engine

    def unregister_running(self, job_id: str) -> None:
        with self._running_lock:
            self._running.pop(job_id, None)

    def cancel_running(self, job_id: str) -> bool:
        with self._running_lock:
            engine = self._running.get(job_id)
        if engine is None:
            return False
        log.info("cancelling job %s on the server", job_id)
        engine.cancel()
        return True

    # -- provisioner callbacks ----------------------------------------------
    def on_provisioner_event(self, sandbox_id: str, event: str, reason: str) -> None:
        """Docker reported a sandbox container died or ran out of memory."""
        from orchestrator import state

        with self.db.session() as session:
            sandbox = state.lock_sandbox(session, sandbox_id)
            if sandbox is not None and state.can_transition(sandbox.state, state.FAILED):
                state.transition(session, sandbox, state.FAILED, f"container {event}: {reason}")


def _close_quietly(engine: Engine) -> None:
    try:
        engine.close()
    except Exception:
        pass


_runtime: Runtime | None = None


def init(settings: Settings, *, watch_events: bool = True) -> Runtime:
    global _runtime
    _runtime = Runtime(settings, watch_events=watch_events)
    return _runtime


def get() -> Runtime:
    if _runtime is None:
        raise RuntimeError("worker runtime not initialised (workers.runtime.init)")
    return _runtime


def current_settings() -> Any:
    return get().settings
