"""What the job path costs: ``SELECT 1`` through API -> Redis -> worker -> metadata DB
-> waiter, against the same statement on the raw driver; plus the first query after
an idle period, sustained provisions per second, and what running each job in its own
fenced statement process (``workers/isolation``: hand-off to a forked child, Landlock,
connect) adds to an in-process adapter call, back to back and with idle gaps.

    .venv/bin/python benchmarks/job_path.py [--n 300] [--postgres]

Starts its own redis-server (free port), workers and scheduler on a temporary
DBPLAY_HOME with the local provisioner, and stops them at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from samples import free_port, percentile


def _time(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _report(label: str, raw: list[float], job: list[float]) -> None:
    r50, r95 = statistics.median(raw), percentile(raw, 0.95)
    j50, j95 = statistics.median(job), percentile(job, 0.95)
    print(f"{label}: raw p50 {r50:.2f} ms p95 {r95:.2f} ms | job path p50 {j50:.2f} ms "
          f"p95 {j95:.2f} ms | overhead p50 {j50 - r50:.2f} ms p95 {j95 - r95:.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--provisions", type=int, default=40)
    parser.add_argument("--postgres", action="store_true", help="also measure PostgreSQL")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="dbplay-bench-"))
    os.environ.update({
        "DBPLAY_HOME": str(home), "DBPLAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "DBPLAY_PROVISIONER": "local", "DBPLAY_MAX_SANDBOXES_PER_USER": "10000",
        "DBPLAY_USER": "bench",
    })
    from engines.registry import connect
    from orchestrator.api.service import Orchestrator
    from orchestrator.config.settings import Settings
    from orchestrator.sandboxes.provisioning import SandboxHandle
    from orchestrator.stack import services

    settings = Settings.load()
    services.start_stack(settings, ui=False)
    try:
        api = Orchestrator.from_settings(settings)
        time.sleep(2)  # let the workers come up
        kinds = ["sqlite"] + (["postgres"] if args.postgres else [])
        for kind in kinds:
            sb = api.create_sandbox("bench", f"empty-{kind}")
            with api.db.session() as session:
                from orchestrator.store.models import Sandbox

                row = session.get(Sandbox, sb.id)
                assert row is not None and row.handle is not None
                url = SandboxHandle.from_dict(row.handle).user_url
            raw_engine = connect(kind, url)
            raw_engine.connect()
            raw_fn = _raw_driver(kind, url)
            for _ in range(20):
                api.run_query("bench", sb.id, "SELECT 1")
                raw_fn()
            raw = _time(raw_fn, args.n)
            adapter = _time(lambda e=raw_engine: e.execute("SELECT 1"), args.n)
            job = _time(lambda s=sb.id: api.run_query("bench", s, "SELECT 1"), args.n)
            _report(f"{kind} SELECT 1 (driver)", raw, job)
            _report(f"{kind} SELECT 1 (adapter)", adapter, job)
            idle = []
            for _ in range(5):
                time.sleep(1.5)
                idle += _time(lambda s=sb.id: api.run_query("bench", s, "SELECT 1"), 1)
            print(f"{kind} first query after 1.5 s idle: p50 {statistics.median(idle):.2f} ms "
                  f"max {max(idle):.2f} ms")
            _statement_process(settings, kind, sb.id, url, raw_engine, args.n)
            raw_engine.close()

        t0 = time.perf_counter()
        made = [api.create_sandbox("bench", "chinook-sqlite", wait=False)
                for _ in range(args.provisions)]
        for sb in made:
            while api.get_sandbox("bench", sb.id).state not in ("ready", "failed"):
                time.sleep(0.02)
        elapsed = time.perf_counter() - t0
        ready = [api.get_sandbox("bench", sb.id) for sb in made]
        ok = sum(1 for s in ready if s.state == "ready")
        ready_ms = sorted(s.ready_ms or 0 for s in ready)
        print(f"provisions (chinook-sqlite, {args.provisions} submitted at once): "
              f"{ok} ready in {elapsed:.2f} s = {ok / elapsed:.1f}/s sustained; "
              f"ready_ms p50 {statistics.median(ready_ms):.0f}")
        api.close()
    finally:
        services.down(settings)
    return 0


def _statement_process(settings: Any, kind: str, sandbox_id: str, url: str, engine: Any,
                       n: int) -> None:
    """A fenced statement process per call against the adapter called in-process."""
    from workers.isolation import operations
    from workers.isolation.fence import sandbox_paths
    from workers.isolation.runner import StatementProcesses

    statements = StatementProcesses(settings)
    params = {"text": "SELECT 1", "max_rows": 10, "timeout_s": 10}

    def fenced() -> Any:
        return statements.run("bench", engine=kind, url=url, operation=operations.execute,
                              params=params, label="SELECT 1",
                              sandbox_files=sandbox_paths(sandbox_id, kind, url))

    statements.start()
    try:
        _time(fenced, 10)  # the zygote has imported the engines
        time.sleep(3)
        inproc = _time(lambda: operations.execute(engine, params), n)
        burst = _time(fenced, n)
        spaced = []
        for _ in range(max(n // 5, 10)):
            time.sleep(0.2)  # an interactive pace: the zygote forks spare children meanwhile
            spaced += _time(fenced, 1)
        _report(f"{kind} statement process, back to back (vs in-process adapter)", inproc, burst)
        _report(f"{kind} statement process, 0.2 s apart (vs in-process adapter)", inproc, spaced)
    finally:
        statements.stop()


def _raw_driver(kind: str, url: str) -> Callable[[], Any]:
    if kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url.split(":///", 1)[1], check_same_thread=False)
        return lambda: conn.execute("SELECT 1").fetchall()
    import psycopg2

    pg = psycopg2.connect(url.replace("postgresql+psycopg2", "postgresql"))
    pg.autocommit = True
    cur = pg.cursor()

    def run() -> Any:
        cur.execute("SELECT 1")
        return cur.fetchall()

    return run


if __name__ == "__main__":
    raise SystemExit(main())
