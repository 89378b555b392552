"""SQL into a query spec (sqlglot parses it), when the SQL fits the spec's subset: one
SELECT from one table, inner and left joins on equalities, a WHERE of comparisons of a
column (or an expression) with values, GROUP BY with aggregates, HAVING, ORDER BY, LIMIT
and OFFSET. Anything else is an :class:`InvalidRequest` naming the part that does not fit.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from engines.errors import InvalidRequest
from orchestrator.builder.spec import (
    Aggregate,
    Arith,
    Bucket,
    Col,
    Computed,
    Condition,
    Expr,
    Func,
    Group,
    Join,
    JoinOn,
    Lit,
    Output,
    QuerySpec,
    Scalar,
    SortKey,
    Source,
)

Dialect = Literal["postgres", "sqlite"]
_COMPARISONS: dict[type[exp.Expr], str] = {
    exp.EQ: "=", exp.NEQ: "!=", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">="}
_FLIPPED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ARITH: dict[type[exp.Expr], str] = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*",
                                           exp.Div: "/"}
_AGGREGATES: dict[type[exp.Expr], str] = {
    exp.Count: "count", exp.Sum: "sum", exp.Avg: "avg", exp.Min: "min", exp.Max: "max"}
_FUNCS: dict[type[exp.Expr], str] = {
    exp.Lower: "lower", exp.Upper: "upper", exp.Length: "length", exp.Abs: "abs",
    exp.Round: "round", exp.Coalesce: "coalesce"}
_SQLITE_BUCKETS = {"%Y-01-01 00:00:00": "year", "%Y-%m-01 00:00:00": "month",
                   "%Y-%m-%d 00:00:00": "day", "%Y-%m-%d %H:00:00": "hour"}


def _misfit(what: str, node: exp.Expr | None = None) -> InvalidRequest:
    shown = f": {node.sql()[:120]}" if node is not None else ""
    return InvalidRequest(f"the builder does not take {what}{shown}")


def _ref(column: exp.Column) -> str:
    if column.args.get("db") or column.args.get("catalog"):
        raise _misfit("schema-qualified columns", column)
    return f"{column.table}.{column.name}" if column.table else column.name


def value_of(node: exp.Expr) -> Scalar:
    """A literal's value (a typed literal such as ``DATE '2022-05-01'`` gives its text)."""
    if isinstance(node, exp.Paren):
        return value_of(node.this)
    if isinstance(node, exp.Neg):
        inner = value_of(node.this)
        if isinstance(inner, int | float) and not isinstance(inner, bool):
            return -inner
    if isinstance(node, exp.Literal):
        if node.is_string:
            return str(node.this)
        text = str(node.this)
        return float(text) if any(c in text for c in ".eE") else int(text)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        return str(node.this.this)
    raise _misfit("this value (a filter compares with literal values only)", node)


class SqlReader:
    def __init__(self, select: exp.Select, dialect: Dialect) -> None:
        self.select = select
        self.dialect = dialect
        self.computed: list[Computed] = []
        self.aggregates: list[Aggregate] = []
        self.names: set[str] = set()

    # -- names -------------------------------------------------------------------------
    def _fresh(self, base: str) -> str:
        name, n = base, 2
        while name in self.names:
            name, n = f"{base}_{n}", n + 1
        self.names.add(name)
        return name

    def expr(self, node: exp.Expr) -> Expr:
        if isinstance(node, exp.Paren):
            return self.expr(node.this)
        if isinstance(node, exp.Column):
            return Col(name=_ref(node))
        if isinstance(node, exp.Literal | exp.Boolean | exp.Null | exp.Neg) and not (
                isinstance(node, exp.Neg) and not isinstance(node.this, exp.Literal)):
            return Lit(value=value_of(node))
        if type(node) in _ARITH:
            return Arith(op=_ARITH[type(node)], left=self.expr(node.this),  # type: ignore[arg-type]
                         right=self.expr(node.expression))
        if isinstance(node, exp.TimestampTrunc | exp.DateTrunc):
            unit = str(node.args["unit"].name).lower()
            if unit not in ("year", "month", "day", "hour"):
                raise _misfit(f"date buckets by {unit}", node)
            return Bucket(unit=unit, arg=self.expr(node.this))  # type: ignore[arg-type]
        if isinstance(node, exp.TimeToStr):
            fmt = node.args.get("format")
            bucket = _SQLITE_BUCKETS.get(fmt.name if fmt is not None else "")
            if bucket is None:
                raise _misfit("this strftime format (only year/month/day/hour buckets)", node)
            return Bucket(unit=bucket, arg=self.expr(node.this))  # type: ignore[arg-type]
        if type(node) in _FUNCS:
            args = [node.this, *node.expressions]
            if isinstance(node, exp.Round) and node.args.get("decimals") is not None:
                args.append(node.args["decimals"])
            return Func(name=_FUNCS[type(node)], args=[self.expr(a) for a in args])  # type: ignore[arg-type]
        raise _misfit("this expression", node)

    def column_name(self, node: exp.Expr, base: str = "expr") -> str:
        """A column reference, or a computed column made of an expression."""
        if isinstance(node, exp.Paren):
            return self.column_name(node.this, base)
        if isinstance(node, exp.Column):
            return _ref(node)
        expr = self.expr(node)
        for c in self.computed:
            if c.expr == expr:
                return c.name
        name = self._fresh(base)
        self.computed.append(Computed(name=name, expr=expr))
        return name

    def aggregate_name(self, node: exp.Expr, alias: str | None = None) -> str:
        func = _AGGREGATES[type(node)]
        arg = node.this
        if isinstance(arg, exp.Distinct):
            if func != "count" or len(arg.expressions) != 1:
                raise _misfit("DISTINCT inside this aggregate", node)
            func, arg = "count_distinct", arg.expressions[0]
        column = None if isinstance(arg, exp.Star) or arg is None else self.column_name(arg)
        if func == "count" and column is not None and isinstance(arg, exp.Literal):
            raise _misfit("count of a constant (write count(*))", node)
        agg = Aggregate(name="_", func=func, column=column)  # type: ignore[arg-type]
        if alias is None:
            for known in self.aggregates:
                if known.func == agg.func and known.column == agg.column:
                    return known.name
        name = alias if alias is not None else self._fresh(func)
        self.names.add(name)
        self.aggregates.append(agg.model_copy(update={"name": name}))
        return name

    # -- filters -----------------------------------------------------------------------
    def filter(self, node: exp.Expr, having: bool = False) -> Condition | Group:
        if isinstance(node, exp.Paren):
            return self.filter(node.this, having)
        if isinstance(node, exp.And | exp.Or):
            combine = "and" if isinstance(node, exp.And) else "or"
            items: list[Condition | Group] = []
            for part in node.flatten():
                item = self.filter(part, having)
                if isinstance(item, Group) and item.combine == combine and not item.negate:
                    items.extend(item.items)
                else:
                    items.append(item)
            return Group(combine=combine, items=items)  # type: ignore[arg-type]
        if isinstance(node, exp.Not):
            inner = self.filter(node.this, having)
            if isinstance(inner, Condition) and inner.op in _NEGATED:
                return inner.model_copy(update={"op": _NEGATED[inner.op]})
            if isinstance(inner, Group):
                return inner.model_copy(update={"negate": not inner.negate})
            return Group(items=[inner], negate=True)
        return self._condition(node, having)

    def _left(self, node: exp.Expr, having: bool) -> str:
        if having and type(node) in _AGGREGATES:
            return self.aggregate_name(node)
        if isinstance(node, exp.Column) and having and node.name in self.names:
            return node.name
        if node.find(exp.AggFunc) is not None:
            raise _misfit("an aggregate outside HAVING", node)
        return self.column_name(node)

    def _condition(self, node: exp.Expr, having: bool) -> Condition:
        if type(node) in _COMPARISONS:
            op, left, right = _COMPARISONS[type(node)], node.this, node.expression
            if _is_value(left) and not _is_value(right):
                op, left, right = _FLIPPED[op], right, left
            if not _is_value(right):
                raise _misfit("a comparison of two columns in a filter (join on them "
                              "instead)", node)
            value = value_of(right)
            if value is None:
                raise _misfit("= NULL (write IS NULL)", node)
            return Condition(column=self._left(left, having), op=op, value=value)  # type: ignore[arg-type]
        if isinstance(node, exp.In):
            if node.args.get("query") is not None or node.args.get("unnest") is not None:
                raise _misfit("IN with a subquery", node)
            return Condition(column=self._left(node.this, having), op="in",
                             value=[value_of(v) for v in node.expressions])
        if isinstance(node, exp.Like | exp.Escape | exp.ILike):
            return self._like(node, having)
        if isinstance(node, exp.Between):
            return Condition(column=self._left(node.this, having), op="between",
                             value=[value_of(node.args["low"]), value_of(node.args["high"])])
        if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
            op = "is not null" if node.args.get("negate") else "is null"
            return Condition(column=self._left(node.this, having), op=op)  # type: ignore[arg-type]
        raise _misfit("this condition", node)

    def _like(self, node: exp.Expr, having: bool) -> Condition:
        if isinstance(node, exp.Escape):
            escape = value_of(node.expression)
            if escape != "":
                raise _misfit("LIKE with an escape character", node)
            node = node.this
        if isinstance(node, exp.ILike):
            raise _misfit("ILIKE (LIKE here is case-sensitive)", node)
        pattern = value_of(node.expression)
        if not isinstance(pattern, str):
            raise _misfit("LIKE with a pattern that is not text", node)
        if self.dialect == "postgres" and "\\" in pattern:
            raise _misfit("backslash escapes in a LIKE pattern", node)
        if self.dialect == "sqlite":
            raise _misfit("LIKE on SQLite (case-insensitive there; the builder's LIKE is "
                          "case-sensitive, written as GLOB)", node)
        return Condition(column=self._left(node.this, having), op="like", value=pattern)

    # -- the statement -----------------------------------------------------------------
    def read(self) -> QuerySpec:
        sel = self.select
        for part in ("with", "with_", "windows", "qualify", "laterals", "pivots", "into", "locks",
                     "kind", "hint", "distribute", "sort", "cluster"):
            if sel.args.get(part):
                raise _misfit("WITH (CTEs)" if part.startswith("with") else part.upper())
        if sel.find(exp.Window) is not None:
            raise _misfit("window functions", sel.find(exp.Window))
        subquery = next((s for s in sel.find_all(exp.Select) if s is not sel), None)
        if subquery is not None:
            raise _misfit("subqueries", subquery)
        source = self._source(sel.args.get("from_") or sel.args.get("from"))
        joins = [self._join(j) for j in sel.args.get("joins") or []]
        distinct = sel.args.get("distinct")
        if distinct is not None and distinct.args.get("on") is not None:
            raise _misfit("DISTINCT ON", distinct)
        outputs = self._outputs(sel.expressions)
        group = sel.args.get("group")
        group_by = [self._group_key(k, outputs, sel.expressions)
                    for k in (group.expressions if group is not None else [])]
        if group is not None and any(group.args.get(k) for k in ("rollup", "cube",
                                                                  "grouping_sets")):
            raise _misfit("ROLLUP, CUBE and GROUPING SETS", group)
        where = sel.args.get("where")
        filt = self.filter(where.this) if where is not None else None
        having = sel.args.get("having")
        hav = self.filter(having.this, having=True) if having is not None else None
        order = sel.args.get("order")
        sort = [self._sort_key(o, outputs) for o in (order.expressions if order else [])]
        grouped = bool(group_by or self.aggregates)
        if grouped:
            outputs = [self._grouped_output(o, group_by) for o in outputs]
        try:
            return QuerySpec(source=source, joins=joins, computed=self.computed, filter=filt,
                             group_by=group_by, aggregates=self.aggregates, having=hav,
                             columns=outputs, distinct=distinct is not None, sort=sort,
                             limit=_count(sel.args.get("limit")),
                             offset=_count(sel.args.get("offset")))
        except ValueError as exc:
            raise InvalidRequest(f"the builder does not take this query: {exc}") from None

    def _source(self, node: Any) -> Source:
        table = node.this if node is not None else None
        if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
            raise _misfit("a FROM that is not one table", table)
        if table.args.get("db"):
            raise _misfit("schema-qualified tables", table)
        return Source(table=table.name, alias=table.alias or None)

    def _join(self, join: exp.Join) -> Join:
        side = (join.side or "").lower()
        kind = (join.kind or "").lower()
        if side not in ("", "left") or kind not in ("", "inner", "outer"):
            raise _misfit(f"{(side + ' ' + kind).strip().upper()} JOIN", join)
        if join.args.get("using"):
            raise _misfit("JOIN ... USING (write JOIN ... ON)", join)
        table = join.this
        if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
            raise _misfit("a join of something that is not a table", join)
        alias = table.alias or table.name
        on = join.args.get("on")
        if on is None:
            raise _misfit("a join without ON (for FROM a, b write FROM a JOIN b ON ...)", join)
        conditions = []
        for part in (on.flatten() if isinstance(on, exp.And) else [on]):
            part = part.unnest()
            if not (isinstance(part, exp.EQ) and isinstance(part.this, exp.Column)
                    and isinstance(part.expression, exp.Column)):
                raise _misfit("a join condition other than column = column", part)
            left, right = _ref(part.this), _ref(part.expression)
            if part.this.table == alias and part.expression.table != alias:
                left, right = right, left
            elif part.expression.table != alias:
                raise _misfit(f"a join condition that does not name {alias!r} on one "
                              "side", part)
            conditions.append(JoinOn(left=left, right=right))
        return Join(table=table.name, alias=table.alias or None,
                    kind="left" if side == "left" else "inner", on=conditions)

    def _outputs(self, nodes: list[exp.Expr]) -> list[Output]:
        outputs: list[Output] = []
        for node in nodes:
            if isinstance(node, exp.Star):
                if len(nodes) > 1:
                    raise _misfit("* beside other columns", node)
                return []
            alias = node.alias if isinstance(node, exp.Alias) else None
            inner = node.this if isinstance(node, exp.Alias) else node
            if isinstance(inner, exp.Column) and isinstance(inner.this, exp.Star):
                raise _misfit("table.* (name the columns)", node)
            if type(inner) in _AGGREGATES:
                name = self.aggregate_name(inner, alias or self._fresh(_AGGREGATES[type(inner)]))
                outputs.append(Output(ref=name))
            elif isinstance(inner, exp.Column):
                outputs.append(Output(ref=_ref(inner), name=alias if alias and
                                      alias != inner.name else None))
            else:
                if inner.find(exp.AggFunc) is not None:
                    raise _misfit("an expression around an aggregate", inner)
                name = alias or self._fresh(_default_name(inner))
                self.names.add(name)
                self.computed.append(Computed(name=name, expr=self.expr(inner)))
                outputs.append(Output(ref=name))
        return outputs

    def _group_key(self, node: exp.Expr, outputs: list[Output],
                   selected: list[exp.Expr]) -> str:
        if isinstance(node, exp.Literal) and not node.is_string:
            position = int(node.this)
            if not 1 <= position <= len(outputs):
                raise _misfit("GROUP BY a position outside the select list", node)
            return outputs[position - 1].ref
        if isinstance(node, exp.Column) and not node.table:
            for out in outputs:
                if out.label == node.name and out.ref != node.name:
                    return out.ref
        for out, sel in zip(outputs, selected, strict=False):
            if (sel.this if isinstance(sel, exp.Alias) else sel) == node:
                return out.ref
        return self.column_name(node, "key")

    def _grouped_output(self, out: Output, group_by: list[str]) -> Output:
        if out.ref in group_by or any(a.name == out.ref for a in self.aggregates):
            return out
        raise InvalidRequest(f"the builder does not take {out.ref!r} in the select list: it is "
                         "neither in GROUP BY nor an aggregate")

    def _sort_key(self, node: exp.Ordered, outputs: list[Output]) -> SortKey:
        target, desc = node.this, bool(node.args.get("desc"))
        if node.args.get("nulls_first") is not None and bool(node.args["nulls_first"]) != desc:
            raise _misfit("NULLS FIRST/LAST other than the default (last ascending, first "
                          "descending)", node)
        if isinstance(target, exp.Literal) and not target.is_string:
            position = int(target.this)
            if not 1 <= position <= len(outputs):
                raise _misfit("ORDER BY a position outside the select list", node)
            return SortKey(ref=outputs[position - 1].label, desc=desc)
        if isinstance(target, exp.Column) and not target.table and any(
                o.label == target.name for o in outputs):
            return SortKey(ref=target.name, desc=desc)
        if type(target) in _AGGREGATES:
            return SortKey(ref=self.aggregate_name(target), desc=desc)
        return SortKey(ref=self.column_name(target, "sort_key"), desc=desc)


_NEGATED = {"in": "not in", "like": "not like", "is null": "is not null",
            "is not null": "is null", "=": "!=", "!=": "="}


def _is_value(node: exp.Expr) -> bool:
    try:
        value_of(node)
    except InvalidRequest:
        return False
    return True


def _default_name(node: exp.Expr) -> str:
    """The column name PostgreSQL gives an unnamed expression (its function's name)."""
    if isinstance(node, exp.Func):
        return str(node.sql_name()).lower() if not isinstance(
            node, exp.TimestampTrunc | exp.DateTrunc) else "date_trunc"
    return "expr"


def _count(node: exp.Expr | None) -> int | None:
    if node is None:
        return None
    value = value_of(node.expression if isinstance(node, exp.Limit | exp.Offset) else node)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _misfit("a LIMIT or OFFSET that is not a non-negative whole number", node)
    return value


def sql_to_spec(sql: str, dialect: Dialect = "postgres") -> QuerySpec:
    """The spec of one SELECT, or an :class:`InvalidRequest` saying which part does not
    fit."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as exc:
        detail = exc.errors[0]["description"] if exc.errors else str(exc)
        raise InvalidRequest(f"the SQL does not parse: {detail}") from None
    if len(statements) != 1:
        raise InvalidRequest(f"the builder takes exactly one statement, not {len(statements)}")
    (statement,) = statements
    if isinstance(statement, exp.Union | exp.Intersect | exp.Except):
        raise _misfit("UNION, INTERSECT and EXCEPT", statement)
    if not isinstance(statement, exp.Select):
        raise _misfit(f"{statement.key.upper()} statements (only SELECT)")
    return SqlReader(statement, dialect).read()
