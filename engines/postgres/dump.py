"""PostgreSQL dumps: writing them with ``pg_dump`` and running psql scripts to restore.

Dump format
    Plain SQL from ``pg_dump --format=plain --no-owner --no-privileges --encoding=UTF8``:
    the DDL, ``COPY ... FROM stdin;`` blocks with tab-separated data ended by ``\\.``,
    then constraints and indexes, i.e. a psql script. It is readable, diffable, loads
    into any PostgreSQL of the same or a newer major version, and is exactly what
    :class:`PsqlScriptRunner` runs. The ``pg_dump`` of the server's major version is
    used when installed (``/usr/lib/postgresql/<major>/bin``), else the oldest newer
    one, else the one on ``PATH``; the password goes through ``PGPASSWORD``, never the
    command line.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions

from engines.base import Statement
from engines.errors import DumpError, EngineError, QuerySyntaxError, RestoreError
from engines.postgres.script import (
    ScriptStep,
    created_extension,
    read_psql_script,
    skip_reason,
)

DUMP_TIMEOUT_S = 3600.0
_META = re.compile(r"\\([A-Za-z]+|.)(.*)", re.S)
_COPY_LINE = re.compile(r"\bline (\d+)")
_IGNORED_META = ("set", "unset", "echo", "qecho", "pset", "timing")
#: SQLSTATE insufficient_privilege
_NO_PRIVILEGE = "42501"
#: how much of a failed statement its error message quotes
_HEAD_CHARS = 80


def statement_head(text: str) -> str:
    """The start of a statement, on one line, for an error message."""
    head = " ".join(text.split())
    return head if len(head) <= _HEAD_CHARS else head[:_HEAD_CHARS - 3] + "..."


def pg_dump_binary(major: int) -> str | None:
    """``pg_dump`` of the server's major version, else the oldest newer one, else PATH."""
    exact = Path(f"/usr/lib/postgresql/{major}/bin/pg_dump")
    if exact.exists():
        return str(exact)
    newer = sorted(
        (int(p.parent.parent.name), p) for p in Path("/usr/lib/postgresql").glob("*/bin/pg_dump")
        if p.parent.parent.name.isdigit() and int(p.parent.parent.name) > major)
    if newer:
        return str(newer[0][1])
    return shutil.which("pg_dump")


def run_pg_dump(url: str, major: int, path: Path) -> None:
    """Dump the database at ``url`` (server major version ``major``) to ``path``."""
    binary = pg_dump_binary(major)
    if binary is None:
        raise DumpError("pg_dump is not installed (apt-get install postgresql-client)")
    params = psycopg2.extensions.parse_dsn(url)
    env = dict(os.environ)
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = password  # not on the command line, where ps shows it
    command = [binary, "--format=plain", "--no-owner", "--no-privileges", "--encoding=UTF8",
               "--file", str(path), "--dbname", psycopg2.extensions.make_dsn(**params)]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=DUMP_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DumpError(f"pg_dump could not run: {exc}", original=exc) from exc
    if done.returncode != 0:
        raise DumpError(f"pg_dump failed: {done.stderr.strip()}")


class PsqlScriptRunner:
    """Runs a psql script through one cursor; the caller owns the transaction.

    * SQL statements run as written, except those :func:`skip_reason` names:
      ``CREATE/DROP DATABASE`` (a sandbox is one database), ``ALTER ... OWNER TO``
      (like ``pg_restore --no-owner``: objects belong to the restoring role) and
      ``GRANT``/``REVOKE`` (like ``--no-privileges``; the dump's roles do not exist).
    * ``COPY ... FROM stdin`` is fed the data lines that follow it (``copy_expert``).
    * ``\\connect``/``\\c`` is ignored: the sandbox *is* the database.
      ``\\set``, ``\\unset``, ``\\echo``, ``\\pset``, ``\\timing`` are ignored (variables
      are not interpolated) and ``\\encoding UTF8`` is accepted. ``\\restrict KEY`` ...
      ``\\unrestrict KEY`` (pg_dump >= 15.14) work as in psql: no other meta-command is
      accepted between them. Any other meta-command raises :class:`RestoreError`.

    Everything skipped or ignored is recorded in :attr:`notices`. Errors raise
    :class:`RestoreError` with the line in the script (inside COPY data: the data line)
    and the start of the statement. Sandboxes restore as their non-superuser owner role,
    so a statement that needs more rights (``COPY ... FROM PROGRAM``, ``ALTER ROLE ...
    SUPERUSER``, ``LANGUAGE c``, an untrusted extension) fails the restore here.
    """

    def __init__(self, cur: Any, wrap: Callable[[Exception, Statement], EngineError]) -> None:
        self.cur = cur
        self.wrap = wrap
        self.notices: list[str] = []
        self._restricted: list[str] = []

    def run(self, text: str) -> None:
        steps = read_psql_script(text)
        while True:
            try:
                step = next(steps)
            except StopIteration:
                break
            except QuerySyntaxError as exc:
                raise RestoreError(f"line {exc.line}: {exc.message}", statement=exc.statement,
                                   original=exc, line=exc.line, column=exc.column) from exc
            try:
                self._run_step(step)
            except psycopg2.Error as exc:
                raise self._error(exc, step) from exc
        if self._restricted:
            self.notices.append("the script ended inside \\restrict")

    def _run_step(self, step: ScriptStep) -> None:
        if step.kind == "meta":
            self._meta_command(step)
        elif step.kind == "copy":
            self.cur.copy_expert(step.text, io.StringIO(step.data))
        else:
            reason = skip_reason(step.node)
            if reason is not None:
                head = " ".join(step.text.split()[:3])
                self.notices.append(f"line {step.line}: skipped {head} ...: {reason}")
                return
            self.cur.execute(step.text)

    def _meta_command(self, step: ScriptStep) -> None:
        match = _META.match(step.text)
        name, args = (match.group(1), match.group(2).strip()) if match else ("", "")

        def refuse(why: str) -> RestoreError:
            return RestoreError(f"line {step.line}: {why}", statement=step.text, line=step.line)

        if self._restricted and name != "unrestrict":
            raise refuse(f"psql meta-command \\{name} is not allowed inside \\restrict")
        if name in ("connect", "c"):
            self.notices.append(f"line {step.line}: ignored {step.text!r}: "
                                "the sandbox is the database")
        elif name == "restrict":
            self._restricted.append(args)
        elif name == "unrestrict":
            if not self._restricted or self._restricted[-1] != args:
                raise refuse("\\unrestrict with a key that does not match \\restrict")
            self._restricted.pop()
        elif name in _IGNORED_META:
            self.notices.append(f"line {step.line}: ignored {step.text!r}")
        elif name == "encoding" and args.replace("-", "").upper() in ("UTF8", "UNICODE"):
            return
        elif name == ".":
            raise refuse("\\. found outside of COPY data")
        else:
            raise refuse(f"unsupported psql meta-command \\{name}")

    def _error(self, exc: psycopg2.Error, step: ScriptStep) -> RestoreError:
        wrapped = self.wrap(exc, Statement(step.text, step.line))
        line = step.line + (wrapped.line - 1 if wrapped.line else 0)
        context = getattr(exc.diag, "context", None) or ""
        in_data = _COPY_LINE.search(context) if step.kind == "copy" else None
        if in_data:
            line = step.data_line + int(in_data.group(1)) - 1
        message = wrapped.message
        extension = created_extension(step.node)
        if extension is not None and exc.pgcode == _NO_PRIVILEGE:
            message = (f"extension {extension} is not trusted: a sandbox may create only "
                       f"trusted extensions (pgcrypto, hstore, citext, ...) ({message})")
        return RestoreError(f"statement at line {line} failed ({statement_head(step.text)}): "
                            f"{message}", statement=step.text, original=exc, line=line,
                            column=wrapped.column)
