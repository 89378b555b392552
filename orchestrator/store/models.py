"""The metadata schema (SQLAlchemy 2.0). Alembic migrations in ``orchestrator/store/migrations``
create exactly these tables; times are naive UTC."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from orchestrator.store.secret_columns import EncryptedJSON, EncryptedText

#: the owner of warm-pool sandboxes that no user has claimed yet
POOL_OWNER = "_pool"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject",
                                       name="uq_users_oidc_identity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: local accounts: letters, digits, '-', '_', '.'; OpenID Connect accounts:
    #: ``oidc:<hash of issuer and subject>`` (a ':' no local name has, so never shared)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    #: OpenID Connect identity (both None for local accounts)
    oidc_issuer: Mapped[str | None] = mapped_column(String(500))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    #: what the UI shows (an OIDC account's e-mail or name claim; its local name otherwise)
    display_name: Mapped[str | None] = mapped_column(String(200))


class SetupCode(Base):
    """The one-time code that creates a fresh installation's first (admin) account:
    only its SHA-256 is kept; using it deletes the row."""

    __tablename__ = "setup_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Template(Base):
    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("owner", "name", name="uq_templates_owner_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    engine: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str | None] = mapped_column(String(100), index=True)  # None: built-in
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    digest: Mapped[str] = mapped_column(String(64), default="")  # sha256 of the dump, "" = empty
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    tables: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(Text, default="")
    license: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: the schedule whose snapshot this is (its retention may delete it); None otherwise
    schedule_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Sandbox(Base):
    __tablename__ = "sandboxes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    engine: Mapped[str] = mapped_column(String(20))
    template: Mapped[str] = mapped_column(String(200))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ready_ms: Mapped[float | None] = mapped_column()
    provisioner: Mapped[str | None] = mapped_column(String(20))
    #: connection URLs with passwords: encrypted at rest (``orchestrator/store/secret_columns.py``)
    handle: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    #: bumped on every (re)provision so workers drop cached connections
    generation: Mapped[int] = mapped_column(Integer, default=0)
    #: jobs running statements on it right now (busy while > 0)
    active_jobs: Mapped[int] = mapped_column(Integer, default=0)
    password: Mapped[str] = mapped_column(EncryptedText, default="")
    error: Mapped[str | None] = mapped_column(Text)


class Event(Base):
    """Append-only log of sandbox state transitions."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sandbox_id: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    owner: Mapped[str] = mapped_column(String(100), index=True)
    sandbox_id: Mapped[str | None] = mapped_column(String(32), index=True)
    #: queued | running | done | failed | cancelled
    state: Mapped[str] = mapped_column(String(20), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[Any | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class SavedQuery(Base):
    __tablename__ = "saved_queries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(200))
    sandbox_id: Mapped[str | None] = mapped_column(String(32))
    engine: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    chart: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Dashboard(Base):
    __tablename__ = "dashboards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: ``[{"column", "kind": "range", "min", "max"} | {"column", "kind": "values",
    #: "values"}]``: bound as parameters over each item's stored result
    filters: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: refreshed by the scheduler on this cron (None: on demand only)
    refresh_cron: Mapped[str | None] = mapped_column(String(100))
    next_refresh_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    last_refresh_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class DashboardItem(Base):
    """A chart on a dashboard: a saved query's text run on any live sandbox of
    ``template_id`` (not on one sandbox), charted with ``chart``; its last chart output
    is kept here, so it outlives every sandbox it ran on."""

    __tablename__ = "dashboard_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dashboard_id: Mapped[int] = mapped_column(ForeignKey("dashboards.id", ondelete="CASCADE"),
                                              index=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("saved_queries.id", ondelete="CASCADE"))
    #: the order in the grid (left to right, top to bottom)
    position: Mapped[int] = mapped_column(Integer, default=0)
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("templates.id", ondelete="SET NULL"))
    #: the template's name when bound (kept for messages once the template is gone)
    template: Mapped[str] = mapped_column(String(200), default="")
    #: the chart request ``{"x", "y", "agg", "bin", "color", "mark"}``; None: suggested
    chart: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: grid columns out of 12, and height in pixels
    width: Mapped[int] = mapped_column(Integer, default=6)
    height: Mapped[int] = mapped_column(Integer, default=300)
    #: the last chart output ``{"rows", "spec", "rows_used", "columns", "note",
    #: "sandbox_id", "result_id", "filters_ignored"}``
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: why the last refresh failed, in words (None after a good one)
    error: Mapped[str | None] = mapped_column(Text)


class Schedule(Base):
    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    sandbox_id: Mapped[str] = mapped_column(String(32), index=True)
    cron: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    next_run_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_job_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: why the schedule no longer runs (its sandbox ended); None while it is active
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class ApiToken(Base):
    """A user's bearer token for the HTTP API: only the SHA-256 of the secret is kept;
    revoking sets ``revoked_at`` (the row stays, so lists show what was revoked)."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class StoredResult(Base):
    """One statement's whole result, kept in an Arrow file (``orchestrator/results``)."""

    __tablename__ = "stored_results"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    sandbox_id: Mapped[str | None] = mapped_column(String(32), index=True)
    job_id: Mapped[str | None] = mapped_column(String(64))
    #: the statement (cut to a few KiB) and the engine it ran on
    statement: Mapped[str] = mapped_column(Text)
    engine: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    #: set once every row is kept (or the store's cap stopped it)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    total_rows: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)


class Share(Base):
    """A share link: a sandbox's state frozen as a template private to its owner, with a
    script. Opening it launches the opener's own sandbox of that template; a public share
    also shows its script and the results it gave when shared to anyone with the link.
    The id is the unguessable part of the link; revoking sets ``revoked_at``."""

    __tablename__ = "shares"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    #: the sandbox it was made from (never touched by an opener)
    sandbox_id: Mapped[str] = mapped_column(String(32))
    engine: Mapped[str] = mapped_column(String(20))
    #: the frozen state: a template of the owner's, readable through this share only
    template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id",
                                                               ondelete="SET NULL"))
    template: Mapped[str] = mapped_column(String(200))
    script: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the script's output when shared (statement results, rows capped)
    results: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class WebSession(Base):
    """A signed-in browser (the UI's session cookie): only the SHA-256 of its secret is
    kept. Signing out sets ``ended_at``; a session past ``expires_at`` or ended is over
    on the server whatever the browser still holds."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(String(100), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
