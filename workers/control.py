"""The control channel: a thread per worker process listening on Redis pub/sub for
cancel requests and passing each to the statement process running that job
(``workers/isolation``), whose own thread stops the statement on the server
(``Engine.cancel``: ``sqlite3_interrupt`` for SQLite, a cancel request for PostgreSQL,
...); a process that does not stop within a few seconds is killed."""

from __future__ import annotations

import logging
import threading
import time

import redis

from orchestrator.jobs.client import CANCEL_CHANNEL
from workers.runtime import Runtime

log = logging.getLogger(__name__)


class CancelListener(threading.Thread):
    def __init__(self, rt: Runtime) -> None:
        super().__init__(name="dbplay-cancel-listener", daemon=True)
        self.rt = rt
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                pubsub = self.rt.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CANCEL_CHANNEL)
                while not self.stopping.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        job_id = message["data"].decode()
                        try:
                            self.rt.cancel_running(job_id)
                        except Exception:
                            log.exception("cancel of job %s failed", job_id)
                pubsub.close()
            except redis.RedisError as exc:
                log.warning("cancel channel lost (%s); reconnecting", exc)
                time.sleep(1)

    def stop(self) -> None:
        self.stopping.set()
