"""The Dramatiq actors. Import only after :func:`workers.runtime.init` and
``dramatiq.set_broker`` (``workers/run.py`` does both at start-up).

Each actor takes the id of a row in the ``jobs`` table; the row holds the parameters
and receives the result. Queues: ``interactive`` (statements, plans, schema - never
behind provisioning), ``provision`` (start/reset/delete sandboxes, pool refill),
``background`` (snapshots, imports, exports, reaping).

User statements are never retried; infrastructure steps are retried with exponential
back-off (1 s .. 15 s) while the failure looks transient. Every actor has a time limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dramatiq

from orchestrator.jobs.client import BACKGROUND, INTERACTIVE, PROVISION
from orchestrator.store.models import Job
from workers import query_tasks, sandbox_tasks
from workers.jobrun import MAX_ATTEMPTS, run_job, should_retry
from workers.reaper import forget_template as forget_template_body
from workers.reaper import pool_refill as pool_refill_body
from workers.reaper import reap as reap_body
from workers.runtime import Runtime, get

MINUTE = 60_000
Body = Callable[[Runtime, Job], Any]
#: statements stop at their server-side limit (DBPLAY_MAX_QUERY_SECONDS) first; the
#: actor's own limit is a backstop above it
STATEMENT_LIMIT = max(10 * MINUTE, int(get().settings.max_query_seconds * 1000) + MINUTE)


def _user_actor(name: str, queue: str, body: Body, time_limit: int,
                on_failure: Any = None, hold: bool = False) -> Any:
    def actor(job_id: str) -> None:
        run_job(get(), job_id, body, retryable=False, on_failure=on_failure, hold=hold)

    actor.__name__ = name
    return dramatiq.actor(actor_name=name, queue_name=queue, max_retries=0,
                          time_limit=time_limit)(actor)


def _infra_actor(name: str, queue: str, body: Body, time_limit: int,
                 on_failure: Any = None) -> Any:
    def actor(job_id: str) -> None:
        run_job(get(), job_id, body, retryable=True, on_failure=on_failure)

    actor.__name__ = name
    return dramatiq.actor(actor_name=name, queue_name=queue,
                          max_retries=MAX_ATTEMPTS - 1, retry_when=should_retry,
                          min_backoff=1000, max_backoff=15_000, time_limit=time_limit)(actor)


query = _user_actor("query", INTERACTIVE, query_tasks.query, STATEMENT_LIMIT, hold=True)
explain = _user_actor("explain", INTERACTIVE, query_tasks.explain, STATEMENT_LIMIT, hold=True)
schema = _user_actor("schema", INTERACTIVE, query_tasks.schema, 5 * MINUTE, hold=True)
import_data = _user_actor("import_data", BACKGROUND, query_tasks.import_data, 60 * MINUTE,
                          hold=True)
export = _user_actor("export", BACKGROUND, query_tasks.export, 60 * MINUTE, hold=True)
snapshot = _user_actor("snapshot", BACKGROUND, sandbox_tasks.snapshot, 30 * MINUTE)
scheduled_snapshot = _user_actor("scheduled_snapshot", BACKGROUND,
                                 sandbox_tasks.scheduled_snapshot, 30 * MINUTE)

provision = _infra_actor("provision", PROVISION, sandbox_tasks.provision, 15 * MINUTE,
                         sandbox_tasks.provision_failed)
reset = _infra_actor("reset", PROVISION, sandbox_tasks.reset, 15 * MINUTE,
                     sandbox_tasks.provision_failed)
delete = _infra_actor("delete", PROVISION, sandbox_tasks.delete, 5 * MINUTE)
pool_refill = _infra_actor("pool_refill", PROVISION, pool_refill_body, 30 * MINUTE)
forget_template = _infra_actor("forget_template", PROVISION, forget_template_body, 10 * MINUTE)
import_template = _user_actor("import_template", BACKGROUND, sandbox_tasks.import_template,
                              30 * MINUTE, sandbox_tasks.import_template_failed)
reap = _infra_actor("reap", BACKGROUND, reap_body, 10 * MINUTE)
