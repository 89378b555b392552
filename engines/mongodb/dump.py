"""The MongoDB dump format: one JSON file holding a whole database.

::

    {"format": "dbplay-mongodb-dump", "version": 1,
     "collections": [
      {"name": "people", "type": "collection",
       "options": {...createCollection options, e.g. capped/size/validator...},
       "indexes": [{"key": {"email": {"$numberInt": "1"}},
                    "options": {"name": "email_1", "unique": true}}],
       "documents": [
        {"_id": {"$oid": "..."}, "born": {"$date": {"$numberLong": "..."}}, ...},
        ...
       ]},
      {"name": "adults", "type": "view", "options": {"viewOn": "people", "pipeline": [...]},
       "indexes": [], "documents": []}
     ]}

Every value (documents, options, index specs) is *canonical* extended JSON
(``bson.json_util`` with ``CANONICAL_JSON_OPTIONS``), so BSON types survive exactly
(int vs long vs double, dates, ObjectIds, Decimal128). Collections are listed by
name, empty ones included; the implicit ``_id_`` index and ``system.*`` collections
are left out. Documents are written one per line in natural order. Restoring
creates each collection with its options, inserts its documents, then builds its
indexes; views are created last.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from bson import json_util

from engines.errors import RestoreError

FORMAT = "dbplay-mongodb-dump"
VERSION = 1
BATCH = 1000

_CANONICAL = json_util.CANONICAL_JSON_OPTIONS
_INDEX_META = ("v", "key", "ns")


def _canonical(value: Any) -> str:
    return json_util.dumps(value, json_options=_CANONICAL, ensure_ascii=False)


class DumpWriter:
    """Writes a dump file collection by collection, streaming the documents."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._count = 0
        out.write(json.dumps({"format": FORMAT, "version": VERSION})[:-1])
        out.write(', "collections": [')

    def collection(self, name: str, *, kind: str = "collection",
                   options: Mapping[str, Any] | None = None,
                   indexes: Iterable[Mapping[str, Any]] = (),
                   documents: Iterable[Mapping[str, Any]] = ()) -> int:
        """Write one collection; returns how many documents were written."""
        head = {"name": name, "type": kind, "options": dict(options or {}),
                "indexes": list(indexes)}
        self._out.write(("," if self._count else "") + "\n ")
        self._out.write(_canonical(head)[:-1] + ', "documents": [')
        written = 0
        for document in documents:
            self._out.write(("," if written else "") + "\n  " + _canonical(document))
            written += 1
        self._out.write("\n ]}" if written else "]}")
        self._count += 1
        return written

    def finish(self) -> None:
        self._out.write("\n]}\n")


def index_entry(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A listIndexes entry as ``{"key": ..., "options": ...}``."""
    return {"key": dict(spec["key"]),
            "options": {k: v for k, v in spec.items() if k not in _INDEX_META}}


def write_database(db: Any, out: IO[str]) -> None:
    """Dump every collection and view of the pymongo database ``db``."""
    writer = DumpWriter(out)
    for info in sorted(db.list_collections(), key=lambda i: str(i["name"])):
        name = str(info["name"])
        if name.startswith("system."):
            continue
        kind = str(info.get("type", "collection"))
        options = dict(info.get("options") or {})
        if kind == "view":
            writer.collection(name, kind=kind, options=options)
            continue
        collection = db[name]
        indexes = [index_entry(spec) for spec in collection.list_indexes()
                   if spec.get("name") != "_id_"]
        cursor = collection.find({}, batch_size=BATCH)
        try:
            writer.collection(name, kind=kind, options=options, indexes=indexes,
                              documents=cursor)
        finally:
            cursor.close()
    writer.finish()


def read_dump(path: Path) -> dict[str, Any]:
    """Load and check a dump file; values come back as BSON types."""
    def hook(pairs: list[tuple[str, Any]]) -> Any:
        return json_util.object_pairs_hook(pairs, json_options=_CANONICAL)

    try:
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh, object_pairs_hook=hook)
    except (OSError, ValueError) as exc:
        raise RestoreError(f"{path.name}: not a readable JSON dump ({exc}); raw JSON lines "
                           "are converted with `python -m engines.mongodb.convert`",
                           original=exc) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RestoreError(f"{path.name}: not a {FORMAT} file (convert raw JSON lines "
                           "with `python -m engines.mongodb.convert`)")
    if data.get("version") != VERSION:
        raise RestoreError(f"{path.name}: unsupported dump version {data.get('version')!r}")
    if not isinstance(data.get("collections"), list):
        raise RestoreError(f"{path.name}: 'collections' must be a list")
    return data


def restore_database(db: Any, data: Mapping[str, Any]) -> None:
    """Recreate the collections of a loaded dump in the (empty) database ``db``."""
    entries: list[Mapping[str, Any]] = list(data["collections"])
    existing = set(db.list_collection_names())
    for entry in entries:
        if entry.get("name") in existing:
            raise RestoreError(f"collection {entry.get('name')!r} already exists; "
                               "restore needs an empty database")
    ordered = ([e for e in entries if e.get("type", "collection") != "view"]
               + [e for e in entries if e.get("type") == "view"])
    for entry in ordered:
        name = str(entry.get("name", ""))
        step = "creating"
        try:
            db.create_collection(name, **dict(entry.get("options") or {}))
            collection = db[name]
            step = "inserting documents into"
            for batch in _batches(entry.get("documents") or [], BATCH):
                collection.insert_many(batch, ordered=True)
            for index in entry.get("indexes") or []:
                step = f"building index {index.get('options', {}).get('name', '')!r} on"
                collection.create_index(list(dict(index["key"]).items()),
                                        **dict(index.get("options") or {}))
        except RestoreError:
            raise
        except Exception as exc:
            raise RestoreError(f"{step} collection {name!r} failed: {exc}",
                               statement=name, original=exc) from exc


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
