"""The Docker provisioner against a real Docker engine and real sandbox containers."""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from typing import Any

import pytest

from engines.errors import EngineUnavailable
from engines.registry import connect
from orchestrator.sandboxes.docker.containers import SANDBOX_PREFIX
from orchestrator.store.templates import CATALOG, builtin_dump
from tests.sandboxes.conftest import TEMPLATES, TEST_INSTANCE, new_request

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]

PAGILA = TEMPLATES / "pagila" / "pagila.sql"


@pytest.fixture(scope="module")
def pg_shared(provisioner):
    """One empty PostgreSQL sandbox shared by the checks that do not hurt it."""
    handle = provisioner.create(new_request("postgres"))
    yield handle
    provisioner.destroy(handle)


def run_sql(url: str, sql: str, timeout_s: float = 30) -> Any:
    with connect("postgres", url, timeout_s=timeout_s) as engine:
        return engine.execute(sql)[-1]


def wait_for(predicate: Any, timeout_s: float = 15) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def container(provisioner: Any, handle: Any) -> Any:
    return provisioner.client.containers.get(handle.ref)


def host_address() -> str:
    """This machine's own address on its main interface (outside the sandbox network)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 9))  # UDP connect sends nothing; picks the route
        return str(probe.getsockname()[0])


def test_sandbox_cannot_reach_another_sandbox_or_leave_its_network(provisioner, sandbox):
    a, b = sandbox("postgres"), sandbox("postgres")
    probe = "timeout 3 bash -c '</dev/tcp/{}/{}' && echo OPEN || echo CLOSED"
    out = container(provisioner, a).exec_run(
        ["bash", "-c", probe.format(b.info["host"], 5432)]).output.decode()
    assert "CLOSED" in out
    # no egress: the network is internal (Docker drops forwarded traffic), and the host's
    # own address, which is delivered locally rather than forwarded, is refused too
    network = provisioner.client.networks.get(provisioner.containers.network)
    assert network.attrs["Internal"] is True
    assert network.attrs["Options"]["com.docker.network.bridge.enable_icc"] == "false"
    out = container(provisioner, a).exec_run(
        ["bash", "-c", probe.format(host_address(), 22)]).output.decode()
    assert "CLOSED" in out
    # ... while the orchestrator on the host reaches both
    assert run_sql(a.admin_url, "SELECT 1").rows == [[1]]
    assert run_sql(b.user_url, "SELECT current_user").rows == [["sandbox"]]


@pytest.mark.parametrize("statement", [
    "COPY (SELECT 1) TO PROGRAM 'id'",
    "SELECT pg_read_file('/etc/passwd')",
    "ALTER SYSTEM SET work_mem = '1GB'",
    "CREATE ROLE intruder SUPERUSER",
    "CREATE DATABASE other",
])
def test_user_role_cannot_escape_its_database(pg_shared, statement):
    handle = pg_shared
    result = run_sql(handle.user_url, statement)
    assert result.error is not None, statement
    assert "permission denied" in result.error["message"] or "must be" in result.error["message"]


def test_user_role_cannot_connect_to_other_databases(pg_shared):
    url = pg_shared.user_url.rsplit("/", 1)[0] + "/postgres"
    with pytest.raises(EngineUnavailable, match="permission denied for database"):
        connect("postgres", url).connect()


def test_published_url_is_on_loopback_and_logs_in_as_the_user_role(provisioner, pg_shared):
    handle = pg_shared
    url = provisioner.publish(handle)
    assert "@127.0.0.1:" in url
    assert run_sql(url, "SELECT current_user, current_database()").rows == [
        ["sandbox", "sandbox"]]
    assert provisioner.publish(handle) == url


def test_connection_string_outlives_the_process_that_asked_for_it(provisioner, sandbox):
    """`dbplay sandbox connect` exits at once: its forwarder must keep serving."""
    import subprocess
    import sys

    handle = sandbox("postgres")
    code = (
        "import json, sys; from pathlib import Path\n"
        "from orchestrator.sandboxes.docker.provisioner import DockerProvisioner\n"
        "from orchestrator.sandboxes.provisioning import SandboxHandle\n"
        "p = DockerProvisioner(state_dir=Path(sys.argv[1]), instance=sys.argv[2],\n"
        "                      reap_on_start=False)\n"
        "print(p.publish(SandboxHandle.from_dict(json.loads(sys.argv[3]))))\n"
    )
    url = subprocess.run(
        [sys.executable, "-c", code, str(provisioner.state_dir), TEST_INSTANCE,
         json.dumps(handle.to_dict())],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    assert run_sql(url, "SELECT current_user").rows == [["sandbox"]]
    provisioner.destroy(handle)
    with pytest.raises(EngineUnavailable), connect("postgres", url, timeout_s=5) as engine:
        engine.connect()


def test_memory_bomb_kills_only_its_own_sandbox(provisioner, sandbox, events):
    bomb, bystander = sandbox("postgres"), sandbox("postgres")
    # about 4 GB of distinct 1 MB strings held in one aggregate, far past the memory limit
    result = run_sql(bomb.user_url, "SELECT array_length(array_agg(repeat(md5(g::text), "
                     "32768)), 1) FROM generate_series(1, 4000) g", timeout_s=120)
    assert result.error is not None
    assert wait_for(lambda: "oom" in events.of(bomb.sandbox_id))
    assert "out of memory" in events.reason(bomb.sandbox_id, "oom")
    assert not events.of(bystander.sandbox_id)
    assert run_sql(bystander.user_url, "SELECT 1").rows == [[1]]


def test_fork_bomb_is_capped_by_the_pids_limit(provisioner, sandbox):
    handle = sandbox("postgres")
    limit = provisioner.spec("postgres").limits.pids
    script = ("my $n = 0; for (1..1000) { my $p = fork(); if (!defined $p) { last } "
              "if ($p == 0) { sleep 20; exit 0 } $n++ } print \"$n\\n\";")
    out = container(provisioner, handle).exec_run(["perl", "-e", script]).output.decode()
    forked = int(out.strip().splitlines()[-1])
    assert 0 < forked < limit
    container(provisioner, handle).exec_run(["pkill", "-f", "perl"])


def test_runaway_query_stops_at_its_timeout(pg_shared):
    started = time.monotonic()
    result = run_sql(pg_shared.user_url, "SELECT pg_sleep(60)", timeout_s=1)
    assert result.error is not None and result.error["type"] == "QueryTimeout"
    assert time.monotonic() - started < 10


def test_expired_sandbox_is_removed_by_the_reaper(provisioner):
    handle = provisioner.create(new_request("postgres", ttl=dt.timedelta(seconds=2)))
    assert handle.sandbox_id in provisioner.list_running()
    removed = provisioner.reap(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3))
    assert handle.sandbox_id in removed
    assert handle.sandbox_id not in provisioner.list_running()
    assert provisioner.containers.get(handle.ref) is None


def _orphan(provisioner: Any, expires_at: dt.datetime) -> tuple[str, Any]:
    """A container left behind by a crash: labels, but no orchestrator record of it."""
    sandbox_id = new_request("postgres").sandbox_id
    box = provisioner.client.containers.run(
        "dbplay/postgres:15", name=SANDBOX_PREFIX + sandbox_id, detach=True,
        network=provisioner.containers.network,
        labels={"dbplay.sandbox": sandbox_id, "dbplay.owner": "ghost",
                "dbplay.template": "empty", "dbplay.engine": "postgres",
                "dbplay.expires_at": expires_at.isoformat(),
                "dbplay.instance": TEST_INSTANCE})
    return sandbox_id, box


def test_reaper_removes_orphans_by_id(provisioner):
    sandbox_id, box = _orphan(provisioner, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    running = provisioner.list_running()
    assert running[sandbox_id]["owner"] == "ghost"
    provisioner.remove_by_id(sandbox_id)
    assert sandbox_id not in provisioner.list_running()
    assert provisioner.containers.get(box.id) is None
    provisioner.remove_by_id(sandbox_id)  # idempotent


def test_expired_orphans_are_reaped_when_a_provisioner_starts(provisioner, tmp_path):
    from orchestrator.sandboxes.docker.provisioner import DockerProvisioner

    sandbox_id, box = _orphan(provisioner, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    fresh = DockerProvisioner(provisioner.client, image_source="offline", state_dir=tmp_path,
                              instance=TEST_INSTANCE)
    try:
        assert provisioner.containers.get(box.id) is None
        assert sandbox_id not in fresh.list_running()
    finally:
        fresh.close()


def test_stale_bake_container_is_removed_by_any_provisioner_start(provisioner, tmp_path):
    """Even one that leaves sandbox expiry to the orchestrator (``reap_on_start=False``)."""
    from orchestrator.sandboxes.docker.provisioner import DockerProvisioner

    stale = provisioner.client.containers.run(
        "dbplay/postgres:15", name=f"dbplay-bake-postgres-{TEST_INSTANCE}", detach=True,
        network=provisioner.containers.network,
        labels={"dbplay.sandbox": "", "dbplay.bake": "x", "dbplay.engine": "postgres",
                "dbplay.expires_at": (dt.datetime.now(dt.UTC)
                                      - dt.timedelta(minutes=1)).isoformat(),
                "dbplay.instance": TEST_INSTANCE})
    fresh = DockerProvisioner(provisioner.client, image_source="offline", state_dir=tmp_path,
                              instance=TEST_INSTANCE, reap_on_start=False)
    fresh.close()
    assert provisioner.containers.get(stale.id) is None


def test_died_event_is_reported_for_a_killed_sandbox(provisioner, sandbox, events):
    handle = sandbox("mongodb")
    container(provisioner, handle).kill()
    assert wait_for(lambda: "died" in events.of(handle.sandbox_id))


def test_destroy_is_idempotent_and_not_reported_as_a_death(provisioner, events):
    handle = provisioner.create(new_request("chroma"))
    provisioner.destroy(handle)
    provisioner.destroy(handle)
    time.sleep(0.5)
    assert provisioner.containers.get(handle.ref) is None
    assert events.of(handle.sandbox_id) == []


def test_baked_image_gives_new_sandboxes_the_template_data(provisioner, sandbox):
    first = sandbox("postgres", template="pagila", dump=PAGILA)
    started = time.perf_counter()
    second = sandbox("postgres", template="pagila", dump=PAGILA)
    elapsed = time.perf_counter() - started
    assert second.info["image"] == first.info["image"]
    assert second.info["image"].startswith("dbplay/baked-postgres:")
    assert run_sql(second.user_url, "SELECT count(*) FROM film").rows == [[1000]]
    # the user role owns the restored objects: it may change them
    assert run_sql(second.user_url, "UPDATE film SET title = 'X' WHERE film_id = 1").error is None
    assert run_sql(first.user_url, "SELECT title FROM film WHERE film_id = 1").rows != [["X"]]
    assert elapsed < 5


def test_warm_pool_claim_is_a_lookup_not_a_start(provisioner, tmp_path):
    from orchestrator.sandboxes.docker.provisioner import DockerProvisioner

    pooled = DockerProvisioner(provisioner.client, image_source="offline", pool_size=1,
                               state_dir=tmp_path, reap_on_start=False,
                               instance=TEST_INSTANCE)
    try:
        request = new_request("postgres", template="pagila", dump=PAGILA)
        pooled.prewarm(request, wait=True)
        started = time.perf_counter()
        handle = pooled.create(request)
        elapsed = time.perf_counter() - started
        assert handle.info["pooled"] is True
        assert elapsed < 0.5
        assert run_sql(handle.user_url, "SELECT count(*) FROM actor").rows == [[200]]
        labels = pooled.list_running()[handle.sandbox_id]
        assert labels["owner"] == "alice" and labels["template"] == "pagila"
        assert pooled.pools.wait_full(timeout_s=60)  # refilled in the background
        pooled.destroy(handle)
        assert handle.sandbox_id not in pooled.list_running()
    finally:
        pooled.close(drain_pools=True)
    assert not provisioner.client.containers.list(
        all=True, filters={"label": "dbplay.pool"})


#: a query per engine that counts a template's first table/collection (``{t}``) ...
_COUNT = {"postgres": "SELECT count(*) FROM {t}", "mongodb": "db.{t}.countDocuments({{}})",
          "chroma": "{t}.count()"}
#: ... and one for the empty templates
_PROBE = {"postgres": "SELECT 1", "mongodb": "db.probe.countDocuments({})",
          "chroma": "list_collections()"}


@pytest.mark.parametrize("entry", [e for e in CATALOG if e.engine != "sqlite"],
                         ids=lambda e: e.name)
def test_every_builtin_template_starts_and_answers_a_query(provisioner, sandbox, entry):
    dump = builtin_dump(entry)
    assert entry.pattern == "" or dump is not None, f"{entry.name}: dump missing"
    handle = sandbox(entry.engine, template=entry.name, dump=dump)
    with connect(entry.engine, handle.user_url) as db:
        names = {t.name for t in db.schema().tables}
        assert names >= set(entry.tables), sorted(set(entry.tables) - names)
        if not entry.tables:
            result = db.execute(_PROBE[entry.engine])[-1]
            assert result.error is None, result.error
            return
        result = db.execute(_COUNT[entry.engine].format(t=sorted(entry.tables)[0]))[-1]
    assert result.error is None, result.error
    assert result.rows and int(result.rows[0][-1]) > 0, result.rows


def test_snapshot_writes_the_sandbox_contents(provisioner, pg_shared, tmp_path):
    handle = pg_shared
    assert run_sql(handle.user_url, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)"
                   ).error is None
    out = tmp_path / "snap.sql"
    provisioner.snapshot(handle, out)
    assert "kept" in out.read_text()
    json.dumps(handle.to_dict())  # handles are JSON-safe
