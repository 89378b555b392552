"""Starting and stopping the processes behind ``dbplay up`` / ``down`` / ``status``.

``up`` starts only what is not running: a ``redis-server`` when nothing answers at
``DBPLAY_REDIS_URL`` (persisting to ``$DBPLAY_HOME/redis``), one worker process per
queue (so interactive statements never wait behind provisioning), the scheduler, the
HTTP API (``python -m orchestrator.api.http``) and the Streamlit UI. Each child's pid is
kept in ``$DBPLAY_HOME/run/<name>.pid`` and its output in
``$DBPLAY_HOME/logs/<name>.log``. A supervisor (:mod:`orchestrator.stack.supervisor`)
restarts any that dies: in the foreground it is the ``dbplay up`` process itself (Ctrl-C
stops them all), with ``--detach`` a background process of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import redis

from engines.errors import DBPlayError
from orchestrator.config.file_modes import (
    PRIVATE_UMASK,
    open_private_log,
    private_dir,
    secure_home,
    tighten_tree,
    write_private,
)
from orchestrator.config.redis_auth import config_file, redacted
from orchestrator.config.settings import Settings
from orchestrator.jobs import heartbeat
from orchestrator.sandboxes.local.provisioner import stop_servers
from orchestrator.store.db import Database

REPO = Path(__file__).resolve().parents[2]
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def redis_answers(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


def redis_command(settings: Settings, *, persist: bool = True) -> list[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = urlparse(settings.redis_url).port or 6379
    data = private_dir(settings.home / "redis")
    persistence = ["--appendonly", "yes", "--save", "60 1"] if persist else \
        ["--appendonly", "no", "--save", ""]
    config = config_file(settings.redis_url, settings.run_dir)
    return [binary, str(config), "--port", str(port), "--bind", "127.0.0.1", "--dir",
            str(data), *persistence]


def service_commands(settings: Settings, *, ui: bool) -> dict[str, list[str]]:
    py = sys.executable
    commands = {
        "worker-interactive": [py, "-m", "workers.run", "--queues", "interactive"],
        "worker-provision": [py, "-m", "workers.run", "--queues", "provision", "--threads", "4"],
        "worker-background": [py, "-m", "workers.run", "--queues", "background", "--threads",
                              "4"],
        "scheduler": [py, "-c", "from orchestrator.stack.scheduler import main; main()"],
        "api": [py, "-m", "orchestrator.api.http"],
    }
    if ui:
        commands["ui"] = [py, "-m", "streamlit", "run", str(REPO / "ui" / "app.py"),
                          "--server.address", settings.listen_address,
                          "--server.port", str(settings.ui_port), "--server.headless", "true",
                          "--client.toolbarMode", "minimal",
                          "--browser.gatherUsageStats", "false"]
    return commands


def pid_file(settings: Settings, name: str) -> Path:
    return settings.run_dir / f"{name}.pid"


def running_pid(settings: Settings, name: str) -> int | None:
    try:
        pid = int(pid_file(settings, name).read_text().strip())
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        return None if state == "Z" else pid
    except (OSError, ValueError):
        return None


def start(settings: Settings, name: str, argv: list[str]) -> int:
    """Start one service in its own session; returns its pid."""
    private_dir(settings.home)
    private_dir(settings.run_dir)
    private_dir(settings.logs_dir)
    env = {**os.environ, **settings.to_environ()}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    log = open_private_log(settings.logs_dir / f"{name}.log")
    try:  # umask 077: whatever the service writes is its user's only
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                                start_new_session=True, stdin=subprocess.DEVNULL,
                                umask=PRIVATE_UMASK)
    finally:
        os.close(log)
    write_private(pid_file(settings, name), str(proc.pid))
    return proc.pid


def ensure_redis(settings: Settings) -> int | None:
    """Start a local redis-server unless one answers; returns its pid if started."""
    if redis_answers(settings.redis_url):
        return None
    host = urlparse(settings.redis_url).hostname or "127.0.0.1"
    if host not in LOCAL_HOSTS:
        raise DBPlayError(f"Redis at {redacted(settings.redis_url)} does not answer")
    pid = start(settings, "redis", redis_command(settings))
    deadline = time.monotonic() + 10
    while not redis_answers(settings.redis_url):
        if time.monotonic() > deadline:
            raise DBPlayError(f"redis-server did not start; see {settings.logs_dir}/redis.log")
        time.sleep(0.05)
    return pid


def start_stack(settings: Settings, *, ui: bool = True) -> dict[str, int]:
    """Start whatever is not running yet; returns the pids of what was started."""
    secure_home(settings.home, settings.database_url)
    tighten_tree(settings.home)  # an installation made before files were kept private
    Database(settings.database_url, settings.home).dispose()  # migrate once, up front
    started: dict[str, int] = {}
    redis_pid = ensure_redis(settings)
    if redis_pid:
        started["redis"] = redis_pid
    for name, argv in service_commands(settings, ui=ui).items():
        if running_pid(settings, name) is None:
            started[name] = start(settings, name, argv)
    return started


def stop(settings: Settings, name: str, timeout: float = 10.0) -> bool:
    return name in stop_all(settings, [name], timeout)


def stop_all(settings: Settings, names: list[str], timeout: float = 10.0) -> dict[str, int]:
    """Stop the running ones of ``names`` together (SIGTERM to all, then wait; SIGKILL
    what is left at ``timeout``); returns the pids of those that ran."""
    pids: dict[str, int] = {}
    for name in names:
        pid = running_pid(settings, name)
        if pid is None:
            pid_file(settings, name).unlink(missing_ok=True)
            continue
        pids[name] = pid
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(running_pid(settings, n) is not None for n in pids) and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    for name, pid in pids.items():
        if running_pid(settings, name) is not None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        pid_file(settings, name).unlink(missing_ok=True)
    return pids


def _names(settings: Settings) -> list[str]:
    """Every process ``dbplay up`` may run, the supervisor first."""
    return ["supervisor", *service_commands(settings, ui=True), "redis"]


def down(settings: Settings) -> dict[str, Any]:
    """Stop the supervisor first (so it restarts nothing), then every service, then the
    local database servers; returns what was stopped, with pids."""
    names = _names(settings)
    pids = stop_all(settings, names[:1])  # the supervisor
    pids.update(stop_all(settings, names[1:-1]))  # workers, scheduler, UI: together
    pids.update(stop_all(settings, names[-1:]))  # Redis, once nothing uses it
    local = _stop_local_servers(settings)
    return {"stopped": list(pids), "pids": pids, "local_servers": local}


def _stop_local_servers(settings: Settings) -> list[str]:
    """Stop the local provisioner's per-sandbox PostgreSQL and MongoDB servers; returns
    which ran."""
    try:
        return stop_servers(settings.home / "local")
    except Exception:
        return []


def status(settings: Settings) -> dict[str, Any]:
    services = []
    for name in _names(settings):
        pid = running_pid(settings, name)
        detail = ""
        if name == "redis":
            answers = redis_answers(settings.redis_url)
            detail = f"{redacted(settings.redis_url)} {'answers' if answers else 'down'}"
        services.append({"name": name, "running": pid is not None, "pid": pid, "detail": detail})
    return {"home": str(settings.home), "redis_url": redacted(settings.redis_url),
            "database_url": redacted(settings.database_url), "services": services,
            "stack": stack_status(settings)}


def stack_status(settings: Settings) -> dict[str, Any]:
    """What the heartbeats in Redis say (see :mod:`orchestrator.jobs.heartbeat`); never raises."""
    client = heartbeat.status_client(settings)
    try:
        return heartbeat.stack_status(client, {"name": settings.provisioner, "engines": []})
    finally:
        client.close()


def ui_url(settings: Settings) -> str:
    host = settings.listen_address
    host = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.ui_port}"
