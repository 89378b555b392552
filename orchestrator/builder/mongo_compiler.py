"""A query spec as a MongoDB aggregation pipeline, and that pipeline as mongosh text the
MongoDB adapter runs (``db.getCollection("c").aggregate([...])``).

Joins are ``$lookup`` + ``$unwind`` (kept when empty for a left join): the joined
document sits under its alias, so ``alias.field`` is a path, as are nested fields.
Comparisons follow SQL where MongoDB differs: ``!=`` and ``not in`` leave out missing and
null values, ``count(col)`` counts non-null values and ``count_distinct`` ignores null.
Values are JSON data in the pipeline; strings are wrapped in ``$literal`` inside
expressions so a value starting with ``$`` is never read as a field path.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

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

Stage = dict[str, Any]
_ARITH = {"+": "$add", "-": "$subtract", "*": "$multiply", "/": "$divide"}
_FUNCS = {"lower": "$toLower", "upper": "$toUpper", "length": "$strLenCP", "abs": "$abs",
          "round": "$round", "coalesce": "$ifNull"}
_BUCKETS = {"year": "%Y-01-01 00:00:00", "month": "%Y-%m-01 00:00:00",
            "day": "%Y-%m-%d 00:00:00", "hour": "%Y-%m-%d %H:00:00"}
_COMPARE = {"=": "$eq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


def like_to_regex(pattern: str) -> str:
    """A LIKE pattern as an anchored regular expression (case-sensitive, as LIKE here)."""
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return "^" + "".join(parts) + "$"


def _field_name(name: str, what: str) -> str:
    if not name or "." in name or name.startswith("$"):
        raise InvalidRequest(f"{what} {name!r} cannot be a MongoDB field name (no dots, "
                             "no leading $)")
    return name


class MongoCompiler:
    def __init__(self, spec: QuerySpec) -> None:
        self.spec = spec
        self.keys = {k: f"k{i}" for i, k in enumerate(spec.group_by)}
        self.aggs = {a.name: f"a{i}" for i, a in enumerate(spec.aggregates)}

    def path(self, name: str) -> str:
        """A reference as a document path: the source's own alias prefix goes (its fields
        are top-level); a join's or unwind's alias stays (its document sits there)."""
        head, _, rest = name.partition(".")
        return rest if rest and head == self.spec.source.name else name

    def expr(self, node: Expr) -> Any:
        if isinstance(node, Col):
            return "$" + self.path(node.name)
        if isinstance(node, Lit):
            return {"$literal": node.value} if isinstance(node.value, str) else node.value
        if isinstance(node, Arith):
            return {_ARITH[node.op]: [self.expr(node.left), self.expr(node.right)]}
        if isinstance(node, Bucket):
            return {"$dateToString": {"format": _BUCKETS[node.unit],
                                      "date": {"$toDate": self.expr(node.arg)}}}
        if isinstance(node, Func):
            args = [self.expr(a) for a in node.args]
            if node.name == "round":
                return {"$round": args if len(args) > 1 else [args[0], 0]}
            if node.name == "coalesce":
                return {"$ifNull": args}
            return {_FUNCS[node.name]: args[0]}
        raise InvalidRequest(f"unknown expression {node!r}")

    # -- filters -----------------------------------------------------------------------
    def match(self, node: Filter, field: Any) -> dict[str, Any]:
        """A filter tree as a ``$match`` query; ``field(name)`` maps a reference."""
        if isinstance(node, Group):
            parts = [self.match(item, field) for item in node.items]
            if node.negate:
                return {"$nor": [{"$and": parts} if node.combine == "and" else {"$or": parts}]}
            return {"$and" if node.combine == "and" else "$or": parts}
        return {field(node.column): self._operator(node)}

    @staticmethod
    def _operator(cond: Condition) -> Any:
        op, value = cond.op, cond.value
        if op in _COMPARE:
            return {_COMPARE[op]: value}
        if op == "!=":
            return {"$nin": [value, None]}
        if op == "in":
            return {"$in": value}
        if op == "not in":
            return {"$nin": [*value, None]}  # type: ignore[misc]
        if op == "like":
            return {"$regex": like_to_regex(str(value)), "$options": "s"}
        if op == "not like":
            return {"$not": {"$regex": like_to_regex(str(value)), "$options": "s"},
                    "$ne": None}
        if op == "between":
            low, high = cast(list[Scalar], value)
            return {"$gte": low, "$lte": high}
        return {"$eq": None} if op == "is null" else {"$ne": None}

    def accumulator(self, agg: Aggregate) -> Any:
        if agg.column is None:
            return {"$sum": 1}
        value = "$" + self._stored(agg.column)
        if agg.func == "count":
            return {"$sum": {"$cond": [{"$gt": [value, None]}, 1, 0]}}
        if agg.func == "count_distinct":
            return {"$addToSet": value}
        return {f"${agg.func}": value}

    def _stored(self, name: str) -> str:
        return name if self.spec.computed_expr(name) is not None else self.path(name)

    # -- the pipeline ------------------------------------------------------------------
    def pipeline(self) -> list[Stage]:
        spec = self.spec
        stages: list[Stage] = []
        for join in spec.joins:
            stages.extend(self._join(join.table, join.name, join.on, join.kind == "left"))
        for unwind in spec.unwinds:
            stages.append({"$addFields": {_field_name(unwind.alias, "unwind alias"):
                                          "$" + self.path(unwind.column)}})
            stages.append({"$unwind": {"path": "$" + unwind.alias,
                                       "preserveNullAndEmptyArrays": unwind.keep_empty}})
        for computed in spec.computed:
            stages.append({"$addFields": {_field_name(computed.name, "computed column"):
                                          self.expr(computed.expr)}})
        if spec.filter is not None:
            stages.append({"$match": self.match(spec.filter, self._stored)})
        if spec.grouped or spec.distinct:
            stages.extend(self._group())
        else:
            stages.extend(self._sort_page(self._stored))
            outputs = spec.outputs()
            if outputs:
                stages.append({"$project": {"_id": 0, **{
                    _field_name(o.label, "output column"): "$" + self._stored(o.ref)
                    for o in outputs}}})
        return stages

    def _join(self, table: str, alias: str, on: list[Any], keep: bool) -> list[Stage]:
        _field_name(alias, "join alias")
        right = [c.right.split(".", 1)[1] if c.right.startswith(alias + ".") else c.right
                 for c in on]
        if len(on) == 1:
            lookup: Stage = {"from": table, "localField": self.path(on[0].left),
                             "foreignField": right[0], "as": alias}
        else:
            lookup = {"from": table,
                      "let": {f"v{i}": "$" + self.path(c.left) for i, c in enumerate(on)},
                      "pipeline": [{"$match": {"$expr": {"$and": [
                          {"$eq": ["$" + r, f"$$v{i}"]} for i, r in enumerate(right)]}}}],
                      "as": alias}
        return [{"$lookup": lookup},
                {"$unwind": {"path": "$" + alias, "preserveNullAndEmptyArrays": keep}}]

    def _group(self) -> list[Stage]:
        spec = self.spec
        keys = spec.group_by if spec.grouped else [o.ref for o in spec.outputs()]
        if not keys and not spec.grouped:
            raise InvalidRequest("DISTINCT on MongoDB needs named output columns")
        names = {k: f"k{i}" for i, k in enumerate(keys)}
        # one key groups by its value (``_id: "$path"``), several by a document of them
        if len(keys) == 1:
            group: Stage = {"_id": "$" + self._stored(keys[0])}
            flat: Stage = {"_id": 0, "k0": "$_id"}
        else:
            group = {"_id": {n: "$" + self._stored(k) for k, n in names.items()}
                     if keys else None}
            flat = {"_id": 0, **{n: f"$_id.{n}" for n in names.values()}}
        for agg in spec.aggregates:
            group[self.aggs[agg.name]] = self.accumulator(agg)
        for agg in spec.aggregates:
            name = self.aggs[agg.name]
            flat[name] = ({"$size": {"$setDifference": [f"${name}", [None]]}}
                          if agg.func == "count_distinct" else f"${name}")
        stages: list[Stage] = [{"$group": group}, {"$project": flat}]

        def field(ref: str) -> str:
            if ref in self.aggs:
                return self.aggs[ref]
            if ref in names:
                return names[ref]
            label = next((o.ref for o in spec.outputs() if o.label == ref), None)
            if label is not None:
                return field(label)
            raise InvalidRequest(f"{ref!r} is neither a group key nor an aggregate")

        if spec.having is not None:
            stages.append({"$match": self.match(spec.having, field)})
        stages.extend(self._sort_page(field))
        outputs = spec.outputs() if spec.grouped else [*spec.outputs()]
        stages.append({"$project": {_field_name(o.label, "output column"): "$" + field(o.ref)
                                    for o in outputs}})
        return stages

    def _sort_page(self, field: Any) -> list[Stage]:
        spec = self.spec
        labels = {o.label: o.ref for o in spec.outputs()}
        stages: list[Stage] = []
        if spec.sort:
            stages.append({"$sort": {field(labels.get(k.ref, k.ref)): -1 if k.desc else 1
                                     for k in spec.sort}})
        if spec.offset:
            stages.append({"$skip": spec.offset})
        if spec.limit is not None:
            stages.append({"$limit": spec.limit})
        return stages


def compile_pipeline(spec: QuerySpec) -> list[Stage]:
    return MongoCompiler(spec).pipeline()


def mongosh_text(collection: str, pipeline: list[Stage]) -> str:
    """The pipeline as one mongosh statement; JSON is valid JavaScript, and every value
    in it is JSON-encoded (quotes, backslashes and control characters escaped)."""
    return (f"db.getCollection({json.dumps(collection)}).aggregate("
            f"{json.dumps(pipeline, allow_nan=True)})")


def compile_mongosh(spec: QuerySpec) -> str:
    return mongosh_text(spec.source.table, compile_pipeline(spec))


def preview_mongosh(spec: QuerySpec, rows: int) -> str:
    return mongosh_text(spec.source.table, [*compile_pipeline(spec), {"$limit": rows}])


def count_mongosh(spec: QuerySpec) -> str:
    return mongosh_text(spec.source.table, [*compile_pipeline(spec), {"$count": "rows"}])
