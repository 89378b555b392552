"""Shared local server processes for the local provisioner.

Two long-lived servers live under the provisioner's home and are shared by every
sandbox of their kind (one database per sandbox):

* :class:`PostgresCluster` - one PostgreSQL cluster built with the host's ``initdb``
  (run as the ``postgres`` OS user when we are root, since PostgreSQL refuses to run
  as root), listening on ``127.0.0.1`` only, password authentication for every role;
* :class:`MongoServer` - a real ``mongod`` when one is installed, else the
  wire-compatible stand-in ``nx-27017``.

Both are started on demand and found again by later calls and other processes
(Dramatiq workers): PostgreSQL through its own ``postmaster.pid`` (pid and port), the
MongoDB server through ``mongo/state.json`` (pid and port). The last port is kept, and
reused on the next start when free, so connection strings stay valid. Startup is guarded by
an exclusive file lock so that two processes never start two servers. Readiness is
the engine adapter's ``ping()``, polled with a short backoff until a deadline.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from engines.errors import ProvisionError
from orchestrator.local_process import (
    answers,
    file_lock,
    free_port,
    log_tail,
    pid_alive,
    port_is_free,
    port_open,
    reachable_by,
    read_json,
    stop_pid,
    wait_until,
    write_json,
)

START_DEADLINE_S = 60.0
#: the superuser of the local cluster; sandboxes get their own non-superuser roles
PG_SUPERUSER = "postgres"
#: a NOLOGIN role that owns the objects of template databases until a sandbox clone
#: hands them to its own role with ``REASSIGN OWNED``
PG_TEMPLATE_OWNER = "dbplay_owner"

_PG_CONF = """
# --- DB Playground local provisioner ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
password_encryption = 'scram-sha-256'
synchronous_commit = off
"""

_PG_HBA = f"""# DB Playground local provisioner: TCP on 127.0.0.1 only, passwords for everyone.
# The superuser may reach every database; a sandbox role only the database of its name.
host    all         {PG_SUPERUSER}    127.0.0.1/32    scram-sha-256
host    sameuser    all         127.0.0.1/32    scram-sha-256
"""


# -- PostgreSQL -------------------------------------------------------------------
def find_postgres_bin(explicit: Path | None = None) -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, if installed."""
    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(Path(explicit))
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: [int(x) if x.isdigit() else 0 for x in p.split("/")[4].split(".")])
    candidates.extend(Path(p).parent for p in reversed(found))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for directory in candidates:
        if all((directory / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def _running_as_root() -> bool:
    return os.geteuid() == 0


class PostgresCluster:
    """The one local PostgreSQL cluster of a provisioner home."""

    def __init__(self, home: Path, bin_dir: Path | None = None) -> None:
        self.root = Path(home) / "postgres"
        self.bin_dir = bin_dir
        self.state_file = self.root / "state.json"
        self.password_file = self.root / "superuser.password"
        self.lock_file = self.root / "cluster.lock"
        self.data_dir = self._choose_data_dir()

    # -- layout --------------------------------------------------------------
    def _choose_data_dir(self) -> Path:
        """``<home>/postgres/data``, unless we are root and the ``postgres`` user cannot
        reach it (a home under ``/root`` or a private temp dir): then a directory in
        that user's own home, named after ours so it is stable across processes."""
        preferred = self.root / "data"
        try:
            entry = pwd.getpwnam(PG_SUPERUSER)
        except KeyError:  # initdb will say what is missing
            return preferred
        if not _running_as_root() or reachable_by(self.root, entry):
            return preferred
        digest = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:16]
        return Path(entry.pw_dir) / "dbplay" / digest

    def _as_server_user(self, argv: list[str]) -> list[str]:
        if _running_as_root():
            return ["runuser", "-u", PG_SUPERUSER, "--", *argv]
        return argv

    def _tool(self, name: str) -> str:
        if self.bin_dir is None:
            raise ProvisionError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        return str(self.bin_dir / name)

    # -- state ---------------------------------------------------------------
    @property
    def password(self) -> str:
        return self.password_file.read_text().strip()

    def admin_url(self, database: str, port: int | None = None) -> str:
        port = port if port is not None else self.port()
        return f"postgresql://{PG_SUPERUSER}:{self.password}@127.0.0.1:{port}/{database}"

    def port(self) -> int:
        """The port of the running cluster, else the one it ran on last."""
        running = self._postmaster()
        if running is not None:
            return running[1]
        state = read_json(self.state_file)
        if state is None:
            raise ProvisionError("the local PostgreSQL cluster has never run")
        return int(state["port"])

    def _postmaster(self) -> tuple[int, int] | None:
        """(pid, port) of the running server, from its own ``postmaster.pid``."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, IndexError, ValueError):
            return None
        return (pid, port) if pid_alive(pid) else None

    def is_initialized(self) -> bool:
        return self.password_file.exists() and (self.data_dir / "PG_VERSION").exists()

    def ping(self, port: int) -> bool:
        return port_open(port) and answers("postgres", self.admin_url("postgres", port))

    # -- lifecycle -----------------------------------------------------------
    def ensure_running(self) -> int:
        """Start the cluster unless it already runs; returns its port."""
        running = self._postmaster()
        if running is not None:
            return running[1]
        with file_lock(self.lock_file):
            running = self._postmaster()
            if running is not None:
                return running[1]
            if not self.is_initialized():
                return self._initdb()
            return self._start(read_json(self.state_file))

    def _initdb(self) -> int:
        """Make the cluster, start it and set it up; returns its port."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.data_dir.exists():  # a half-made cluster from an interrupted initdb
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(parents=True, mode=0o700)
        self._give_to_server_user(self.data_dir)
        password = secrets.token_urlsafe(24)
        pwfile = self.data_dir.parent / f".initdb-{os.getpid()}.pw"
        pwfile.touch(mode=0o600)
        try:
            pwfile.write_text(password + "\n")
            self._give_to_server_user(pwfile)
            result = subprocess.run(
                self._as_server_user([
                    self._tool("initdb"), "-D", str(self.data_dir), "-U", PG_SUPERUSER,
                    "-E", "UTF8", "--locale=C", "--auth=scram-sha-256", f"--pwfile={pwfile}",
                ]),
                capture_output=True, text=True, check=False,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise ProvisionError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")
        with (self.data_dir / "postgresql.conf").open("a") as fh:
            fh.write(_PG_CONF)
        (self.data_dir / "pg_hba.conf").write_text(_PG_HBA)
        self._give_to_server_user(self.data_dir / "pg_hba.conf")
        self.password_file.touch(mode=0o600)
        self.password_file.write_text(password)
        return self._first_start_setup()

    def _first_start_setup(self) -> int:
        port = self._start(None)
        import psycopg2

        conn = psycopg2.connect(self.admin_url("postgres", port))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE ROLE {PG_TEMPLATE_OWNER} NOLOGIN")
                for db in ("postgres", "template1"):
                    cur.execute(f"REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC")
        finally:
            conn.close()
        return port

    def _give_to_server_user(self, path: Path) -> None:
        if _running_as_root():
            entry = pwd.getpwnam(PG_SUPERUSER)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _start(self, previous: dict[str, Any] | None) -> int:
        """Start the server; the port of the previous run is kept when it is free, so
        connection strings handed out earlier stay valid."""
        port = int(previous["port"]) if previous and previous.get("port") else 0
        if not port or not port_is_free(port):
            port = free_port()
        log = self.data_dir / "server.log"
        log_start = log.stat().st_size if log.exists() else 0
        result = subprocess.run(
            self._as_server_user([
                self._tool("pg_ctl"), "start", "-W", "-D", str(self.data_dir),
                "-l", str(log), "-o", f"-p {port}",
            ]),
            capture_output=True, text=True, check=False, start_new_session=True,
        )
        if result.returncode != 0:
            raise ProvisionError(f"pg_ctl start failed: {result.stderr.strip()}")

        def died() -> str | None:
            with contextlib.suppress(OSError), log.open("rb") as fh:
                fh.seek(log_start)
                new = fh.read().decode(errors="replace")
                if ("FATAL" in new or "PANIC" in new) and self._postmaster() is None:
                    return " | ".join(new.strip().splitlines()[-8:])
            return None

        try:
            wait_until(lambda: self.ping(port), START_DEADLINE_S, "starting PostgreSQL", died)
        except ProvisionError:
            subprocess.run(self._as_server_user([
                self._tool("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "immediate"]),
                capture_output=True, check=False)
            raise
        write_json(self.state_file, {"port": port, "data_dir": str(self.data_dir)})
        return port

    def stop(self) -> None:
        """Fast shutdown (open sessions are rolled back). Idempotent."""
        if not self.root.exists():
            return
        with file_lock(self.lock_file):
            running = self._postmaster()
            if running is not None:
                stop_pid(running[0], signal.SIGINT)

    def remove(self) -> None:
        """Stop the cluster and delete its data (tests, ``dbplay down --purge``)."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


# -- MongoDB (real mongod or the nx-27017 stand-in) -----------------------------------
def find_mongo_server() -> Path | None:
    """A real ``mongod`` on PATH, else the ``nx-27017`` stand-in (venv or PATH)."""
    mongod = shutil.which("mongod")
    if mongod:
        return Path(mongod)
    beside = Path(sys.executable).parent / "nx-27017"
    if beside.is_file():
        return beside
    standin = shutil.which("nx-27017")
    return Path(standin) if standin else None


class MongoServer:
    """One MongoDB-protocol server shared by the mongodb sandboxes of a home."""

    def __init__(self, home: Path, executable: Path | None = None) -> None:
        self.root = Path(home) / "mongo"
        self.executable = executable
        self.data_dir = self.root / "data"
        self.state_file = self.root / "state.json"
        self.lock_file = self.root / "server.lock"
        self.log_file = self.root / "server.log"

    @property
    def is_standin(self) -> bool:
        return self.executable is not None and self.executable.name != "mongod"

    def url(self, database: str, port: int | None = None) -> str:
        if port is None:
            state = read_json(self.state_file)
            if state is None:
                raise ProvisionError("the local MongoDB server is not running")
            port = int(state["port"])
        return f"mongodb://127.0.0.1:{port}/{database}"

    def _running_state(self) -> dict[str, Any] | None:
        state = read_json(self.state_file)
        if state is None or not pid_alive(int(state.get("pid", 0))):
            return None
        return state

    def ensure_running(self) -> int:
        state = self._running_state()
        if state is not None:
            return int(state["port"])
        with file_lock(self.lock_file):
            state = self._running_state()
            if state is not None:
                return int(state["port"])
            return self._start(read_json(self.state_file))

    def _start(self, previous: dict[str, Any] | None) -> int:
        if self.executable is None:
            raise ProvisionError("no MongoDB server (mongod or nx-27017) is installed")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        port = int(previous["port"]) if previous and previous.get("port") else 0
        if not port or not port_is_free(port):
            port = free_port()
        if self.is_standin:
            argv = [str(self.executable), "--data-dir", str(self.data_dir), "--host", "127.0.0.1",
                    "-p", str(port), "--log-file", str(self.log_file),
                    "--pid-file", str(self.root / "server.pid")]
        else:
            argv = [str(self.executable), "--dbpath", str(self.data_dir), "--bind_ip", "127.0.0.1",
                    "--port", str(port), "--logpath", str(self.log_file), "--logappend"]
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True)
        _CHILDREN[proc.pid] = proc  # keeps the handle so Python does not warn about it

        def died() -> str | None:
            if proc.poll() is not None:
                return f"exit code {proc.returncode}: {log_tail(self.log_file)}"
            return None

        url = self.url("admin", port)
        wait_until(lambda: port_open(port) and answers("mongodb", url), START_DEADLINE_S,
                   "starting the MongoDB server", died)
        write_json(self.state_file, {"port": port, "pid": proc.pid,
                                      "executable": str(self.executable)})
        return port

    def stop(self) -> None:
        if not self.root.exists():
            return
        with file_lock(self.lock_file):
            state = self._running_state()
            if state is not None:
                pid = int(state["pid"])
                stop_pid(pid, signal.SIGTERM)
                _CHILDREN.pop(pid, None)
                write_json(self.state_file, {**state, "pid": 0})  # the port is kept


_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def stop_servers(home: Path) -> None:
    """Stop the local PostgreSQL cluster and MongoDB server of ``home`` (data is kept)."""
    PostgresCluster(Path(home)).stop()
    MongoServer(Path(home)).stop()
