"""Telling a user that their statement was killed at the sandbox's memory limit.

When a statement takes a Docker sandbox past its memory limit the kernel kills the server
process running it (for PostgreSQL: that backend only, see
``orchestrator.sandboxes.docker.specs.POSTGRES_OOM_ENVIRONMENT``). The client then only sees its
connection drop. The provision worker's Docker event watcher records the kill on the
sandbox as an event (``container oom: ...``); a query that lost its connection looks for
that event and, if there is one, fails with its plain message instead:
"the statement was stopped: the sandbox ran out of memory (limit N MiB); the sandbox is
usable".
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import or_, select

from orchestrator.store.models import Event
from workers.runtime import Runtime

#: how long a query that lost its connection waits for Docker's event to be recorded
EVENT_WAIT_S = 3.0
_OOM_PREFIX = "container oom: "
_RESTART_PREFIX = "container restarting: "


def memory_kill_reason(rt: Runtime, sandbox_id: str, since: dt.datetime,
                       wait_s: float = EVENT_WAIT_S) -> str | None:
    """The recorded memory kill of ``sandbox_id`` at or after ``since`` (naive UTC), waiting
    up to ``wait_s`` for it to be recorded; None if there is none."""
    deadline = time.monotonic() + wait_s
    while True:
        with rt.db.session() as session:
            event = session.scalars(select(Event).where(
                Event.sandbox_id == sandbox_id, Event.at >= since,
                or_(Event.reason.startswith(_OOM_PREFIX),
                    Event.reason.like(f"{_RESTART_PREFIX}%memory limit%")),
            ).order_by(Event.id.desc())).first()
        if event is not None:
            reason = event.reason or ""
            if reason.startswith(_OOM_PREFIX):
                return reason.removeprefix(_OOM_PREFIX)
            return ("the statement was stopped: the sandbox ran out of memory; "
                    + reason.removeprefix(_RESTART_PREFIX))
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)
