"""A MongoDB index design (compound, unique, partial, TTL) and the ``createIndex`` command
that makes it, in the mongosh subset the playground runs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engines.errors import InvalidRequest

#: the key kinds a field may have: ascending, descending and the special indexes
DIRECTIONS: tuple[int | str, ...] = (1, -1, "text", "hashed", "2dsphere")


@dataclass
class IndexDesign:
    """``keys`` in order, e.g. ``[("borough", 1), ("grades.score", -1)]``."""

    keys: list[tuple[str, int | str]]
    unique: bool = False
    partial: dict[str, Any] | None = None  # partialFilterExpression
    ttl_seconds: int | None = None  # expireAfterSeconds
    name: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IndexDesign:
        keys = [(str(field), _direction(direction)) for field, direction in data.get("keys", [])]
        ttl = data.get("ttl_seconds")
        return cls(keys=keys, unique=bool(data.get("unique", False)),
                   partial=data.get("partial") or None,
                   ttl_seconds=None if ttl in (None, "") else int(ttl),
                   name=data.get("name") or None)

    def check(self) -> None:
        """A design MongoDB would refuse is an InvalidRequest saying why."""
        fields = [f for f, _ in self.keys]
        if not fields or any(not f.strip() for f in fields):
            raise InvalidRequest("an index needs at least one field, each with a name")
        if len(set(fields)) != len(fields):
            raise InvalidRequest("an index names each field once")
        if self.ttl_seconds is not None:
            if self.ttl_seconds < 0:
                raise InvalidRequest("a TTL (expireAfterSeconds) cannot be negative")
            if len(self.keys) != 1 or self.keys[0][1] not in (1, -1):
                raise InvalidRequest("a TTL index has exactly one ascending or descending "
                                     "field (a date field)")
        if self.unique and any(d == "hashed" for _, d in self.keys):
            raise InvalidRequest("a hashed index cannot be unique")
        if self.partial is not None and not isinstance(self.partial, Mapping):
            raise InvalidRequest("a partial index's filter (partialFilterExpression) is a "
                                 "document such as {\"rating\": {\"$gte\": 4}}")

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.name:
            options["name"] = self.name
        if self.unique:
            options["unique"] = True
        if self.partial:
            options["partialFilterExpression"] = self.partial
        if self.ttl_seconds is not None:
            options["expireAfterSeconds"] = self.ttl_seconds
        return options

    def command(self, collection: str) -> str:
        """``db.getCollection("c").createIndex({...}, {...})``."""
        self.check()
        keys = "{" + ", ".join(f"{json.dumps(f)}: {json.dumps(d)}" for f, d in self.keys) + "}"
        options = self.options()
        tail = f", {json.dumps(options)}" if options else ""
        return f"{collection_ref(collection)}.createIndex({keys}{tail})"


def _direction(value: Any) -> int | str:
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    for known in DIRECTIONS:
        if value == known and not isinstance(value, bool):
            return known
    raise InvalidRequest(f"an index key is one of {', '.join(map(str, DIRECTIONS))}; "
                         f"not {value!r}")


def collection_ref(collection: str) -> str:
    """The mongosh expression for a collection, whatever its name."""
    if not collection or "\0" in collection or collection.startswith("system."):
        raise InvalidRequest(f"{collection!r} is not a collection name")
    return f"db.getCollection({json.dumps(collection)})"


def index_rows(keys: Sequence[Mapping[str, Any]]) -> list[tuple[str, int | str]]:
    """The Design page's key rows (``{"field", "direction"}``) as index keys."""
    return [(str(r["field"]).strip(), _direction(r["direction"])) for r in keys
            if str(r.get("field") or "").strip()]
