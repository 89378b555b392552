"""Run parsed mongosh commands (:class:`engines.mongodb.mongosh.Command`) with pymongo.

Reads (find, aggregate, count, distinct) carry ``maxTimeMS`` so the server enforces
the time limit; writes run inside ``pymongo.timeout`` (client-side operation timeout,
which also sends ``maxTimeMS``). Cursor-returning commands stream documents in
server batches; everything else returns a one-row result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pymongo
from pymongo.collection import Collection
from pymongo.database import Database

from engines.base import Cursor
from engines.errors import UnsupportedCommand
from engines.mongodb.mongosh import Command
from engines.mongodb.rows import RowBuilder

#: mongosh option names accepted by write commands, and pymongo's spelling
_WRITE_OPTIONS = {
    "upsert": "upsert",
    "arrayFilters": "array_filters",
    "collation": "collation",
    "hint": "hint",
    "let": "let",
    "comment": "comment",
}

#: the commands whose result is a stream of documents (what an export can read)
READ_METHODS = frozenset({"find", "findOne", "aggregate", "distinct", "getIndexes",
                          "getCollectionNames"})

EXPLAINABLE = frozenset({"find", "findOne", "aggregate", "countDocuments", "distinct"})

#: ``db.runCommand(...)``: the commands allowed, each with the fields it may carry
RUN_COMMANDS: dict[str, frozenset[str]] = {
    "collMod": frozenset({"collMod", "validator", "validationLevel", "validationAction"}),
}


def run_command(db: Database[Any], command: Command, timeout_s: float,
                builder: RowBuilder | None = None) -> Cursor:
    """Run one command; ``builder`` decides how documents become rows."""
    builder = builder or RowBuilder()
    ms = max(1, int(timeout_s * 1000))
    if command.collection is None:
        return _database_command(db, command, builder)
    coll = db[command.collection]
    method = command.method
    if command.terminal == "explain":
        return one_row(explain(db, command, verbosity(command), ms))
    if method == "find":
        if command.terminal == "count":
            return one_row({"count": _cursor_count(coll, command, ms)})
        cursor = _find(coll, command, ms)
        return Cursor(columns=builder.columns, rows=builder.rows(cursor), close=cursor.close,
                      returns_rows=True)
    if method == "findOne":
        found = coll.find_one(command.arg(0, {}), command.arg(1), max_time_ms=ms)
        return Cursor(columns=builder.columns, rows=builder.rows([found] if found else []),
                      returns_rows=True)
    if method == "aggregate":
        options = dict(command.arg(1, {}))
        options["maxTimeMS"] = min(int(options.get("maxTimeMS", ms)), ms)
        agg = coll.aggregate(command.arg(0, []), **options)
        return Cursor(columns=builder.columns, rows=builder.rows(agg), close=agg.close,
                      returns_rows=True)
    if method == "countDocuments":
        options = dict(command.arg(1, {}))
        return one_row({"count": coll.count_documents(command.arg(0, {}), maxTimeMS=ms,
                                                      **options)})
    if method == "estimatedDocumentCount":
        return one_row({"count": coll.estimated_document_count(maxTimeMS=ms)})
    if method == "distinct":
        field = str(command.args[0])
        values = coll.distinct(field, command.arg(1, {}), maxTimeMS=ms, **command.arg(2, {}))
        return Cursor(columns=builder.columns, rows=builder.rows({field: v} for v in values),
                      returns_rows=True)
    if method == "getIndexes":
        flat = RowBuilder(nested=False, columns=builder.columns, fixed=builder.fixed)
        return Cursor(columns=flat.columns, rows=flat.rows(coll.list_indexes()))
    with pymongo.timeout(timeout_s):
        return _write(db, coll, command)


def _database_command(db: Database[Any], command: Command, builder: RowBuilder) -> Cursor:
    if command.method == "getCollectionNames":
        names = sorted(db.list_collection_names())
        return Cursor(columns=builder.columns, rows=builder.rows({"name": n} for n in names))
    if command.method == "createCollection":
        db.create_collection(str(command.args[0]), **command.arg(1, {}))
        return one_row({"ok": 1})
    if command.method == "runCommand":
        return one_row(_run_command(db, dict(command.args[0])))
    raise UnsupportedCommand(f"db.{command.method}() is not supported")


def _run_command(db: Database[Any], document: dict[str, Any]) -> dict[str, Any]:
    """``db.runCommand(document)`` for the allowed commands (``RUN_COMMANDS``) only."""
    name = next(iter(document), "")
    if name not in RUN_COMMANDS:
        raise UnsupportedCommand(f"db.runCommand() runs only {', '.join(RUN_COMMANDS)}; "
                                 f"not {name or 'an empty command'}")
    unknown = sorted(set(document) - RUN_COMMANDS[name])
    if unknown:
        raise UnsupportedCommand(f"db.runCommand({{{name}: ...}}) field(s) {', '.join(unknown)} "
                                 f"are not supported; supported: "
                                 f"{', '.join(sorted(RUN_COMMANDS[name]))}")
    result: dict[str, Any] = db.command(document)
    return {k: v for k, v in result.items() if k not in ("$clusterTime", "operationTime")}


def _find(coll: Collection[Any], command: Command, ms: int) -> Any:
    cursor = coll.find(command.arg(0, {}), command.arg(1), max_time_ms=ms)
    for call in command.chain:
        if call.name == "sort":
            cursor = cursor.sort(list(call.args[0].items()))
        elif call.name == "limit":
            cursor = cursor.limit(int(call.args[0]))
        elif call.name == "skip":
            cursor = cursor.skip(int(call.args[0]))
    return cursor


def _cursor_count(coll: Collection[Any], command: Command, ms: int) -> int:
    """``find(...).count(applySkipLimit)``: like mongosh, skip/limit only count when asked."""
    count_call = command.modifier("count")
    options: dict[str, Any] = {}
    if count_call is not None and count_call.args and count_call.args[0]:
        for call in command.chain:
            if call.name in ("skip", "limit") and int(call.args[0]):
                options[call.name] = abs(int(call.args[0]))
    return coll.count_documents(command.arg(0, {}), maxTimeMS=ms, **options)


def _write_options(command: Command, index: int) -> dict[str, Any]:
    options = command.arg(index, {})
    unknown = sorted(set(options) - set(_WRITE_OPTIONS))
    if unknown:
        raise UnsupportedCommand(
            f"{command.method}() option(s) {', '.join(unknown)} are not supported; "
            f"supported: {', '.join(_WRITE_OPTIONS)}")
    return {_WRITE_OPTIONS[k]: v for k, v in options.items()}


def _write(db: Database[Any], coll: Collection[Any], command: Command) -> Cursor:
    method = command.method
    if method == "insertOne":
        inserted = coll.insert_one(command.args[0])
        return one_row({"acknowledged": inserted.acknowledged,
                        "insertedId": inserted.inserted_id}, rowcount=1)
    if method == "insertMany":
        documents = command.args[0]
        if not all(isinstance(d, Mapping) for d in documents):
            raise UnsupportedCommand("insertMany() needs an array of documents")
        ordered = bool(command.arg(1, {}).get("ordered", True))
        many = coll.insert_many(documents, ordered=ordered)
        return one_row({"acknowledged": many.acknowledged, "insertedIds": many.inserted_ids},
                       rowcount=len(many.inserted_ids))
    if method in ("updateOne", "updateMany", "replaceOne"):
        options = _write_options(command, 2)
        if method == "updateOne":
            updated = coll.update_one(command.args[0], command.args[1], **options)
        elif method == "updateMany":
            updated = coll.update_many(command.args[0], command.args[1], **options)
        else:
            updated = coll.replace_one(command.args[0], command.args[1], **options)
        upserted = updated.upserted_id is not None
        return one_row({"acknowledged": updated.acknowledged,
                        "matchedCount": updated.matched_count,
                        "modifiedCount": updated.modified_count,
                        "upsertedId": updated.upserted_id,
                        "upsertedCount": int(upserted)},
                       rowcount=updated.modified_count + int(upserted))
    if method in ("deleteOne", "deleteMany"):
        remove = coll.delete_one if method == "deleteOne" else coll.delete_many
        deleted = remove(command.args[0], **_write_options(command, 1))
        return one_row({"acknowledged": deleted.acknowledged,
                        "deletedCount": deleted.deleted_count}, rowcount=deleted.deleted_count)
    if method == "createIndex":
        keys = list(command.args[0].items())
        return one_row({"name": coll.create_index(keys, **command.arg(1, {}))})
    if method == "dropIndex":
        target = command.args[0]
        coll.drop_index(target if isinstance(target, str) else list(target.items()))
        return one_row({"ok": 1})
    if method == "drop":
        existed = bool(db.list_collection_names(filter={"name": coll.name}))
        coll.drop()
        return one_row({"dropped": existed})
    raise UnsupportedCommand(f"{method}() is not supported")


def one_row(document: Mapping[str, Any], rowcount: int | None = None) -> Cursor:
    """A result of exactly one (top-level, unflattened) document."""
    builder = RowBuilder(nested=False)
    row = builder.row(document)
    return Cursor(columns=builder.columns, rows=[row], rowcount=rowcount)


def verbosity(command: Command, default: str = "queryPlanner") -> str:
    """The verbosity of a chained ``.explain(v)`` (mongosh: true = allPlansExecution)."""
    call = command.modifier("explain")
    if call is None or not call.args:
        return default
    value = call.args[0]
    if isinstance(value, bool):
        return "allPlansExecution" if value else "queryPlanner"
    return str(value)


def explain(db: Database[Any], command: Command, verbosity: str, ms: int) -> dict[str, Any]:
    """Run the server's ``explain`` on the read command that ``command`` describes."""
    if command.collection is None or command.method not in EXPLAINABLE:
        raise UnsupportedCommand(
            f"explain works on {', '.join(sorted(EXPLAINABLE))}; not on {command.method}()")
    name, filter_ = command.collection, command.arg(0, {})
    inner: dict[str, Any]
    if command.method == "aggregate":
        inner = {"aggregate": name, "pipeline": command.arg(0, []), "cursor": {},
                 **command.arg(1, {})}
    elif command.method == "countDocuments" or command.modifier("count") is not None:
        inner = {"count": name, "query": filter_}
    elif command.method == "distinct":
        inner = {"distinct": name, "key": command.args[0], "query": command.arg(1, {})}
    else:
        inner = {"find": name, "filter": filter_}
        if command.arg(1) is not None:
            inner["projection"] = command.arg(1)
        if command.method == "findOne":
            inner.update(limit=1, singleBatch=True)
        for call in command.chain:
            if call.name in ("sort", "skip", "limit"):
                inner[call.name] = call.args[0]
    inner["maxTimeMS"] = ms
    result: dict[str, Any] = db.command("explain", inner, verbosity=verbosity)
    return result


def iterate(rows: Iterable[Any]) -> int:
    """Consume ``rows``; returns how many there were."""
    count = 0
    for _ in rows:
        count += 1
    return count
