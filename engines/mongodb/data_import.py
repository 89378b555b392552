"""Importing records (from CSV, JSON or Parquet) into a MongoDB collection, all or nothing.

Records are converted to BSON documents first: extended JSON inside JSON records
(``{"$oid": ...}``, ``{"$date": ...}``, ``{"$numberLong": ...}``) becomes the real
type, Python decimals become Decimal128 and plain dates become datetimes. Each
document is encoded before it is sent, so a record that cannot be stored is named
by its row. Documents go in with ordered ``insert_many`` batches.

Atomicity: with ``transactional=True`` (replica sets, sharded clusters) every batch
runs in one transaction that is aborted on failure. Otherwise the documents
inserted so far are deleted by ``_id`` (they all have one: the driver assigns it
before sending), and a collection the import created is dropped again.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping
from typing import Any

import bson
from bson import Decimal128, json_util
from bson.errors import BSONError
from pymongo import errors as mongo_errors
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.database import Database

from engines.errors import ImportRowError

BATCH = 1000
_RELAXED = json_util.RELAXED_JSON_OPTIONS


def to_document(record: Any, row: int) -> dict[str, Any]:
    """The BSON document for one record; raises ImportRowError naming ``row``."""
    if not isinstance(record, Mapping):
        raise ImportRowError(f"row {row} is not an object but {type(record).__name__}",
                             row=row)
    try:
        document = _convert(record)
        if not isinstance(document, dict):
            raise ValueError("extended JSON at the top level of a record is not a document")
        bson.encode(document)
    except (ValueError, TypeError, OverflowError, BSONError) as exc:
        raise ImportRowError(f"row {row} cannot be stored: {exc}", row=row,
                             original=exc) from exc
    return document


def _convert(value: Any) -> Any:
    if isinstance(value, Mapping):
        pairs = [(str(k), _convert(v)) for k, v in value.items()]
        return json_util.object_pairs_hook(pairs, json_options=_RELAXED)
    if isinstance(value, (list, tuple)):
        return [_convert(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return Decimal128(value)
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, (dt.time, dt.timedelta)):
        return str(value)
    return value


def import_documents(db: Database[Any], target: str, records: Iterable[Any], *,
                     transactional: bool) -> int:
    """Insert every record into ``db[target]``; returns how many were inserted."""
    coll = db[target]
    existed = bool(db.list_collection_names(filter={"name": target}))
    inserted: list[Any] = []
    try:
        if transactional:
            with db.client.start_session() as session, session.start_transaction():
                _insert_all(coll, records, inserted, session)
        else:
            _insert_all(coll, records, inserted, None)
    except BaseException:
        _clean_up(db, target, inserted if not transactional else [], existed)
        raise
    return len(inserted)


def _clean_up(db: Database[Any], target: str, inserted: list[Any], existed: bool) -> None:
    """Remove what a failed import left; never hides the error that caused it."""
    try:
        coll = db[target]
        for start in range(0, len(inserted), BATCH):
            coll.delete_many({"_id": {"$in": inserted[start:start + BATCH]}})
        if (not existed and db.list_collection_names(filter={"name": target})
                and coll.count_documents({}) == 0):
            coll.drop()
    except mongo_errors.PyMongoError:
        pass


def _insert_all(coll: Collection[Any], records: Iterable[Any], inserted: list[Any],
                session: ClientSession | None) -> None:
    batch: list[tuple[int, dict[str, Any]]] = []
    for row, record in enumerate(records, 1):
        batch.append((row, to_document(record, row)))
        if len(batch) >= BATCH:
            _insert_batch(coll, batch, inserted, session)
            batch = []
    if batch:
        _insert_batch(coll, batch, inserted, session)


def _insert_batch(coll: Collection[Any], batch: list[tuple[int, dict[str, Any]]],
                  inserted: list[Any], session: ClientSession | None) -> None:
    documents = [document for _, document in batch]
    try:
        coll.insert_many(documents, ordered=True, session=session)
    except mongo_errors.BulkWriteError as exc:
        errors = exc.details.get("writeErrors") or [{}]
        index = int(errors[0].get("index", 0))
        inserted.extend(d["_id"] for d in documents[:index])
        row = batch[index][0] if index < len(batch) else batch[0][0]
        raise ImportRowError(f"row {row} was rejected: {errors[0].get('errmsg', exc)}",
                             row=row, original=exc) from exc
    inserted.extend(d["_id"] for d in documents)
