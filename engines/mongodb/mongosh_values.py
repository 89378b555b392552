"""Evaluate the value part of a mongosh statement (filters, documents, pipelines).

The evaluator walks an esprima AST and accepts only a whitelist of node types:
literals (including regex literals), object and array literals, unary ``-``/``+``
on numbers, the identifiers ``undefined``/``NaN``/``Infinity`` and the BSON
constructors mongosh users write every day (``ObjectId``, ``ISODate``,
``new Date``, ``NumberInt``, ``NumberLong``, ``NumberDecimal``). Anything else
raises :class:`~engines.errors.UnsupportedCommand` naming the construct and
its position. Nothing is ever executed as JavaScript.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from bson import Decimal128, Int64, ObjectId, Regex
from bson.errors import InvalidId

from engines.errors import UnsupportedCommand

#: Shown whenever a statement uses something the evaluator does not run.
SUPPORTED_HELP = (
    "Supported mongosh syntax: db.<collection>.find(filter, projection) with "
    ".sort() .limit() .skip() .count() .toArray() .explain(), findOne, aggregate([...]), "
    "insertOne, insertMany, updateOne, updateMany, replaceOne, deleteOne, deleteMany, "
    "countDocuments, estimatedDocumentCount, distinct, createIndex, dropIndex, getIndexes, "
    "drop; db.createCollection(name, options), db.getCollectionNames(), "
    "db.runCommand({collMod: name, validator, validationLevel, validationAction}), "
    "db.getCollection(\"name\") and db[\"name\"]. Values: object/array literals, strings, "
    "numbers, true/false/null, regex literals /re/flags, ObjectId(), ISODate(), new Date(), "
    "NumberInt(), NumberLong(), NumberDecimal(). Variables, functions, loops and other "
    "JavaScript are not run."
)

_CONSTANTS: dict[str, Any] = {
    "undefined": None,
    "NaN": math.nan,
    "Infinity": math.inf,
}

_INT32 = range(-(2**31), 2**31)


def where(node: Any) -> tuple[int | None, int | None]:
    """The 1-based (line, column) of an AST node, when esprima recorded it."""
    loc = getattr(node, "loc", None)
    if loc is None:
        return None, None
    return loc.start.line, loc.start.column + 1


def unsupported(what: str, node: Any) -> UnsupportedCommand:
    line, column = where(node)
    return UnsupportedCommand(f"{what} is not supported. {SUPPORTED_HELP}",
                              line=line, column=column)


def evaluate(node: Any) -> Any:
    """Turn one expression node into a Python/BSON value."""
    kind = node.type
    if kind == "Literal":
        regex = getattr(node, "regex", None)
        if regex is not None:
            return Regex(regex.pattern, regex.flags)
        return _number(node.value)
    if kind == "ObjectExpression":
        return _object(node)
    if kind == "ArrayExpression":
        return [_element(item, node) for item in node.elements]
    if kind == "UnaryExpression" and node.operator in ("-", "+"):
        value = evaluate(node.argument)
        if isinstance(value, bool) or not isinstance(value, (int, float, Int64)):
            raise unsupported(f"unary {node.operator} on a non-number", node)
        if node.operator == "+":
            return value
        return Int64(-value) if isinstance(value, Int64) else -value
    if kind == "Identifier":
        if node.name in _CONSTANTS:
            return _CONSTANTS[node.name]
        raise unsupported(f"the variable {node.name!r}", node)
    if kind == "TemplateLiteral" and not node.expressions:
        return "".join(q.value.cooked for q in node.quasis)
    if kind in ("CallExpression", "NewExpression"):
        return _constructor(node)
    raise unsupported(f"the JavaScript expression {kind}", node)


def _number(value: Any) -> Any:
    """JavaScript numbers as mongosh stores them: whole numbers that fit in 32 bits are
    ints, every other number is a double (``NumberLong`` is how to get a 64-bit int)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, float) and value.is_integer() and -(2**31) <= value < 2**31:
        return int(value)
    if isinstance(value, int) and value not in _INT32:
        return float(value)
    return value


def _element(item: Any, parent: Any) -> Any:
    if item is None:
        raise unsupported("an array hole", parent)
    if item.type == "SpreadElement":
        raise unsupported("spread (...)", item)
    return evaluate(item)


def _object(node: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for prop in node.properties:
        if prop.type != "Property":
            raise unsupported(f"{prop.type} in an object literal", prop)
        if prop.computed or prop.method or prop.shorthand or prop.kind != "init":
            raise unsupported("a computed, shorthand or method property", prop)
        key = prop.key
        if key.type == "Identifier":
            name = key.name
        elif key.type == "Literal" and isinstance(key.value, (str, int, float)):
            name = key.value if isinstance(key.value, str) else _number_key(key.value)
        else:
            raise unsupported(f"the object key {key.type}", key)
        result[name] = evaluate(prop.value)
    return result


def _number_key(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _constructor(node: Any) -> Any:
    callee = node.callee
    if callee.type != "Identifier":
        raise unsupported("calling anything but a BSON constructor inside a value", node)
    name = callee.name
    args = [_element(a, node) for a in node.arguments]
    try:
        if name == "ObjectId":
            return _object_id(args)
        if name in ("ISODate", "Date"):
            return _date(args)
        if name == "NumberInt":
            return _number_int(args)
        if name == "NumberLong":
            return Int64(int(_one_number(args, name)))
        if name == "NumberDecimal":
            return Decimal128(str(_one_arg(args, name, "0")))
    except (InvalidId, ValueError, TypeError, ArithmeticError) as exc:
        line, column = where(node)
        raise UnsupportedCommand(f"invalid {name}(...): {exc}", line=line,
                                 column=column) from exc
    raise unsupported(f"the function {name}()", node)


def _one_arg(args: list[Any], name: str, default: Any) -> Any:
    if len(args) > 1:
        raise ValueError(f"{name} takes at most one argument")
    return args[0] if args else default


def _one_number(args: list[Any], name: str) -> Any:
    value = _one_arg(args, name, 0)
    if isinstance(value, str):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} needs a number or a numeric string")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{name} needs a whole number, got {value}")
    return value


def _number_int(args: list[Any]) -> int:
    value = int(_one_number(args, "NumberInt"))
    if value not in _INT32:
        raise ValueError(f"{value} does not fit in a 32-bit integer")
    return value


def _object_id(args: list[Any]) -> ObjectId:
    value = _one_arg(args, "ObjectId", None)
    if value is None:
        return ObjectId()
    if not isinstance(value, str):
        raise ValueError("ObjectId takes a 24-character hex string")
    return ObjectId(value)


def _date(args: list[Any]) -> dt.datetime:
    """``ISODate(s)``, ``new Date()``, ``new Date(iso)`` or ``new Date(milliseconds)``."""
    value = _one_arg(args, "Date", None)
    if value is None:
        now = dt.datetime.now(dt.UTC)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)
    if isinstance(value, bool):
        raise ValueError("a date needs an ISO-8601 string or milliseconds since 1970")
    if isinstance(value, (int, float)):
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
            milliseconds=value)
    if isinstance(value, str):
        return parse_iso_date(value)
    raise ValueError("a date needs an ISO-8601 string or milliseconds since 1970")


def parse_iso_date(text: str) -> dt.datetime:
    """Parse the ISO-8601 forms mongosh accepts; no offset means UTC."""
    text = text.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)
