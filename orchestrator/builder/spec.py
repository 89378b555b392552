"""The engine-neutral query spec: what a builder query is, step by step.

Steps apply in this order, whatever the engine: the source, its joins, array unwinds,
computed columns, the filter tree, grouping with aggregates, HAVING, the output
columns, sort, then offset and limit. Names are plain strings: ``alias.column`` (or just
``column``) for a stored field (on MongoDB a dotted path reaches nested fields), the
name of a computed column, or the name of an aggregate. Values are data, never text
pasted into a statement: the compilers turn them into quoted literals.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engines.errors import InvalidRequest

Scalar = str | int | float | bool | None
#: the comparison operators of a filter condition
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "in", "not in", "like", "not like",
             "between", "is null", "is not null")
AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max")
BUCKETS = ("year", "month", "day", "hour")
FUNCTIONS = ("lower", "upper", "length", "abs", "round", "coalesce")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- expressions (computed columns) ---------------------------------------------------
class Col(_Model):
    type: Literal["col"] = "col"
    name: str


class Lit(_Model):
    type: Literal["lit"] = "lit"
    value: Scalar = None


class Arith(_Model):
    type: Literal["arith"] = "arith"
    op: Literal["+", "-", "*", "/"]
    left: Expr
    right: Expr


class Bucket(_Model):
    """A date truncated to its year, month, day or hour (a date bucket)."""
    type: Literal["bucket"] = "bucket"
    unit: Literal["year", "month", "day", "hour"]
    arg: Expr


class Func(_Model):
    type: Literal["func"] = "func"
    name: Literal["lower", "upper", "length", "abs", "round", "coalesce"]
    args: list[Expr]


Expr = Annotated[Col | Lit | Arith | Bucket | Func, Field(discriminator="type")]


# -- steps ----------------------------------------------------------------------------
class Source(_Model):
    table: str
    alias: str | None = None

    @property
    def name(self) -> str:
        return self.alias or self.table


class JoinOn(_Model):
    """``left = right``: ``left`` names a column of what came before, ``right`` one of
    the joined table."""
    left: str
    right: str


class Join(_Model):
    table: str
    alias: str | None = None
    kind: Literal["inner", "left"] = "inner"
    on: list[JoinOn] = Field(min_length=1)

    @property
    def name(self) -> str:
        return self.alias or self.table


class Unwind(_Model):
    """One row per element of an array column; the element is ``alias`` (a JSON array
    on SQL, an array field on MongoDB)."""
    column: str
    alias: str
    keep_empty: bool = False


class Computed(_Model):
    name: str
    expr: Expr


class Condition(_Model):
    type: Literal["condition"] = "condition"
    column: str
    op: Literal["=", "!=", "<", "<=", ">", ">=", "in", "not in", "like", "not like",
                "between", "is null", "is not null"]
    value: Scalar | list[Scalar] = None

    @model_validator(mode="after")
    def _value_fits(self) -> Condition:
        many = isinstance(self.value, list)
        if self.op in ("in", "not in") and not (many and self.value):
            raise ValueError(f"{self.op!r} needs a non-empty list of values")
        if self.op == "between" and not (many and len(self.value) == 2):  # type: ignore[arg-type]
            raise ValueError("'between' needs two values: [low, high]")
        if self.op not in ("in", "not in", "between") and many:
            raise ValueError(f"{self.op!r} takes one value, not a list")
        if self.op in ("like", "not like") and not isinstance(self.value, str):
            raise ValueError(f"{self.op!r} needs a text pattern")
        return self


class Group(_Model):
    """Conditions combined with AND or OR (``negate`` puts NOT in front); groups nest."""
    type: Literal["group"] = "group"
    combine: Literal["and", "or"] = "and"
    items: list[Filter] = Field(min_length=1)
    negate: bool = False


Filter = Annotated[Condition | Group, Field(discriminator="type")]


class Aggregate(_Model):
    name: str
    func: Literal["count", "count_distinct", "sum", "avg", "min", "max"]
    column: str | None = None  # None: count(*)

    @model_validator(mode="after")
    def _column_needed(self) -> Aggregate:
        if self.column is None and self.func != "count":
            raise ValueError(f"{self.func} needs a column")
        return self


class Output(_Model):
    """One output column: a stored column, a computed column, a group key or an
    aggregate (``ref``), shown as ``name`` (default: the last part of ``ref``)."""
    ref: str
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.ref.rsplit(".", 1)[-1]


class SortKey(_Model):
    ref: str
    desc: bool = False


class QuerySpec(_Model):
    source: Source
    joins: list[Join] = []
    unwinds: list[Unwind] = []
    computed: list[Computed] = []
    filter: Filter | None = None
    group_by: list[str] = []
    aggregates: list[Aggregate] = []
    having: Filter | None = None
    columns: list[Output] = []  # empty: every column (no grouping) / keys + aggregates
    distinct: bool = False
    sort: list[SortKey] = []
    limit: int | None = Field(default=None, ge=0)
    offset: int | None = Field(default=None, ge=0)

    @property
    def grouped(self) -> bool:
        return bool(self.group_by or self.aggregates)

    def computed_expr(self, name: str) -> Expr | None:
        return next((c.expr for c in self.computed if c.name == name), None)

    def aggregate(self, name: str) -> Aggregate | None:
        return next((a for a in self.aggregates if a.name == name), None)

    def outputs(self) -> list[Output]:
        """The output columns; when none are named, a grouped query shows its keys and
        aggregates (an ungrouped one shows every column: an empty list)."""
        if self.columns or not self.grouped:
            return list(self.columns)
        return ([Output(ref=k) for k in self.group_by]
                + [Output(ref=a.name) for a in self.aggregates])

    @model_validator(mode="after")
    def _consistent(self) -> QuerySpec:
        names = [self.source.name] + [j.name for j in self.joins] + [u.alias for u in self.unwinds]
        if len(set(names)) != len(names):
            raise ValueError(f"table aliases must differ: {names}")
        if self.having is not None and not self.grouped:
            raise ValueError("HAVING needs a grouping or an aggregate")
        if self.grouped:
            allowed = set(self.group_by) | {a.name for a in self.aggregates}
            for out in self.columns:
                if out.ref not in allowed:
                    raise ValueError(f"output column {out.ref!r} is neither a group key nor "
                                     "an aggregate")
        return self


Arith.model_rebuild()
Bucket.model_rebuild()
Func.model_rebuild()
Group.model_rebuild()
QuerySpec.model_rebuild()


def parse_spec(data: Any) -> QuerySpec:
    """A spec from its JSON form; a malformed one is an :class:`InvalidRequest` that
    names the place that does not fit."""
    try:
        return QuerySpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}"
            for e in exc.errors()[:5])
        raise InvalidRequest(f"the query spec does not fit: {problems}") from None


def spec_dict(spec: QuerySpec) -> dict[str, Any]:
    """The spec's JSON form, without the defaults (what ``--spec FILE`` reads back)."""
    data: dict[str, Any] = _pruned(spec.model_dump(mode="json"))
    return data


def _pruned(value: Any) -> Any:
    """Without empty lists, ``None`` and ``False`` (every such field's default); the
    ``type`` tags stay, so the result reads back as the same spec."""
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items()
                if (k == "value" and v is not None) or v not in (None, False, [])}
    return value


def without_steps_after(spec: QuerySpec, step: str) -> QuerySpec:
    """The spec cut after one step (``source``, ``joins``, ``unwinds``, ``computed``,
    ``filter``, ``group``, ``having``, ``sort``, ``limit``): what the Build page previews
    after each step."""
    order = ["source", "joins", "unwinds", "computed", "filter", "group", "having", "sort",
             "limit"]
    if step not in order:
        raise InvalidRequest(f"no step {step!r}; the steps are {', '.join(order)}")
    keep = set(order[:order.index(step) + 1])
    changes: dict[str, Any] = {}
    if "joins" not in keep:
        changes["joins"] = []
    if "unwinds" not in keep:
        changes["unwinds"] = []
    if "filter" not in keep:
        changes["filter"] = None
    if "group" not in keep:
        changes.update(group_by=[], aggregates=[], columns=[])
    if "having" not in keep:
        changes["having"] = None
    if "sort" not in keep:
        changes["sort"] = []
    if "limit" not in keep:
        changes.update(limit=None, offset=None)
    return spec.model_copy(update=changes)
