"""The local (embedded) provisioner: sandboxes without a Docker engine.

Where each engine's sandboxes live is described in :mod:`orchestrator.sandboxes.local.layout`:

* ``sqlite`` - one 0600 file per sandbox, seeded with the adapter's ``restore``;
* ``chroma`` - one embedded (``chroma+file://``) directory per sandbox, copied from a
  seeded copy cached per dump digest;
* ``postgres`` - **one PostgreSQL server per sandbox**, a copy of the template's
  prepared cluster, into which the dump was restored by the sandbox's own
  non-superuser owner role (see :mod:`orchestrator.sandboxes.local.postgres`). Its own port on
  127.0.0.1, its own random passwords, the Docker image's limits (``temp_file_limit``,
  small ``max_connections`` and buffers...) and an address-space limit on every server
  process, so a huge ``work_mem`` sort fails with "out of memory";
* ``mongodb`` - **one MongoDB server per sandbox** (``mongod --auth`` with per-sandbox
  users, or the nx-27017 stand-in, which has no authentication: the handle says
  ``info["auth"] = False``, ``info["standin"] = True``).

A sandbox sees only its own server: no other user's databases, roles or documents.
Storage is capped like Docker's writable layer (:mod:`orchestrator.sandboxes.local.guard`), in
the process that tracks sandbox health (``on_event``), which also restarts servers
stopped by ``dbplay down`` (as does ``list_running``, the reaper's scan).

Every sandbox has a 0600 JSON record in ``sandboxes/<id>.json`` written *before*
anything is created, so the reaper finds (and stops) what a crash left; a failed
``create`` removes what it made and the record. The record holds labels and where the
sandbox's server is (port, directory), never a password: connection strings live only
in the orchestrator's metadata.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from engines.descriptor import EMBEDDED
from engines.errors import Conflict, DBPlayError, InvalidRequest, ProvisionError, RestoreError
from engines.registry import connect, descriptors
from engines.sqlite.descriptor import COMPANION_SUFFIXES
from orchestrator.config.file_modes import PRIVATE_FILE, file_lock, private_dir, tighten_tree
from orchestrator.sandboxes.local.guard import LocalKeeper, over_cap_reason
from orchestrator.sandboxes.local.layout import LocalLayout, Registry, running_as_root, tree_bytes
from orchestrator.sandboxes.local.mongo import MongoSandboxes
from orchestrator.sandboxes.local.postgres import PostgresSandboxes, admin_url, user_url
from orchestrator.sandboxes.local.process import answers, wait_until
from orchestrator.sandboxes.local.servers import find_mongo_server, find_postgres_bin
from orchestrator.sandboxes.provisioning import EventCallback, SandboxHandle, SandboxRequest
from orchestrator.sandboxes.snapshots import write_snapshot

log = logging.getLogger(__name__)

READY_DEADLINE_S = 30.0
#: bytes a PostgreSQL or MongoDB sandbox may write on top of its template (as Docker)
STORAGE_BYTES = 1024 * 2**20
_SANDBOX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_SERVER_ENGINES = ("postgres", "mongodb")


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def dump_key(digest: str) -> str:
    """The name a dump's prepared cluster and seeded cache go by: the first 40 hex
    digits of its digest ("" when the digest is too short to trust)."""
    digest = re.sub(r"[^0-9a-f]", "", digest.lower().split(":")[-1])
    return digest[:40] if len(digest) >= 16 else ""


def _server(handle: SandboxHandle) -> dict[str, Any]:
    """What the registry keeps of a handle: where its server is, never a password."""
    kept = ("port", "base_bytes", "auth", "standin")
    return {"engine": handle.engine, "ref": handle.ref,
            **{key: handle.info[key] for key in kept if key in handle.info}}


class LocalProvisioner:
    """The :class:`~orchestrator.sandboxes.provisioning.Provisioner` for a machine without
    Docker."""

    name = "local"

    def __init__(self, home: Path, *, postgres_bin: Path | None = None,
                 on_event: EventCallback | None = None, storage_bytes: int = STORAGE_BYTES,
                 check_interval_s: float = 30.0) -> None:
        """With ``on_event`` (the process that tracks sandbox health) a keeper thread
        checks storage caps and restarts stopped servers every ``check_interval_s``."""
        self.home = private_dir(Path(home))
        self.layout = LocalLayout(self.home)
        self.registry = Registry(self.layout.registry_dir)
        self.postgres_bin = find_postgres_bin(postgres_bin)
        self.postgres = PostgresSandboxes(self.layout, self.postgres_bin)
        self.mongo = MongoSandboxes(self.layout, find_mongo_server())
        self.sqlite_dir = self.layout.sqlite_dir
        self.chroma_dir = self.layout.chroma_dir
        self.storage_bytes = storage_bytes
        self.on_event = on_event
        self.keeper = LocalKeeper(self.keep, check_interval_s) \
            if on_event is not None and check_interval_s > 0 else None

    def engines(self) -> list[str]:
        kinds = []
        if self.postgres_bin is not None:
            kinds.append("postgres")
        if self.mongo.executable is not None:
            kinds.append("mongodb")
        return [*kinds, *(d.kind for d in descriptors() if d.has(EMBEDDED))]  # need no server

    # -- create ----------------------------------------------------------------
    def create(self, request: SandboxRequest) -> SandboxHandle:
        if not _SANDBOX_ID.fullmatch(request.sandbox_id):
            raise InvalidRequest(f"unusable sandbox id {request.sandbox_id!r}")
        if request.engine not in self.engines():
            raise ProvisionError(
                f"the local provisioner cannot run {request.engine} here "
                f"(available: {', '.join(self.engines())})")
        if self.registry.read(request.sandbox_id) is not None:
            raise Conflict(f"sandbox {request.sandbox_id} exists already")
        labels = {"owner": request.owner, "template": request.template,
                  "expires_at": request.expires_at.isoformat(), "engine": request.engine}
        self.registry.write(request.sandbox_id, {"labels": labels, "server": None})
        try:
            with file_lock(self.layout.lock(f"sandbox-{request.sandbox_id}")):
                handle = self._start(request)
                self._wait_ready(handle)
        except BaseException as exc:
            try:
                self.remove_by_id(request.sandbox_id, engine=request.engine)
            except Exception:
                log.exception("cleaning up after failed sandbox %s", request.sandbox_id)
            if isinstance(exc, (RestoreError, ProvisionError, InvalidRequest)):
                raise
            if isinstance(exc, Exception):
                message = exc.message if isinstance(exc, DBPlayError) else str(exc)
                raise ProvisionError(
                    f"could not start {request.engine} sandbox {request.sandbox_id}: {message}"
                ) from exc
            raise
        self.registry.write(request.sandbox_id, {"labels": labels, "server": _server(handle)})
        return handle

    def _start(self, request: SandboxRequest) -> SandboxHandle:
        starter = {"sqlite": self._start_sqlite, "chroma": self._start_chroma,
                   "postgres": self._start_postgres, "mongodb": self._start_mongo}
        return starter[request.engine](request)

    def _handle(self, request: SandboxRequest, ref: Path, user_url: str, admin_url: str,
                **info: Any) -> SandboxHandle:
        return SandboxHandle(sandbox_id=request.sandbox_id, engine=request.engine,
                             provisioner=self.name, ref=str(ref), user_url=user_url,
                             admin_url=admin_url, info=info)

    def _digest(self, request: SandboxRequest) -> str:
        assert request.dump_path is not None
        return dump_key(request.dump_digest) or _file_digest(request.dump_path)[:40]

    def _start_sqlite(self, request: SandboxRequest) -> SandboxHandle:
        # a folder of its own: a statement process may write only there (journal, WAL)
        folder = private_dir(private_dir(self.sqlite_dir) / request.sandbox_id)
        path = folder / f"{request.sandbox_id}.sqlite"
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, PRIVATE_FILE))
        url = f"sqlite:///{path}"
        with connect("sqlite", url) as engine:
            if request.dump_path is not None:
                engine.restore(request.dump_path)
            else:
                engine.execute("PRAGMA user_version = 0")
        return self._handle(request, path, url, url, path=str(path))

    def _start_chroma(self, request: SandboxRequest) -> SandboxHandle:
        target = private_dir(self.chroma_dir) / request.sandbox_id
        if request.dump_path is None:
            private_dir(target)
        else:
            shutil.copytree(self._chroma_seeded(request), target)
            tighten_tree(target)
        url = f"chroma+file://{target}"
        return self._handle(request, target, url, url, path=str(target))

    def _chroma_seeded(self, request: SandboxRequest) -> Path:
        """A directory holding the dump restored, made once per dump digest. Processes
        racing to make it each restore into a private directory; the first rename wins."""
        assert request.dump_path is not None
        cache = self._chroma_cache(self._digest(request))
        if cache.is_dir():
            return cache
        building = private_dir(private_dir(cache.parent) / f".{cache.name}.{uuid.uuid4().hex}")
        try:
            with connect("chroma", f"chroma+file://{building}") as engine:
                engine.restore(request.dump_path)
            tighten_tree(building)
            try:
                os.rename(building, cache)
            except OSError:  # another process made it first
                if not cache.is_dir():
                    raise
        finally:
            shutil.rmtree(building, ignore_errors=True)
        return cache

    def _chroma_cache(self, key: str) -> Path:
        return self.chroma_dir / "cache" / key

    def _start_postgres(self, request: SandboxRequest) -> SandboxHandle:
        digest = self._digest(request) if request.dump_path is not None else ""
        port, admin_password, used = self.postgres.create(
            request.sandbox_id, request.password, request.dump_path, digest)
        root = self.layout.pg_sandbox(request.sandbox_id)
        user = user_url(port, request.password)
        return self._handle(request, root, user, admin_url(port, admin_password),
                            database="sandbox", port=port, path=str(root), base_bytes=used)

    def _start_mongo(self, request: SandboxRequest) -> SandboxHandle:
        user, admin, info = self.mongo.create(request.sandbox_id, request.password,
                                              request.dump_path)
        root = self.layout.mongo_sandbox(request.sandbox_id)
        return self._handle(request, root, user, admin, base_bytes=tree_bytes(root), **info)

    def _wait_ready(self, handle: SandboxHandle) -> None:
        wait_until(lambda: answers(handle.engine, handle.user_url), READY_DEADLINE_S,
                   f"waiting for {handle.engine} sandbox {handle.sandbox_id}")

    # -- the rest of the protocol ----------------------------------------------------
    def destroy(self, handle: SandboxHandle) -> None:
        self.remove_by_id(handle.sandbox_id, engine=handle.engine)

    def snapshot(self, handle: SandboxHandle, out: Path) -> None:
        write_snapshot(handle, out)

    def forget_template(self, digest: str) -> None:
        """Delete what was made once per dump ``digest``: the prepared PostgreSQL cluster
        (with its spare copy) and the seeded Chroma directory. Sandboxes made from them
        are copies and keep running."""
        key = dump_key(digest)
        if not key:
            return
        self.postgres.drop_prepared(key)
        shutil.rmtree(self._chroma_cache(key), ignore_errors=True)

    def publish(self, handle: SandboxHandle) -> str:
        self.revive(handle.sandbox_id)
        return handle.user_url

    def list_running(self) -> dict[str, dict[str, str]]:
        """Every registered sandbox (the reaper's scan); servers that should run but do
        not (stopped by ``dbplay down``) are started again on their port."""
        records = self.registry.all()
        for sandbox_id in records:
            try:
                self.revive(sandbox_id)
            except DBPlayError as exc:
                log.warning("could not restart local sandbox %s: %s", sandbox_id, exc)
        return {sandbox_id: dict(record.get("labels", {}))
                for sandbox_id, record in records.items()}

    def remove_by_id(self, sandbox_id: str, engine: str | None = None) -> None:
        if not _SANDBOX_ID.fullmatch(sandbox_id):
            return
        record = self.registry.read(sandbox_id)
        if engine is None:
            engine = record["labels"]["engine"] if record else None
        with file_lock(self.layout.lock(f"sandbox-{sandbox_id}")):
            for kind in [engine] if engine else self.engines():
                self._remove(kind, sandbox_id)
            self.registry.delete(sandbox_id)
        self.layout.lock(f"sandbox-{sandbox_id}").unlink(missing_ok=True)

    def _remove(self, engine: str, sandbox_id: str) -> None:
        """Stop the sandbox's server and delete its storage. Idempotent."""
        if engine == "sqlite":
            shutil.rmtree(self.sqlite_dir / sandbox_id, ignore_errors=True)
            for suffix in ("", *COMPANION_SUFFIXES):  # the older one-folder layout
                (self.sqlite_dir / f"{sandbox_id}.sqlite{suffix}").unlink(missing_ok=True)
        elif engine == "chroma":
            shutil.rmtree(self.chroma_dir / sandbox_id, ignore_errors=True)
        elif engine == "postgres":
            self.postgres.remove(sandbox_id)
        elif engine == "mongodb":
            self.mongo.remove(sandbox_id)

    # -- servers: restart, stop, storage cap --------------------------------------------
    def revive(self, sandbox_id: str) -> bool:
        """Start the server of a registered, not halted sandbox that does not run."""
        record = self.registry.read(sandbox_id)
        server = (record or {}).get("server")
        if not server or record is None or record.get("halted") \
                or server["engine"] not in _SERVER_ENGINES:
            return False
        with file_lock(self.layout.lock(f"sandbox-{sandbox_id}")):
            if self.registry.read(sandbox_id) is None:
                return False  # removed meanwhile
            port = int(server["port"])
            if server["engine"] == "postgres":
                return self.postgres.start(sandbox_id, port)
            return self.mongo.start(sandbox_id, port)

    def stop_all(self) -> list[str]:
        """Stop every sandbox server of this home (data is kept); returns which ran."""
        stopped = []
        for sandbox_id, record in self.registry.all().items():
            engine = record.get("labels", {}).get("engine")
            if engine not in _SERVER_ENGINES:
                continue
            with file_lock(self.layout.lock(f"sandbox-{sandbox_id}")):
                ran = self.postgres.stop(sandbox_id) if engine == "postgres" \
                    else self.mongo.stop(sandbox_id)
                if ran:
                    stopped.append(f"{engine} sandbox {sandbox_id}")
        return stopped

    def keep(self) -> list[str]:
        """One keeper pass: stop (and report) sandboxes past their storage cap, restart
        stopped ones. Returns the ids stopped for their storage."""
        over = []
        for sandbox_id, record in self.registry.all().items():
            server = record.get("server")
            if not server or record.get("halted") or server["engine"] not in _SERVER_ENGINES:
                continue
            base = int(server.get("base_bytes", 0))
            used = tree_bytes(Path(server["ref"]))
            if used - base > self.storage_bytes:
                reason = over_cap_reason(used, base, self.storage_bytes)
                self.halt(sandbox_id, reason)
                over.append(sandbox_id)
                if self.on_event is not None:
                    self.on_event(sandbox_id, "died", reason)
            else:
                outcome = self.recover(sandbox_id)
                if outcome is not None and self.on_event is not None:
                    self.on_event(sandbox_id, *outcome)
        return over

    def recover(self, sandbox_id: str) -> tuple[str, str] | None:
        """Start again the server of a sandbox that should run but does not (killed at
        its memory limit, crashed): ``("restarting", reason)`` when it runs again with
        its data, ``("died", reason)`` when it cannot start (the sandbox is halted until
        reset), None when it ran (or has no server)."""
        try:
            if not self.revive(sandbox_id):
                return None
        except DBPlayError as exc:
            reason = (f"its server stopped and could not be restarted ({exc.message}): "
                      "reset the sandbox to start again")
            self.halt(sandbox_id, reason)
            return "died", reason
        return "restarting", ("its server had stopped (killed at its memory limit, or "
                              "crashed); it restarts with its data")

    def halt(self, sandbox_id: str, reason: str) -> None:
        """Stop a sandbox's server for good (until reset): it stays registered."""
        log.warning("local sandbox %s %s", sandbox_id, reason)
        with file_lock(self.layout.lock(f"sandbox-{sandbox_id}")):
            self.registry.update(sandbox_id, halted=reason)
            self.postgres.stop(sandbox_id)
            self.mongo.stop(sandbox_id)

    def close(self) -> None:
        if self.keeper is not None:
            self.keeper.stop()


def stop_servers(home: Path) -> list[str]:
    """Stop every local sandbox server of ``home`` (data is kept); returns which ran."""
    if not (Path(home) / "sandboxes").is_dir():
        return []
    return LocalProvisioner(Path(home)).stop_all()


def purge_servers(home: Path) -> None:
    """Stop every server and delete the PostgreSQL clusters, which may live outside
    ``home`` when we are root (tests, ``dbplay down --purge``)."""
    stop_servers(home)
    layout = LocalLayout(Path(home))
    if running_as_root() and layout.pg_root.exists():
        shutil.rmtree(layout.pg_root, ignore_errors=True)


__all__ = ["LocalProvisioner", "purge_servers", "stop_servers"]
