"""What a sandbox container of each engine looks like, in one place.

A :class:`ContainerSpec` says which image runs an engine (official or offline build),
which environment it needs, the port it listens on inside the sandbox network, how the
orchestrator's administrative URL and the user's URL are formed, what happens after a
dump is restored and when a sandbox is handed to its owner (``claim``), and the default
resource limits. :mod:`orchestrator.sandboxes.docker.provisioner` only ever reads these.

PostgreSQL has two roles (created at image build time by ``compose/postgres/setup-cluster.sh``):
``dbplay_admin`` (superuser, the orchestrator's connection; its password is set from
``DBPLAY_ADMIN_PASSWORD`` when the container starts) and ``sandbox`` (``NOSUPERUSER
NOCREATEDB NOCREATEROLE``, no server-file or program roles, may connect only to the
``sandbox`` database; it has no password until the sandbox is claimed, then the request's).

No user-written SQL runs as ``dbplay_admin``: a template's dump is restored through the
``sandbox`` role (:meth:`ContainerSpec.restore_url`; it owns the database and schema
``public``, so the dump's objects are the user's own and a dump needing more rights fails),
and every administrative connection pins ``search_path`` to ``pg_catalog, pg_temp`` in its
start-up packet, which beats any ``ALTER ROLE/DATABASE ... SET search_path`` a user made.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote

from engines.chroma.descriptor import CHROMA
from engines.errors import InvalidRequest, ProvisionError
from engines.mongodb.descriptor import MONGODB
from engines.postgres.descriptor import POSTGRES
from engines.registry import connect, descriptor_for

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

    def user_secret(self, password: str, admin_password: str) -> str:
        """The secret the owner's URLs carry: the request's password, unless the engine
        cannot take one after start-up (Chroma: its token is fixed when the container
        starts, so it is the container's own random secret)."""
        return password

    def connection_info(self) -> dict[str, bool]:
        """What a handle's ``info`` says about connecting: ``auth`` (the server asks for
        credentials) and ``standin`` (the offline MongoDB stand-in)."""
        return {"auth": True, "standin": False}

    def restore_url(self, admin_url: str, host: str, port: int) -> str:
        """Make a fresh container ready to load a template's dump and return the URL to
        restore it through (before baking). Default: the admin URL."""
        return admin_url

    def after_restore(self, admin_url: str, restore_url: str) -> None:
        """Runs once after a dump was restored through ``restore_url`` (before baking)."""

    def claim(self, admin_url: str, password: str) -> None:
        """Hand a running, ready container to its owner: enable ``password`` for the user."""


#: pinned in every administrative connection's start-up packet (a client setting wins over
#: role and database defaults): a user's ``ALTER ROLE/DATABASE ... SET search_path`` and
#: objects in ``public`` can never shadow what the orchestrator calls
ADMIN_OPTIONS = "options=" + quote("-csearch_path=pg_catalog,pg_temp", safe="")

#: after a restore (as superuser, on the owner role's behalf): the baked image keeps no
#: password and none of the role or database defaults the dump may have set (the
#: statement_timeout is the one compose/postgres/setup-cluster.sh gives the role)
_RESET_OWNER_SQL = """
ALTER ROLE sandbox PASSWORD NULL;
ALTER ROLE sandbox RESET ALL;
ALTER ROLE sandbox IN DATABASE sandbox RESET ALL;
ALTER ROLE sandbox SET statement_timeout = '5min';
ALTER DATABASE sandbox RESET ALL;
ALTER DATABASE sandbox CONNECTION LIMIT -1;
"""


#: PostgreSQL's own hook (``fork_process``): every child of the postmaster writes 1000 to
#: its ``oom_score_adj`` right after fork, so when a statement takes the container past its
#: memory limit the kernel kills that backend, never the postmaster (which stays at the
#: container's 0: lowering it below 0 would need privileges). The postmaster then recovers
#: in about a second and the sandbox, with its committed data, answers again.
POSTGRES_OOM_ENVIRONMENT = {"PG_OOM_ADJUST_FILE": "/proc/self/oom_score_adj",
                            "PG_OOM_ADJUST_VALUE": "1000"}


def _run_script(kind: str, url: str, script: str) -> None:
    with connect(kind, url, timeout_s=120) as engine:
        results = engine.execute(script)
    failed = [r for r in results if r.error is not None]
    if failed:
        raise ProvisionError(f"{kind} statement failed: {failed[0].error}")


@dataclass(frozen=True)
class PostgresSpec(ContainerSpec):
    engine: ClassVar[str] = POSTGRES.kind
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
        return {self.admin_password_env: check_admin_password(admin_password),
                **POSTGRES_OOM_ENVIRONMENT}

    def _url(self, user: str, password: str, host: str, port: int) -> str:
        return f"postgresql://{user}:{quote(password, safe='')}@{host}:{port}/{self.database}"

    def admin_url(self, host: str, port: int, admin_password: str) -> str:
        return f"{self._url(self.admin_user, admin_password, host, port)}?{ADMIN_OPTIONS}"

    def user_url(self, host: str, port: int, password: str) -> str:
        return self._url(self.user, password, host, port)

    def restore_url(self, admin_url: str, host: str, port: int) -> str:
        """The owner role, with a one-off password: the dump runs with the rights user
        statements have (trusted extensions included, nothing a superuser may)."""
        password = secrets.token_urlsafe(24)
        self.claim(admin_url, password)
        return self.user_url(host, port, password)

    def after_restore(self, admin_url: str, restore_url: str) -> None:
        _run_script(self.engine, restore_url, "ANALYZE")  # as the owner of every table
        _run_script(self.engine, admin_url, _RESET_OWNER_SQL)

    def claim(self, admin_url: str, password: str) -> None:
        _run_script(self.engine, admin_url,
                    f"ALTER ROLE {self.user} PASSWORD {sql_literal(check_password(password))}")


@dataclass(frozen=True)
class MongoSpec(ContainerSpec):
    """Official ``mongo:7`` with authentication, or the nx-27017 stand-in (no auth)."""

    engine: ClassVar[str] = MONGODB.kind
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

    def connection_info(self) -> dict[str, bool]:
        return {"auth": self.authenticated, "standin": not self.authenticated}

    def admin_url(self, host: str, port: int, admin_password: str) -> str:
        if not self.authenticated:
            return f"mongodb://{host}:{port}/{self.database}"
        return (f"mongodb://{self.admin_user}:{admin_password}@{host}:{port}/{self.database}"
                "?authSource=admin")

    def user_url(self, host: str, port: int, password: str) -> str:
        if not self.authenticated:
            return f"mongodb://{host}:{port}/{self.database}"
        return (f"mongodb://sandbox:{quote(password, safe='')}@{host}:{port}/{self.database}"
                f"?authSource={self.database}")

    def claim(self, admin_url: str, password: str) -> None:
        if not self.authenticated:
            return
        import pymongo  # the driver, only when a real MongoDB is used

        client: Any = pymongo.MongoClient(admin_url, serverSelectionTimeoutMS=5000)
        try:
            db = client[self.database]
            command = "updateUser" if db.command("usersInfo", "sandbox")["users"] else "createUser"
            extra = {} if command == "updateUser" else {
                # its own database only: reads and writes, and collMod/createIndex (the
                # schema designer's validators and indexes), as the local provisioner grants
                "roles": [{"role": "readWrite", "db": self.database},
                          {"role": "dbAdmin", "db": self.database}]}
            db.command(command, "sandbox", pwd=check_password(password), **extra)
        finally:
            client.close()


@dataclass(frozen=True)
class ChromaSpec(ContainerSpec):
    """Chroma behind the image's token proxy (``compose/chroma/token-proxy.py``): Chroma
    1.x's server has no authentication of its own. The token is the container's random
    admin secret, set when it starts; every URL carries it as the password of its user
    part (``chroma+http://:TOKEN@host:port``), which the adapter sends as
    ``X-Chroma-Token`` and curl sends as HTTP Basic; both pass the proxy."""

    engine: ClassVar[str] = CHROMA.kind
    images: ClassVar[dict[str, str]] = {OFFICIAL: "dbplay/chroma:official",
                                        OFFLINE: "dbplay/chroma:latest"}
    port: ClassVar[int] = 8000
    data_dir: ClassVar[str] = "/dbplay-data"
    admin_password_env: ClassVar[str] = "CHROMA_SANDBOX_TOKEN"
    compose_dir: ClassVar[str] = "chroma"

    def environment(self, admin_password: str) -> dict[str, str]:
        return {self.admin_password_env: check_admin_password(admin_password)}

    def user_secret(self, password: str, admin_password: str) -> str:
        return admin_password

    def admin_url(self, host: str, port: int, admin_password: str) -> str:
        return chroma_url("chroma+http", host, port, admin_password)

    def user_url(self, host: str, port: int, password: str) -> str:
        return chroma_url("chroma+http", host, port, password)

    def public_url(self, host: str, port: int, password: str) -> str:
        return chroma_url("http", host, port, password)


def chroma_url(scheme: str, host: str, port: int, token: str) -> str:
    """A Chroma server URL carrying its token (see :class:`ChromaSpec`)."""
    return f"{scheme}://:{quote(token, safe='')}@{host}:{port}"


def spec_for(engine: str, source: str) -> ContainerSpec:
    """The container spec of ``engine`` for images from ``source``."""
    source = normalize_source(source)
    if engine == PostgresSpec.engine:
        return PostgresSpec()
    if engine == MongoSpec.engine:
        return MongoSpec(authenticated=source == OFFICIAL)
    if engine == ChromaSpec.engine:
        return ChromaSpec(limits=Limits(memory_bytes=768 * MiB))
    raise InvalidRequest(f"engine {engine!r} has no container image; "
                         f"{descriptor_for(engine).label} sandboxes run on the local provisioner")


#: the engines with a container image, in display order
CONTAINER_ENGINES = [spec.engine for spec in (PostgresSpec, MongoSpec, ChromaSpec)]
