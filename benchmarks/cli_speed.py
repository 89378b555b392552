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
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_stack import REPO, cli, dbplay, first_sandbox, row, stack, timed

from orchestrator.config.settings import Settings

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
    with stack(pool_size=0) as env:  # the baselines: nothing kept warm
        sandbox, remote = first_sandbox(env, args.template)
        floor, old, thin = _queries(args, env, remote, sandbox)
        cold = [_create(remote, args.template)[0] for _ in range(max(3, args.creates // 3))]
    with stack(pool_size=1) as env:  # the default: the warm pool follows demand
        sandbox, remote = first_sandbox(env, args.template)
        warm = []
        for _ in range(args.creates):
            _wait_pool(env, args.template)
            warm.append(_create(remote, args.template)[0])
    psql_label = "`psql -c \"select 1\"`"
    if floor:
        print(row(psql_label, floor))
    print(row("in-process path (before the API)", old, floor, "psql"))
    print(row('`dbplay query ID "select 1"`', thin, floor, "psql"))
    print(f"| (the same, against the in-process path) | | | "
          f"{statistics.median(thin) / statistics.median(old):.2f}x |")
    print(row(f"`dbplay sandbox create {args.template}` (warm pool off: provisioned)", cold))
    print(row(f"`dbplay sandbox create {args.template}` (launched in the last hour)", warm,
               cold, "provisioned"))
    return 0


def _queries(args: argparse.Namespace, env: dict[str, str], remote: dict[str, str],
             sandbox: str) -> tuple[list[float] | None, list[float], list[float]]:
    query = [*dbplay(), "query", sandbox, "select 1"]
    timed(query, remote, 3)  # warm-up: the first statement process, connections
    thin = timed(query, remote, args.n)
    url = cli(remote, "sandbox", "connect", sandbox)["url"]
    # the psql binary itself: Debian's /usr/bin/psql is a Perl wrapper (pg_wrapper) that
    # adds ~30 ms to every call
    real = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))
    psql = str(real[-1]) if real else shutil.which("psql")
    floor = None
    if psql and url.startswith("postgres"):
        floor = timed([psql, url.replace("postgresql+psycopg2", "postgresql"), "-Atc",
                        "select 1"], env, args.n)
    old = timed([sys.executable, "-c", IN_PROCESS, "bench", sandbox], env, args.n)
    return floor, old, thin


def _create(remote: dict[str, str], template: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([*dbplay(), "--json", "sandbox", "create", template],
                         env=remote, capture_output=True, text=True, cwd=REPO)
    elapsed = (time.perf_counter() - t0) * 1000
    if out.returncode != 0:
        raise SystemExit(f"create failed: {out.stdout} {out.stderr}")
    sandbox_id: str = json.loads(out.stdout)["id"]
    cli(remote, "sandbox", "rm", sandbox_id)
    return elapsed, sandbox_id


if __name__ == "__main__":
    sys.exit(main())
