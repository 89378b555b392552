"""PostgreSQL sandboxes inside the local cluster (see ``PostgresCluster``).

* A template's dump is restored **once** into a template database ``tpl_<digest>``
  (through the engine adapter's ``restore``, as the superuser). Its objects are then
  handed to the NOLOGIN role ``dbplay_owner``, and the database is frozen
  (``IS_TEMPLATE``, ``ALLOW_CONNECTIONS false``) so nobody can be connected to it
  when it is cloned.
* A sandbox is a role and a database of the same name, ``sb_<id>``: the role is a
  plain login role (no superuser, createdb, createrole, replication or bypassrls) with
  the sandbox's password; the database is ``CREATE DATABASE ... TEMPLATE tpl_<digest>``
  owned by it, CONNECT revoked from PUBLIC, and ``REASSIGN OWNED BY dbplay_owner``
  gives it the cloned tables, views, functions and types. ``pg_hba.conf`` (``sameuser``)
  also keeps every sandbox role out of every other database.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from engines import connect
from orchestrator.local_servers import PG_SUPERUSER, PG_TEMPLATE_OWNER, PostgresCluster, file_lock

#: hands every user object of the current database owned by the superuser to the
#: template owner role (extension members and system schemas stay as they are)
_HAND_OVER = """
DO $hand_over$
DECLARE
    r record;
    su oid := '{superuser}'::regrole;
BEGIN
    FOR r IN SELECT n.nspname FROM pg_namespace n
             WHERE n.nspowner = su AND n.nspname <> 'information_schema'
               AND n.nspname NOT LIKE 'pg\\_%'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                               AND d.objid = n.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO {owner}', r.nspname);
    END LOOP;
    FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relowner = su AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
               AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                               AND d.objid = c.oid AND (d.deptype = 'e' OR (c.relkind = 'S'
                                   AND d.deptype IN ('a', 'i'))))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO {owner}',
                       CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                      WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE'
                                      ELSE 'TABLE' END, r.name);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS name, p.prokind FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE p.proowner = su AND n.nspname <> 'information_schema'
               AND n.nspname NOT LIKE 'pg\\_%'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                               AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO {owner}',
                       CASE r.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE'
                                      ELSE 'FUNCTION' END, r.name);
    END LOOP;
    FOR r IN SELECT t.oid::regtype AS name, t.typtype FROM pg_type t
             JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE t.typowner = su AND t.typtype IN ('e', 'd', 'r', 'c')
               AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
               AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                               AND d.objid = t.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO {owner}',
                       CASE r.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, r.name);
    END LOOP;
END
$hand_over$
"""


class PostgresSandboxes:
    """Creates and drops sandbox databases (and their roles) in the local cluster."""

    def __init__(self, cluster: PostgresCluster) -> None:
        self.cluster = cluster

    # -- URLs ----------------------------------------------------------------
    def user_url(self, name: str, password: str) -> str:
        port = self.cluster.port()
        return f"postgresql://{name}:{quote(password, safe='')}@127.0.0.1:{port}/{name}"

    def admin_url(self, name: str) -> str:
        return self.cluster.admin_url(name)

    @contextlib.contextmanager
    def _admin(self, database: str = "postgres") -> Iterator[Any]:
        import psycopg2

        conn = psycopg2.connect(self.cluster.admin_url(database))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                yield cur
        finally:
            conn.close()

    # -- template databases --------------------------------------------------
    def template_for(self, dump_path: Path, digest: str) -> str:
        """The template database holding ``dump_path``, restored on first use."""
        from psycopg2 import sql

        name = f"tpl_{digest[:40]}"
        with file_lock(self.cluster.root / "locks" / f"{name}.lock"):
            with self._admin() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s AND datistemplate",
                            (name,))
                if cur.fetchone():
                    return name
                building = sql.Identifier(f"{name}_new")
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(building))
                cur.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(building))
            try:
                self._seed(f"{name}_new", dump_path)
                with self._admin() as cur:
                    cur.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        building, sql.Identifier(name)))
                    cur.execute(sql.SQL(
                        "ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"
                    ).format(sql.Identifier(name)))
                    cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(
                        sql.Identifier(name)))
            except BaseException:
                with self._admin() as cur:
                    cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(building))
                raise
        return name

    def _seed(self, database: str, dump_path: Path) -> None:
        """Restore the dump through the adapter, then hand its objects to the template
        owner. Every connection is closed on return: the database is cloned next."""
        with connect("postgres", self.cluster.admin_url(database)) as engine:
            engine.restore(dump_path)
        with self._admin(database) as cur:
            cur.execute(_HAND_OVER.replace("{owner}", PG_TEMPLATE_OWNER)
                        .replace("{superuser}", PG_SUPERUSER))

    def drop_template(self, digest: str) -> None:
        from psycopg2 import sql

        name = f"tpl_{digest[:40]}"
        with self._admin() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))

    # -- sandboxes -----------------------------------------------------------
    def create(self, name: str, password: str, template: str | None) -> None:
        """Role + database ``name``, cloned from ``template`` (``None``: empty)."""
        from psycopg2 import sql

        ident = sql.Identifier(name)
        with self._admin() as cur:
            cur.execute(sql.SQL(
                "CREATE ROLE {} LOGIN PASSWORD %s NOSUPERUSER NOCREATEDB NOCREATEROLE "
                "NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 32"
            ).format(ident), (password,))
            cur.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                ident, sql.Identifier(template or "template0"), ident))
            cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(ident))
            cur.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                ident, ident))
        if template is not None:
            with self._admin(name) as cur:
                cur.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(
                    sql.Identifier(PG_TEMPLATE_OWNER), ident))

    def drop(self, name: str) -> None:
        """Drop the sandbox's database and role (closing its sessions). Idempotent."""
        from psycopg2 import sql

        ident = sql.Identifier(name)
        with self._admin() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(ident))

    def exists(self, name: str) -> tuple[bool, bool]:
        """(database exists, role exists) for a sandbox name."""
        with self._admin() as cur:
            cur.execute("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = %s), "
                        "EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", (name, name))
            row = cur.fetchone()
        return bool(row[0]), bool(row[1])

