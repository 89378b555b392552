"""How fast ``dbplay`` answers from a shell, measured against baselines in the same run.

    .venv/bin/python benchmarks/cli_speed.py [--n 30] [--template pagila]

Figures (wall time of whole processes, p50 and p95):

* ``dbplay query ID "select 1"`` (the thin HTTP client, remote mode with a token) against
  ``psql -c "select 1"`` on the same sandbox (the floor: a C client and one connection) and
  against the in-process path the CLI used before the HTTP API (a Python process that builds
  the whole orchestrator: metadata database, migration check, Redis, provisioners);
* ``dbplay sandbox create TEMPLATE`` for a template launched in the last hour (the warm pool
  has a ready sandbox), against the same create with the warm pool off (provisioned then).

Starts its own stack (Redis on a free port, workers, scheduler, API) on a temporary
DBPLAY_HOME with the local provisioner, and stops it at the end.
"""

from __future__ import annotations

import argparse
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
IN_PROCESS = """
import sys
from orchestrator.api.service import Orchestrator
from orchestrator.config.settings import Settings
api = Orchestrator.from_settings(Settings.load())
try:
    api.run_query(sys.argv[1], sys.argv[2], "select 1")
finally:
    api.close()
"""


def _timed(argv: list[str], env: dict[str, str], n: int, *, check: bool = True,
           between: Any = None) -> list[float]:
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


def _row(label: str, samples: list[float], base: list[float] | None = None,
         base_label: str = "") -> str:
    p50, p95 = statistics.median(samples), percentile(samples, 0.95)
    line = f"| {label} | {p50:.0f} ms | {p95:.0f} ms |"
    if base is not None:
        line += f" {p50 / statistics.median(base):.2f}x {base_label} |"
    else:
        line += " baseline |"
    return line


def _cli(env: dict[str, str], *args: str) -> Any:
    proc = subprocess.run([sys.executable, "-m", "orchestrator.cli", "--json", *args],
                          env=env, capture_output=True, text=True, cwd=REPO, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"dbplay {' '.join(args)} failed: {proc.stdout} {proc.stderr}")
    return json.loads(proc.stdout)


def _wait_pool(env: dict[str, str], template: str, timeout: float = 120) -> None:
    """Until the template has a ready pool sandbox (read through the service layer)."""
    from sqlalchemy import select

    from orchestrator.store.db import Database
    from orchestrator.store.models import POOL_OWNER, Sandbox

    settings = Settings.load(env)
    db = Database(settings.database_url, settings.home)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with db.session() as session:
                if session.scalars(select(Sandbox.id).where(
                        Sandbox.owner == POOL_OWNER, Sandbox.template == template,
                        Sandbox.state == "ready")).first():
                    return
            time.sleep(0.05)
    finally:
        db.dispose()
    raise SystemExit(f"the warm pool of {template} did not refill in {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--creates", type=int, default=10)
    parser.add_argument("--template", default="pagila")
    args = parser.parse_args()
    print(f"template {args.template}, local provisioner, {args.n} runs each, "
          f"{os.cpu_count()} CPUs\n")
    print("| command | wall p50 | wall p95 | ratio |\n| --- | --- | --- | --- |")
    with _stack(pool_size=0) as env:  # the baselines: nothing kept warm
        sandbox, remote = _first_sandbox(env, args.template)
        floor, old, thin = _queries(args, env, remote, sandbox)
        cold = [_create(remote, args.template)[0] for _ in range(max(3, args.creates // 3))]
    with _stack(pool_size=1) as env:  # the default: the warm pool follows demand
        sandbox, remote = _first_sandbox(env, args.template)
        warm = []
        for _ in range(args.creates):
            _wait_pool(env, args.template)
            warm.append(_create(remote, args.template)[0])
    psql_label = "`psql -c \"select 1\"`"
    if floor:
        print(_row(psql_label, floor))
    print(_row("in-process path (before the API)", old, floor, "psql"))
    print(_row('`dbplay query ID "select 1"`', thin, floor, "psql"))
    print(f"| (the same, against the in-process path) | | | "
          f"{statistics.median(thin) / statistics.median(old):.2f}x |")
    print(_row(f"`dbplay sandbox create {args.template}` (warm pool off: provisioned)", cold))
    print(_row(f"`dbplay sandbox create {args.template}` (launched in the last hour)", warm,
               cold, "provisioned"))
    return 0


@contextlib.contextmanager
def _stack(pool_size: int) -> Iterator[dict[str, str]]:
    home = Path(tempfile.mkdtemp(prefix="dbplay-bench-"))
    env = {**os.environ, "DBPLAY_HOME": str(home), "DBPLAY_DATABASE_URL": "",
           "DBPLAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
           "DBPLAY_API_PORT": str(free_port()), "DBPLAY_PROVISIONER": "local",
           "DBPLAY_MAX_SANDBOXES_PER_USER": "1000", "DBPLAY_USER": "bench",
           "DBPLAY_POOL_SIZE": str(pool_size), "DBPLAY_POOL_WINDOW": "1h"}
    env.pop("DBPLAY_URL", None)
    env.pop("DBPLAY_TOKEN", None)
    settings = Settings.load(env)
    services.start_stack(settings, ui=False)
    try:
        yield env
    finally:
        services.down(settings)
        shutil.rmtree(home, ignore_errors=True)


def _first_sandbox(env: dict[str, str], template: str) -> tuple[str, dict[str, str]]:
    deadline = time.monotonic() + 60
    while True:
        try:
            token = _cli(env, "token", "create", "--user", "bench")["token"]
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
            return _cli(remote, "sandbox", "create", template)["id"], remote
        except SystemExit:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _dbplay() -> list[str]:
    found = shutil.which("dbplay")
    return [found] if found else [sys.executable, "-m", "orchestrator.cli"]


def _queries(args: argparse.Namespace, env: dict[str, str], remote: dict[str, str],
             sandbox: str) -> tuple[list[float] | None, list[float], list[float]]:
    query = [*_dbplay(), "query", sandbox, "select 1"]
    _timed(query, remote, 3)  # warm-up: the first statement process, connections
    thin = _timed(query, remote, args.n)
    url = _cli(remote, "sandbox", "connect", sandbox)["url"]
    # the psql binary itself: Debian's /usr/bin/psql is a Perl wrapper (pg_wrapper) that
    # adds ~30 ms to every call
    real = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))
    psql = str(real[-1]) if real else shutil.which("psql")
    floor = None
    if psql and url.startswith("postgres"):
        floor = _timed([psql, url.replace("postgresql+psycopg2", "postgresql"), "-Atc",
                        "select 1"], env, args.n)
    old = _timed([sys.executable, "-c", IN_PROCESS, "bench", sandbox], env, args.n)
    return floor, old, thin


def _create(remote: dict[str, str], template: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([*_dbplay(), "--json", "sandbox", "create", template],
                         env=remote, capture_output=True, text=True, cwd=REPO)
    elapsed = (time.perf_counter() - t0) * 1000
    if out.returncode != 0:
        raise SystemExit(f"create failed: {out.stdout} {out.stderr}")
    sandbox_id: str = json.loads(out.stdout)["id"]
    _cli(remote, "sandbox", "rm", sandbox_id)
    return elapsed, sandbox_id


if __name__ == "__main__":
    sys.exit(main())
