"""The Redis broker, configured from the settings (never at import), with a doorbell.

Dramatiq's Redis consumer polls: when a queue is empty it sleeps with exponential
back-off up to ``worker_timeout`` (1000 ms by default), so the first message after an
idle period waited ~470 ms (p50) on this machine. Lowering ``worker_timeout`` trades
that latency for constant polling. :class:`DoorbellRedisBroker` removes the trade-off:
``enqueue`` also pushes a token on ``<namespace>:bell:<queue>``, and an idle consumer
blocks on that list (``BLPOP`` with ``worker_timeout`` as its timeout) instead of
sleeping, so it wakes within a Redis round trip of a new message and otherwise checks
the queue (and heartbeats) once per ``worker_timeout``.

``heartbeat_timeout`` decides when a killed worker's unacknowledged messages are
redelivered. Dramatiq checks for them on a random share of fetches
(``maintenance_chance``); an idle consumer here also sweeps every half heartbeat
timeout, so a job taken by a killed worker is picked up again within seconds.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import uuid4

import redis
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import current_millis, q_name
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from orchestrator.config.settings import Settings

#: out of a million Redis commands: 5% of fetches also requeue dead workers' messages
MAINTENANCE_CHANCE = 50_000
#: tokens kept per bell; more would only cause empty wake-ups
BELL_DEPTH = 64


class DoorbellRedisBroker(RedisBroker):
    def bell(self, queue_name: str) -> str:
        return f"{self.namespace}:bell:{q_name(queue_name)}"

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        """Enqueue and ring the queue's bell in one round trip to Redis (Dramatiq's own
        enqueue script, called by its SHA, pipelined with the bell). Delayed messages
        and a Redis that lost the script take Dramatiq's path."""
        if delay is not None:
            sent: Message[Any] = super().enqueue(message, delay=delay)
            return sent
        message = message.copy(options={"redis_message_id": str(uuid4())})
        self.emit_before("enqueue", message, delay)
        dispatch: Any = self.scripts["dispatch"]
        pipe = self.client.pipeline(transaction=False)
        pipe.execute_command(
            "EVALSHA", dispatch.sha, 1, self.namespace, "enqueue", current_millis(),
            message.queue_name, self.broker_id, self.heartbeat_timeout,
            self.dead_message_ttl, self._should_do_maintenance("enqueue"),
            self._max_unpack_size(), message.options["redis_message_id"], message.encode())
        self._ring(pipe, message.queue_name)
        enqueued, *_ = pipe.execute(raise_on_error=False)
        if isinstance(enqueued, redis.exceptions.NoScriptError):
            self.do_enqueue(message.queue_name, message.options["redis_message_id"],
                            message.encode())  # loads the script again
        elif isinstance(enqueued, Exception):
            raise enqueued
        self.emit_after("enqueue", message, delay)
        return message

    def sweep(self, queue_name: str) -> None:
        """Run Dramatiq's maintenance on ``queue_name`` now: messages a dead worker had
        taken (its heartbeat older than ``heartbeat_timeout``) go back on the queue.
        Uses the side-effect-free ``qsize`` command with maintenance forced on."""
        dispatch: Any = self.scripts["dispatch"]
        dispatch(keys=[self.namespace], args=[
            "qsize", current_millis(), queue_name, self.broker_id, self.heartbeat_timeout,
            self.dead_message_ttl, 1, self._max_unpack_size()])

    def _ring(self, pipe: Any, queue_name: str) -> None:
        pipe.lpush(self.bell(queue_name), 1)
        pipe.ltrim(self.bell(queue_name), 0, BELL_DEPTH - 1)

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Any:
        return _DoorbellConsumer(self, queue_name, prefetch, timeout)


class _DoorbellConsumer(_RedisConsumer):
    #: monotonic time of the next forced maintenance (0: at the first idle moment)
    next_sweep = 0.0

    def _sweep_when_due(self) -> None:
        """Dramatiq requeues a dead worker's messages only on a random 5% of fetches; an
        idle consumer also sweeps every half heartbeat timeout (and once at start), so a
        killed worker's job is taken up again within seconds, not by chance."""
        now = time.monotonic()
        if now >= self.next_sweep:
            broker: DoorbellRedisBroker = self.broker
            self.next_sweep = now + broker.heartbeat_timeout / 2000
            broker.sweep(self.queue_name)

    def __next__(self) -> MessageProxy | None:
        try:
            while True:
                if self.message_cache:
                    data = self.message_cache.pop(0)
                    if data is None:
                        continue
                    message = Message.decode(data)
                    self.queued_message_ids.add(message.message_id)
                    return MessageProxy(message)
                messages = []
                if self.outstanding_message_count < self.prefetch:
                    self.message_cache = messages = self.broker.do_fetch(
                        self.queue_name, self.prefetch - self.outstanding_message_count)
                if messages:
                    continue
                if self.queue_name.endswith(".DQ") or \
                        self.outstanding_message_count >= self.prefetch:
                    return super().__next__()  # delayed messages: the usual back-off
                self._sweep_when_due()
                self.broker.client.blpop([self.broker.bell(self.queue_name)],
                                         timeout=max(self.timeout / 1000, 0.01))
                return None
        except redis.ConnectionError as exc:
            raise ConnectionClosed(exc) from None


def make_broker(settings: Settings, *, worker: bool) -> RedisBroker:
    middleware = [
        AgeLimit(), TimeLimit(), ShutdownNotifications(), Callbacks(), Pipelines(),
        Retries(max_retries=0), CurrentMessage(),
    ] if worker else []
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3,
                                  health_check_interval=15)
    return DoorbellRedisBroker(
        client=client,
        middleware=middleware,
        heartbeat_timeout=settings.heartbeat_timeout_ms,
        # requeueing dead workers' messages is the workers' chore (on fetch); a client
        # doing it on enqueue would only slow the request down
        maintenance_chance=MAINTENANCE_CHANCE if worker else 0,
        dead_message_ttl=86_400_000,
    )
