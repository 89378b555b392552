"""A query spec as one SELECT for PostgreSQL or SQLite, built with sqlglot's expression
builder: every value becomes a sqlglot literal (quoted by sqlglot for the dialect), never
text pasted into the statement.

Semantics kept equal across the two dialects: LIKE is case-sensitive (SQLite gets the
same pattern as a GLOB), NULLs sort last ascending and first descending (PostgreSQL's
default, stated explicitly), date buckets truncate with each dialect's own function
(``date_trunc`` on PostgreSQL, ``strftime`` giving ``YYYY-MM-DD HH:MM:SS`` on SQLite).
"""

from __future__ import annotations

from typing import Literal, cast

from sqlglot import exp

from engines.errors import InvalidRequest
from orchestrator.builder.spec import (
    Aggregate,
    Arith,
    Bucket,
    Col,
    Condition,
    Expr,
    Filter,
    Func,
    Group,
    Lit,
    QuerySpec,
    Scalar,
)

Dialect = Literal["postgres", "sqlite"]
SQLITE_BUCKETS = {"year": "%Y-01-01 00:00:00", "month": "%Y-%m-01 00:00:00",
                  "day": "%Y-%m-%d 00:00:00", "hour": "%Y-%m-%d %H:00:00"}
_COMPARISONS: dict[str, type[exp.Expr]] = {
    "=": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}
_ARITH: dict[str, type[exp.Expr]] = {
    "+": exp.Add, "-": exp.Sub, "*": exp.Mul, "/": exp.Div}
_AGGREGATES: dict[str, type[exp.Expr]] = {
    "sum": exp.Sum, "avg": exp.Avg, "min": exp.Min, "max": exp.Max}


def literal(value: Scalar) -> exp.Expr:
    """A value as a sqlglot literal: quoted and escaped by sqlglot, never spliced."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int | float):
        node = exp.Literal.number(abs(value))
        return exp.Neg(this=node) if value < 0 else node
    return exp.Literal.string(str(value))


def like_to_glob(pattern: str) -> str:
    """A LIKE pattern as the equivalent (case-sensitive) SQLite GLOB pattern."""
    out = []
    for char in pattern:
        if char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        elif char in "*?[]":
            out.append(f"[{char}]")
        else:
            out.append(char)
    return "".join(out)


class SqlCompiler:
    def __init__(self, spec: QuerySpec, dialect: Dialect) -> None:
        self.spec = spec
        self.dialect = dialect
        self.unwound = {u.alias for u in spec.unwinds}

    # -- names and expressions --------------------------------------------------------
    def ref(self, name: str, seen: frozenset[str] = frozenset()) -> exp.Expr:
        """A stored column, an unwound element or a computed column, by name."""
        computed = self.spec.computed_expr(name)
        if computed is not None:
            if name in seen:
                raise InvalidRequest(f"computed column {name!r} refers to itself")
            return self.expr(computed, seen | {name})
        head, _, rest = name.partition(".")
        if head in self.unwound:
            return self._element(head, rest)
        if rest:
            return exp.column(rest, table=head, quoted=True)
        return exp.column(name, quoted=True)

    def _element(self, alias: str, field: str) -> exp.Expr:
        value = exp.column("value", table=alias, quoted=True)
        if self.dialect == "sqlite":
            return (exp.func("json_extract", value, exp.Literal.string(f"$.{field}"))
                    if field else value)
        if field:
            return exp.JSONExtractScalar(this=value, expression=exp.Literal.string(field))
        return exp.JSONBExtractScalar(this=value, expression=exp.Literal.string("{}"))

    def expr(self, node: Expr, seen: frozenset[str] = frozenset()) -> exp.Expr:
        if isinstance(node, Col):
            return self.ref(node.name, seen)
        if isinstance(node, Lit):
            return literal(node.value)
        if isinstance(node, Arith):
            return exp.Paren(this=_ARITH[node.op](this=self.expr(node.left, seen),
                                                  expression=self.expr(node.right, seen)))
        if isinstance(node, Bucket):
            return self._bucket(node.unit, self.expr(node.arg, seen))
        if isinstance(node, Func):
            return exp.func(node.name, *(self.expr(a, seen) for a in node.args),
                            dialect=self.dialect)
        raise InvalidRequest(f"unknown expression {node!r}")

    def _bucket(self, unit: str, arg: exp.Expr) -> exp.Expr:
        if self.dialect == "postgres":
            return exp.Anonymous(this="date_trunc", expressions=[exp.Literal.string(unit), arg])
        return exp.Anonymous(this="strftime",
                             expressions=[exp.Literal.string(SQLITE_BUCKETS[unit]), arg])

    def aggregate(self, agg: Aggregate) -> exp.Expr:
        if agg.column is None:
            return exp.Count(this=exp.Star())
        arg = self.ref(agg.column)
        if agg.func == "count":
            return exp.Count(this=arg)
        if agg.func == "count_distinct":
            return exp.Count(this=exp.Distinct(expressions=[arg]))
        return _AGGREGATES[agg.func](this=arg)

    def grouped_ref(self, name: str) -> exp.Expr:
        """In HAVING and ORDER BY of a grouped query: an aggregate by its name, else a
        group key."""
        agg = self.spec.aggregate(name)
        return self.aggregate(agg) if agg is not None else self.ref(name)

    # -- filters -----------------------------------------------------------------------
    def condition(self, node: Filter, grouped: bool = False) -> exp.Expr:
        if isinstance(node, Group):
            parts = [self.condition(item, grouped) for item in node.items]
            joined = exp.and_(*parts) if node.combine == "and" else exp.or_(*parts)
            joined = exp.Paren(this=joined) if len(parts) > 1 else joined
            return exp.Not(this=joined) if node.negate else joined
        return self._comparison(node, self.grouped_ref(node.column) if grouped
                                else self.ref(node.column))

    def _comparison(self, cond: Condition, left: exp.Expr) -> exp.Expr:
        op, value = cond.op, cond.value
        if op in _COMPARISONS:
            return _COMPARISONS[op](this=left, expression=literal(value))  # type: ignore[arg-type]
        if op in ("in", "not in"):
            node: exp.Expr = exp.In(this=left, expressions=[
                literal(v) for v in value])  # type: ignore[union-attr]
            return exp.Not(this=node) if op == "not in" else node
        if op in ("like", "not like"):
            if self.dialect == "sqlite":
                node = exp.Glob(this=left, expression=literal(like_to_glob(str(value))))
            else:
                # no escape character: a backslash is a plain character, as in GLOB
                node = exp.Escape(this=exp.Like(this=left, expression=literal(value)),  # type: ignore[arg-type]
                                  expression=exp.Literal.string(""))
            return exp.Not(this=node) if op == "not like" else node
        if op == "between":
            low, high = cast(list[Scalar], value)
            return exp.Between(this=left, low=literal(low), high=literal(high))
        node = exp.Is(this=left, expression=exp.null())
        return exp.Not(this=node) if op == "is not null" else node

    # -- the statement -----------------------------------------------------------------
    def select(self) -> exp.Select:
        spec = self.spec
        src = spec.source
        query = exp.select().from_(exp.Table(
            this=exp.to_identifier(src.table, quoted=True),
            alias=exp.TableAlias(this=exp.to_identifier(src.alias, quoted=True))
            if src.alias else None))
        for join in spec.joins:
            table = exp.Table(this=exp.to_identifier(join.table, quoted=True),
                              alias=exp.TableAlias(this=exp.to_identifier(join.alias, quoted=True))
                              if join.alias else None)
            on = exp.and_(*(exp.EQ(this=self.ref(c.left), expression=self.ref(c.right))
                            for c in join.on))
            query = query.join(table, on=on, join_type="left" if join.kind == "left" else "inner")
        for unwind in spec.unwinds:
            query = query.join(self._unwind_source(unwind.column, unwind.alias),
                               join_type="left" if unwind.keep_empty else "cross",
                               on=exp.true() if unwind.keep_empty else None)
        if spec.filter is not None:
            query = query.where(self.condition(spec.filter))
        outputs = spec.outputs()
        if spec.grouped:
            for out in outputs:
                query = query.select(self.grouped_ref(out.ref).as_(out.label, quoted=True))
            if spec.group_by:
                query = query.group_by(*(self.ref(k) for k in spec.group_by))
            if spec.having is not None:
                query = query.having(self.condition(spec.having, grouped=True))
        elif outputs:
            for out in outputs:
                query = query.select(self.ref(out.ref).as_(out.label, quoted=True))
        else:
            query = query.select(exp.Star())
        if spec.distinct:
            query = query.distinct()
        labels = {out.label for out in outputs}
        for key in spec.sort:
            target = (exp.column(key.ref, quoted=True) if key.ref in labels
                      else self.grouped_ref(key.ref) if spec.grouped else self.ref(key.ref))
            query = query.order_by(exp.Ordered(this=target, desc=key.desc, nulls_first=key.desc))
        if spec.limit is not None:
            query = query.limit(spec.limit)
        if spec.offset:
            if spec.limit is None and self.dialect == "sqlite":
                query = query.limit(-1)
            query = query.offset(spec.offset)
        return query

    def _unwind_source(self, column: str, alias: str) -> exp.Expr:
        name = "json_each" if self.dialect == "sqlite" else "jsonb_array_elements"
        arg = self.ref(column)
        if self.dialect == "postgres":  # arrays, json and jsonb alike
            arg = exp.Anonymous(this="to_jsonb", expressions=[arg])
        call = exp.Anonymous(this=name, expressions=[arg])
        columns = [] if self.dialect == "sqlite" else [exp.to_identifier("value", quoted=True)]
        return exp.Table(this=call, alias=exp.TableAlias(
            this=exp.to_identifier(alias, quoted=True), columns=columns))


def compile_sql(spec: QuerySpec, dialect: Dialect) -> str:
    """The spec as one SELECT statement in ``dialect``."""
    return SqlCompiler(spec, dialect).select().sql(dialect=dialect)


def count_sql(spec: QuerySpec, dialect: Dialect) -> str:
    """How many rows the spec gives: its SELECT as a CTE, counted."""
    inner = SqlCompiler(spec, dialect).select()
    outer = exp.select(exp.Count(this=exp.Star()).as_("rows")).from_("step").with_(
        "step", as_=inner)
    return outer.sql(dialect=dialect)


def preview_sql(spec: QuerySpec, dialect: Dialect, rows: int) -> str:
    """At most ``rows`` rows of the spec's result: its SELECT as a CTE, limited."""
    inner = SqlCompiler(spec, dialect).select()
    return exp.select("*").from_("step").with_("step", as_=inner).limit(rows).sql(dialect=dialect)
