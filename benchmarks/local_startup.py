"""Local provisioner: time from a sandbox request to its first query answered.

For each engine's built-in template the script makes one cold sandbox (PostgreSQL:
initdb and the restore into the template's prepared cluster; the other engines: the
first restore or seeded copy) and then ``--runs`` warm ones, each timed from
``LocalProvisioner.create`` to the first query's rows, and destroyed (untimed). Every
PostgreSQL and MongoDB sandbox is a server process of its own (a copy of the prepared
cluster, or a new MongoDB server). It runs in a temporary home and stops and deletes
the servers it started::

    .venv/bin/python benchmarks/local_startup.py [--runs 20] [--engines postgres,sqlite]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engines.registry import connect  # noqa: E402
from orchestrator.sandboxes.local.provisioner import LocalProvisioner, purge_servers  # noqa: E402
from orchestrator.sandboxes.provisioning import SandboxRequest  # noqa: E402

BUILTIN = REPO / "orchestrator" / "store" / "builtin_templates"
CASES = {
    "sqlite": ("chinook-sqlite", BUILTIN / "chinook-sqlite" / "Chinook_Sqlite.sqlite",
               "SELECT count(*) FROM Track"),
    "postgres": ("pagila", BUILTIN / "pagila" / "pagila.sql", "SELECT count(*) FROM rental"),
    "mongodb": ("restaurants", BUILTIN / "restaurants" / "restaurants.dump.json",
                "db.restaurants.countDocuments({})"),
    "chroma": ("tldr", BUILTIN / "tldr" / "tldr.dump.json.gz", "tldr.count()"),
}


def one_run(prov: LocalProvisioner, engine: str) -> float:
    template, dump, query = CASES[engine]
    request = SandboxRequest(
        sandbox_id=uuid.uuid4().hex[:12], owner="bench", engine=engine, template=template,
        dump_path=dump, dump_digest="", password=uuid.uuid4().hex,
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    started = time.perf_counter()
    handle = prov.create(request)
    with connect(engine, handle.user_url) as db:
        result = db.execute(query)[0]
    elapsed = time.perf_counter() - started
    prov.destroy(handle)
    if result.error is not None or not result.rows:
        raise SystemExit(f"{engine}: first query failed: {result.error}")
    return elapsed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--engines", default=",".join(CASES))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dbplay-bench-") as tmp:
        home = Path(tmp)
        prov = LocalProvisioner(home)
        try:
            print(f"{'engine':9} {'template':15} {'cold s':>8} {'p50 ms':>8} {'p95 ms':>8}"
                  f" {'max ms':>8}  runs")
            for engine in args.engines.split(","):
                if engine not in prov.engines():
                    print(f"{engine:9} (not available here)")
                    continue
                cold = one_run(prov, engine)
                warm = [one_run(prov, engine) for _ in range(args.runs)]
                print(f"{engine:9} {CASES[engine][0]:15} {cold:8.2f}"
                      f" {statistics.median(warm) * 1000:8.0f}"
                      f" {percentile(warm, 0.95) * 1000:8.0f} {max(warm) * 1000:8.0f}"
                      f"  {len(warm)}", flush=True)
        finally:
            purge_servers(home)


if __name__ == "__main__":
    main()
