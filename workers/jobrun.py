"""The life of one job inside a worker: claim the row, run, record the outcome, wake
the waiter. Shared by every actor so the rules live in one place:

* a job already finished (or cancelled while queued) is skipped: redelivered
  messages are harmless;
* a user query found ``running`` was started by a worker that died: it is failed,
  never silently re-run (no retries for user statements);
* infrastructure jobs may be retried: :func:`should_retry` is Dramatiq's
  ``retry_when``; on the last attempt the job is failed with the reason;
* every end of a job (done, failed, cancelled, found dead) frees its slot in the
  user's line in the same transaction and sends the user's next waiting job on that
  queue (see ``orchestrator/jobs.py``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage
from dramatiq.middleware.time_limit import TimeLimitExceeded
from dramatiq.threading import Interrupt
from sqlalchemy import update
from sqlalchemy.orm import Session

from engines.errors import (
    Conflict,
    DBPlayError,
    EngineUnavailable,
    NotFound,
    ProvisionError,
    QueryCancelled,
    RestoreError,
)
from orchestrator.jobs.client import (
    CANCELLED,
    DONE,
    FAILED,
    FINISHED,
    QUEUE_OF,
    QUEUED,
    RUNNING,
    WAITING,
    lock_line,
    notify_done,
    promote_waiting,
    send_promoted,
)
from orchestrator.store import state
from orchestrator.store.models import Job, Sandbox, utcnow
from workers.runtime import Runtime

log = logging.getLogger(__name__)

#: attempts (deliveries + retries) after which an infrastructure job is failed
MAX_ATTEMPTS = 3
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"


class Skip(Exception):
    """Nothing to do for this delivery (finished or cancelled job)."""


def is_transient(exc: BaseException) -> bool:
    """Errors worth another attempt: the infrastructure hiccuped, the request is fine."""
    if isinstance(exc, RestoreError):
        return False
    if isinstance(exc, (EngineUnavailable, ProvisionError)):
        return True
    return not isinstance(exc, DBPlayError)


def should_retry(retries: int, exc: BaseException) -> bool:
    return retries < MAX_ATTEMPTS - 1 and is_transient(exc)


def _current_retries() -> int:
    message = CurrentMessage.get_current_message()
    return int(message.options.get("retries", 0)) if message is not None else 0


def claim(rt: Runtime, job_id: str, *, rerunnable: bool, hold: bool = False) -> Job:
    """Mark the job running; raise :class:`Skip` when there is nothing to do.

    ``hold``: the job runs statements in its sandbox, which must be queryable; it is
    counted on the sandbox (ready -> busy) in the same transaction.
    """
    with rt.db.session() as session:
        job = session.get(Job, job_id)
        if job is None or job.state in FINISHED:
            raise Skip
        lock_line(session, job.owner, QUEUE_OF[job.kind])  # vs. a cancel in the API
        session.refresh(job)
        if job.state in FINISHED or job.state == WAITING:  # waiting: sent when promoted
            raise Skip
        if hold:
            try:
                hold_sandbox(session, job, +1)
            except DBPlayError as exc:
                job.state, job.finished_at, job.error = FAILED, utcnow(), exc.to_dict()
                ready = _promote_next(rt, session, job)
                session.commit()
                _send(rt, ready)
                notify_done(rt.redis, job.id)
                raise Skip from exc
        if job.state == RUNNING and job.worker != WORKER_NAME:
            if not rerunnable or job.attempts >= MAX_ATTEMPTS:
                if hold:  # release this delivery's hold and the dead worker's
                    hold_sandbox(session, job, -2)
                job.state, job.finished_at = FAILED, utcnow()
                job.error = {"type": "WorkerLost",
                             "message": f"the worker running this job ({job.worker}) died"}
                log.warning("job %s (%s) was running on dead worker %s: failed",
                            job.id, job.kind, job.worker)
                ready = _promote_next(rt, session, job)
                session.commit()  # raising Skip would roll the session back
                _send(rt, ready)
                notify_done(rt.redis, job.id)
                raise Skip
            log.warning("job %s was running on dead worker %s: running it again",
                        job.id, job.worker)
        job.state, job.worker = RUNNING, WORKER_NAME
        job.attempts += 1
        job.started_at = job.started_at or utcnow()
        return job


def _promote_next(rt: Runtime, session: Session, job: Job) -> list[tuple[str, str]]:
    """The job ended: admit its owner's next waiting jobs on its queue (line locked)."""
    return [(j.id, j.kind) for j in promote_waiting(
        session, job.owner, QUEUE_OF[job.kind], rt.settings.user_concurrency)]


def _send(rt: Runtime, ready: list[tuple[str, str]]) -> None:
    if ready:  # the worker's broker (only needed, hence only looked up, when a line moves)
        send_promoted(dramatiq.get_broker(), rt.db, ready, rt.redis)


_claimed = threading.local()


def claimed_sandbox() -> Sandbox | None:
    """The sandbox row read while claiming the current thread's job (``hold`` jobs)."""
    sb: Sandbox | None = getattr(_claimed, "sandbox", None)
    return sb


def hold_sandbox(session: Session, job: Job, delta: int) -> None:
    """Add ``delta`` to the sandbox's running-job count and switch ready/busy at 0.

    The UPDATE comes first so concurrent jobs serialize on the row (SQLite takes its
    write lock, PostgreSQL the row lock) before reading the count back.
    """
    session.execute(update(Sandbox).where(Sandbox.id == job.sandbox_id).values(
        active_jobs=Sandbox.active_jobs + delta))
    sb = session.get(Sandbox, job.sandbox_id, populate_existing=True)
    if sb is None or sb.owner != job.owner or (delta > 0 and sb.state not in state.QUERYABLE):
        if sb is not None and sb.owner == job.owner:
            raise Conflict(f"sandbox {sb.id} is {sb.state}")
        raise NotFound(f"no sandbox {job.sandbox_id!r}")
    if delta > 0:
        _claimed.sandbox = sb
    if delta > 0 and sb.state == state.READY:
        state.transition(session, sb, state.BUSY, f"{job.kind} job {job.id}")
    elif delta < 0 and sb.active_jobs <= 0:
        sb.active_jobs = 0
        if sb.state == state.BUSY:
            state.transition(session, sb, state.READY, f"{job.kind} job {job.id} ended")


def finish(rt: Runtime, job_id: str, *, result: Any = None,
           error: dict[str, Any] | None = None, outcome: str | None = None,
           hold: bool = False) -> None:
    with rt.db.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        lock_line(session, job.owner, QUEUE_OF[job.kind])  # before the sandbox row lock
        if hold:
            try:
                hold_sandbox(session, job, -1)
            except DBPlayError:
                pass  # deleted meanwhile
        job.state = outcome or (FAILED if error else DONE)
        job.result, job.error, job.finished_at = result, error, utcnow()
        ready = _promote_next(rt, session, job)
    _send(rt, ready)
    notify_done(rt.redis, job_id)


def run_job(rt: Runtime, job_id: str, body: Callable[[Runtime, Job], Any], *,
            retryable: bool, on_failure: Callable[[Runtime, Job, DBPlayError], None] | None = None,
            hold: bool = False) -> None:
    """Run ``body`` for the job and record its outcome."""
    try:
        job = claim(rt, job_id, rerunnable=retryable, hold=hold)
    except Skip:
        return
    try:
        result = body(rt, job)
    except Interrupt as exc:  # Dramatiq's time limit (or shutdown) stopped the thread
        _interrupted(rt, job, exc, on_failure, hold)
        return
    except Exception as exc:
        if retryable and should_retry(_current_retries(), exc):
            log.warning("job %s (%s) failed, will retry: %s", job.id, job.kind, exc)
            with rt.db.session() as session:
                row = session.get(Job, job_id)
                if row is not None and row.state == RUNNING:
                    row.state = QUEUED
                    row.error = _error_dict(exc)
            raise
        error = exc if isinstance(exc, DBPlayError) else DBPlayError(
            f"{type(exc).__name__}: {exc}")
        if not isinstance(exc, DBPlayError):
            log.exception("job %s (%s) crashed", job.id, job.kind)
        if on_failure is not None:
            try:
                on_failure(rt, job, error)
            except Exception:
                log.exception("failure handler of job %s crashed", job.id)
        finish(rt, job_id, error=_error_dict(exc), result=getattr(exc, "results", None),
               outcome=CANCELLED if isinstance(error, QueryCancelled) else FAILED, hold=hold)
        return
    finish(rt, job_id, result=result, hold=hold)


def _interrupted(rt: Runtime, job: Job, exc: Interrupt,
                 on_failure: Callable[[Runtime, Job, DBPlayError], None] | None,
                 hold: bool) -> None:
    """A job stopped by its actor's time limit ends failed with that reason (never
    retried: it would overrun again), its sandbox released, never left running."""
    kind = "TimeLimitExceeded" if isinstance(exc, TimeLimitExceeded) else "WorkerShutdown"
    message = (f"the {job.kind} job ran past its time limit" if kind == "TimeLimitExceeded"
               else f"the worker stopped while running the {job.kind} job")
    log.warning("job %s (%s): %s", job.id, job.kind, message)
    if on_failure is not None:
        try:
            on_failure(rt, job, ProvisionError(message))
        except Exception:
            log.exception("failure handler of job %s crashed", job.id)
    finish(rt, job.id, error={"type": kind, "message": message}, outcome=FAILED, hold=hold)


def _error_dict(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, DBPlayError):
        return exc.to_dict()
    return {"type": "InternalError", "message": f"{type(exc).__name__}: {exc}"}
