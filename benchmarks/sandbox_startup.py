"""How fast a Pagila sandbox answers its first query, by start path, and how many idle
PostgreSQL sandboxes fit on this machine.

    .venv/bin/python benchmarks/sandbox_startup.py [--runs 20] [--fresh-runs 5] [--idle 10]

Paths (time from request to the first query answered, as the sandbox's user role):
  (a) fresh container + restore of pagila.sql (the baseline)
  (b) container from the baked image (restore done once, committed)
  (c) warm-pool claim (container already running; rename + set the user's password)
  (d) CREATE DATABASE ... TEMPLATE inside an already running container of the baked image
Needs a Docker engine and the offline images (scripts/start-docker.sh,
compose/build-offline-images.sh postgres). Cleans up everything it starts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engines import connect  # noqa: E402
from orchestrator.docker_provisioner import DockerProvisioner  # noqa: E402
from orchestrator.provisioning import SandboxRequest  # noqa: E402

PAGILA = REPO / "orchestrator" / "builtin_templates" / "pagila" / "pagila.sql"
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
    spec = prov.spec("postgres")
    req = request(None)
    handle = prov.create(req)
    with connect("postgres", handle.admin_url, timeout_s=600) as engine:
        engine.restore(PAGILA)
    spec.after_restore(handle.admin_url)
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


def summary(label: str, samples: list[float], baseline: float | None) -> str:
    p50 = statistics.median(samples)
    p95 = sorted(samples)[max(0, round(0.95 * len(samples)) - 1)]
    ratio = f"{p50 / baseline:6.3f}x" if baseline else "  1.000x"
    return f"{label:<34} n={len(samples):<3} p50={p50 * 1000:8.1f} ms  " \
           f"p95={p95 * 1000:8.1f} ms  p50/(a)={ratio}"


def shim_rss_mib(container_ids: list[str]) -> float:
    """Mean RSS of the host-side ``containerd-shim`` process of each container (MiB);
    not charged to the container's cgroup, but memory all the same."""
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
    return statistics.mean(sizes) if sizes else 0.0


def idle_footprint(prov: DockerProvisioner, count: int) -> str:
    handles = [prov.create(request()) for _ in range(count)]
    try:
        time.sleep(5)  # let start-up work settle
        rss, charged = [], []
        for handle in handles:
            stats = prov.client.containers.get(handle.ref).stats(stream=False)["memory_stats"]
            detail = stats.get("stats", {})
            rss.append(detail.get("total_rss", detail.get("anon", 0)))
            charged.append(stats["usage"] - detail.get("total_inactive_file",
                                                       detail.get("inactive_file", 0)))
        mean_rss = statistics.mean(rss) / 2**20
        mean_charged = statistics.mean(charged) / 2**20
        shim = shim_rss_mib([h.ref for h in handles])
        per_sandbox = mean_charged + shim
        budget = 20 * 1024  # MiB: 24 GiB machine, 4 GiB left for everything else
        return (f"idle Pagila sandboxes: {count} started; per sandbox: rss {mean_rss:.1f} MiB, "
                f"cgroup-charged (docker stats) {mean_charged:.1f} MiB, containerd-shim on "
                f"the host {shim:.1f} MiB\n"
                f"  -> ~{int(budget / per_sandbox)} idle sandboxes in 20 GiB "
                f"({per_sandbox:.1f} MiB each; linear extrapolation from {count}, an upper "
                "bound: shim RSS counts shared pages, and sandboxes in use grow towards "
                "their 256 MiB limit)")
    finally:
        for handle in handles:
            prov.destroy(handle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fresh-runs", type=int, default=5)
    parser.add_argument("--idle", type=int, default=10)
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
        baseline = statistics.median(results["a"])
        print(f"PostgreSQL Pagila, request -> first query answered ({FIRST_QUERY})")
        for key, samples in results.items():
            print(summary(labels[key], samples, None if key == "a" else baseline))
        print(idle_footprint(prov, args.idle))
    finally:
        pooled.close(drain_pools=True)
        prov.close()


if __name__ == "__main__":
    main()
