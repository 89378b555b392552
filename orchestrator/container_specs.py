"""What a sandbox container of each engine looks like, in one place.

A :class:`ContainerSpec` says which image runs an engine (official or offline build),
which environment it needs, the port it listens on inside the sandbox network, how the
orchestrator's administrative URL and the user's URL are formed, what happens after a
dump is restored and when a sandbox is handed to its owner (``claim``), and the default
resource limits. :mod:`orchestrator.docker_provisioner` only ever reads these.

PostgreSQL has two roles (created at image build time by ``compose/postgres/setup-cluster.sh``):
``dbplay_admin`` (superuser, the orchestrator's connection; its password is set from
``DBPLAY_ADMIN_PASSWORD`` when the container starts) and ``sandbox`` (``NOSUPERUSER
NOCREATEDB NOCREATEROLE``, no server-file or program roles, may connect only to the
``sandbox`` database; it has no password until the sandbox is claimed, then the request's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote

from engines import connect
from engines.errors import InvalidRequest, ProvisionError

MiB = 1024 * 1024

#: image sources: the official images (machines with a registry) or the offline builds
OFFICIAL = "official"
OFFLINE = "offline"
_SOURCE_ALIASES = {"official": OFFICIAL, "registry": OFFICIAL, "offline": OFFLINE,
                   "build": OFFLINE}

_ADMIN_PASSWORD = re.compile(r"[A-Za-z0-9_-]{8,128}")


def normalize_source(source: str) -> str:
    """``official``/``registry`` or ``offline``/``build``; ``auto`` is resolved elsewhere."""
    try:
        return _SOURCE_ALIASES[source]
    except KeyError:
        raise InvalidRequest(
            f"unknown image source {source!r}; use official, offline or auto") from None


def check_password(password: str) -> str:
    """A sandbox password: any printable text up to 256 characters (quoted where used)."""
    if not password or len(password) > 256 or not password.isprintable():
        raise InvalidRequest("sandbox password must be 1-256 printable characters")
    return password


def check_admin_password(password: str) -> str:
    """Admin passwords are generated here and pass through container environments and a
    shell script: insist on a safe alphabet."""
    if not _ADMIN_PASSWORD.fullmatch(password):
        raise InvalidRequest("admin password must be 8-128 characters of [A-Za-z0-9_-]")
    return password


def sql_literal(text: str) -> str:
    """A PostgreSQL string literal (``standard_conforming_strings`` is on)."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Limits:
    """Per-sandbox resource limits (defaults per engine, overridable per provisioner)."""

    memory_bytes: int = 256 * MiB
    cpus: float = 1.0
    pids: int = 128
    storage_bytes: int = 1024 * MiB


@dataclass(frozen=True)
class ContainerSpec:
    """How to run one engine in a container. Subclasses fill in the engine specifics."""

    engine: ClassVar[str]
    images: ClassVar[dict[str, str]]
    port: ClassVar[int]
    #: where the data lives inside the container: a plain directory, never a VOLUME
    data_dir: ClassVar[str]
    #: the environment variable carrying the admin password ("" when there is none)
    admin_password_env: ClassVar[str] = ""
    #: the directory under ``compose/`` holding the official image's Dockerfile
    compose_dir: ClassVar[str]
    limits: Limits = field(default_factory=Limits)

    def image(self, source: str) -> str:
        return self.images[normalize_source(source)]

    def environment(self, admin_password: str) -> dict[str, str]:
        return {}

    def admin_url(self, host: str, port: int, admin_password: str) -> str:
        raise NotImplementedError

    def user_url(self, host: str, port: int, password: str) -> str:
        raise NotImplementedError

    def public_url(self, host: str, port: int, password: str) -> str:
        """The connection string for the owner's own tools (psql, mongosh, an HTTP client)."""
        return self.user_url(host, port, password)

    def after_restore(self, admin_url: str) -> None:
        """Runs once after a dump was restored through ``admin_url`` (before baking)."""

    def claim(self, admin_url: str, password: str) -> None:
        """Hand a running, ready container to its owner: enable ``password`` for the user."""


_OWNERSHIP_SQL = """
DO $dbplay$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT format('ALTER SCHEMA %I OWNER TO sandbox', n.nspname) AS stmt
          FROM pg_namespace n
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname !~ '^pg_(toast|temp)'
        UNION ALL
        SELECT format('ALTER TABLE %s OWNER TO sandbox', c.oid::regclass)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')
           AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname !~ '^pg_(toast|temp)'
        UNION ALL
        SELECT format('ALTER SEQUENCE %s OWNER TO sandbox', c.oid::regclass)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'S'
           AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass
                              AND d.refclassid = 'pg_class'::regclass
                              AND d.deptype IN ('a', 'i'))
        UNION ALL
        SELECT format('ALTER %s %s OWNER TO sandbox',
                      CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE'
                                     ELSE 'FUNCTION' END,
                      p.oid::regprocedure)
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
        UNION ALL
        SELECT format('ALTER TYPE %s OWNER TO sandbox', t.oid::regtype)
          FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND (t.typtype IN ('d', 'e', 'r', 'm')
                OR (t.typtype = 'c'
                    AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
    LOOP
        BEGIN
            EXECUTE r.stmt;
        EXCEPTION WHEN others THEN
            RAISE WARNING 'dbplay: % failed: %', r.stmt, SQLERRM;
        END;
    END LOOP;
END
$dbplay$;
ANALYZE;
"""


def _run_admin(kind: str, admin_url: str, script: str) -> None:
    with connect(kind, admin_url, timeout_s=120) as engine:
        results = engine.execute(script)
    failed = [r for r in results if r.error is not None]
    if failed:
        raise ProvisionError(f"{kind} admin statement failed: {failed[0].error}")


@dataclass(frozen=True)
class PostgresSpec(ContainerSpec):
    engine: ClassVar[str] = "postgres"
    images: ClassVar[dict[str, str]] = {OFFICIAL: "dbplay/postgres:15-official",
                                        OFFLINE: "dbplay/postgres:15"}
    port: ClassVar[int] = 5432
    data_dir: ClassVar[str] = "/pgdata"
    admin_password_env: ClassVar[str] = "DBPLAY_ADMIN_PASSWORD"
    compose_dir: ClassVar[str] = "postgres"
    database: ClassVar[str] = "sandbox"
    user: ClassVar[str] = "sandbox"
    admin_user: ClassVar[str] = "dbplay_admin"

    def environment(self, admin_password: str) -> dict[str, str]:
        return {self.admin_password_env: check_admin_password(admin_password)}

    def _url(self, user: str, password: str, host: str, port: int) -> str:
        return f"postgresql://{user}:{quote(password, safe='')}@{host}:{port}/{self.database}"

    def admin_url(self, host: str, port: int, admin_password: str) -> str:
        return self._url(self.admin_user, admin_password, host, port)

    def user_url(self, host: str, port: int, password: str) -> str:
        return self._url(self.user, password, host, port)

    def after_restore(self, admin_url: str) -> None:
        # The restore ran as the superuser: hand every object to the sandbox role.
        _run_admin(self.engine, admin_url, _OWNERSHIP_SQL)

    def claim(self, admin_url: str, password: str) -> None:
        _run_admin(self.engine, admin_url,
                   f"ALTER ROLE {self.user} PASSWORD {sql_literal(check_password(password))}")


@dataclass(frozen=True)
class MongoSpec(ContainerSpec):
    """Official ``mongo:7`` with authentication, or the nx-27017 stand-in (no auth)."""

    engine: ClassVar[str] = "mongodb"
    images: ClassVar[dict[str, str]] = {OFFICIAL: "dbplay/mongo:7-official",
                                        OFFLINE: "dbplay/mongo-standin:latest"}
    port: ClassVar[int] = 27017
    data_dir: ClassVar[str] = "/dbplay-data"
    admin_password_env: ClassVar[str] = "MONGO_INITDB_ROOT_PASSWORD"
    compose_dir: ClassVar[str] = "mongo"
    database: ClassVar[str] = "sandbox"
    admin_user: ClassVar[str] = "dbplay_admin"
    #: the offline stand-in has no authentication: URLs carry no credentials
    authenticated: bool = True

    def environment(self, admin_password: str) -> dict[str, str]:
        if not self.authenticated:
            return {}
        return {"MONGO_INITDB_ROOT_USERNAME": self.admin_user,
                "MONGO_INITDB_ROOT_PASSWORD": check_admin_password(admin_password)}

    def admin_url(self, host: str, port: int, admin_password: str) -> str:
        if not self.authenticated:
            return f"mongodb://{host}:{port}/{self.database}"
        return (f"mongodb://{self.admin_user}:{admin_password}@{host}:{port}/{self.database}"
                "?authSource=admin")

    def user_url(self, host: str, port: int, password: str) -> str:
        if not self.authenticated:
            return f"mongodb://{host}:{port}/{self.database}"
        return f"mongodb://sandbox:{quote(password, safe='')}@{host}:{port}/{self.database}"

    def claim(self, admin_url: str, password: str) -> None:
        if not self.authenticated:
            return
        import pymongo  # the driver, only when a real MongoDB is used

        client: Any = pymongo.MongoClient(admin_url, serverSelectionTimeoutMS=5000)
        try:
            db = client[self.database]
            command = "updateUser" if db.command("usersInfo", "sandbox")["users"] else "createUser"
            extra = {} if command == "updateUser" else {
                "roles": [{"role": "readWrite", "db": self.database}]}
            db.command(command, "sandbox", pwd=check_password(password), **extra)
        finally:
            client.close()


@dataclass(frozen=True)
class ChromaSpec(ContainerSpec):
    """Chroma's server has no authentication: isolation is the network's job."""

    engine: ClassVar[str] = "chroma"
    images: ClassVar[dict[str, str]] = {OFFICIAL: "dbplay/chroma:official",
                                        OFFLINE: "dbplay/chroma:latest"}
    port: ClassVar[int] = 8000
    data_dir: ClassVar[str] = "/dbplay-data"
    compose_dir: ClassVar[str] = "chroma"

    def admin_url(self, host: str, port: int, admin_password: str) -> str:
        return f"chroma+http://{host}:{port}"

    def user_url(self, host: str, port: int, password: str) -> str:
        return f"chroma+http://{host}:{port}"

    def public_url(self, host: str, port: int, password: str) -> str:
        return f"http://{host}:{port}"


def spec_for(engine: str, source: str) -> ContainerSpec:
    """The container spec of ``engine`` for images from ``source``."""
    source = normalize_source(source)
    if engine == "postgres":
        return PostgresSpec()
    if engine == "mongodb":
        return MongoSpec(authenticated=source == OFFICIAL)
    if engine == "chroma":
        return ChromaSpec(limits=Limits(memory_bytes=768 * MiB))
    raise InvalidRequest(f"engine {engine!r} has no container image; "
                         "SQLite sandboxes run on the local provisioner")


CONTAINER_ENGINES = ["postgres", "mongodb", "chroma"]
