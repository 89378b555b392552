"""A throwaway PostgreSQL cluster for the test suite, from the host's PostgreSQL binaries.

``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres`` OS
user (``runuser -u postgres --``); as any other user it belongs to that user. The
server listens on 127.0.0.1 on a free port, keeps its socket inside the temporary
directory and runs with ``fsync=off`` (the data is thrown away anyway). TCP logins use
a password (scram-sha-256), so URLs carry one, like real sandbox URLs do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.servers import free_port, unavailable

SUPERUSER = "postgres"
PASSWORD = "playground-test"


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<major>/bin`` holding ``initdb`` and ``pg_ctl``."""
    override = os.environ.get("DBPLAY_PG_BINDIR")
    candidates = [Path(override)] if override else sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    return None


class PostgresServer:
    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.port = 0
        self.root: Path | None = None
        self._as_postgres = os.geteuid() == 0

    @property
    def admin_url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> None:
        if self.bindir is None:
            unavailable("PostgreSQL server binaries not found (apt-get install postgresql-15)")
        if self._as_postgres and shutil.which("runuser") is None:
            unavailable("running as root but runuser is missing; cannot run initdb")
        self.root = Path(tempfile.mkdtemp(prefix="dbplay-pg-"))
        self.root.chmod(0o700)
        if self._as_postgres:
            shutil.chown(self.root, user="postgres", group="postgres")
        data = self.root / "data"
        pwfile = self.root / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if self._as_postgres:
            shutil.chown(pwfile, user="postgres", group="postgres")
        init = self._run(str(self.bindir / "initdb"), "-D", str(data), "-U", SUPERUSER,
                         "--pwfile", str(pwfile), "--auth-local=trust",
                         "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
                         "--no-sync")
        if init.returncode != 0:
            self._cleanup()
            unavailable(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
        self.port = free_port()
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        started = self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-l",
                            str(self.root / "server.log"), "-o", options, "-w", "-t", "60",
                            "start")
        if started.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            self._cleanup()
            unavailable(f"pg_ctl start failed: {started.stderr.strip()} {log}")

    def stop(self) -> None:
        if self.root is None or self.bindir is None:
            return
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
                  "-w", "stop")
        self._cleanup()

    def _cleanup(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def new_database(self) -> str:
        """A fresh, empty database (owned by the superuser) and its URL."""
        import psycopg2

        name = f"t_{uuid.uuid4().hex[:12]}"
        conn = psycopg2.connect(self.admin_url)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url_for(name)
