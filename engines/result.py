"""The plain data that crosses from a worker to the UI or CLI.

Everything here is made of JSON-safe values only (``to_dict``/``from_dict`` round-trip
through JSON), so a result can travel through Dramatiq's result backend unchanged.
Engines convert driver values with :func:`jsonable` before building a result.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any


def jsonable(value: Any) -> Any:
    """Turn a driver value into a JSON-safe value, keeping as much meaning as JSON allows.

    Dates and times become ISO-8601 strings, decimals become strings (no float rounding),
    bytes become ``{"$binary": base64}``; containers are converted recursively.
    Engines with richer types (BSON) convert those themselves first.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$binary": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return str(value)


@dataclass
class Column:
    name: str
    type: str = ""


@dataclass
class StatementResult:
    """The outcome of one statement of a script.

    ``rows`` hold at most the row cap and about ``max_result_bytes``; ``truncated`` says
    more rows existed and ``truncated_reason`` which cap stopped them. Cells longer than
    ``max_cell_bytes`` are cut and marked (:mod:`engines.result_limits`).
    ``rowcount`` is the number of rows affected (DML) or returned, ``None`` if unknown.
    ``line`` is the 1-based line where the statement starts inside the script.
    ``error`` is ``None`` or ``{"type", "message", "line"?, "column"?}``.
    """

    statement: str
    columns: list[Column] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    rowcount: int | None = None
    truncated: bool = False
    elapsed_ms: float = 0.0
    error: dict[str, Any] | None = None
    line: int = 1
    notice: str | None = None
    #: why ``truncated``: the row cap, or the result size cap (``max_result_bytes``)
    truncated_reason: str | None = None
    #: where the whole result is kept (``orchestrator/results``): pages, downloads and
    #: charts read it, never running the statement again
    result_id: str | None = None
    #: rows in the kept result, ``None`` until all of them are kept
    total_rows: int | None = None
    #: the store's cap stopped keeping rows (``result_note`` says which)
    result_truncated: bool = False
    result_note: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StatementResult:
        data = dict(data)
        data["columns"] = [Column(**c) for c in data.get("columns", [])]
        return cls(**data)


@dataclass
class PlanNode:
    """One node of a normalized query plan.

    ``actual_rows`` and ``time_ms`` cover every loop of the node (``time_ms`` includes its
    children; ``self_time_ms`` is the node's own share). ``estimated_rows`` is the
    planner's guess for the same loops. :func:`engines.plans.annotate.annotate` fills
    ``self_time_ms``, ``estimate_factor``, ``misestimated`` and ``hot``.
    """

    node: str
    detail: str = ""
    estimated_rows: float | None = None
    actual_rows: float | None = None
    cost: float | None = None
    time_ms: float | None = None
    children: list[PlanNode] = field(default_factory=list)
    #: the table or collection the node reads, and the index it uses
    relation: str | None = None
    index: str | None = None
    loops: float | None = None
    self_time_ms: float | None = None
    #: actual / estimated rows (both at least 1); ``misestimated`` when off by >= 10x
    estimate_factor: float | None = None
    misestimated: bool = False
    #: one of the nodes where most of the time went
    hot: bool = False
    #: PostgreSQL ``BUFFERS`` counts (blocks, including the children's), e.g. "shared hit"
    buffers: dict[str, float] = field(default_factory=dict)
    #: MongoDB: index keys and documents the stage examined
    keys_examined: float | None = None
    docs_examined: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanNode:
        data = dict(data)
        data["children"] = [cls.from_dict(c) for c in data.get("children", [])]
        return cls(**data)


@dataclass
class ExplainResult:
    """A normalized plan (``plan`` is ``None`` where the engine has none) and the raw output."""

    statement: str
    plan: PlanNode | None
    raw: Any = None
    message: str | None = None
    #: how the plan was obtained, in words: "executed (EXPLAIN ANALYZE) in a transaction
    #: that was rolled back", "planned only (not executed)", ...
    mode: str | None = None
    #: the numbers are measured (the statement ran), not only the planner's estimates
    analyzed: bool = False
    planning_ms: float | None = None
    execution_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "statement": self.statement,
            "plan": self.plan.to_dict() if self.plan else None,
            "raw": jsonable(self.raw),
            "message": self.message,
            "mode": self.mode,
            "analyzed": self.analyzed,
            "planning_ms": self.planning_ms,
            "execution_ms": self.execution_ms,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExplainResult:
        plan = data.get("plan")
        return cls(
            statement=data["statement"],
            plan=PlanNode.from_dict(plan) if plan else None,
            raw=data.get("raw"),
            message=data.get("message"),
            mode=data.get("mode"),
            analyzed=bool(data.get("analyzed", False)),
            planning_ms=data.get("planning_ms"),
            execution_ms=data.get("execution_ms"),
        )


@dataclass
class ColumnInfo:
    name: str
    type: str
    nullable: bool = True
    primary_key: bool = False
    default: str | None = None


@dataclass
class ForeignKey:
    columns: list[str]
    ref_table: str
    ref_columns: list[str]
    name: str | None = None


@dataclass
class IndexInfo:
    name: str
    columns: list[str]
    unique: bool = False
    definition: str | None = None


@dataclass
class TableInfo:
    """A table, view or collection. For Chroma, ``columns`` are metadata keys and
    ``extra`` carries ``dimension`` and the collection metadata."""

    name: str
    kind: str = "table"  # table | view | materialized view | collection
    schema: str | None = None
    columns: list[ColumnInfo] = field(default_factory=list)
    primary_key: list[str] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    indexes: list[IndexInfo] = field(default_factory=list)
    row_count: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SchemaInfo:
    engine: str
    tables: list[TableInfo] = field(default_factory=list)

    def table(self, name: str) -> TableInfo:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = jsonable(asdict(self))
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SchemaInfo:
        tables = []
        for t in data.get("tables", []):
            t = dict(t)
            t["columns"] = [ColumnInfo(**c) for c in t.get("columns", [])]
            t["foreign_keys"] = [ForeignKey(**f) for f in t.get("foreign_keys", [])]
            t["indexes"] = [IndexInfo(**i) for i in t.get("indexes", [])]
            tables.append(TableInfo(**t))
        return cls(engine=data["engine"], tables=tables)


@dataclass
class ImportReport:
    target: str
    rows: int
    elapsed_ms: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
