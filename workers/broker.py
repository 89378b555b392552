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
redelivered; ``maintenance_chance`` is raised so that redelivery check runs often.
"""

from __future__ import annotations

from typing import Any

import redis
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import q_name
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

from orchestrator.settings import Settings

#: out of a million Redis commands: 5% of fetches also requeue dead workers' messages
MAINTENANCE_CHANCE = 50_000
#: tokens kept per bell; more would only cause empty wake-ups
BELL_DEPTH = 64


class DoorbellRedisBroker(RedisBroker):
    def bell(self, queue_name: str) -> str:
        return f"{self.namespace}:bell:{q_name(queue_name)}"

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        sent: Message[Any] = super().enqueue(message, delay=delay)
        if delay is None:
            pipe = self.client.pipeline(transaction=False)
            pipe.lpush(self.bell(message.queue_name), 1)
            pipe.ltrim(self.bell(message.queue_name), 0, BELL_DEPTH - 1)
            pipe.execute()
        return sent

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Any:
        return _DoorbellConsumer(self, queue_name, prefetch, timeout)


class _DoorbellConsumer(_RedisConsumer):
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
        maintenance_chance=MAINTENANCE_CHANCE,
        dead_message_ttl=86_400_000,
    )
