"""PostgreSQL sandboxes of the local provisioner: one cluster (server process) each.

* **Prepared clusters.** Per template dump digest (and one ``empty``) a cluster is made
  once: ``initdb``, the sandbox limits, a non-superuser role :data:`PG_OWNER` owning the
  one database :data:`PG_DATABASE`, and the dump restored *through that role* - so a
  dump can do nothing its sandbox's user could not (``COPY ... FROM PROGRAM``,
  ``ALTER ROLE ... SUPERUSER`` fail, and the error names the statement). The server is
  then stopped cleanly and its data directory kept as ``prepared/<digest>``. A failed
  restore leaves nothing behind.
* **A sandbox** is a copy of that directory (``cp -a --reflink=auto``) started on its
  own port of 127.0.0.1, whose two passwords (the owner role's: the sandbox password;
  the administrative superuser's: a new random one) replace the prepared cluster's at
  once. Its catalogs hold only its own database and roles. After each copy one spare
  copy per template is made in the background, so the next sandbox of that template
  renames the spare instead of waiting for ``cp``.

The administrative URL pins ``search_path`` to ``pg_catalog, pg_temp`` at connection
time, so no schema or database setting the user made can put their functions in the
way of the orchestrator's own reads.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg2
from psycopg2 import sql

from engines.errors import ProvisionError, RestoreError
from engines.registry import connect
from orchestrator.config.file_modes import file_lock, private_dir, write_private
from orchestrator.sandboxes.local.layout import LocalLayout, tree_bytes
from orchestrator.sandboxes.local.process import start_on_a_free_port
from orchestrator.sandboxes.local.servers import (
    PG_ADMIN,
    PG_ADVICE_EXTENSIONS,
    PG_DATABASE,
    PG_OWNER,
    PgServer,
    server_owned_dir,
)

EMPTY = "empty"
#: a spare copy still partial after this long was left by a process that died
_STALE_SPARE_S = 600.0
_PIN_SEARCH_PATH = "?options=" + quote("-c search_path=pg_catalog,pg_temp", safe="")
#: what a dump that needs more than the owner role's rights fails with
_NEEDS_PRIVILEGE = ("permission denied", "must be superuser", "must be owner",
                    "must be a member", "only superuser")


def user_url(port: int, password: str) -> str:
    return (f"postgresql://{PG_OWNER}:{quote(password, safe='')}@127.0.0.1:{port}/"
            f"{PG_DATABASE}")


def admin_url(port: int, password: str, database: str = PG_DATABASE) -> str:
    return (f"postgresql://{PG_ADMIN}:{quote(password, safe='')}@127.0.0.1:{port}/"
            f"{database}{_PIN_SEARCH_PATH}")


@contextlib.contextmanager
def _admin(url: str) -> Iterator[Any]:
    conn = psycopg2.connect(url, connect_timeout=10)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


def _create_advice_extensions(cur: Any) -> None:
    """The tuning extensions that are installed, created by the superuser in the sandbox
    database (schema public, as a dump names them) so its own role can use them; one
    that is missing or not preloaded is left out and index advice works without it."""
    cur.execute("SELECT name FROM pg_available_extensions WHERE name = ANY(%s)",
                (list(PG_ADVICE_EXTENSIONS),))
    available = {row[0] for row in cur.fetchall()}
    cur.execute("SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'")
    preloaded = str(cur.fetchone()[0])
    for name in PG_ADVICE_EXTENSIONS:
        if name not in available or (name == "pg_stat_statements"
                                     and name not in preloaded):
            continue
        cur.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {} SCHEMA public").format(
            sql.Identifier(name)))
        if name == "hypopg":  # its functions are everyone's; its listing view is not
            cur.execute(sql.SQL("GRANT SELECT ON public.hypopg_list_indexes TO {}").format(
                sql.Identifier(PG_OWNER)))


def _copy_tree(source: Path, target: Path) -> None:
    """``cp -a`` (a reflink where the file system has them): modes and owner kept."""
    copied = subprocess.run(["cp", "-a", "--reflink=auto", str(source), str(target)],
                            capture_output=True, text=True, check=False)
    if copied.returncode != 0:
        raise ProvisionError(f"copying the prepared cluster failed: {copied.stderr.strip()}")


class PostgresSandboxes:
    """Makes prepared clusters and per-sandbox clusters under a :class:`LocalLayout`."""

    def __init__(self, layout: LocalLayout, bin_dir: Path | None) -> None:
        self.layout = layout
        self.bin_dir = bin_dir

    def server(self, sandbox_id: str) -> PgServer:
        return PgServer(self.bin_dir, self.layout.pg_sandbox(sandbox_id) / "data")

    # -- prepared clusters -----------------------------------------------------
    def _secret_file(self, digest: str) -> Path:
        return private_dir(self.layout.pg_secrets) / f"{digest}.admin"

    def prepared(self, dump_path: Path | None, digest: str) -> tuple[Path, str]:
        """(data directory, admin password) of the prepared cluster for a dump."""
        key = digest if dump_path is not None else EMPTY
        target = self.layout.pg_prepared(key)
        secret = self._secret_file(key)
        with file_lock(self.layout.lock(f"pg-prepare-{key}")):
            if (target / "PG_VERSION").exists() and secret.exists():
                return target, secret.read_text().strip()
            shutil.rmtree(target, ignore_errors=True)
            shutil.rmtree(self._spares(target), ignore_errors=True)
            building = target.with_name(f".{key}.{uuid.uuid4().hex[:8]}")
            password = secrets.token_urlsafe(24)
            try:
                self._build(building, password, dump_path)
                building.rename(target)
            except BaseException:
                PgServer(self.bin_dir, building).stop(immediate=True)
                shutil.rmtree(building, ignore_errors=True)
                raise
            write_private(secret, password)
        return target, password

    def _build(self, data_dir: Path, password: str, dump_path: Path | None) -> None:
        server_owned_dir(data_dir.parent)
        server = PgServer(self.bin_dir, data_dir)
        server.initdb(password, data_dir.parent / f".initdb-{uuid.uuid4().hex}.pw")
        port = start_on_a_free_port(server.start)
        owner_password = secrets.token_urlsafe(24)
        with _admin(admin_url(port, password, "postgres")) as cur:
            cur.execute(sql.SQL(
                "CREATE ROLE {} LOGIN PASSWORD %s NOSUPERUSER NOCREATEDB NOCREATEROLE "
                "NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 16").format(
                sql.Identifier(PG_OWNER)), (owner_password,))
            cur.execute(sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0").format(
                sql.Identifier(PG_DATABASE), sql.Identifier(PG_OWNER)))
            for database in ("template1", PG_DATABASE):
                cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(
                    sql.Identifier(database)))
        with _admin(admin_url(port, password)) as cur:  # one database less to copy
            cur.execute("DROP DATABASE postgres")
            _create_advice_extensions(cur)
        if dump_path is not None:
            self._restore_as_owner(user_url(port, owner_password), dump_path)
        server.stop()

    @staticmethod
    def _restore_as_owner(url: str, dump_path: Path) -> None:
        try:
            with connect("postgres", url) as engine:
                engine.restore(dump_path)
        except RestoreError as exc:
            if any(hint in exc.message.lower() for hint in _NEEDS_PRIVILEGE):
                raise RestoreError(
                    f"{exc.message} (the dump needs more rights than the sandbox's own "
                    "non-superuser role has; remove that statement)",
                    statement=exc.statement, line=exc.line, original=exc) from exc
            raise

    # -- spare copies: the next sandbox of a template renames one instead of copying ----
    @staticmethod
    def _spares(prepared: Path) -> Path:
        return prepared.with_name(f"{prepared.name}.spares")

    def _claim_spare(self, prepared: Path, data: Path) -> bool:
        for spare in sorted(self._spares(prepared).glob("ready-*")):
            try:
                spare.rename(data)
            except OSError:  # another process claimed it first
                continue
            return True
        return False

    def _make_spare(self, prepared: Path) -> None:
        """Copy the prepared cluster once in the background (one spare per template;
        a copy in progress is ``partial-*``, renamed ``ready-*`` when complete)."""
        spares = server_owned_dir(self._spares(prepared))
        for stale in spares.glob("partial-*"):  # left by a process that died copying
            with contextlib.suppress(OSError):
                if time.time() - stale.stat().st_mtime > _STALE_SPARE_S:
                    shutil.rmtree(stale, ignore_errors=True)
        if any(spares.iterdir()):
            return
        partial = spares / f"partial-{uuid.uuid4().hex[:12]}"
        try:
            _copy_tree(prepared, partial)
            partial.rename(spares / f"ready-{partial.name.split('-', 1)[1]}")
        except (OSError, ProvisionError):
            shutil.rmtree(partial, ignore_errors=True)

    def drop_prepared(self, digest: str) -> None:
        """Delete the prepared cluster of a dump, its spare copy and its secret (the
        sandboxes copied from it keep running: each has its own copy). A digest never
        prepared here leaves everything as it was."""
        prepared = self.layout.pg_prepared(digest)
        if not (prepared.exists() or self._spares(prepared).exists()
                or (self.layout.pg_secrets / f"{digest}.admin").exists()):
            return
        with file_lock(self.layout.lock(f"pg-prepare-{digest}")):
            prepared = self.layout.pg_prepared(digest)
            shutil.rmtree(self._spares(prepared), ignore_errors=True)
            shutil.rmtree(prepared, ignore_errors=True)
            self._secret_file(digest).unlink(missing_ok=True)

    # -- sandboxes ---------------------------------------------------------------
    def create(self, sandbox_id: str, password: str, dump_path: Path | None,
               digest: str) -> tuple[int, str, int]:
        """Copy the prepared cluster and start it; returns (port, admin password, bytes
        the copy took on disk)."""
        prepared, prepared_password = self.prepared(dump_path, digest)
        root = server_owned_dir(self.layout.pg_sandbox(sandbox_id))
        data = root / "data"
        if not self._claim_spare(prepared, data):
            _copy_tree(prepared, data)
        threading.Thread(target=self._make_spare, args=(prepared,), daemon=True,
                         name="dbplay-pg-spare").start()
        server = PgServer(self.bin_dir, data)
        port = start_on_a_free_port(server.start)
        new_admin = secrets.token_urlsafe(24)
        with _admin(admin_url(port, prepared_password)) as cur:
            cur.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(PG_OWNER)),
                        (password,))
            cur.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(PG_ADMIN)),
                        (new_admin,))
        return port, new_admin, tree_bytes(root)

    def start(self, sandbox_id: str, port: int) -> bool:
        """Start a sandbox's stopped server again on its port; False if it ran."""
        server = self.server(sandbox_id)
        if server.postmaster() is not None:
            return False
        server.start(port)
        return True

    def stop(self, sandbox_id: str) -> bool:
        return self.server(sandbox_id).stop()

    def remove(self, sandbox_id: str) -> None:
        """Stop the sandbox's server and delete its cluster. Idempotent."""
        root = self.layout.pg_sandbox(sandbox_id)
        if root.exists():
            self.server(sandbox_id).stop(immediate=True)
            shutil.rmtree(root, ignore_errors=True)
