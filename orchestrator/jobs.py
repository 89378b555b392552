"""Jobs: a row in the ``jobs`` table plus a Dramatiq message naming it.

Results are stored in the jobs table, not in Dramatiq's result backend: they must
outlive a Redis restart, be visible to the UI as history, and carry ownership for
``get_job``. Waiting is still fast: the worker pushes the job id on a per-job Redis
list (``dbplay:done:<id>``) as it finishes and the waiter blocks on it (``BLPOP``),
falling back to reading the row once a second when Redis is unavailable.
Cancelling publishes the job id on ``dbplay:cancel``; the worker running it stops
the statement on the server (see ``workers/control.py``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import dramatiq.errors
import redis
from dramatiq import Message
from sqlalchemy.orm import Session

from engines.errors import NotFound, ServiceUnavailable
from orchestrator.db import Database
from orchestrator.models import Job, utcnow
from orchestrator.settings import Settings

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)

#: interactive work never waits behind provisioning or snapshots
INTERACTIVE, PROVISION, BACKGROUND = "interactive", "provision", "background"
QUEUE_OF: dict[str, str] = {
    "query": INTERACTIVE,
    "explain": INTERACTIVE,
    "schema": INTERACTIVE,
    "fetch_page": INTERACTIVE,
    "provision": PROVISION,
    "reset": PROVISION,
    "delete": PROVISION,
    "pool_refill": PROVISION,
    "snapshot": BACKGROUND,
    "scheduled_snapshot": BACKGROUND,
    "import_template": BACKGROUND,
    "import_data": BACKGROUND,
    "export": BACKGROUND,
    "reap": BACKGROUND,
}
QUEUES = (INTERACTIVE, PROVISION, BACKGROUND)

CANCEL_CHANNEL = "dbplay:cancel"


def unavailable(exc: BaseException) -> ServiceUnavailable:
    return ServiceUnavailable(f"the job queue (Redis) does not answer ({exc}); "
                              "start the stack with `dbplay up`")


def done_key(job_id: str) -> str:
    return f"dbplay:done:{job_id}"


def cancel_key(job_id: str) -> str:
    return f"dbplay:cancelled:{job_id}"


#: wake-up tokens a finished job leaves: one per waiter, so no waiter has to put its
#: token back for the others (more waiters than this read the row within a second)
DONE_TOKENS = 16


def notify_done(client: redis.Redis, job_id: str) -> None:
    """Wake whoever waits for ``job_id`` (best effort: waiters also poll the row)."""
    try:
        pipe = client.pipeline(transaction=False)
        pipe.rpush(done_key(job_id), *["1"] * DONE_TOKENS)
        pipe.expire(done_key(job_id), 600)
        pipe.execute()
    except redis.RedisError:
        pass


class JobClient:
    """Submit, wait for and cancel jobs from any process."""

    def __init__(self, settings: Settings, db: Database) -> None:
        from workers.broker import make_broker

        self.settings = settings
        self.db = db
        self.broker = make_broker(settings, worker=False)
        self.redis: redis.Redis = redis.Redis.from_url(
            settings.redis_url, socket_timeout=30, socket_connect_timeout=3
        )

    def submit(self, owner: str, kind: str, sandbox_id: str | None = None,
               check: Callable[[Session], None] | None = None, **params: Any) -> Job:
        """Insert the job row (after ``check(session)``, in the same transaction) and
        enqueue its message."""
        job = Job(id=uuid.uuid4().hex, kind=kind, owner=owner, sandbox_id=sandbox_id,
                  state=QUEUED, params=params, created_at=utcnow(), attempts=0)
        with self.db.session() as session:
            if check is not None:
                check(session)
            session.add(job)
        try:
            self.enqueue(job)
        except (redis.RedisError, dramatiq.errors.BrokerError) as exc:
            error = unavailable(exc)
            with self.db.session() as session:
                row = session.get(Job, job.id)
                if row is not None:
                    row.state, row.finished_at, row.error = FAILED, utcnow(), error.to_dict()
            raise error from exc
        return job

    def enqueue(self, job: Job) -> None:
        message: Message[Any] = Message(queue_name=QUEUE_OF[job.kind], actor_name=job.kind,
                                        args=(job.id,), kwargs={}, options={})
        self.broker.enqueue(message)

    def load(self, job_id: str, owner: str | None = None) -> Job:
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is None or (owner is not None and job.owner != owner):
                raise NotFound(f"no job {job_id!r}")
            return job

    def wait(self, job_id: str, timeout_s: float, owner: str | None = None,
             *, fresh: bool = False) -> Job:
        """The job once finished, or as it is when ``timeout_s`` has passed.

        ``fresh``: the job was just submitted, so skip reading the row before the
        first wake-up (it cannot be finished yet, and the token would wait anyway).
        """
        deadline = time.monotonic() + timeout_s
        while True:
            if fresh:
                fresh = False
            else:
                job = self.load(job_id, owner)
                if job.state in FINISHED or deadline - time.monotonic() <= 0:
                    return job
            remaining = max(deadline - time.monotonic(), 0.01)
            try:
                self.redis.blpop([done_key(job_id)], timeout=min(remaining, 1.0))
            except redis.RedisError:
                time.sleep(min(remaining, 0.5))

    def request_cancel(self, job_id: str) -> None:
        """Mark the job cancelled for its worker and tell every worker to stop it now."""
        try:
            self.redis.set(cancel_key(job_id), "1", ex=600)
            self.redis.publish(CANCEL_CHANNEL, job_id)
        except redis.RedisError:
            pass

    def close(self) -> None:
        self.redis.close()
        self.broker.close()
