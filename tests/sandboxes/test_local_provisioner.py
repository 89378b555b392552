"""The local provisioner against real servers it starts itself in a temporary home:
SQLite files, embedded Chroma, one PostgreSQL cluster per sandbox from the host's
binaries and one MongoDB server per sandbox (nx-27017 stand-in here)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engines.errors import RestoreError
from engines.registry import connect
from orchestrator.sandboxes.local.process import answers
from orchestrator.sandboxes.local.provisioner import LocalProvisioner, purge_servers, stop_servers
from orchestrator.sandboxes.local.servers import MongoProcess
from orchestrator.sandboxes.provisioning import SandboxHandle, SandboxRequest
from tests.conftest import REPO
from tests.servers import unavailable

BUILTIN = REPO / "orchestrator" / "store" / "builtin_templates"
ENGINES = ["sqlite", "chroma", "postgres", "mongodb"]
Make = Callable[..., SandboxHandle]
_ZERO_VECTOR = "[" + ", ".join(["0.0"] * 383 + ["1.0"]) + "]"


@dataclass(frozen=True)
class Kit:
    """What a test needs to know about one engine."""

    dump: Path  # a built-in template's dump
    count: str  # script giving one row, one int: the rows of the built-in's main table
    expected: int
    insert: str  # adds one row to that table
    empty_write: str  # creates a table/collection in an empty sandbox and adds one row
    empty_read: str  # counts that table/collection
    snapshot_name: str
    broken: str  # a dump that fails to restore half-way


def _mongo_count(path: Path, name: str) -> int:
    data = json.loads(path.read_text())
    return next(len(c["documents"]) for c in data["collections"] if c["name"] == name)


KITS = {
    "sqlite": Kit(BUILTIN / "chinook-sqlite" / "Chinook_Sqlite.sqlite",
                  "SELECT count(*) FROM Artist", 275, "INSERT INTO Artist (Name) VALUES ('zz')",
                  "CREATE TABLE marks (v TEXT); INSERT INTO marks VALUES ('m')",
                  "SELECT count(*) FROM marks", "snap.sqlite",
                  "CREATE TABLE a (x INTEGER);\nINSERT INTO nowhere VALUES (1);\n"),
    "postgres": Kit(BUILTIN / "pagila" / "pagila.sql",
                    "SELECT count(*) FROM film", 1000,
                    "INSERT INTO actor (first_name, last_name) VALUES ('Z', 'Z');"
                    " INSERT INTO film (title, language_id) VALUES ('zz', 1)",
                    "CREATE TABLE marks (v text); INSERT INTO marks VALUES ('m')",
                    "SELECT count(*) FROM marks", "snap.sql",
                    "CREATE TABLE a (x int);\nINSERT INTO nowhere VALUES (1);\n"),
    "mongodb": Kit(BUILTIN / "restaurants" / "restaurants.dump.json",
                   "db.restaurants.countDocuments({})",
                   _mongo_count(BUILTIN / "restaurants" / "restaurants.dump.json", "restaurants"),
                   "db.restaurants.insertOne({name: 'zz'})",
                   "db.marks.insertOne({v: 'm'})", "db.marks.countDocuments({})",
                   "snap.dump.json",
                   '{"format": "dbplay-mongodb-dump", "version": 1, "collections": [\n'
                   ' {"name": "a", "type": "collection", "options": {}, "indexes": [],'
                   ' "documents": [\n  {"_id": 1}\n'),
    "chroma": Kit(BUILTIN / "tldr" / "tldr.dump.json.gz", "tldr.count()", 500,
                  f'tldr.add(ids=["zz"], embeddings=[{_ZERO_VECTOR}], documents=["zz"])',
                  'create_collection("marks")\n'
                  'marks.add(ids=["m"], embeddings=[[0.5, 0.5]], documents=["m"])',
                  'collection("marks").count()', "snap.dump.json",
                  '{"format": "dbplay-chroma-dump", "version": 1, "collections": [\n'
                  '{"name": "aaa", "metadata": null, "records": [\n'),
}


def _scalar(handle: SandboxHandle, script: str) -> int:
    with connect(handle.engine, handle.user_url) as engine:
        results = engine.execute(script)
    assert all(r.error is None for r in results), results
    return int(results[-1].rows[0][0])


def _run(handle: SandboxHandle, script: str) -> None:
    with connect(handle.engine, handle.user_url) as engine:
        results = engine.execute(script)
    assert all(r.error is None for r in results), results


def _error(url: str, statement: str) -> str:
    with connect("postgres", url) as engine:
        result = engine.execute(statement)[0]
    assert result.error is not None, f"{statement!r} was allowed"
    return str(result.error["message"])


@pytest.fixture(scope="module")
def provisioner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProvisioner]:
    home = tmp_path_factory.mktemp("local-home")
    prov = LocalProvisioner(home)
    try:
        yield prov
    finally:
        purge_servers(home)  # stops the servers, deletes clusters (may live outside home)


@pytest.fixture
def make(provisioner: LocalProvisioner) -> Iterator[Make]:
    """``make(engine, dump=None)`` creates a sandbox; every one is destroyed afterwards."""
    made: list[SandboxHandle] = []

    def create(engine: str, dump: Path | None = None, digest: str = "") -> SandboxHandle:
        if engine not in provisioner.engines():
            unavailable(f"{engine} cannot run on this machine (server binaries missing)")
        handle = provisioner.create(request(engine, dump, digest))
        made.append(handle)
        return handle

    yield create
    for handle in made:
        provisioner.destroy(handle)


def request(engine: str, dump: Path | None = None, digest: str = "") -> SandboxRequest:
    return SandboxRequest(
        sandbox_id=uuid.uuid4().hex[:12], owner="alice", engine=engine,
        template=dump.name if dump else "empty", dump_path=dump, dump_digest=digest,
        expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        password=f"pw-{uuid.uuid4().hex[:8]}:@/'",
    )


def leftovers(prov: LocalProvisioner, handle: SandboxHandle | SandboxRequest) -> list[str]:
    """What still exists of a sandbox: files, databases, roles, registry entries."""
    sandbox_id, engine = handle.sandbox_id, handle.engine
    found = [f"registry:{sandbox_id}"] if sandbox_id in prov.list_running() else []
    found += [str(p) for p in prov.home.rglob(f"*{sandbox_id}*")]
    if engine == "postgres" and prov.layout.pg_sandbox(sandbox_id).exists():
        found.append("postgres cluster")
    return found


def test_postgres_and_mongodb_can_run_here(provisioner: LocalProvisioner) -> None:
    kinds = provisioner.engines()
    assert {"sqlite", "chroma"} <= set(kinds)
    for kind in ("postgres", "mongodb"):
        if kind not in kinds:
            unavailable(f"no {kind} server binaries for the local provisioner")


@pytest.mark.parametrize("engine", ENGINES)
def test_empty_sandbox_takes_writes_and_is_listed(engine: str, make: Make,
                                                   provisioner: LocalProvisioner) -> None:
    handle = make(engine)
    kit = KITS[engine]
    _run(handle, kit.empty_write)
    assert _scalar(handle, kit.empty_read) == 1
    assert provisioner.publish(handle) == handle.user_url
    labels = provisioner.list_running()[handle.sandbox_id]
    assert labels == {"owner": "alice", "template": "empty", "engine": engine,
                      "expires_at": "2030-01-01T00:00:00+00:00"}


@pytest.mark.parametrize("engine", ENGINES)
def test_builtin_template_sandbox_holds_its_data(engine: str, make: Make) -> None:
    kit = KITS[engine]
    handle = make(engine, kit.dump)
    assert _scalar(handle, kit.count) == kit.expected


@pytest.mark.parametrize("engine", ENGINES)
def test_snapshot_seeds_a_new_sandbox_with_the_changes(engine: str, make: Make,
                                                       provisioner: LocalProvisioner,
                                                       tmp_path: Path) -> None:
    kit = KITS[engine]
    first = make(engine, kit.dump)
    _run(first, kit.insert)
    out = tmp_path / kit.snapshot_name
    provisioner.snapshot(first, out)
    second = make(engine, out)
    assert _scalar(second, kit.count) == kit.expected + 1
    _run(second, kit.insert.replace("zz", "zy"))  # its role can write restored data too
    assert _scalar(second, kit.count) == kit.expected + 2


@pytest.mark.parametrize("engine", ENGINES)
def test_sandboxes_of_one_template_are_independent(engine: str, make: Make) -> None:
    kit = KITS[engine]
    one = make(engine, kit.dump)
    two = make(engine, kit.dump)
    _run(one, kit.insert)
    assert _scalar(one, kit.count) == kit.expected + 1
    assert _scalar(two, kit.count) == kit.expected


@pytest.mark.parametrize("engine", ENGINES)
def test_destroy_removes_everything_and_is_idempotent(engine: str, make: Make,
                                                      provisioner: LocalProvisioner) -> None:
    handle = make(engine, KITS[engine].dump)
    _run(handle, KITS[engine].insert)
    assert leftovers(provisioner, handle)
    provisioner.destroy(handle)
    assert leftovers(provisioner, handle) == []
    provisioner.destroy(handle)
    provisioner.remove_by_id(handle.sandbox_id)


@pytest.mark.parametrize("engine", ENGINES)
def test_remove_by_id_removes_an_orphan(engine: str, make: Make,
                                        provisioner: LocalProvisioner) -> None:
    handle = make(engine)
    _run(handle, KITS[engine].empty_write)
    provisioner.remove_by_id(handle.sandbox_id)
    assert leftovers(provisioner, handle) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_broken_dump_raises_and_leaves_nothing(engine: str, provisioner: LocalProvisioner,
                                               tmp_path: Path) -> None:
    if engine not in provisioner.engines():
        unavailable(f"{engine} cannot run on this machine")
    kit = KITS[engine]
    broken = tmp_path / ("broken" + "".join(Path(kit.snapshot_name).suffixes))
    broken.write_text(kit.broken)
    req = request(engine, broken, digest="f" * 64)
    with pytest.raises(RestoreError):
        provisioner.create(req)
    assert leftovers(provisioner, req) == []
    seeds = [p for p in provisioner.home.rglob("*ffffffffffffffff*") if p.suffix != ".lock"]
    assert seeds == []  # no cached seed (an empty lock file may stay)
    if engine == "postgres":
        assert list(provisioner.layout.pg_root.rglob("*ffffffffffffffff*")) == []


def test_postgres_role_cannot_run_programs_read_files_or_alter_system(make: Make) -> None:
    handle = make("postgres", KITS["postgres"].dump)
    assert "superuser" in _error(handle.user_url, "COPY (SELECT 1) TO PROGRAM 'id'")
    assert "permission denied" in _error(handle.user_url, "SELECT pg_read_file('/etc/passwd')")
    assert "permission denied" in _error(handle.user_url, "ALTER SYSTEM SET work_mem = '1GB'")
    assert "permission denied" in _error(handle.user_url, "CREATE ROLE intruder")
    assert _scalar(handle, "SELECT count(*) FROM pg_roles WHERE rolname = current_user"
                           " AND NOT rolsuper AND NOT rolcreatedb AND NOT rolcreaterole") == 1


def test_postgres_sandboxes_are_separate_servers_that_see_only_themselves(
        make: Make) -> None:
    import psycopg2

    mine = make("postgres", KITS["postgres"].dump)
    other = make("postgres", KITS["postgres"].dump)
    assert mine.info["port"] != other.info["port"]
    with connect("postgres", mine.user_url) as engine:
        databases, roles = engine.execute(
            "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database;"
            "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles"
            " WHERE rolname !~ '^pg_'")
    assert databases.rows == [["sandbox,template0,template1"]]
    assert roles.rows == [["dbplay_admin,sandbox"]]
    # my credentials on the other sandbox's server, and my role on my server's other
    # databases, are both refused
    theirs = other.user_url.replace(other.user_url.split("@")[0].split(":")[-1],
                                    mine.user_url.split("@")[0].split(":")[-1])
    for stolen in (theirs, mine.user_url.rsplit("/", 1)[0] + "/template1"):
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(stolen).close()
    assert answers("postgres", mine.user_url)


def test_mongodb_sandboxes_are_separate_servers(make: Make) -> None:
    kit = KITS["mongodb"]
    alice = make("mongodb", kit.dump)
    bob = make("mongodb")
    assert alice.info["port"] != bob.info["port"]
    assert alice.info["path"] != bob.info["path"]
    if alice.info["standin"]:
        assert alice.info["auth"] is False
    assert _scalar(bob, kit.count) == 0  # bob's server has no restaurants at all


def test_a_second_process_finds_the_running_servers(provisioner: LocalProvisioner,
                                                    make: Make) -> None:
    pg = make("postgres")
    mongo = make("mongodb")
    postmaster = provisioner.postgres.server(pg.sandbox_id).postmaster()
    mongo_pid = provisioner.mongo.server(mongo.sandbox_id).running_pid()
    assert postmaster is not None and mongo_pid is not None
    code = ("import sys, json; from pathlib import Path;"
            "from orchestrator.sandboxes.local.provisioner import LocalProvisioner;"
            "p = LocalProvisioner(Path(sys.argv[1]));"
            "print(json.dumps([p.revive(sys.argv[2]), p.revive(sys.argv[3])]))")
    out = subprocess.run([sys.executable, "-c", code, str(provisioner.home), pg.sandbox_id,
                          mongo.sandbox_id], cwd=REPO, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert json.loads(out) == [False, False]  # both ran already: nothing started
    assert provisioner.postgres.server(pg.sandbox_id).postmaster() == postmaster
    assert provisioner.mongo.server(mongo.sandbox_id).running_pid() == mongo_pid


def test_stopped_servers_restart_on_their_own_port(provisioner: LocalProvisioner,
                                                   make: Make) -> None:
    pg = make("postgres")
    mongo = make("mongodb")
    _run(pg, KITS["postgres"].empty_write)
    stopped = stop_servers(provisioner.home)
    assert f"postgres sandbox {pg.sandbox_id}" in stopped
    assert not answers("postgres", pg.user_url)
    assert not answers("mongodb", mongo.user_url)
    assert pg.sandbox_id in provisioner.list_running()  # the reaper's scan restarts them
    assert _scalar(pg, KITS["postgres"].empty_read) == 1  # old connection strings work
    assert answers("mongodb", mongo.user_url)


def test_storage_guard_stops_a_sandbox_past_its_cap_and_reports_it(
        tmp_path: Path) -> None:
    events: list[tuple[str, str, str]] = []
    prov = LocalProvisioner(tmp_path / "home", storage_bytes=32 * 2**20, check_interval_s=0,
                            on_event=lambda *event: events.append(event))
    try:
        handle = prov.create(request("postgres"))
        assert prov.keep() == []
        _run(handle, "CREATE TABLE big AS SELECT g, repeat(md5(g::text), 8) AS pad"
                     " FROM generate_series(1, 300000) g")
        assert prov.keep() == [handle.sandbox_id]
        assert not answers("postgres", handle.user_url)
        assert events and events[0][:2] == (handle.sandbox_id, "died")
        assert "over its storage cap of 32 MiB" in events[0][2]
        assert prov.registry.read(handle.sandbox_id)["halted"] == events[0][2]
        assert prov.revive(handle.sandbox_id) is False  # halted stays stopped
        prov.destroy(handle)  # a reset destroys and creates again
        again = prov.create(request("postgres"))
        assert answers("postgres", again.user_url)
    finally:
        purge_servers(prov.home)


def _mode(path: Path) -> int:
    """Permission bits of ``path`` (0 for a symlink, or for a file gone since it was listed:
    spare copies of prepared clusters are made and renamed in the background)."""
    try:
        return 0 if path.is_symlink() else path.lstat().st_mode & 0o777
    except FileNotFoundError:
        return 0


def test_local_files_are_private_and_the_registry_holds_no_password(
        provisioner: LocalProvisioner, make: Make) -> None:
    for engine in ENGINES:
        make(engine, KITS[engine].dump)
    roots = [provisioner.home]
    if provisioner.layout.pg_root.exists():
        roots.append(provisioner.layout.pg_root)
    loose = [f"{mode:o} {path}" for root in roots for path in [root, *root.rglob("*")]
             if (mode := _mode(path)) & 0o077]
    assert provisioner.home.stat().st_mode & 0o777 == 0o700
    assert loose == []
    records = " ".join(p.read_text() for p in provisioner.layout.registry_dir.glob("*.json"))
    assert "pw-" not in records and "postgresql://" not in records  # no password kept


def test_a_real_mongod_profiles_every_operation_for_the_advisors_workload(
        tmp_path: Path) -> None:
    """Only the command line is checked: no mongod binary exists on this machine (the
    stand-in has no profiler, a known gap)."""
    server = MongoProcess(Path("/usr/bin/mongod"), tmp_path)
    argv = server.argv(27017, auth=True)
    assert argv[argv.index("--profile") + 1] == "2"
    assert "--auth" in argv
