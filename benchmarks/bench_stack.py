"""What the benchmark scripts share: their own stack on a temporary home, a first sandbox
with a token, running ``dbplay`` and timing whole commands, and table rows of figures."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from samples import free_port, percentile

from orchestrator.config.settings import Settings
from orchestrator.stack import services

REPO = Path(__file__).resolve().parents[1]


def timed(argv: list[str], env: dict[str, str], n: int, *, check: bool = True,
          between: Any = None) -> list[float]:
    """Wall milliseconds of ``n`` runs of a whole command."""
    out = []
    for _ in range(n):
        if between is not None:
            between()
        t0 = time.perf_counter()
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=REPO)
        out.append((time.perf_counter() - t0) * 1000)
        if check and proc.returncode != 0:
            raise SystemExit(f"{argv[:4]} failed: {proc.stdout} {proc.stderr}")
    return out


def row(label: str, samples: list[float], base: list[float] | None = None,
        base_label: str = "") -> str:
    """``| label | p50 | p95 | ratio to base |`` (``baseline`` without one)."""
    p50, p95 = statistics.median(samples), percentile(samples, 0.95)
    line = f"| {label} | {p50:.0f} ms | {p95:.0f} ms |"
    if base is not None:
        line += f" {p50 / statistics.median(base):.2f}x {base_label} |"
    else:
        line += " baseline |"
    return line


def dbplay() -> list[str]:
    found = shutil.which("dbplay")
    return [found] if found else [sys.executable, "-m", "orchestrator.cli"]


def cli(env: dict[str, str], *args: str) -> Any:
    """``dbplay --json ARGS``, parsed; the script stops if it fails."""
    proc = subprocess.run([sys.executable, "-m", "orchestrator.cli", "--json", *args],
                          env=env, capture_output=True, text=True, cwd=REPO, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"dbplay {' '.join(args)} failed: {proc.stdout} {proc.stderr}")
    return json.loads(proc.stdout)


@contextlib.contextmanager
def stack(pool_size: int = 0, **settings_env: str) -> Iterator[dict[str, str]]:
    """Redis, workers, scheduler and API on a temporary home (local provisioner)."""
    home = Path(tempfile.mkdtemp(prefix="dbplay-bench-"))
    env = {**os.environ, "DBPLAY_HOME": str(home), "DBPLAY_DATABASE_URL": "",
           "DBPLAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
           "DBPLAY_API_PORT": str(free_port()), "DBPLAY_PROVISIONER": "local",
           "DBPLAY_MAX_SANDBOXES_PER_USER": "1000", "DBPLAY_USER": "bench",
           "DBPLAY_POOL_SIZE": str(pool_size), "DBPLAY_POOL_WINDOW": "1h", **settings_env}
    env.pop("DBPLAY_URL", None)
    env.pop("DBPLAY_TOKEN", None)
    settings = Settings.load(env)
    services.start_stack(settings, ui=False)
    try:
        yield env
    finally:
        services.down(settings)
        shutil.rmtree(home, ignore_errors=True)


def first_sandbox(env: dict[str, str], template: str) -> tuple[str, dict[str, str]]:
    """A sandbox of ``template`` and the remote CLI environment (a token) to reach it."""
    deadline = time.monotonic() + 60
    while True:
        try:
            token = cli(env, "token", "create", "--user", "bench")["token"]
            break
        except SystemExit:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    remote = {**env, "DBPLAY_URL": f"http://127.0.0.1:{env['DBPLAY_API_PORT']}",
              "DBPLAY_TOKEN": token}
    deadline = time.monotonic() + 60
    while True:
        try:
            return cli(remote, "sandbox", "create", template)["id"], remote
        except SystemExit:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
