"""What a MongoDB read asks of its collection, and the equality-sort-range index for it.

A statement (mongosh text, parsed by the engine's own parser) is read into its
collection, its filter's equality fields (a value, ``$eq``, ``$in``), its range fields
(``$gt``/``$gte``/``$lt``/``$lte``, ``$ne``, ``$nin``, ``$regex``, ``$exists``...) and its
sort keys with their direction (``.sort()`` of a find, the ``$sort`` right after the
leading ``$match`` of an aggregate). The candidate index puts the equality fields first,
then the sort keys, then the range fields (MongoDB's ESR rule): the equalities narrow the
index to one run of keys already in sort order, and the range is checked on the keys
without an in-memory sort.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engines.errors import EngineError
from engines.mongodb import mongosh

#: methods whose filter an index can serve
READS = frozenset({"find", "findOne", "aggregate", "countDocuments"})
_EQUALITY_OPS = frozenset({"$eq", "$in"})
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


@dataclass
class MongoRead:
    collection: str
    method: str
    equality: list[str] = field(default_factory=list)
    sort: list[tuple[str, int]] = field(default_factory=list)
    range: list[str] = field(default_factory=list)
    #: the statement with its values replaced by ``?`` (same shape, same entry)
    fingerprint: str = ""


@dataclass
class MongoCandidate:
    collection: str
    keys: list[tuple[str, int]]
    statements: list[str] = field(default_factory=list)  # fingerprints
    why: list[str] = field(default_factory=list)

    @property
    def pattern(self) -> str:
        return "{" + ", ".join(f"{_key(k)}: {d}" for k, d in self.keys) + "}"

    def ddl(self, name: str = "") -> str:
        options = f", {{name: {json.dumps(name)}}}" if name else ""
        return f"{collection_ref(self.collection)}.createIndex({self.pattern}{options})"


def collection_ref(name: str) -> str:
    return f"db.{name}" if _IDENTIFIER.match(name) and name not in mongosh.DB_METHODS \
        else f"db.getCollection({json.dumps(name)})"


def _key(name: str) -> str:
    return name if _IDENTIFIER.match(name) else json.dumps(name)


def read_of(text: str) -> MongoRead | None:
    """The read a statement makes, or None (a write, a command, not mongosh)."""
    try:
        command = mongosh.parse_command(text)
    except (EngineError, ValueError):
        return None
    if command.collection is None or command.method not in READS:
        return None
    read = MongoRead(collection=command.collection, method=command.method)
    sort: Any = None
    if command.method == "aggregate":
        pipeline = command.arg(0, []) or []
        first = pipeline[0] if pipeline and isinstance(pipeline[0], Mapping) else {}
        filter_ = first.get("$match", {}) if isinstance(first, Mapping) else {}
        after = pipeline[1 if "$match" in first else 0] if len(pipeline) > (
            1 if "$match" in first else 0) else {}
        sort = after.get("$sort") if isinstance(after, Mapping) else None
    else:
        filter_ = command.arg(0, {}) or {}
        call = command.modifier("sort")
        sort = call.args[0] if call and call.args else None
    if not isinstance(filter_, Mapping):
        return None
    _classify(filter_, read)
    if isinstance(sort, Mapping):
        read.sort = [(str(k), -1 if _number(v) < 0 else 1) for k, v in sort.items()
                     if isinstance(v, (int, float))]
    shape = {"c": read.collection, "m": read.method, "f": _shape(filter_),
             "s": read.sort, "x": [c.name for c in command.chain if c.name != "explain"]}
    read.fingerprint = json.dumps(shape, sort_keys=True, default=str)
    return read


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else 1.0


def _classify(filter_: Mapping[str, Any], read: MongoRead) -> None:
    for name, value in filter_.items():
        if name == "$and" and isinstance(value, list):
            for part in value:
                if isinstance(part, Mapping):
                    _classify(part, read)
            continue
        if name.startswith("$"):  # $or, $expr, $text...: no single index order serves it
            continue
        ops = set(value) if isinstance(value, Mapping) and value and all(
            str(k).startswith("$") for k in value) else None
        if ops is None or ops <= _EQUALITY_OPS:
            if name not in read.equality:
                read.equality.append(name)
        elif name not in read.range:
            read.range.append(name)
    read.range = [r for r in read.range if r not in read.equality]


def _shape(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value[:1]]
    return "?"


def esr_keys(read: MongoRead) -> list[tuple[str, int]]:
    """Equality fields, then the sort keys (their direction), then the range fields."""
    keys: list[tuple[str, int]] = [(f, 1) for f in read.equality]
    for name, direction in read.sort:
        if name not in read.equality:
            keys.append((name, direction))
    keys += [(f, 1) for f in read.range if f not in {k for k, _ in keys}]
    return keys


def _served(keys: Sequence[tuple[str, int]], existing: Sequence[Sequence[tuple[str, int]]]
            ) -> bool:
    """An existing index starts with these keys (in their directions, or all reversed: a
    backward scan), or the statement is an ``_id`` lookup."""
    if keys and keys[0][0] == "_id":
        return True
    flipped = [(k, -d) for k, d in keys]
    return any(list(ix[:len(keys)]) in (list(keys), flipped) for ix in existing)


def candidates_for(reads: Sequence[MongoRead],
                   existing: Mapping[str, Sequence[Sequence[tuple[str, int]]]]
                   ) -> list[MongoCandidate]:
    """One ESR candidate per statement shape, merged when two shapes want the same keys;
    never one an existing index (or ``_id``) already serves."""
    found: dict[tuple[str, tuple[tuple[str, int], ...]], MongoCandidate] = {}
    for read in reads:
        keys = esr_keys(read)
        if not keys or _served(keys, existing.get(read.collection, ())):
            continue
        cand = found.setdefault((read.collection, tuple(keys)),
                                MongoCandidate(read.collection, keys))
        cand.statements.append(read.fingerprint)
        why = []
        if read.equality:
            why.append(f"equality on {', '.join(read.equality)}")
        if read.sort:
            why.append("sort on " + ", ".join(f"{k} {'desc' if d < 0 else 'asc'}"
                                                for k, d in read.sort))
        if read.range:
            why.append(f"range on {', '.join(read.range)}")
        text = "; ".join(why)
        if text not in cand.why:
            cand.why.append(text)
    return list(found.values())


def index_keys(definition: str | None, columns: Sequence[str]) -> list[tuple[str, int]]:
    """An existing index's key pattern from the schema (its definition holds the key
    document with directions; text, 2d and hashed keys count as ascending)."""
    try:
        key = json.loads(definition or "").get("key")
    except (ValueError, AttributeError):
        key = None
    if isinstance(key, Mapping):
        return [(str(k), -1 if isinstance(v, (int, float)) and v < 0 else 1)
                for k, v in key.items()]
    return [(c, 1) for c in columns]
