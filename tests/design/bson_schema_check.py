"""A tiny evaluator of the ``$jsonSchema`` subset the designer writes (``bsonType``,
``properties``, ``required``, ``items``): how a document fares, without a server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engines.mongodb.rows import bson_type

NUMBERS = {"int", "long", "double", "decimal"}


def _matches(kind: str, allowed: list[str]) -> bool:
    return kind in allowed or ("number" in allowed and kind in NUMBERS)


def failures(schema: Mapping[str, Any], value: Any, path: str = "$") -> list[str]:
    """Why ``value`` fails ``schema`` (empty when it passes)."""
    allowed = schema.get("bsonType")
    if allowed is not None:
        allowed = [allowed] if isinstance(allowed, str) else list(allowed)
        if not _matches(bson_type(value), allowed):
            return [f"{path}: {bson_type(value)} is not {allowed}"]
    out: list[str] = []
    if isinstance(value, Mapping):
        out += [f"{path}.{k}: missing" for k in schema.get("required", []) if k not in value]
        for key, inner in schema.get("properties", {}).items():
            if key in value:
                out += failures(inner, value[key], f"{path}.{key}")
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, element in enumerate(value):
            out += failures(schema["items"], element, f"{path}[{i}]")
    return out
