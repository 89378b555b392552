"""Which compiler serves which engine: one spec becomes the query text a sandbox's
adapter runs (SQL for PostgreSQL and SQLite, a mongosh pipeline for MongoDB), plus the
per-step previews and counts the Build page shows."""

from __future__ import annotations

from dataclasses import dataclass

from engines.errors import InvalidRequest
from engines.registry import descriptor_for
from orchestrator.builder import mongo_compiler, sql_compiler
from orchestrator.builder.spec import QuerySpec, without_steps_after
from orchestrator.builder.sql_parser import Dialect, sql_to_spec

#: the steps a preview can stop after, in the order they apply
STEPS = ("source", "joins", "unwinds", "computed", "filter", "group", "having", "sort", "limit")


def dialect_for(engine: str) -> Dialect | None:
    """The SQL dialect of an engine kind, or None for MongoDB; any other engine is an
    InvalidRequest (the builder makes SQL and aggregation pipelines only)."""
    descriptor = descriptor_for(engine)
    if descriptor.is_sql and descriptor.kind in ("postgres", "sqlite"):
        return descriptor.kind  # type: ignore[return-value]
    if descriptor.kind == "mongodb":
        return None
    raise InvalidRequest(f"the query builder works on SQL and MongoDB sandboxes, not on "
                         f"{descriptor.label}")


def read_sql(sql: str, engine: str) -> QuerySpec:
    """A user's SQL as a spec; SQL aimed at a MongoDB sandbox reads as PostgreSQL's."""
    return sql_to_spec(sql, dialect_for(engine) or "postgres")


def compile_for(spec: QuerySpec, engine: str) -> str:
    dialect = dialect_for(engine)
    if dialect is None:
        return mongo_compiler.compile_mongosh(spec)
    return sql_compiler.compile_sql(spec, dialect)


@dataclass(frozen=True)
class StepPreview:
    step: str
    query: str  # at most ``rows`` rows of the spec cut after this step
    count: str  # how many rows the cut spec gives


def step_previews(spec: QuerySpec, engine: str, rows: int = 10) -> list[StepPreview]:
    """One preview per step the spec uses (the source always): a CTE chain on SQL (the
    cut spec as ``WITH step AS (...)``), the pipeline prefix with ``$limit`` on MongoDB."""
    dialect = dialect_for(engine)
    used = {"source": True, "joins": bool(spec.joins), "unwinds": bool(spec.unwinds),
            "computed": bool(spec.computed), "filter": spec.filter is not None,
            "group": spec.grouped, "having": spec.having is not None,
            "sort": bool(spec.sort), "limit": spec.limit is not None or bool(spec.offset)}
    previews = []
    for step in STEPS:
        if not used[step]:
            continue
        cut = without_steps_after(spec, step)
        if dialect is None:
            previews.append(StepPreview(step, mongo_compiler.preview_mongosh(cut, rows),
                                        mongo_compiler.count_mongosh(cut)))
        else:
            previews.append(StepPreview(step, sql_compiler.preview_sql(cut, dialect, rows),
                                        sql_compiler.count_sql(cut, dialect)))
    return previews
