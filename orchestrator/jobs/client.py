"""Jobs: a row in the ``jobs`` table plus a Dramatiq message naming it.

Results are stored in the jobs table, not in Dramatiq's result backend: they must
outlive a Redis restart, be visible to the UI as history, and carry ownership for
``get_job``. Waiting is still fast: the worker pushes the job id on a per-job Redis
list (``dbplay:done:<id>``) as it finishes and the waiter blocks on it (``BLPOP``),
falling back to reading the row once a second when Redis is unavailable.
Cancelling publishes the job id on ``dbplay:cancel``; the worker running it stops
the statement on the server (see ``workers/control.py``).

Per-user lines (fairness): a user has at most ``DBPLAY_USER_CONCURRENCY`` jobs
*admitted* (queued in Dramatiq or running) per queue. Further jobs are stored as
``waiting`` and sent to Dramatiq only when one of that user's admitted jobs on the same
queue ends (:func:`promote_waiting`, oldest first). So one user can neither hold more
than that many worker threads nor fill a queue ahead of other users. Every step that
changes a line (submit, claim, finish, cancel) first takes the line's lock
(:func:`lock_line`) in its transaction, so counting and promoting are atomic. A worker
that dies holds its slots until Dramatiq redelivers its messages (heartbeat timeout):
the redelivered job is failed (user work) or re-run, and its end promotes the next.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import dramatiq.errors
import redis
from dramatiq import Message
from dramatiq.broker import Broker
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engines.errors import NotFound, ServiceUnavailable
from orchestrator.config.settings import Settings
from orchestrator.jobs.broker import make_broker
from orchestrator.store.db import Database
from orchestrator.store.models import Job, utcnow
from orchestrator.store.owner_locks import lock_owner

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
#: in its user's line: not sent to Dramatiq until a slot of that user frees up
WAITING = "waiting"
FINISHED = (DONE, FAILED, CANCELLED)
#: states that hold one of the user's slots on the job's queue
ADMITTED = (QUEUED, RUNNING)

#: interactive work never waits behind provisioning or snapshots
INTERACTIVE, PROVISION, BACKGROUND = "interactive", "provision", "background"
QUEUE_OF: dict[str, str] = {
    "query": INTERACTIVE,
    "explain": INTERACTIVE,
    "schema": INTERACTIVE,
    "provision": PROVISION,
    "reset": PROVISION,
    "delete": PROVISION,
    "pool_refill": PROVISION,
    "forget_template": PROVISION,
    "snapshot": BACKGROUND,
    "scheduled_snapshot": BACKGROUND,
    "import_template": BACKGROUND,
    "import_data": BACKGROUND,
    "export": BACKGROUND,
    "reap": BACKGROUND,
}
QUEUES = (INTERACTIVE, PROVISION, BACKGROUND)
KINDS_OF: dict[str, tuple[str, ...]] = {
    queue: tuple(kind for kind, q in QUEUE_OF.items() if q == queue) for queue in QUEUES}

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


def lock_line(session: Session, owner: str, queue: str) -> None:
    """Serialize, until the transaction ends, every change to ``owner``'s line on
    ``queue`` (see :mod:`orchestrator.store.owner_locks`). Take it first in the transaction
    (before any row lock), so lines and sandbox rows are always locked in one order."""
    lock_owner(session, owner, f"line:{queue}")


def promote_waiting(session: Session, owner: str, queue: str, limit: int) -> list[Job]:
    """Admit ``owner``'s oldest waiting jobs on ``queue`` while they have fewer than
    ``limit`` admitted ones; returns the jobs to send to Dramatiq once committed.
    Call with the line locked (:func:`lock_line`)."""
    session.flush()
    admitted = session.scalar(select(func.count()).select_from(Job).where(
        Job.owner == owner, Job.kind.in_(KINDS_OF[queue]), Job.state.in_(ADMITTED))) or 0
    free = max(limit, 1) - admitted
    if free <= 0:
        return []
    ready = list(session.scalars(select(Job).where(
        Job.owner == owner, Job.kind.in_(KINDS_OF[queue]), Job.state == WAITING,
    ).order_by(Job.created_at, Job.id).limit(free)))
    for job in ready:
        job.state = QUEUED
    return ready


def send(broker: Broker, job_id: str, kind: str) -> None:
    """Put the job's message on its Dramatiq queue."""
    message: Message[Any] = Message(queue_name=QUEUE_OF[kind], actor_name=kind,
                                    args=(job_id,), kwargs={}, options={})
    broker.enqueue(message)


def send_promoted(broker: Broker, db: Database, jobs: list[tuple[str, str]],
                  redis_client: redis.Redis | None = None) -> list[str]:
    """Send jobs promoted from a line (``(id, kind)`` pairs, after the commit); a job
    whose message cannot be sent is failed (and its waiter woken). Returns the failed
    ids."""
    failed: list[str] = []
    for job_id, kind in jobs:
        try:
            send(broker, job_id, kind)
        except (redis.RedisError, dramatiq.errors.BrokerError) as exc:
            log.warning("could not send job %s from its line: %s", job_id, exc)
            with db.session() as session:
                row = session.get(Job, job_id)
                if row is not None and row.state == QUEUED:
                    row.state, row.finished_at = FAILED, utcnow()
                    row.error = unavailable(exc).to_dict()
            failed.append(job_id)
            if redis_client is not None:
                notify_done(redis_client, job_id)
    return failed


class JobClient:
    """Submit, wait for and cancel jobs from any process."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.broker = make_broker(settings, worker=False)
        self.redis: redis.Redis = redis.Redis.from_url(
            settings.redis_url, socket_timeout=30, socket_connect_timeout=3
        )

    def submit(self, owner: str, kind: str, sandbox_id: str | None = None,
               check: Callable[[Session], None] | None = None, **params: Any) -> Job:
        """Insert the job row (after ``check(session)``, in the same transaction) at the
        end of the user's line, and send it to Dramatiq if the user has a free slot on
        its queue (else it stays ``waiting`` until one of their jobs there ends)."""
        queue = QUEUE_OF[kind]
        job = Job(id=uuid.uuid4().hex, kind=kind, owner=owner, sandbox_id=sandbox_id,
                  state=WAITING, params=params, created_at=utcnow(), attempts=0)
        with self.db.session() as session:
            if check is not None:
                check(session)
            lock_line(session, owner, queue)
            session.add(job)
            ready = [(j.id, j.kind) for j in promote_waiting(
                session, owner, queue, self.settings.user_concurrency)]
        failed = send_promoted(self.broker, self.db, ready, self.redis)
        if job.id in failed:
            raise ServiceUnavailable(self.load(job.id).error["message"])  # type: ignore[index]
        return job  # promote_waiting set it queued if it was admitted at once

    def cancel_unstarted(self, job_id: str) -> bool:
        """Cancel the job if no worker started it (waiting in its line, or queued);
        a queued job's slot goes to the user's next waiting job. True if cancelled."""
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is None or job.state not in (WAITING, QUEUED):
                return False
            queue = QUEUE_OF[job.kind]
            lock_line(session, job.owner, queue)
            session.refresh(job)
            if job.state not in (WAITING, QUEUED):
                return False
            job.state, job.finished_at = CANCELLED, utcnow()
            job.error = {"type": "QueryCancelled", "message": "cancelled before it started"}
            ready = [(j.id, j.kind) for j in promote_waiting(
                session, job.owner, queue, self.settings.user_concurrency)]
        send_promoted(self.broker, self.db, ready, self.redis)
        notify_done(self.redis, job_id)
        return True

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
