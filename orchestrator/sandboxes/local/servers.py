"""Server processes of the local provisioner: one per PostgreSQL or MongoDB sandbox.

* :class:`PgServer` - one PostgreSQL cluster (a data directory and, while it runs, its
  postmaster) built with the host's ``initdb``, run as the ``postgres`` OS user when we
  are root (PostgreSQL refuses to run as root). It listens on 127.0.0.1 only, has no
  Unix socket, lets in only two roles by password (the sandbox's owner role to its one
  database, the administrative superuser to any), and runs with the limits of the
  Docker image's ``compose/postgres/postgresql.sandbox.conf`` plus an address-space
  limit on every server process (:func:`~orchestrator.sandboxes.local.process.limited`).
* :class:`MongoProcess` - one ``mongod`` (with ``--auth``) or ``nx-27017`` stand-in
  (which has no authentication) serving one sandbox's data directory.

A server is found again by later calls and other processes (Dramatiq workers):
PostgreSQL through its own ``postmaster.pid``, MongoDB through ``state.json`` in its
directory. Readiness is the engine adapter's ``ping()``, polled with a short backoff.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from engines.errors import ProvisionError
from orchestrator.config.file_modes import open_private_log, private_dir, write_private
from orchestrator.sandboxes.local.layout import PG_OS_USER, running_as_root
from orchestrator.sandboxes.local.process import (
    PortTaken,
    answers,
    limited,
    log_tail,
    pid_alive,
    port_is_free,
    port_open,
    read_json,
    stop_pid,
    wait_until,
    write_json,
)

START_DEADLINE_S = 60.0
MiB = 2**20
#: the superuser of every local cluster (the orchestrator's administrative role)
PG_ADMIN = "dbplay_admin"
#: the sandbox's own role, owner of its database; user statements and restores run as it
PG_OWNER = "sandbox"
PG_DATABASE = "sandbox"
#: address space of each PostgreSQL server process (postmaster and every backend)
PG_ADDRESS_SPACE = 768 * MiB
#: address space of an nx-27017 stand-in process (a Python interpreter)
MONGO_STANDIN_ADDRESS_SPACE = 1024 * MiB

#: the settings of ``compose/postgres/postgresql.sandbox.conf`` that bound a sandbox
PG_SANDBOX_CONF = """
# --- DB Playground local sandbox (as compose/postgres/postgresql.sandbox.conf) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 20
superuser_reserved_connections = 3
shared_buffers = 16MB
work_mem = 4MB
maintenance_work_mem = 32MB
temp_buffers = 4MB
huge_pages = off
dynamic_shared_memory_type = posix
max_worker_processes = 2
max_parallel_workers = 1
max_parallel_workers_per_gather = 1
jit = off
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
wal_buffers = 1MB
max_wal_size = 256MB
min_wal_size = 2MB
checkpoint_timeout = 30min
autovacuum_naptime = 5min
temp_file_limit = 512MB
idle_in_transaction_session_timeout = 10min
logging_collector = off
log_min_messages = warning
log_connections = off
password_encryption = 'scram-sha-256'
"""

#: statement statistics for index advice (the workload); loaded only where installed
PG_WORKLOAD_CONF = """shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.max = 1000
pg_stat_statements.track = top
pg_stat_statements.track_utility = off
"""
#: extensions the administrative role creates in each sandbox database when installed
#: (the sandbox's non-superuser role may use them, not create them): the workload,
#: hypothetical indexes, trigram indexes
PG_ADVICE_EXTENSIONS = ("pg_stat_statements", "hypopg", "pg_trgm")


def workload_capture_conf(bin_dir: Path | None) -> str:
    """:data:`PG_WORKLOAD_CONF` when the server has ``pg_stat_statements`` (a missing
    preload library would stop the server from starting), else nothing."""
    if bin_dir is None or not (bin_dir.parent / "lib" / "pg_stat_statements.so").is_file():
        return ""
    return PG_WORKLOAD_CONF


PG_HBA = f"""# DB Playground local sandbox: TCP on 127.0.0.1, passwords only, two roles.
host    {PG_DATABASE}    {PG_OWNER}    127.0.0.1/32    scram-sha-256
host    all        {PG_ADMIN}    127.0.0.1/32    scram-sha-256
"""


# -- binaries ---------------------------------------------------------------------
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


# -- the postgres OS user ---------------------------------------------------------------
def as_server_user(argv: list[str]) -> list[str]:
    if running_as_root():
        return ["runuser", "-u", PG_OS_USER, "--", *argv]
    return argv


def server_owned_dir(path: Path) -> Path:
    """``path`` as a 0700 directory of the user PostgreSQL runs as (parents too)."""
    missing = [p for p in [path, *path.parents] if not p.exists()]
    for created in reversed(missing):
        private_dir(created)
        _give_to_server_user(created)
    return path


def _give_to_server_user(path: Path) -> None:
    if running_as_root():
        entry = pwd.getpwnam(PG_OS_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


# -- PostgreSQL -------------------------------------------------------------------------
class PgServer:
    """One PostgreSQL cluster of one sandbox (or one prepared template)."""

    def __init__(self, bin_dir: Path | None, data_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.data_dir = data_dir
        self.log_file = data_dir / "server.log"

    def _tool(self, name: str) -> str:
        if self.bin_dir is None:
            raise ProvisionError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        return str(self.bin_dir / name)

    def initdb(self, admin_password: str, pwfile: Path) -> None:
        """Make the cluster (superuser :data:`PG_ADMIN`) with the sandbox limits."""
        server_owned_dir(self.data_dir)
        write_private(pwfile, admin_password + "\n")
        _give_to_server_user(pwfile)
        try:
            result = subprocess.run(as_server_user([
                self._tool("initdb"), "-D", str(self.data_dir), "-U", PG_ADMIN, "-E", "UTF8",
                "--locale=C", "--auth=scram-sha-256", f"--pwfile={pwfile}", "--no-sync",
                "--wal-segsize=1",  # 1 MiB WAL segments: a small directory to copy
            ]), capture_output=True, text=True, check=False)
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise ProvisionError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")
        with (self.data_dir / "postgresql.conf").open("a") as fh:
            fh.write(PG_SANDBOX_CONF)
            fh.write(workload_capture_conf(self.bin_dir))
        (self.data_dir / "pg_hba.conf").write_text(PG_HBA)

    def postmaster(self) -> tuple[int, int] | None:
        """(pid, port) of the running server, from its own ``postmaster.pid``."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, IndexError, ValueError):
            return None
        return (pid, port) if pid_alive(pid) else None

    def accepts_connections(self) -> bool:
        """Whether the postmaster runs and says "ready" in ``postmaster.pid`` (no
        credentials needed to know)."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) > 7 and lines[7].strip() == "ready" and self.postmaster() is not None

    def start(self, port: int) -> None:
        """Start the server on ``port`` and wait until it accepts connections."""
        if not port_is_free(port):
            raise PortTaken(f"port {port} of this PostgreSQL sandbox is taken")
        with contextlib.suppress(OSError):
            (self.data_dir / "postmaster.pid").unlink()  # a stale one from a killed server
        log_start = self.log_file.stat().st_size if self.log_file.exists() else 0
        result = subprocess.run(
            as_server_user(limited([
                self._tool("pg_ctl"), "start", "-W", "-D", str(self.data_dir),
                "-l", str(self.log_file), "-o", f"-p {port}",
            ], PG_ADDRESS_SPACE)),
            capture_output=True, text=True, check=False, start_new_session=True)
        if result.returncode != 0:
            raise ProvisionError(f"pg_ctl start failed: {result.stderr.strip()}")

        def died() -> str | None:
            with contextlib.suppress(OSError), self.log_file.open("rb") as fh:
                fh.seek(log_start)
                new = fh.read().decode(errors="replace")
                if ("FATAL" in new or "PANIC" in new) and self.postmaster() is None:
                    return " | ".join(new.strip().splitlines()[-8:])
            return None

        try:
            wait_until(lambda: port_open(port) and self.accepts_connections(),
                       START_DEADLINE_S, "starting PostgreSQL", died)
        except ProvisionError:
            self.stop(immediate=True)
            raise

    def stop(self, *, immediate: bool = False) -> bool:
        """Fast shutdown (``immediate``: no checkpoint); True if it was running."""
        running = self.postmaster()
        if running is None:
            return False
        stop_pid(running[0], signal.SIGQUIT if immediate else signal.SIGINT)
        return True


# -- MongoDB (real mongod or the nx-27017 stand-in) --------------------------------------
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class MongoProcess:
    """One MongoDB-protocol server of one sandbox, in ``root`` (data, log, state)."""

    def __init__(self, executable: Path | None, root: Path) -> None:
        self.executable = executable
        self.root = root
        self.data_dir = root / "data"
        self.state_file = root / "state.json"
        self.log_file = root / "server.log"

    @property
    def is_standin(self) -> bool:
        return self.executable is not None and self.executable.name != "mongod"

    def running_pid(self) -> int | None:
        state = read_json(self.state_file)
        pid = int(state.get("pid", 0)) if state else 0
        return pid if pid_alive(pid) else None

    def start(self, port: int, *, auth: bool) -> None:
        if self.executable is None:
            raise ProvisionError("no MongoDB server (mongod or nx-27017) is installed")
        private_dir(self.root.parent)
        private_dir(self.root)
        private_dir(self.data_dir)
        if not port_is_free(port):
            raise PortTaken(f"port {port} of this MongoDB sandbox is taken")
        argv = self.argv(port, auth=auth)
        log = open_private_log(self.log_file)
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True, umask=0o077)
        finally:
            os.close(log)
        _CHILDREN[proc.pid] = proc  # keeps the handle so Python does not warn about it
        write_json(self.state_file, {"pid": proc.pid, "port": port})

        def died() -> str | None:
            if proc.poll() is not None:
                return f"exit code {proc.returncode}: {log_tail(self.log_file)}"
            return None

        wait_until(lambda: port_open(port) and answers(
            "mongodb", f"mongodb://127.0.0.1:{port}/admin"), START_DEADLINE_S,
            "starting the MongoDB server", died)

    def argv(self, port: int, *, auth: bool) -> list[str]:
        """The server's command line. A real ``mongod`` profiles every operation
        (``--profile 2``, into each database's capped ``system.profile``): the tuning
        advisor's workload of statements sent by any client, not only the playground."""
        if self.is_standin:
            return limited([str(self.executable), "--data-dir", str(self.data_dir),
                            "--host", "127.0.0.1", "-p", str(port),
                            "--log-file", str(self.log_file),
                            "--pid-file", str(self.root / "server.pid")],
                           MONGO_STANDIN_ADDRESS_SPACE)
        return [str(self.executable), "--dbpath", str(self.data_dir), "--bind_ip",
                "127.0.0.1", "--port", str(port), "--logpath", str(self.log_file),
                "--logappend", "--wiredTigerCacheSizeGB", "0.25", "--profile", "2",
                *(["--auth"] if auth else [])]

    def stop(self) -> bool:
        pid = self.running_pid()
        if pid is None:
            return False
        stop_pid(pid, signal.SIGTERM)
        _CHILDREN.pop(pid, None)
        return True


def mongo_state(root: Path) -> dict[str, Any] | None:
    return read_json(root / "state.json")
