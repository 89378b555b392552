"""Liveness of the stack, kept in Redis so that any process can read it in one round trip.

Every worker process beats for each queue it consumes, the scheduler for itself: a
member ``<host>:<pid>`` scored with the time in the sorted set ``dbplay:alive:<role>``,
every :data:`BEAT_S` seconds. A role is alive while one member beat within
:data:`STALE_S`; a process that stops cleanly removes its member at once, a killed one
goes stale. The provisioning worker also publishes which provisioner it uses and the
engines it can start (``dbplay:provisioner``), so the UI learns it without pinging
Docker itself.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis

from orchestrator.config.settings import Settings
from orchestrator.jobs.client import QUEUES

log = logging.getLogger(__name__)

BEAT_S = 2.0
STALE_S = 10.0
SCHEDULER = "scheduler"
PROVISIONER_KEY = "dbplay:provisioner"
MEMBER = f"{socket.gethostname()}:{os.getpid()}"


def alive_key(role: str) -> str:
    return f"dbplay:alive:{role}"


class Heartbeat(threading.Thread):
    """Beats for ``roles`` until :meth:`stop`; ``publish()`` may add extra keys each beat."""

    def __init__(self, client: redis.Redis, roles: Iterable[str],
                 publish: Callable[[], dict[str, str]] | None = None) -> None:
        super().__init__(name="dbplay-heartbeat", daemon=True)
        self.client = client
        self.roles = list(roles)
        self.publish = publish
        self.stopping = threading.Event()
        self._published: dict[str, str] | None = None

    def beat(self) -> None:
        now = time.time()
        pipe = self.client.pipeline(transaction=False)
        for role in self.roles:
            pipe.zadd(alive_key(role), {MEMBER: now})
            pipe.zremrangebyscore(alive_key(role), "-inf", now - 10 * STALE_S)
            pipe.expire(alive_key(role), int(10 * STALE_S))
        pipe.execute()
        if self.publish is not None:  # after the beat: the first publish may be slow
            if self._published is None:
                self._published = self.publish()
            for key, value in self._published.items():
                self.client.set(key, value, ex=int(10 * STALE_S))

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.beat()
            except redis.RedisError as exc:
                log.warning("heartbeat failed: %s", exc)
            except Exception:
                log.exception("heartbeat crashed")
            self.stopping.wait(BEAT_S)

    def stop(self) -> None:
        """Stop beating and say so (the roles read as down at once)."""
        self.stopping.set()
        try:
            pipe = self.client.pipeline(transaction=False)
            for role in self.roles:
                pipe.zrem(alive_key(role), MEMBER)
            pipe.execute()
        except redis.RedisError:
            pass


def provisioner_publisher(info: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, str]]:
    """A ``publish`` callback announcing ``info()`` (computed once, at the first beat)."""
    def publish() -> dict[str, str]:
        try:
            return {PROVISIONER_KEY: json.dumps(info())}
        except Exception as exc:
            log.warning("cannot describe the provisioner: %s", exc)
            return {}
    return publish


def status_client(settings: Settings) -> redis.Redis:
    """A Redis client that gives up fast: status must answer even when Redis does not."""
    return redis.Redis.from_url(settings.redis_url, socket_connect_timeout=0.25,
                                socket_timeout=0.25, retry_on_timeout=False)


def stack_status(client: redis.Redis, fallback_provisioner: dict[str, Any]) -> dict[str, Any]:
    """``{"redis", "workers": {queue: bool}, "scheduler", "provisioner"}``; never raises."""
    status: dict[str, Any] = {"redis": False, "workers": {q: False for q in QUEUES},
                              "scheduler": False, "provisioner": fallback_provisioner}
    since = time.time() - STALE_S
    try:
        pipe = client.pipeline(transaction=False)
        pipe.ping()
        for role in (*QUEUES, SCHEDULER):
            pipe.zcount(alive_key(role), since, "+inf")
        pipe.get(PROVISIONER_KEY)
        answers = pipe.execute()
    except Exception:
        return status
    status["redis"] = bool(answers[0])
    counts = dict(zip((*QUEUES, SCHEDULER), answers[1:-1]))
    status["workers"] = {q: bool(counts[q]) for q in QUEUES}
    status["scheduler"] = bool(counts[SCHEDULER])
    try:
        published = json.loads(answers[-1]) if answers[-1] else None
    except ValueError:
        published = None
    if isinstance(published, dict) and "name" in published:
        status["provisioner"] = {"name": published["name"],
                                 "engines": list(published.get("engines") or []),
                                 "landlock": int(published.get("landlock") or 0)}
    return status
