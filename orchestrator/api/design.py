"""The schema designer's service (mixed into :class:`orchestrator.api.service.Orchestrator`):
the live schema as DBML, and a design's migration previewed, tried on a throwaway clone
and applied (see :mod:`orchestrator.design`).

``design_migration`` answers::

    {"dialect", "statements": [{"sql", "destructive", "note", "table"}], "script",
     "destructive": bool, "risks": [{"kind", "table", "message", "rows"}],
     "clone": {"ok", "failed_statement", "error"} | None, "applied": bool, "left_out": [...]}
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from engines.errors import Conflict, InvalidRequest
from engines.result import StatementResult
from orchestrator.api.base import ServiceBase
from orchestrator.design import ddl, live, risks
from orchestrator.design.dbml import from_dbml, to_dbml
from orchestrator.design.diff import diff
from orchestrator.design.from_ddl import design_from_ddl
from orchestrator.design.model import Design
from orchestrator.store.views import SandboxView

DIALECTS = {"postgres": "postgresql", "sqlite": "sqlite"}


class SchemaDesigner(ServiceBase):
    # -- reading -------------------------------------------------------------------------
    def design_dialect(self, user: str, sandbox_id: str) -> str:
        engine = self.get_sandbox(user, sandbox_id).engine
        if engine not in DIALECTS:
            raise InvalidRequest(f"the schema designer works on PostgreSQL and SQLite "
                                 f"sandboxes; {sandbox_id} is {engine}")
        return DIALECTS[engine]

    def live_design(self, user: str, sandbox_id: str) -> tuple[Design, str]:
        """The sandbox's schema as a design, and its SQL dialect."""
        dialect = self.design_dialect(user, sandbox_id)
        info = self.schema(user, sandbox_id)
        (result,) = self._checked(user, sandbox_id, live.catalog_query(dialect))
        if result.truncated:
            raise Conflict("the schema is too large for the designer (its catalog has more "
                           "rows than DBPLAY_MAX_ROWS)")
        return live.design_from_schema(info, result.rows, dialect), dialect

    def schema_dbml(self, user: str, sandbox_id: str) -> str:
        """The live schema as DBML (what DBML cannot say is listed in comments on top)."""
        design, dialect = self.live_design(user, sandbox_id)
        return to_dbml(design, dialect)

    def _checked(self, user: str, sandbox_id: str, text: str) -> list[StatementResult]:
        results = self.run_query(user, sandbox_id, text)
        failed = next((r for r in results if r.error), None)
        if failed is not None:
            raise Conflict(f"reading the schema failed: {failed.error and failed.error['message']}")
        return results

    # -- migrations ----------------------------------------------------------------------
    def design_migration(self, user: str, sandbox_id: str, dbml: str, *, apply: bool = False,
                         allow_destructive: bool = False,
                         try_clone: bool = True) -> dict[str, Any]:
        """The migration from the live schema to ``dbml``'s design: previewed (nothing
        changes), tried on a throwaway clone (``try_clone``) and, with ``apply``, run on
        the sandbox in one transaction (not when it failed on the clone). Destructive
        steps need ``allow_destructive``."""
        target = from_dbml(dbml)
        current, dialect = self.live_design(user, sandbox_id)
        migration = diff(current, target, dialect)
        steps = ddl.render(migration, dialect)
        destructive = any(s.destructive for s in steps)
        if apply and destructive and not allow_destructive:
            raise InvalidRequest("the migration has destructive steps (" + "; ".join(
                s.note for s in steps if s.destructive) + "); pass --allow-destructive to "
                "apply it")
        found = risks.static_risks(migration, target, dialect) + self._counted_risks(
            user, sandbox_id, migration)
        script = ddl.script(steps, dialect) if steps else ""
        answer: dict[str, Any] = {
            "dialect": dialect, "statements": [s.to_dict() for s in steps], "script": script,
            "destructive": destructive, "risks": [r.to_dict() for r in found],
            "clone": None, "applied": False, "left_out": current.left_out}
        if steps and try_clone:
            with self._clone(user, sandbox_id) as clone:
                answer["clone"] = self._run_script(user, clone.id, script)
            if apply and not answer["clone"]["ok"]:
                raise Conflict("the migration failed on a clone, so it was not applied: "
                               f"{answer['clone']['error']} (statement: "
                               f"{answer['clone']['failed_statement']})")
        if apply and steps:
            outcome = self._run_script(user, sandbox_id, script)
            if not outcome["ok"]:
                raise Conflict(f"the migration failed and was rolled back: {outcome['error']} "
                               f"(statement: {outcome['failed_statement']})")
            answer["applied"] = True
        return answer

    @contextlib.contextmanager
    def _clone(self, user: str, sandbox_id: str) -> Iterator[SandboxView]:
        with self.throwaway_clone(user, sandbox_id) as clone:
            yield clone

    def _counted_risks(self, user: str, sandbox_id: str,
                       migration: Any) -> list[risks.Risk]:
        counted = risks.count_queries(migration)
        if not counted:
            return []
        results = self.run_query(user, sandbox_id, ";\n".join(sql for _, sql in counted))
        out: list[risks.Risk] = []
        for (risk, _), result in zip(counted, results):
            if result.error is None and result.rows and int(result.rows[0][0] or 0) > 0:
                risk.rows = int(result.rows[0][0])
                risk.message = f"{risk.rows:,} {risk.message}"
                out.append(risk)
        return out

    def _run_script(self, user: str, sandbox_id: str, script: str) -> dict[str, Any]:
        results = self.run_query(user, sandbox_id, script)
        failed = next((r for r in results if r.error), None)
        if failed is None:
            return {"ok": True, "failed_statement": None, "error": None}
        return {"ok": False, "failed_statement": failed.statement,
                "error": (failed.error or {}).get("message")}

    def ddl_as_dbml(self, user: str, sandbox_id: str, ddl: str, read: str) -> str:
        """CREATE TABLE statements of another dialect (sqlglot's name in ``read``:
        ``mysql``, ``tsql``, ...) as DBML for this sandbox's dialect."""
        dialect = self.design_dialect(user, sandbox_id)
        return to_dbml(design_from_ddl(ddl, read, dialect), dialect)
