"""Chroma dumps, restores and record imports.

Dump format (``dbplay-chroma-dump``, version 1): one JSON document, gzip-compressed when
the file name ends in ``.gz``::

    {
      "format": "dbplay-chroma-dump",
      "version": 1,
      "float_digits": 9,                  # significant digits kept for embeddings
      "collections": [
        {
          "name": "docs",
          "metadata": {"owner": "me"},     # collection metadata as stored (or null)
          "configuration": {"hnsw": {"space": "cosine", "ef_construction": 100, ...}},
          "embedding_function": "default",
          "dimension": 384,
          "count": 2,
          "records": [
            {"id": "a", "document": "apple pie", "metadata": {"kind": "dessert"},
             "embedding": [0.0261394, -0.138127, ...]},
            ...
          ]
        }
      ]
    }

Records are written one per line. Embeddings are float32 in Chroma; a dump writes each in
its shortest exact decimal form (``float_digits`` 9), built-in templates round them to 6
significant digits (within ~1e-6 of the model's output).
A restore passes the stored embeddings explicitly and never re-embeds documents.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from engines.errors import ImportRowError, RestoreError

FORMAT = "dbplay-chroma-dump"
VERSION = 1
EXACT_DIGITS = 9  # enough to write any float32 exactly
PAGE_SIZE = 1000
WRITE_BATCH = 1000
_RECORD_KEYS = ("id", "document", "metadata", "embedding")


@dataclass
class CollectionDump:
    name: str
    metadata: dict[str, Any] | None
    configuration: dict[str, Any]
    count: int
    dimension: int | None
    records: Iterable[dict[str, Any]]


def as_floats(vector: Any, digits: int | None = None) -> list[float]:
    """An embedding as plain floats: each float32 in its shortest exact decimal form,
    or rounded to ``digits`` significant digits.

    Server and embedded clients hand back the same float32 values in different shapes
    (JSON floats, numpy arrays); this gives both the same canonical values.
    """
    import numpy as np

    values = [float(str(v)) for v in np.asarray(vector, dtype=np.float32)]
    if digits is None or digits >= EXACT_DIGITS:
        return values
    return [float(f"{v:.{digits}g}") for v in values]


def index_configuration(collection: Any) -> dict[str, Any]:
    """The part of a collection's configuration a restore must reproduce (the HNSW index)."""
    config = getattr(collection, "configuration_json", None) or {}
    hnsw = config.get("hnsw") or {}
    if not hnsw and collection.metadata and "hnsw:space" in collection.metadata:
        hnsw = {"space": collection.metadata["hnsw:space"]}
    return {"hnsw": hnsw} if hnsw else {}


def dimension(collection: Any) -> int | None:
    head = collection.get(limit=1, include=["embeddings"])
    embeddings = head.get("embeddings")
    return len(embeddings[0]) if embeddings is not None and len(embeddings) else None


def open_dump(path: Path, mode: str) -> IO[str]:
    if path.name.endswith(".gz"):
        return gzip.open(path, mode + "t", encoding="utf-8")  # type: ignore[return-value]
    return path.open(mode, encoding="utf-8")


def write_dump(path: Path, collections: Iterable[CollectionDump],
               digits: int = EXACT_DIGITS) -> None:
    """Write a dump, streaming the records of each collection."""
    with open_dump(path, "w") as out:
        out.write(f'{{"format": "{FORMAT}", "version": {VERSION}, "float_digits": {digits}, '
                  '"collections": [')
        for n, c in enumerate(collections):
            head = {"name": c.name, "metadata": c.metadata, "configuration": c.configuration,
                    "embedding_function": "default", "dimension": c.dimension,
                    "count": c.count}
            out.write(("," if n else "") + "\n" + json.dumps(head, ensure_ascii=False)[:-1]
                      + ', "records": [')
            for i, record in enumerate(c.records):
                record = dict(record)
                if record.get("embedding") is not None:
                    record["embedding"] = as_floats(record["embedding"], digits)
                out.write(("," if i else "") + "\n" + json.dumps(record, ensure_ascii=False))
            out.write("\n]}")
        out.write("\n]}\n")


def collection_records(collection: Any) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        page = collection.get(limit=PAGE_SIZE, offset=offset,
                              include=["documents", "metadatas", "embeddings"])
        ids = page["ids"]
        for i, record_id in enumerate(ids):
            embeddings = page.get("embeddings")
            yield {"id": record_id, "document": page["documents"][i],
                   "metadata": page["metadatas"][i],
                   "embedding": None if embeddings is None else embeddings[i]}
        if len(ids) < PAGE_SIZE:
            return
        offset += len(ids)


def dump_client(client: Any, path: Path) -> None:
    collections = (
        CollectionDump(name=c.name, metadata=c.metadata, configuration=index_configuration(c),
                       count=c.count(), dimension=dimension(c), records=collection_records(c))
        for c in sorted(client.list_collections(), key=lambda c: c.name))
    write_dump(path, collections)


def read_dump(path: Path) -> dict[str, Any]:
    try:
        with open_dump(path, "r") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise RestoreError(f"{path.name} is not a readable Chroma dump: {exc}",
                           original=exc) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RestoreError(f"{path.name} is not a {FORMAT} file")
    if data.get("version") != VERSION:
        raise RestoreError(f"{path.name} has {FORMAT} version {data.get('version')}; "
                           f"this version reads version {VERSION}")
    return data


def restore_client(client: Any, path: Path) -> None:
    data = read_dump(path)
    existing = {c.name for c in client.list_collections()}
    for c in data["collections"]:
        if c["name"] in existing:
            raise RestoreError(f"collection {c['name']!r} already exists; a restore needs an "
                               f"empty database", statement=c["name"])
    for c in data["collections"]:
        try:
            collection = client.create_collection(
                c["name"], metadata=c.get("metadata") or None,
                configuration=c.get("configuration") or None)
            records = c.get("records") or []
            for start in range(0, len(records), WRITE_BATCH):
                _add(collection, records[start:start + WRITE_BATCH])
        except Exception as exc:
            raise RestoreError(f"restoring collection {c['name']!r} failed: {exc}",
                               statement=c["name"], original=exc) from exc


def _add(collection: Any, records: list[dict[str, Any]]) -> None:
    collection.add(ids=[r["id"] for r in records],
                   embeddings=[r["embedding"] for r in records],
                   documents=[r.get("document") for r in records],
                   metadatas=[r.get("metadata") or None for r in records])


# -- imports ---------------------------------------------------------------
def import_records(client: Any, target: str, records: Iterable[dict[str, Any]]) -> int:
    """Validate every record, then create ``target`` if needed and add them in batches.

    A record is ``{id, document, metadata, embedding?}``; any other field joins the
    metadata (so CSV columns become metadata keys). A ``metadata`` or ``embedding`` given
    as a JSON string (CSV) is decoded. Missing embeddings are computed from the document
    with Chroma's default embedding function.
    """
    clean = [_validate(record, n) for n, record in enumerate(records, 1)]
    seen: dict[str, int] = {}
    for n, record in enumerate(clean, 1):
        if record["id"] in seen:
            raise ImportRowError(f"row {n}: id {record['id']!r} repeats row {seen[record['id']]}",
                                 row=n)
        seen[record["id"]] = n
    collection = _existing(client, target)
    if collection is not None and clean:
        present: set[str] = set()
        for start in range(0, len(clean), PAGE_SIZE):
            chunk = [r["id"] for r in clean[start:start + PAGE_SIZE]]
            present.update(collection.get(ids=chunk, include=[])["ids"])
        for n, record in enumerate(clean, 1):
            if record["id"] in present:
                raise ImportRowError(f"row {n}: id {record['id']!r} already exists in "
                                     f"{target!r}", row=n)
    missing = [r for r in clean if r["embedding"] is None]
    if missing:
        from chromadb.utils.embedding_functions import DefaultEmbeddingFunction

        embed = DefaultEmbeddingFunction()
        for start in range(0, len(missing), 256):
            chunk = missing[start:start + 256]
            for record, vector in zip(chunk, embed([r["document"] for r in chunk])):
                record["embedding"] = as_floats(vector)
    expected = dimension(collection) if collection is not None else None
    for n, record in enumerate(clean, 1):
        expected = expected or len(record["embedding"])
        if len(record["embedding"]) != expected:
            raise ImportRowError(f"row {n}: embedding has {len(record['embedding'])} "
                                 f"dimensions, expected {expected}", row=n)
    if collection is None:
        collection = client.get_or_create_collection(target)
    for start in range(0, len(clean), WRITE_BATCH):
        _add(collection, clean[start:start + WRITE_BATCH])
    return len(clean)


def _existing(client: Any, name: str) -> Any:
    names = {c.name: c for c in client.list_collections()}
    return names.get(name)


def _validate(record: dict[str, Any], n: int) -> dict[str, Any]:
    def bad(message: str) -> ImportRowError:
        return ImportRowError(f"row {n}: {message}", row=n)

    if not isinstance(record, dict):
        raise bad("not an object")
    record_id = record.get("id")
    if isinstance(record_id, int) and not isinstance(record_id, bool):
        record_id = str(record_id)
    if not isinstance(record_id, str) or not record_id:
        raise bad("needs a non-empty string 'id'")
    document = record.get("document")
    if document is not None and not isinstance(document, str):
        raise bad("'document' must be a string")
    metadata = _decoded(record.get("metadata"), bad, "metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise bad("'metadata' must be an object")
    metadata = dict(metadata or {})
    metadata.update({k: v for k, v in record.items() if k not in _RECORD_KEYS})
    for key, value in list(metadata.items()):
        if value is None or value == "":
            del metadata[key]
        elif not _metadata_value(value):
            raise bad(f"metadata {key!r} must be a string, number, boolean or a list of them")
    embedding = _decoded(record.get("embedding"), bad, "embedding")
    if embedding is not None:
        if not isinstance(embedding, list) or not embedding or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in embedding):
            raise bad("'embedding' must be a non-empty list of numbers")
    elif not document:
        raise bad("needs a 'document' to embed or an 'embedding'")
    return {"id": record_id, "document": document, "metadata": metadata or None,
            "embedding": embedding}


def _decoded(value: Any, bad: Any, field: str) -> Any:
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad(f"'{field}' is not valid JSON") from None
    return value


def _metadata_value(value: Any) -> bool:
    scalar = (str, int, float, bool)
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, scalar) for v in value)
    return isinstance(value, scalar)
