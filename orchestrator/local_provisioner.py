"""The local (embedded) provisioner: sandboxes without a Docker engine.

Where each engine's sandboxes live, under the provisioner's home:

* ``sqlite`` - one file per sandbox, ``sqlite/<id>.sqlite``, seeded with the adapter's
  ``restore`` (the SQLite backup API for a database-file dump);
* ``chroma`` - one embedded (``chroma+file://``) directory per sandbox, ``chroma/<id>``,
  copied from a seeded copy cached per dump digest (``chroma/cache/<digest>``);
* ``postgres`` - a database and a role ``sb_<id>`` in one shared local cluster built
  from the host's PostgreSQL binaries (see :mod:`orchestrator.local_postgres`);
* ``mongodb`` - a database ``sb_<id>`` on one shared ``mongod`` or ``nx-27017`` stand-in.

**Isolation is weaker than Docker's.** PostgreSQL and MongoDB sandboxes share one server
process each: a heavy query in one sandbox slows the others, a sandbox can see the names
of other databases in catalogs, there are no memory or CPU limits, the MongoDB server
has no authentication (it listens on 127.0.0.1 only), and SQLite/Chroma sandboxes are
plain files of the orchestrator's OS user. PostgreSQL sandboxes do run as a
non-superuser role confined to their own database. The local provisioner is meant for a
single self-hosting user or for development; multi-user deployments should use Docker.

Every sandbox has a small JSON record in ``sandboxes/<id>.json`` (labels: owner,
template, expires_at, engine) written *before* anything is created, so the reaper
finds sandboxes orphaned by a crash; a failed ``create`` removes what it made and the
record.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from engines import connect
from engines.errors import Conflict, DBPlayError, InvalidRequest, ProvisionError, RestoreError
from orchestrator.local_postgres import PostgresSandboxes
from orchestrator.local_process import answers, wait_until
from orchestrator.local_servers import (
    MongoServer,
    PostgresCluster,
    find_mongo_server,
    find_postgres_bin,
)
from orchestrator.local_servers import stop_servers as stop_servers
from orchestrator.provisioning import SandboxHandle, SandboxRequest

log = logging.getLogger(__name__)

READY_DEADLINE_S = 30.0
_SANDBOX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")


def _db_name(sandbox_id: str) -> str:
    """The database (and PostgreSQL role) name of a sandbox."""
    return "sb_" + sandbox_id.lower().replace("-", "_")


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Registry:
    """One JSON file per sandbox: its labels and, once started, its handle."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, sandbox_id: str) -> Path:
        return self.directory / f"{sandbox_id}.json"

    def write(self, sandbox_id: str, record: dict[str, Any]) -> None:
        path = self._path(sandbox_id)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(record, indent=2))
        os.replace(tmp, path)

    def read(self, sandbox_id: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self._path(sandbox_id).read_text())
        except (OSError, ValueError):
            return None
        return data

    def delete(self, sandbox_id: str) -> None:
        self._path(sandbox_id).unlink(missing_ok=True)

    def all(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for path in sorted(self.directory.glob("*.json")):
            record = self.read(path.stem)
            if record is not None:
                found[path.stem] = record
        return found


class LocalProvisioner:
    """The :class:`~orchestrator.provisioning.Provisioner` for a machine without Docker."""

    name = "local"

    def __init__(self, home: Path, *, postgres_bin: Path | None = None) -> None:
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.registry = Registry(self.home / "sandboxes")
        self.cluster = PostgresCluster(self.home, find_postgres_bin(postgres_bin))
        self.postgres = PostgresSandboxes(self.cluster)
        self.mongo = MongoServer(self.home, find_mongo_server())
        self.sqlite_dir = self.home / "sqlite"
        self.chroma_dir = self.home / "chroma"

    def engines(self) -> list[str]:
        kinds = []
        if self.cluster.bin_dir is not None:
            kinds.append("postgres")
        if self.mongo.executable is not None:
            kinds.append("mongodb")
        return [*kinds, "chroma", "sqlite"]

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
        self.registry.write(request.sandbox_id, {"labels": labels, "handle": None})
        try:
            handle = self._start(request)
            self._wait_ready(handle)
        except BaseException as exc:
            try:
                self._remove(request.engine, request.sandbox_id)
            except Exception:
                log.exception("cleaning up after failed sandbox %s", request.sandbox_id)
            else:
                self.registry.delete(request.sandbox_id)
            if isinstance(exc, (RestoreError, ProvisionError, InvalidRequest)):
                raise
            if isinstance(exc, Exception):
                message = exc.message if isinstance(exc, DBPlayError) else str(exc)
                raise ProvisionError(
                    f"could not start {request.engine} sandbox {request.sandbox_id}: {message}"
                ) from exc
            raise
        self.registry.write(request.sandbox_id, {"labels": labels, "handle": handle.to_dict()})
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
        digest = re.sub(r"[^0-9a-f]", "", request.dump_digest.lower().split(":")[-1])
        return digest[:40] if len(digest) >= 16 else _file_digest(request.dump_path)[:40]

    def _start_sqlite(self, request: SandboxRequest) -> SandboxHandle:
        self.sqlite_dir.mkdir(parents=True, exist_ok=True)
        path = self.sqlite_dir / f"{request.sandbox_id}.sqlite"
        url = f"sqlite:///{path}"
        with connect("sqlite", url) as engine:
            if request.dump_path is not None:
                engine.restore(request.dump_path)
            else:
                engine.execute("PRAGMA user_version = 0")  # creates the file
        return self._handle(request, path, url, url, path=str(path))

    def _start_chroma(self, request: SandboxRequest) -> SandboxHandle:
        target = self.chroma_dir / request.sandbox_id
        if request.dump_path is None:
            target.mkdir(parents=True)
        else:
            shutil.copytree(self._chroma_seeded(request), target)
        url = f"chroma+file://{target}"
        return self._handle(request, target, url, url, path=str(target))

    def _chroma_seeded(self, request: SandboxRequest) -> Path:
        """A directory holding the dump restored, made once per dump digest. Processes
        racing to make it each restore into a private directory; the first rename wins."""
        assert request.dump_path is not None
        cache = self.chroma_dir / "cache" / self._digest(request)
        if cache.is_dir():
            return cache
        building = cache.with_name(f".{cache.name}.{uuid.uuid4().hex}")
        building.mkdir(parents=True)
        try:
            with connect("chroma", f"chroma+file://{building}") as engine:
                engine.restore(request.dump_path)
            try:
                os.rename(building, cache)
            except OSError:  # another process made it first
                if not cache.is_dir():
                    raise
        finally:
            shutil.rmtree(building, ignore_errors=True)
        return cache

    def _start_postgres(self, request: SandboxRequest) -> SandboxHandle:
        self.cluster.ensure_running()
        name = _db_name(request.sandbox_id)
        template = None
        if request.dump_path is not None:
            template = self.postgres.template_for(request.dump_path, self._digest(request))
        self.postgres.create(name, request.password, template)
        return self._handle(request, self.cluster.data_dir,
                            self.postgres.user_url(name, request.password),
                            self.postgres.admin_url(name), database=name, template_db=template)

    def _start_mongo(self, request: SandboxRequest) -> SandboxHandle:
        self.mongo.ensure_running()
        name = _db_name(request.sandbox_id)
        url = self.mongo.url(name)
        if request.dump_path is not None:
            with connect("mongodb", url) as engine:
                engine.restore(request.dump_path)
        return self._handle(request, self.mongo.data_dir, url, url, database=name)

    def _wait_ready(self, handle: SandboxHandle) -> None:
        wait_until(lambda: answers(handle.engine, handle.user_url), READY_DEADLINE_S,
                   f"waiting for {handle.engine} sandbox {handle.sandbox_id}")

    # -- the rest of the protocol ----------------------------------------------------
    def destroy(self, handle: SandboxHandle) -> None:
        self._remove(handle.engine, handle.sandbox_id)
        self.registry.delete(handle.sandbox_id)

    def snapshot(self, handle: SandboxHandle, out: Path) -> None:
        with connect(handle.engine, handle.admin_url) as engine:
            engine.dump(out)

    def publish(self, handle: SandboxHandle) -> str:
        return handle.user_url

    def list_running(self) -> dict[str, dict[str, str]]:
        return {sandbox_id: dict(record.get("labels", {}))
                for sandbox_id, record in self.registry.all().items()}

    def remove_by_id(self, sandbox_id: str) -> None:
        if not _SANDBOX_ID.fullmatch(sandbox_id):
            return
        record = self.registry.read(sandbox_id)
        engines = [record["labels"]["engine"]] if record else self.engines()
        for engine in engines:
            self._remove(engine, sandbox_id)
        self.registry.delete(sandbox_id)

    def _remove(self, engine: str, sandbox_id: str) -> None:
        """Delete whatever exists of a sandbox's storage. Idempotent."""
        name = _db_name(sandbox_id)
        if engine == "sqlite":
            for suffix in ("", "-journal", "-wal", "-shm"):
                (self.sqlite_dir / f"{sandbox_id}.sqlite{suffix}").unlink(missing_ok=True)
        elif engine == "chroma":
            shutil.rmtree(self.chroma_dir / sandbox_id, ignore_errors=True)
        elif engine == "postgres" and self.cluster.is_initialized():
            self.cluster.ensure_running()
            self.postgres.drop(name)
        elif engine == "mongodb" and self.mongo.data_dir.is_dir():
            self._drop_mongo(name)

    def _drop_mongo(self, name: str) -> None:
        import pymongo

        self.mongo.ensure_running()
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            self.mongo.url(name), serverSelectionTimeoutMS=5000)
        try:
            client.drop_database(name)
        finally:
            client.close()
        if self.mongo.is_standin:  # the stand-in keeps one SQLite file per database
            for path in self.mongo.data_dir.glob(f"{name}.db*"):
                with contextlib.suppress(OSError):
                    path.unlink()


__all__ = ["LocalProvisioner", "stop_servers"]
