"""How fast a Pagila sandbox answers its first query, by start path, and how many idle
PostgreSQL sandboxes fit on this machine.

    .venv/bin/python benchmarks/sandbox_startup.py [--runs 20] [--fresh-runs 20] [--capacity 50]

Paths (time from request to the first query answered, as the sandbox's user role):
  (a) fresh container + restore of pagila.sql (the baseline)
  (b) container from the baked image (restore done once, committed)
  (c) warm-pool claim (container already running; rename + set the user's password)
  (d) CREATE DATABASE ... TEMPLATE inside an already running container of the baked image
Capacity (``--capacity N``, 0 to skip): N idle Pagila sandboxes started from the baked image
and all kept running; every one must answer a query as its user role; memory per sandbox
(cgroup-charged, plus the host-side containerd-shim) and in total (the drop in the host's
MemAvailable), then all are removed.
Needs a Docker engine and the offline images (scripts/start-docker.sh,
compose/build-offline-images.sh postgres). Cleans up everything it starts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import math
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engines.registry import connect  # noqa: E402
from orchestrator.sandboxes.docker.provisioner import DockerProvisioner  # noqa: E402
from orchestrator.sandboxes.provisioning import SandboxRequest  # noqa: E402

PAGILA = REPO / "orchestrator" / "store" / "builtin_templates" / "pagila" / "pagila.sql"
FIRST_QUERY = "SELECT count(*) FROM film"
INSTANCE = "benchmark"


def request(dump: Path | None = PAGILA) -> SandboxRequest:
    return SandboxRequest(
        sandbox_id=f"bench{uuid.uuid4().hex[:10]}", owner="bench", engine="postgres",
        template="pagila", dump_path=dump,
        dump_digest=hashlib.sha256(dump.read_bytes()).hexdigest() if dump else "",
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        password=uuid.uuid4().hex)


def first_query(url: str) -> None:
    with connect("postgres", url) as engine:
        result = engine.execute(FIRST_QUERY)[-1]
    if result.error is not None or result.rows != [[1000]]:
        raise RuntimeError(f"unexpected first answer: {result}")


def timed(runs: int, once: Callable[[], Callable[[], None]]) -> list[float]:
    """``once()`` does one timed start and returns its (untimed) cleanup."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        cleanup = once()
        samples.append(time.perf_counter() - started)
        cleanup()
    return samples


def fresh_with_restore(prov: DockerProvisioner) -> Callable[[], None]:
    """The baseline: a container of the plain image, then the restore, then the query."""
    req = request(None)
    handle = prov.create(req)
    with connect("postgres", handle.user_url, timeout_s=600) as engine:  # as the owner
        engine.restore(PAGILA)
        engine.execute("ANALYZE")
    first_query(handle.user_url)
    return lambda: prov.destroy(handle)


def from_baked(prov: DockerProvisioner) -> Callable[[], None]:
    handle = prov.create(request())
    first_query(handle.user_url)
    return lambda: prov.destroy(handle)


def pool_claim(pooled: DockerProvisioner) -> Callable[[], None]:
    handle = pooled.create(request())
    if not handle.info["pooled"]:
        raise RuntimeError("pool was empty")
    first_query(handle.user_url)

    def cleanup() -> None:
        pooled.destroy(handle)
        pooled.pools.wait_full(timeout_s=120)  # so every claim finds a ready container
    return cleanup


def template_clone(admin_url: str, user_url: str) -> Callable[[], Callable[[], None]]:
    """Clone the baked ``sandbox`` database inside one running container."""
    server_admin = admin_url.rsplit("/", 1)[0] + "/postgres"

    def once() -> Callable[[], None]:
        name = f"clone_{uuid.uuid4().hex[:8]}"
        with connect("postgres", server_admin) as engine:
            result = engine.execute(f"CREATE DATABASE {name} TEMPLATE sandbox OWNER sandbox")[-1]
            if result.error is not None:
                raise RuntimeError(result.error)
            engine.execute(f"GRANT CONNECT ON DATABASE {name} TO sandbox")
        first_query(user_url.rsplit("/", 1)[0] + f"/{name}")

        def drop() -> None:
            with connect("postgres", server_admin) as engine:
                engine.execute(f"DROP DATABASE {name} WITH (FORCE)")
        return drop
    return once


def summary(label: str, samples: list[float], baseline: list[float] | None) -> str:
    p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
    ratios = "ratio to (a): p50 1.000x  p95 1.000x"
    if baseline:
        ratios = (f"ratio to (a): p50 {p50 / percentile(baseline, 0.5):.3f}x  "
                  f"p95 {p95 / percentile(baseline, 0.95):.3f}x")
    return (f"{label:<32} n={len(samples):<3} p50={p50 * 1000:8.1f} ms  "
            f"p95={p95 * 1000:8.1f} ms  {ratios}")


def percentile(samples: list[float], q: float) -> float:
    """The median for q=0.5, else the nearest-rank percentile."""
    if q == 0.5:
        return statistics.median(samples)
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def shim_rss_mib(container_ids: list[str]) -> list[float]:
    """RSS of the host-side ``containerd-shim`` process of each container (MiB): not
    charged to the container's cgroup, but memory all the same."""
    sizes = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            if "containerd-shim" not in cmdline or not any(c in cmdline for c in container_ids):
                continue
            status = (proc / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


def mem_available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def answers(url: str) -> bool:
    try:
        first_query(url)
        return True
    except Exception as exc:
        print(f"  sandbox did not answer: {exc}", file=sys.stderr)
        return False


def capacity(prov: DockerProvisioner, count: int) -> list[str]:
    """Start ``count`` idle sandboxes, check each answers, measure memory, remove them."""
    before = mem_available_mib()
    handles = []
    try:
        started = time.perf_counter()
        for _ in range(count):
            handles.append(prov.create(request()))
        start_s = time.perf_counter() - started
        time.sleep(10)  # let start-up work (and the kernel's accounting) settle
        answered = sum(answers(h.user_url) for h in handles)
        after = mem_available_mib()
        rss, charged = [], []
        for handle in handles:
            stats = prov.client.containers.get(handle.ref).stats(
                stream=False, one_shot=True)["memory_stats"]
            detail = stats.get("stats", {})
            rss.append(detail.get("total_rss", detail.get("anon", 0)) / 2**20)
            charged.append((stats["usage"] - detail.get(
                "total_inactive_file", detail.get("inactive_file", 0))) / 2**20)
        probe = time.perf_counter()
        prov.containers.disk_usage()  # what the storage cap check costs at this scale
        probe_ms = (time.perf_counter() - probe) * 1000
        shims = shim_rss_mib([h.ref for h in handles])
        shim = statistics.mean(shims) if shims else 0.0
        per_sandbox = statistics.mean(charged) + shim
        host_drop = before - after
        budget = 20 * 1024  # MiB: a 24 GiB machine, 4 GiB kept for everything else
        lines = [
            f"capacity: {count} idle Pagila sandboxes started in {start_s:.1f} s "
            f"(sequentially, baked image); {answered}/{count} answered "
            f"{FIRST_QUERY!r} as their user role, all running at once",
            f"  per sandbox: rss {statistics.mean(rss):.1f} MiB (max {max(rss):.1f}), "
            f"cgroup-charged {statistics.mean(charged):.1f} MiB (max {max(charged):.1f}), "
            f"containerd-shim {shim:.1f} MiB -> {per_sandbox:.1f} MiB",
            f"  total: {sum(charged) + sum(shims):.0f} MiB by those figures; the host's "
            f"MemAvailable fell {host_drop:.0f} MiB ({host_drop / count:.1f} MiB per sandbox; "
            "other work on the machine moves this figure)",
            f"  storage-cap check over all {count} (one `docker ps --size`): {probe_ms:.0f} ms",
            f"  -> about {int(budget / max(per_sandbox, host_drop / count, 1e-9))} idle "
            "sandboxes in 20 GiB (the larger per-sandbox figure; sandboxes in use grow "
            "towards their 256 MiB limit)",
        ]
        if answered != count:
            lines.append(f"  FAILED: {count - answered} sandboxes did not answer")
        return lines
    finally:
        for handle in handles:
            prov.destroy(handle)
        left = [h.sandbox_id for h in handles if h.sandbox_id in prov.list_running()]
        if left:
            print(f"  not removed: {left}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fresh-runs", type=int, default=20)
    parser.add_argument("--capacity", type=int, default=50, metavar="N",
                        help="idle sandboxes to start at once (0: skip)")
    args = parser.parse_args()

    prov = DockerProvisioner(image_source="offline", instance=INSTANCE,
                             state_dir=Path("/tmp/dbplay-bench-state"))
    pooled = DockerProvisioner(image_source="offline", instance=INSTANCE, pool_size=1,
                               state_dir=Path("/tmp/dbplay-bench-state"), reap_on_start=False)
    try:
        prov.image_for(request())  # bake once, outside the measurements
        results = {"a": timed(args.fresh_runs, lambda: fresh_with_restore(prov))}
        results["b"] = timed(args.runs, lambda: from_baked(prov))
        pooled.prewarm(request(), wait=True)
        results["c"] = timed(args.runs, lambda: pool_claim(pooled))
        host = prov.create(request())
        try:
            results["d"] = timed(args.runs, template_clone(host.admin_url, host.user_url))
        finally:
            prov.destroy(host)
        labels = {"a": "(a) fresh container + restore", "b": "(b) baked image",
                  "c": "(c) warm-pool claim", "d": "(d) template-database clone"}
        print(f"PostgreSQL Pagila, request -> first query answered ({FIRST_QUERY})")
        for key, samples in results.items():
            print(summary(labels[key], samples, None if key == "a" else results["a"]), flush=True)
        if args.capacity > 0:
            print("\n".join(capacity(prov, args.capacity)))
    finally:
        pooled.close(drain_pools=True)
        prov.close()


if __name__ == "__main__":
    main()
