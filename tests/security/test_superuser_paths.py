"""No user-written SQL runs as a PostgreSQL superuser (issue 8, item 2), attacked for real
through the CLI and the worker processes, on each provisioner (``provisioned_stack``).

* a hostile template import (``COPY ... FROM PROGRAM``, ``ALTER ROLE ... SUPERUSER``,
  ``LANGUAGE c``, ``ALTER SYSTEM``, an untrusted extension) fails naming the statement and
  leaves no template, no dump, no container and no baked image behind;
* a snapshot restore evaluates the user's ``CHECK (user_function(a))`` as the sandbox's
  owner role, never as a superuser;
* the user's ``ALTER ROLE/DATABASE ... SET search_path = public, pg_catalog`` and their
  ``public.format_type(oid, int)`` (and other shadows of what the catalog queries call)
  never run during a schema read or a snapshot.
"""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from orchestrator.sandboxes.provisioners import installation_id
from tests.orchestrator.conftest import Stack

pytestmark = [pytest.mark.timeout(600)]

#: name -> (dump text, the line of the statement that needs more rights, words of it the
#: error must quote, words the reason must contain)
HOSTILE_DUMPS: dict[str, tuple[str, int, str, str]] = {
    "copy-from-program": (
        "CREATE TABLE public.pwned (line text);\n"
        "COPY public.pwned FROM PROGRAM 'id';\n", 2, "FROM PROGRAM", ""),
    "alter-role-superuser": (
        "CREATE TABLE public.kept (x integer);\n"
        "INSERT INTO public.kept VALUES (1);\n"
        "ALTER ROLE CURRENT_USER SUPERUSER;\n", 3, "ALTER ROLE CURRENT_USER SUPERUSER", ""),
    "function-in-c": (
        "CREATE FUNCTION public.run(cstring) RETURNS integer\n"
        "    LANGUAGE c AS 'libc.so.6', 'system';\n", 1, "CREATE FUNCTION public.run", ""),
    "alter-system": (
        "CREATE TABLE public.kept (x integer);\n"
        "ALTER SYSTEM SET log_min_messages = 'debug5';\n", 2, "ALTER SYSTEM", ""),
    "untrusted-extension": (
        "CREATE EXTENSION file_fdw;\n", 1, "CREATE EXTENSION file_fdw", "not trusted"),
}

#: a function that records who ran it, and refuses to go on as a superuser
_AUDIT = """
CREATE TABLE public.audit (who text, superuser boolean);
CREATE FUNCTION public.checked(a integer) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    su boolean := (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user);
BEGIN
    INSERT INTO public.audit VALUES (current_user, su);
    IF su THEN
        RAISE EXCEPTION 'checked() ran as the superuser %', current_user;
    END IF;
    RETURN a > 0;
END $$;
CREATE TABLE public.guarded (a integer CHECK (public.checked(a)));
INSERT INTO public.guarded VALUES (1);
"""

#: shadows of every function the catalog queries call, each recording the call
_SHADOWS = """
CREATE TABLE public.calls (fn text, who text, superuser boolean);
CREATE FUNCTION public.record_call(fn text) RETURNS boolean LANGUAGE sql AS $$
    INSERT INTO public.calls
    SELECT fn, current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user;
    SELECT true $$;
CREATE FUNCTION public.format_type(oid, integer) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN public.record_call('format_type') THEN 'shadowed' END $$;
CREATE FUNCTION public.pg_get_expr(pg_node_tree, oid) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN public.record_call('pg_get_expr') THEN 'shadowed' END $$;
CREATE FUNCTION public.pg_relation_size(regclass) RETURNS bigint LANGUAGE sql AS $$
    SELECT CASE WHEN public.record_call('pg_relation_size') THEN 0::bigint END $$;
CREATE FUNCTION public.obj_description(oid, name) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN public.record_call('obj_description') THEN 'shadowed' END $$;
CREATE FUNCTION public.pg_get_indexdef(oid) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN public.record_call('pg_get_indexdef') THEN 'shadowed' END $$;
CREATE FUNCTION public.pg_get_indexdef(oid, integer, boolean) RETURNS text
    LANGUAGE sql AS $$
    SELECT CASE WHEN public.record_call('pg_get_indexdef/3') THEN 'shadowed' END $$;
CREATE FUNCTION public.pg_get_partkeydef(oid) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN public.record_call('pg_get_partkeydef') THEN 'shadowed' END $$;
CREATE FUNCTION public.unnest(smallint[]) RETURNS SETOF smallint LANGUAGE sql AS $$
    SELECT x FROM pg_catalog.unnest($1) x WHERE public.record_call('unnest') $$;
CREATE TABLE public.victim (id integer PRIMARY KEY, label text DEFAULT 'x',
                            at date DEFAULT CURRENT_DATE);
CREATE INDEX victim_label ON public.victim (label);
COMMENT ON TABLE public.victim IS 'looked at by the orchestrator';
INSERT INTO public.victim (id) VALUES (1);
ALTER ROLE CURRENT_USER SET search_path = public, pg_catalog;
DO $$ BEGIN
    EXECUTE pg_catalog.format('ALTER DATABASE %I SET search_path = public, pg_catalog',
                              pg_catalog.current_database());
END $$;
"""


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _statements(stack: Stack, sandbox_id: str, sql: str) -> list[dict[str, Any]]:
    rc, out = stack.cli("query", sandbox_id, sql)
    assert rc == 0, [s["error"] for s in out["statements"] if s["error"]] if out else out
    statements: list[dict[str, Any]] = out["statements"]
    return statements


def _rows(stack: Stack, sandbox_id: str, sql: str) -> list[list[Any]]:
    rows: list[list[Any]] = _statements(stack, sandbox_id, sql)[-1]["rows"]
    return rows


def _docker_leftovers(stack: Stack, digest: str) -> list[str]:
    """This installation's containers, and images baked from ``digest``."""
    label = f"label=dbplay.instance={installation_id(stack.home)}"
    found = subprocess.run(["docker", "ps", "-a", "--filter", label, "--format", "{{.Names}}"],
                           capture_output=True, text=True, check=True, timeout=30).stdout.split()
    found += subprocess.run(["docker", "images", "-q", "--filter",
                             f"label=dbplay.dump_digest={digest}"],
                            capture_output=True, text=True, check=True,
                            timeout=30).stdout.split()
    return found


@pytest.mark.parametrize("attack", sorted(HOSTILE_DUMPS))
def test_template_import_needing_superuser_rights_fails_naming_the_statement_and_leaves_nothing(
        provisioned_stack: Stack, tmp_path: Path, attack: str) -> None:
    stack = provisioned_stack
    text, line, quoted, reason = HOSTILE_DUMPS[attack]
    dump = tmp_path / f"{attack}.sql"
    dump.write_text(text, encoding="utf-8")
    digest = hashlib.sha256(dump.read_bytes()).hexdigest()
    name = _unique(attack)

    rc, out = stack.cli("templates", "import", name, "--engine", "postgres", "--file", str(dump))

    assert rc != 0, out
    error = out["error"]
    assert error["type"] == "RestoreError", error
    assert f"line {line}" in error["message"], error
    assert quoted in error["message"], error
    assert reason in error["message"], error
    rc, templates = stack.cli("templates", "list")
    assert rc == 0, templates
    assert name not in {t["name"] for t in templates}
    assert not (stack.settings.templates_dir / digest).exists()
    if stack.settings.provisioner == "docker":
        assert _docker_leftovers(stack, digest) == []


def test_template_import_may_create_a_trusted_extension(provisioned_stack: Stack,
                                                        tmp_path: Path) -> None:
    stack = provisioned_stack
    dump = tmp_path / "hashed.sql"
    dump.write_text(
        "CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;\n"
        "COMMENT ON EXTENSION pgcrypto IS 'cryptographic functions';\n"
        "CREATE TABLE public.hashed (word text, hash text);\n"
        "INSERT INTO public.hashed\n"
        "    SELECT 'dbplay', pg_catalog.encode(public.digest('dbplay', 'sha256'), 'hex');\n",
        encoding="utf-8")
    name = _unique("hashed")
    rc, template = stack.cli("templates", "import", name, "--engine", "postgres",
                             "--file", str(dump))
    assert rc == 0, template
    sandbox_id = stack.create(name)
    expected = hashlib.sha256(b"dbplay").hexdigest()
    assert _rows(stack, sandbox_id, "SELECT hash FROM hashed") == [[expected]]
    assert _rows(stack, sandbox_id, "SELECT encode(digest('x', 'md5'), 'hex')") == [
        [hashlib.md5(b"x").hexdigest()]]
    stack.cli("sandbox", "rm", sandbox_id)


def test_snapshot_restore_runs_a_check_function_as_the_owner_role(
        provisioned_stack: Stack) -> None:
    stack = provisioned_stack
    source = stack.create("empty-postgres")
    for result in _statements(stack, source, _AUDIT):
        assert result["error"] is None, result
    name = _unique("checked")
    rc, template = stack.cli("snapshot", source, "--name", name)
    assert rc == 0, template

    copy = stack.create(name)  # restores the snapshot, evaluating CHECK (checked(a))

    assert _rows(stack, copy, "SELECT a FROM guarded") == [[1]]
    audit = _rows(stack, copy, "SELECT who, superuser FROM audit")
    # one row copied from the source, one written by the CHECK while the copy loaded
    assert len(audit) == 2, audit
    assert all(superuser is False for _, superuser in audit), audit
    owner = _rows(stack, copy, "SELECT current_user")[0][0]
    assert {who for who, _ in audit} <= {owner, _rows(stack, source, "SELECT current_user")[0][0]}
    for sandbox_id in (source, copy):
        stack.cli("sandbox", "rm", sandbox_id)


def test_shadowed_catalog_functions_never_run_in_schema_reads_or_snapshots(
        provisioned_stack: Stack) -> None:
    stack = provisioned_stack
    sandbox_id = stack.create("empty-postgres")
    for result in _statements(stack, sandbox_id, _SHADOWS):
        assert result["error"] is None, result
    # the shadows are live: a new session of the user's role resolves format_type to them
    shadowed = _statements(stack, sandbox_id, "BEGIN; SET LOCAL search_path = public, "
                                              "pg_catalog; SELECT format_type(23, NULL); COMMIT")
    assert shadowed[2]["rows"] == [["shadowed"]], shadowed
    _rows(stack, sandbox_id, "DELETE FROM public.calls")

    rc, schema = stack.cli("schema", sandbox_id)
    assert rc == 0, schema
    victim = next(t for t in schema["tables"] if t["name"] == "victim")
    assert "shadowed" not in repr(victim), victim
    assert {c["name"]: c["type"] for c in victim["columns"]} == {
        "id": "integer", "label": "text", "at": "date"}
    rc, template = stack.cli("snapshot", sandbox_id, "--name", _unique("shadows"))
    assert rc == 0, template
    assert "victim" in template["tables"]

    calls = _rows(stack, sandbox_id, "SELECT fn, who, superuser FROM public.calls")
    assert [call for call in calls if call[2] is not False] == [], calls
    assert calls == [], calls  # best: the orchestrator never called them at all
    stack.cli("sandbox", "rm", sandbox_id)
