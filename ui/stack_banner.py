"""Is the stack behind the UI running? A banner on every page when it is not.

Every page's work runs as jobs on Dramatiq workers over Redis. When Redis or a worker
queue is down, buttons would just hang: instead, each page opens with a banner naming
what is down and how to start it. The sidebar shows where sandboxes start (the active
provisioner) and which engines it offers.

All of it comes from ``Orchestrator.stack_status()``, which is cheap (one Redis round
trip) and never raises. An orchestrator without it gets no banner.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.formatting import engine_label

QUEUES = ("interactive", "provision", "background")
#: what each worker queue runs, in the user's words
QUEUE_WORK = {
    "interactive": "queries, schema, explain",
    "provision": "launching, resetting and deleting sandboxes",
    "background": "snapshots, imports and exports",
}
START_HINT = "The job queue is not running — start it with `dbplay up`"


def read_status(api: Any) -> dict[str, Any] | None:
    """``api.stack_status()``, or ``None`` when the API has no such call (or it failed)."""
    probe = getattr(api, "stack_status", None)
    if probe is None:
        return None
    try:
        status = probe()
    except Exception:  # documented never to raise; a banner must never break a page
        return None
    return status if isinstance(status, dict) else None


def down_parts(status: dict[str, Any]) -> list[str]:
    """What is down, in words: Redis first, then each worker queue that no worker serves."""
    if not status.get("redis", False):
        return ["Redis (the job broker, so no worker can take jobs)"]
    workers: dict[str, Any] = status.get("workers") or {}
    return [f"the {queue} worker ({QUEUE_WORK[queue]})"
            for queue in QUEUES if queue in workers and not workers[queue]]


def render_banner(status: dict[str, Any] | None) -> bool:
    """Show the banner when part of the stack is down; True when it was shown."""
    if status is None:
        return False
    down = down_parts(status)
    if not down:
        return False
    st.error(f"**{START_HINT}.**  \nNot running: {'; '.join(down)}.",
             icon=":material/cloud_off:")
    st.caption("Pages still open, but what needs the missing part waits until it is back. "
               "Reload the page once `dbplay up` (or `dbplay status`) says it is running.")
    return True


def render_sidebar(status: dict[str, Any] | None) -> None:
    """Where sandboxes start (provisioner and engines), and whether the scheduler runs."""
    if status is None:
        return
    provisioner: dict[str, Any] = status.get("provisioner") or {}
    engines = [engine_label(e) for e in provisioner.get("engines") or []]
    st.caption(f"Provisioner: **{provisioner.get('name') or 'unknown'}**  \n"
               f"Engines: {', '.join(engines) if engines else 'none announced yet'}")
    if status.get("redis") and not status.get("scheduler", True):
        st.caption(":orange[Scheduler not running: scheduled snapshots wait until "
                   "`dbplay up` starts it.]")
