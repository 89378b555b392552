"""A sandbox's schema as the pages last read it, read again once anything ran since.

Reading a schema is a job, so the Schema page and the Playground's completions keep the
last one in the session. It is stale as soon as another job ran on the sandbox (a CREATE
TABLE in the Playground, an import, a reset, a ``dbplay query`` from a terminal): the
newest job that is not itself a schema read tells, one indexed lookup per page run.
"""

from __future__ import annotations

import re

import streamlit as st

from engines.result import SchemaInfo
from ui import session

PREFIX = "schema_"
#: jobs that only read, so they never make a schema stale
READ_ONLY_KINDS = ("schema",)
LOOK_BACK = 20


def _newest_change(user: str, sandbox_id: str) -> str:
    """The id of the newest job on the sandbox that may have changed it ("" if none)."""
    jobs = session.orchestrator().list_jobs(user, sandbox_id, limit=LOOK_BACK)
    return next((j.id for j in jobs if j.kind not in READ_ONLY_KINDS), "")


#: statements that may add or remove tables, columns, collections or fields
CHANGES_SCHEMA = re.compile(r"\b(create|alter|drop|rename)\b|insert|update|createCollection"
                            r"|\.add\(|upsert|delete_collection|create_collection",
                            re.IGNORECASE)


def may_change_schema(script: str) -> bool:
    """True when ``script`` may change what completions offer (the Playground then reads
    the schema again; SELECTs keep the one it has)."""
    return bool(CHANGES_SCHEMA.search(script))


def forget(sandbox_id: str) -> None:
    st.session_state.pop(f"{PREFIX}{sandbox_id}", None)


def schema(user: str, sandbox_id: str, follow_changes: bool = True) -> SchemaInfo:
    """The sandbox's schema, read again when a job ran on it since the last read
    (``follow_changes=False``: any kept one will do, see :func:`may_change_schema`)."""
    key = f"{PREFIX}{sandbox_id}"
    cached = st.session_state.get(key)
    if not follow_changes and isinstance(cached, tuple):
        kept: SchemaInfo = cached[1]
        return kept
    change = _newest_change(user, sandbox_id)
    if isinstance(cached, tuple) and cached[0] == change:
        kept = cached[1]
        return kept
    read = session.orchestrator().schema(user, sandbox_id)
    st.session_state[key] = (change, read)
    return read
