"""Every setting of DB Playground, declared once.

The table :data:`SETTINGS` is the single source: :meth:`Settings.load` reads it from the
environment at start-up (never at import), and :func:`settings_table` renders it for the
README (``dbplay settings``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines.errors import InvalidRequest
from orchestrator.config.durations import format_duration as format_duration
from orchestrator.config.durations import parse_duration
from orchestrator.config.redis_auth import with_local_password


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default (as text) and what it does."""

    name: str
    default: str
    help: str
    attr: str
    parse: Callable[[str], Any] = str


SETTINGS: list[Setting] = [
    Setting("DBPLAY_HOME", "~/.dbplay", "Directory holding all state: metadata database, "
            "template dumps, sandboxes, exports, logs.", "home",
            lambda v: Path(v).expanduser().resolve()),
    Setting("DBPLAY_DATABASE_URL", "", "SQLAlchemy URL of the metadata database. Empty: "
            "SQLite file `$DBPLAY_HOME/dbplay.db`; use `postgresql+psycopg2://...` for "
            "PostgreSQL.", "database_url"),
    Setting("DBPLAY_REDIS_URL", "redis://127.0.0.1:6390/0", "Redis used as the Dramatiq "
            "broker. `dbplay up` starts a `redis-server` on this port (6390, not the usual "
            "6379, to stay clear of another Redis) when none answers.", "redis_url"),
    Setting("DBPLAY_PROVISIONER", "auto", "`docker`, `local`, or `auto` (Docker when an "
            "engine answers, else local). SQLite sandboxes always run locally.", "provisioner"),
    Setting("DBPLAY_IMAGE_SOURCE", "auto", "Where the Docker provisioner gets engine images: "
            "`registry` (official images), `build` (offline build from a local base image) "
            "or `auto`.", "image_source"),
    Setting("DBPLAY_INSTANCE", "", "Name of this installation on the Docker engine: its "
            "sandbox containers carry it (label `dbplay.instance`) and it lists and reaps only "
            "those. Empty: derived from `DBPLAY_HOME`'s path. Set it when installations with "
            "the same home path share one engine (compose stacks).", "instance"),
    Setting("DBPLAY_POOL_SIZE", "1", "Ready sandboxes kept per recently launched template "
            "(claimed on create in milliseconds, refilled in the background); 0 turns the "
            "warm pool off.", "pool_size", int),
    Setting("DBPLAY_POOL_WINDOW", "1h", "A template launched by a user within this window "
            "keeps its warm sandboxes; one idle longer keeps none (they are removed).",
            "pool_window", parse_duration),
    Setting("DBPLAY_CONTAINER_POOL_SIZE", "0", "Docker only: started containers of a "
            "template's baked image kept per image, so a sandbox that misses the warm pool "
            "is a rename rather than a start.", "container_pool_size", int),
    Setting("DBPLAY_MAX_SANDBOXES_PER_USER", "5", "Live sandboxes one user may hold.",
            "max_sandboxes_per_user", int),
    Setting("DBPLAY_DEFAULT_TTL", "1h", "Lifetime of a new sandbox (e.g. 30m, 2h).",
            "default_ttl", parse_duration),
    Setting("DBPLAY_MAX_TTL", "24h", "Longest lifetime a user may ask for.", "max_ttl",
            parse_duration),
    Setting("DBPLAY_SNAPSHOT_KEEP", "5", "Snapshot templates a schedule keeps: after each "
            "scheduled snapshot, the older templates that schedule created are deleted (except "
            "one a live sandbox was created from).", "snapshot_keep", int),
    Setting("DBPLAY_MAX_ROWS", "1000", "Most rows returned per statement.", "max_rows", int),
    Setting("DBPLAY_MAX_QUERY_SECONDS", "30", "Server-side time limit per statement.",
            "max_query_seconds", float),
    Setting("DBPLAY_UI_PORT", "8501", "Port of the Streamlit UI started by `dbplay up`.",
            "ui_port", int),
    Setting("DBPLAY_PUBLIC_URL", "", "The UI's address as users reach it, used in share "
            "links (e.g. `https://dbplay.example.com`). Empty: http://127.0.0.1 on "
            "DBPLAY_UI_PORT.", "public_url"),
    Setting("DBPLAY_API_PORT", "8502", "Port of the HTTP API (`/api/v1`, OpenAPI at "
            "`/openapi.json`) started by `dbplay up`; the CLI and any HTTP client talk to it.",
            "api_port", int),
    Setting("DBPLAY_USER", "", "Acting user of the CLI (default: the login name); "
            "`--user` overrides it.", "user"),
    Setting("DBPLAY_URL", "", "Remote mode of the CLI: the API of an installation "
            "(e.g. `https://dbplay.example.com`); with `DBPLAY_TOKEN` every command but the "
            "admin ones (up, down, status, settings, worker, scheduler, user, token) goes "
            "there. Empty: the local installation's API.", "remote_url"),
    Setting("DBPLAY_TOKEN", "", "Remote mode of the CLI: a user's API token (`dbplay "
            "token create --user NAME` on the installation); it decides the acting user.",
            "remote_token"),
    Setting("DBPLAY_WORKER_THREADS", "8", "Threads per worker process.", "worker_threads", int),
    Setting("DBPLAY_WORKER_TIMEOUT_MS", "1000", "How long an idle worker blocks on its "
            "queue's doorbell before checking Redis again (also its heartbeat cadence). New "
            "messages wake it at once whatever this is.", "worker_timeout_ms", int),
    Setting("DBPLAY_HEARTBEAT_TIMEOUT_MS", "15000", "A worker silent this long is dead: its "
            "unacknowledged messages are redelivered to another worker.",
            "heartbeat_timeout_ms", int),
    Setting("DBPLAY_SCHEDULER_TICK", "1", "Seconds between scheduler checks for due "
            "snapshots.", "scheduler_tick", float),
    Setting("DBPLAY_REAP_INTERVAL", "30", "Seconds between reaper runs (expired sandboxes, "
            "orphans).", "reap_interval", float),
    Setting("DBPLAY_LISTEN_ADDRESS", "127.0.0.1", "Address the UI (and every other "
            "service `dbplay up` starts) listens on. Keep the loopback default unless a "
            "reverse proxy or firewall fronts the installation.", "listen_address"),
    Setting("DBPLAY_USER_CONCURRENCY", "2", "Jobs one user may run at once per queue "
            "(interactive, provision, background); more wait in that user's own line, so "
            "one user never starves another. Keep it below each worker's threads "
            "(`DBPLAY_WORKER_THREADS`; the provision and background workers run 4): users "
            "busy at their limit at the same time take that many threads each, and a "
            "thread must stay free for the next user.", "user_concurrency", int),
    Setting("DBPLAY_MAX_RESULT_BYTES", "16777216", "Most bytes of rows a worker holds for "
            "one statement's result (rows past it are cut and the result marked truncated).",
            "max_result_bytes", int),
    Setting("DBPLAY_MAX_CELL_BYTES", "65536", "Longest value shown in one result cell; "
            "longer values are cut and marked as cut.", "max_cell_bytes", int),
    Setting("DBPLAY_MAX_SCRIPT_BYTES", "1048576", "Longest script (bytes) one request may "
            "send; longer ones are refused before parsing.", "max_script_bytes", int),
    Setting("DBPLAY_STATEMENT_MEMORY_MB", "2048", "Address-space limit (MiB) of the "
            "short-lived process that runs each user job's statements, so a statement can "
            "neither exhaust nor crash a shared worker.", "statement_memory_mb", int),
    Setting("DBPLAY_EXPORT_QUOTA_MB", "1024", "Disk space (MiB) one user's exports may "
            "take; the oldest are removed first when a new export needs room.",
            "export_quota_mb", int),
    Setting("DBPLAY_EXPORT_TTL", "1h", "How long an export file is kept (it is also "
            "removed once downloaded).", "export_ttl", parse_duration),
    Setting("DBPLAY_RESULT_MAX_ROWS", "2000000", "Most rows of one statement's result kept "
            "in the result store (pages, downloads and charts read it; rows past it are "
            "not kept and the result says so). 0 keeps no results (no pages, charts or "
            "downloads of results then).", "result_max_rows", int),
    Setting("DBPLAY_RESULT_MAX_MB", "256", "Most MiB (in memory, columnar) of one "
            "statement's result kept in the result store.", "result_max_mb", int),
    Setting("DBPLAY_RESULT_QUOTA_MB", "2048", "Disk space (MiB) one user's stored results "
            "may take; the oldest are removed first.", "result_quota_mb", int),
    Setting("DBPLAY_RESULT_TTL", "24h", "How long a stored result is kept (also removed "
            "with its sandbox).", "result_ttl", parse_duration),
    Setting("DBPLAY_WEB_SESSION_TTL", "12h", "How long a UI sign-in lasts (a signed cookie "
            "survives reloads until then; signing out ends it at once).", "web_session_ttl",
            parse_duration),
    Setting("DBPLAY_MIN_PASSWORD_LENGTH", "10", "Shortest accepted account password; "
            "passwords must also pass the zxcvbn strength check (score 3 of 4).",
            "min_password_length", int),
    Setting("DBPLAY_ADVICE_BUDGET_MB", "512", "Most MiB of new indexes one index advice "
            "suggests for a sandbox (the choice across its workload stays within it).",
            "advice_budget_mb", int),
    Setting("DBPLAY_FAULT_PROVISION_DELAY", "0", "Fault injection for tests: seconds a "
            "provision step sleeps before starting the sandbox. Keep 0.",
            "fault_provision_delay", float),
    Setting("DBPLAY_FAULT_READY_DELAY", "0", "Fault injection for tests: seconds a provision "
            "step sleeps after the sandbox started, before it is recorded ready. Keep 0.",
            "fault_ready_delay", float),
]


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    redis_url: str
    provisioner: str
    image_source: str
    instance: str
    pool_size: int
    pool_window: int
    container_pool_size: int
    max_sandboxes_per_user: int
    default_ttl: int
    max_ttl: int
    snapshot_keep: int
    max_rows: int
    max_query_seconds: float
    ui_port: int
    public_url: str
    api_port: int
    user: str
    remote_url: str
    remote_token: str
    worker_threads: int
    worker_timeout_ms: int
    heartbeat_timeout_ms: int
    scheduler_tick: float
    reap_interval: float
    listen_address: str
    user_concurrency: int
    max_result_bytes: int
    max_cell_bytes: int
    max_script_bytes: int
    statement_memory_mb: int
    export_quota_mb: int
    export_ttl: int
    result_max_rows: int
    result_max_mb: int
    result_quota_mb: int
    result_ttl: int
    web_session_ttl: int
    min_password_length: int
    advice_budget_mb: int
    fault_provision_delay: float
    fault_ready_delay: float

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = env.get(setting.name, "") or setting.default
            try:
                values[setting.attr] = setting.parse(raw)
            except (ValueError, InvalidRequest) as exc:
                raise InvalidRequest(f"{setting.name}={raw!r}: {exc}") from exc
        values.update(overrides)
        if not values["database_url"]:
            values["database_url"] = f"sqlite:///{values['home'] / 'dbplay.db'}"
        values["redis_url"] = with_local_password(values["redis_url"], values["home"])
        if not values["user"]:
            values["user"] = _login_name()
        if values["snapshot_keep"] < 1:
            raise InvalidRequest("DBPLAY_SNAPSHOT_KEEP must be at least 1")
        if values["provisioner"] not in ("auto", "docker", "local"):
            raise InvalidRequest("DBPLAY_PROVISIONER must be auto, docker or local")
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def to_environ(self) -> dict[str, str]:
        """These settings as environment variables (for child processes)."""
        env: dict[str, str] = {}
        for setting in SETTINGS:
            value = getattr(self, setting.attr)
            env[setting.name] = str(value)
        return env

    # -- directories under home -------------------------------------------
    @property
    def templates_dir(self) -> Path:
        return self.home / "templates"

    @property
    def exports_dir(self) -> Path:
        return self.home / "exports"

    @property
    def results_dir(self) -> Path:
        return self.home / "results"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"


def _login_name() -> str:
    for var in ("LOGNAME", "USER", "USERNAME"):
        if os.environ.get(var):
            return os.environ[var]
    return "user"


def settings_table() -> str:
    """Every setting as a markdown table (name, default, meaning)."""
    lines = ["| Setting | Default | Meaning |", "| --- | --- | --- |"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(empty)"
        lines.append(f"| `{s.name}` | {default} | {s.help} |")
    return "\n".join(lines) + "\n"
