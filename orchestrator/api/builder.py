"""The query builder in the service layer (mixed into
:class:`orchestrator.api.service.Orchestrator`): a spec from SQL or from its JSON form,
compiled for the sandbox's engine, run like any query, and previewed step by step.

Read-only by construction: the compilers make only SELECT statements and aggregation
pipelines. Runs go through :meth:`run_query`, so the sandbox's role, its time limit and
the row caps hold; a spec without a LIMIT runs with :data:`DEFAULT_LIMIT`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engines.errors import InvalidRequest
from engines.result import StatementResult
from orchestrator.api.queries import QueryJobs
from orchestrator.builder.spec import QuerySpec, parse_spec, spec_dict
from orchestrator.builder.targets import compile_for, dialect_for, read_sql, step_previews

#: the LIMIT a built query runs with when its spec names none
DEFAULT_LIMIT = 1000
#: rows shown after each step of the Build page
PREVIEW_ROWS = 10


@dataclass
class BuiltQuery:
    spec: dict[str, Any]
    query: str
    statements: list[StatementResult] = field(default_factory=list)


@dataclass
class StepResult:
    """One step's preview: its rows (at most :data:`PREVIEW_ROWS`) and its row count."""
    step: str
    query: str
    columns: list[str]
    rows: list[list[Any]]
    count: int | None
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "query": self.query, "columns": self.columns,
                "rows": self.rows, "count": self.count, "error": self.error}


class QueryBuilder(QueryJobs):
    def _engine_of(self, user: str, sandbox_id: str) -> str:
        with self.db.session() as session:
            engine: str = self._sandbox(session, user, sandbox_id).engine
        dialect_for(engine)  # InvalidRequest for an engine the builder does not serve
        return engine

    def read_spec(self, user: str, sandbox_id: str, sql: str | None = None,
                  spec: dict[str, Any] | None = None) -> QuerySpec:
        """The spec of ``sql`` (which must fit the builder's subset) or of ``spec``."""
        engine = self._engine_of(user, sandbox_id)
        if (sql is None) == (spec is None):
            raise InvalidRequest("give either SQL or a spec to build from")
        return read_sql(sql, engine) if sql is not None else parse_spec(spec)

    def build_query(self, user: str, sandbox_id: str, sql: str | None = None,
                    spec: dict[str, Any] | None = None, run: bool = False,
                    max_rows: int | None = None, timeout_s: float | None = None) -> BuiltQuery:
        """The spec, the query it compiles to on this sandbox's engine, and with ``run``
        that query's results (``statements``, as :meth:`run_query` gives them)."""
        parsed = self.read_spec(user, sandbox_id, sql, spec)
        engine = self._engine_of(user, sandbox_id)
        if run and parsed.limit is None:
            parsed_run = parsed.model_copy(update={"limit": DEFAULT_LIMIT})
        else:
            parsed_run = parsed
        query = compile_for(parsed_run if run else parsed, engine)
        statements = self.run_query(user, sandbox_id, query, max_rows, timeout_s) if run else []
        return BuiltQuery(spec=spec_dict(parsed), query=query, statements=statements)

    def preview_steps(self, user: str, sandbox_id: str, spec: dict[str, Any],
                      rows: int = PREVIEW_ROWS) -> list[StepResult]:
        """After each step the spec uses: a few rows and the row count (one query job)."""
        parsed = parse_spec(spec)
        engine = self._engine_of(user, sandbox_id)
        previews = step_previews(parsed, engine, max(1, min(rows, 100)))
        separator = ";\n" if dialect_for(engine) else "\n"
        script = separator.join(t for p in previews for t in (p.query, p.count))
        results = self.run_query(user, sandbox_id, script, max_rows=rows)
        out = []
        for i, preview in enumerate(previews):
            shown = results[2 * i] if 2 * i < len(results) else None
            counted = results[2 * i + 1] if 2 * i + 1 < len(results) else None
            error = (shown.error if shown is not None else None) or (
                counted.error if counted is not None else None)
            if shown is None or counted is None:
                error = error or {"type": "InvalidRequest",
                                  "message": "not run: an earlier step failed"}
            count = counted.rows[0][0] if counted is not None and counted.rows and \
                not counted.error else (0 if counted is not None and not counted.error else None)
            out.append(StepResult(preview.step, preview.query,
                                  [c.name for c in shown.columns] if shown else [],
                                  shown.rows if shown and not shown.error else [],
                                  count, error))
        return out
