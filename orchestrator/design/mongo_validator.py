"""A MongoDB ``$jsonSchema`` validator inferred from sampled documents, and its fields as
editable rows.

MongoDB's dialect of JSON Schema (draft 4 with ``bsonType``; no ``$ref``, no ``format``):
each field gets ``bsonType`` (one name, or a union such as ``["string", "null"]``), nested
objects get ``properties`` and ``required``, arrays get ``items`` (what every element
is). A field is ``required`` when it is present in at least ``required_share`` of the
documents where its parent is (1.0: all of them). Whole numbers are allowed as ``int``
or ``long``: a sample read back through JSON cannot tell the two apart.

The rows (:func:`to_fields` / :func:`from_fields`) name fields by path: ``address.zipcode``
for a nested field, ``grades[]`` for the elements of an array and ``grades[].score`` for a
field of its object elements.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engines.mongodb.rows import bson_type

#: integer types: either may hold a whole number read back from JSON
WHOLE = ("int", "long")

#: the ``bsonType`` names MongoDB accepts (``$type`` aliases)
BSON_TYPES = ("double", "string", "object", "array", "binData", "objectId", "bool", "date",
              "null", "regex", "javascript", "int", "timestamp", "long", "decimal", "minKey",
              "maxKey", "number")

ITEMS = "[]"


@dataclass
class _Shape:
    """What was seen at one place of the documents."""

    seen: int = 0  # how many values were seen here
    types: Counter[str] = field(default_factory=Counter)
    objects: int = 0  # how many of the values were objects
    properties: dict[str, _Shape] = field(default_factory=dict)
    presence: Counter[str] = field(default_factory=Counter)  # objects holding each key
    items: _Shape | None = None

    def add(self, value: Any) -> None:
        self.seen += 1
        kind = bson_type(value)
        if kind in WHOLE:
            self.types.update(WHOLE)
        else:
            self.types[kind] += 1
        if kind == "object":
            self.objects += 1
            for key, inner in value.items():
                self.presence[key] += 1
                self.properties.setdefault(str(key), _Shape()).add(inner)
        elif kind == "array":
            self.items = self.items or _Shape()
            for element in value:
                self.items.add(element)

    def schema(self, required_share: float) -> dict[str, Any]:
        out: dict[str, Any] = {}
        types = sorted(self.types)
        if types:
            out["bsonType"] = types[0] if len(types) == 1 else types
        if self.properties:
            out["properties"] = {k: s.schema(required_share) for k, s in self.properties.items()}
            needed = [k for k in self.properties
                      if self.presence[k] >= required_share * self.objects]
            if needed:
                out["required"] = needed
        if self.items is not None and self.items.seen:
            out["items"] = self.items.schema(required_share)
        return out


def infer_validator(documents: Iterable[Mapping[str, Any]],
                    required_share: float = 1.0) -> dict[str, Any]:
    """The ``$jsonSchema`` (without the ``$jsonSchema`` wrapper) the documents satisfy."""
    root = _Shape()
    for document in documents:
        root.add(dict(document))
    schema = root.schema(required_share)
    schema["bsonType"] = "object"
    return schema


def validator_document(schema: Mapping[str, Any]) -> dict[str, Any]:
    """What ``collMod``'s ``validator`` takes: ``{"$jsonSchema": schema}``."""
    return {"$jsonSchema": dict(schema)}


# -- the schema as rows ------------------------------------------------------------------

@dataclass
class FieldRow:
    """One field of a validator, as the Design page's grid shows it."""

    field: str
    bson_type: list[str]
    required: bool

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "bsonType": ", ".join(self.bson_type),
                "required": self.required}


def _types(schema: Mapping[str, Any]) -> list[str]:
    value = schema.get("bsonType", [])
    return [value] if isinstance(value, str) else list(value)


def to_fields(schema: Mapping[str, Any], prefix: str = "") -> list[FieldRow]:
    """Every field of ``schema`` (nested ones and array elements too), in order."""
    rows: list[FieldRow] = []
    required = set(schema.get("required", []))
    for name, inner in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        rows.append(FieldRow(path, _types(inner), name in required))
        rows += _nested(inner, path)
    return rows


def _nested(schema: Mapping[str, Any], path: str) -> list[FieldRow]:
    rows = to_fields(schema, f"{path}.")
    items = schema.get("items")
    if isinstance(items, Mapping):
        rows.append(FieldRow(f"{path}{ITEMS}", _types(items), False))
        rows += _nested(items, f"{path}{ITEMS}")
    return rows


def parse_types(text: str | Iterable[str]) -> list[str]:
    """``"string, null"`` (or a list) as bsonType names; an unknown one is a ValueError."""
    names = [t.strip() for t in (text.split(",") if isinstance(text, str) else text)]
    names = [t for t in names if t]
    unknown = [t for t in names if t not in BSON_TYPES]
    if unknown:
        raise ValueError(f"unknown bsonType {', '.join(unknown)}; use one of "
                         f"{', '.join(BSON_TYPES)}")
    return names


def _split(path: str) -> list[str]:
    """``a.b[].c`` -> ``["a", "b", "[]", "c"]``."""
    return re.findall(r"\[\]|[^.\[\]]+", path)


def from_fields(rows: Iterable[FieldRow]) -> dict[str, Any]:
    """The ``$jsonSchema`` the rows describe (a field's parents are created as objects
    when no row names them)."""
    root: dict[str, Any] = {"bsonType": "object"}
    for row in rows:
        steps = _split(row.field.strip())
        if not steps:
            continue
        node = root
        for step in steps[:-1]:
            node = _child(node, step, create=True)
        last = steps[-1]
        target = _child(node, last, create=True)
        types = list(row.bson_type)
        if types:
            target["bsonType"] = types[0] if len(types) == 1 else types
        else:
            target.pop("bsonType", None)
        if last != ITEMS and row.required:
            needed = node.setdefault("required", [])
            if last not in needed:
                needed.append(last)
    return root


def _child(node: dict[str, Any], step: str, *, create: bool) -> dict[str, Any]:
    if step == ITEMS:
        if "items" not in node:
            node["items"] = {}
            _allow(node, "array")
        child: dict[str, Any] = node["items"]
        return child
    properties = node.setdefault("properties", {})
    if step not in properties:
        properties[step] = {}
    _allow(node, "object")
    found: dict[str, Any] = properties[step]
    return found


def _allow(node: dict[str, Any], kind: str) -> None:
    """A node given properties or items must allow being an object or array."""
    types = _types(node)
    if types and kind not in types:
        types.append(kind)
        node["bsonType"] = types
    elif not types:
        node["bsonType"] = kind
