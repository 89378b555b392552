"""The MongoDB adapter: mongosh-syntax scripts, explain, schema, dump/restore, import.

URL: ``mongodb://[user:pw@]host:port/dbname[?authSource=admin&...]`` -- the database
comes from the path, every other option is passed to pymongo as given.

* Scripts are parsed by :mod:`engines.mongodb.mongosh` (a real JavaScript parser) and run by
  :mod:`engines.mongodb.commands`; documents become rows via :mod:`engines.mongodb.rows`.
* ``explain`` runs the server's ``explain`` (``executionStats``) and normalises the
  winning plan with :mod:`engines.mongodb.plan`.
* ``dump``/``restore`` use the single-file format of :mod:`engines.mongodb.dump`;
  raw JSON-lines exports are converted with :mod:`engines.mongodb.convert`.
* ``import_rows`` inserts in ordered batches. On a replica set or sharded cluster the
  whole import runs in one transaction; on a standalone server the documents
  inserted so far are deleted again on failure (and a collection the import created
  is dropped), so a failed import leaves nothing behind either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pymongo
from bson import json_util
from pymongo import errors as mongo_errors
from pymongo import uri_parser
from pymongo.database import Database

from engines.base import Cursor, Engine, Statement
from engines.errors import (
    DBPlayError,
    DumpError,
    EngineError,
    EngineUnavailable,
    ExecutionError,
    InvalidRequest,
    PermissionDenied,
    QueryTimeout,
    RestoreError,
)
from engines.mongodb import commands as mongodb_commands
from engines.mongodb import dump as mongodb_dump
from engines.mongodb import mongosh
from engines.mongodb.descriptor import MONGODB
from engines.mongodb.plan import plan_result
from engines.mongodb.rows import RowBuilder, bson_type, combined_type, flatten, to_cell
from engines.result import (
    Column,
    ColumnInfo,
    ExplainResult,
    ImportReport,
    IndexInfo,
    SchemaInfo,
    TableInfo,
)

SAMPLE_SIZE = 100
IMPORT_BATCH = 1000
#: client options used unless the URL sets them itself
_CLIENT_DEFAULTS: dict[str, Any] = {"serverSelectionTimeoutMS": 5000, "connectTimeoutMS": 5000,
                    "appname": "dbplay"}
_UNAUTHORIZED = 13
_TIME_LIMIT_CODES = frozenset({50, 262})  # MaxTimeMSExpired, ExceededTimeLimit


class MongoEngine(Engine):
    descriptor = MONGODB
    kind = MONGODB.kind
    ping_script = "db.getCollectionNames()"

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self._client: pymongo.MongoClient[dict[str, Any]] | None = None
        self._db: Database[dict[str, Any]] | None = None

    # -- lifecycle -------------------------------------------------------
    def connect(self) -> None:
        if self._client is not None:
            return
        try:
            given = uri_parser.parse_uri(self.url)["options"]
            defaults = {k: v for k, v in _CLIENT_DEFAULTS.items() if k not in given}
            client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
                self.url, tz_aware=True, uuidRepresentation="standard", **defaults)
        except (mongo_errors.ConfigurationError, mongo_errors.InvalidURI, ValueError) as exc:
            raise InvalidRequest(f"invalid MongoDB URL: {exc}") from exc
        try:
            database = client.get_default_database()
        except mongo_errors.ConfigurationError as exc:
            client.close()
            raise InvalidRequest("the MongoDB URL must name a database: "
                                 "mongodb://host:port/dbname") from exc
        self._client, self._db = client, database

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = self._db = None

    @property
    def db(self) -> Database[dict[str, Any]]:
        if self._db is None:
            self.connect()
        assert self._db is not None
        return self._db

    def ping(self) -> bool:
        try:
            self.db.command("ping", maxTimeMS=5000)
        except Exception:
            return False
        return True

    # -- scripts ---------------------------------------------------------
    def split(self, script: str) -> list[Statement]:
        return mongosh.split(script)

    def _command(self, statement: Statement) -> mongosh.Command:
        try:
            return mongosh.parse_command(statement.text)
        except EngineError as exc:
            if exc.line == 1 and exc.column is not None:
                exc.column += statement.column - 1  # columns within the script line
            raise

    def run_statement(self, statement: Statement, timeout_s: float) -> Cursor:
        command = self._command(statement)
        return self._guarded(lambda: mongodb_commands.run_command(self.db, command, timeout_s),
                             statement)

    def _guarded(self, run: Callable[[], Cursor], statement: Statement) -> Cursor:
        """Run, and make errors raised while rows stream go through wrap_error too."""
        try:
            cursor = run()
        except EngineError:
            raise
        except Exception as exc:
            raise self.wrap_error(exc, statement) from exc
        cursor.rows = self._wrapped_rows(cursor.rows, statement)
        return cursor

    def _wrapped_rows(self, rows: Iterable[Any], statement: Statement) -> Iterator[Any]:
        try:
            yield from rows
        except EngineError:
            raise
        except Exception as exc:
            raise self.wrap_error(exc, statement) from exc

    def wrap_error(self, exc: Exception, statement: Statement) -> EngineError:
        return wrap_mongo_error(exc, statement.text)

    def stream(self, query: str, *, timeout_s: float | None = None
               ) -> tuple[list[Column], Iterator[list[Any]], Callable[[], None]]:
        """Export: a first pass learns every column, a second streams the rows.

        Documents differ in shape, so the full column set is only known after
        reading them all; only read commands (find, aggregate, ...) can be exported.
        """
        self.check_script_size(query)
        statements = self.split(query)
        if len(statements) != 1:
            raise InvalidRequest(f"expected exactly one statement to export, got {len(statements)}")
        statement = statements[0]
        command = self._command(statement)
        if (command.method not in mongodb_commands.READ_METHODS
                or command.terminal in ("count", "explain")):
            raise InvalidRequest(f"only queries can be exported, not {command.method}()")
        limit = self.timeout_s if timeout_s is None else timeout_s
        learn = RowBuilder(keep_rows=False)
        first = self._guarded(
            lambda: mongodb_commands.run_command(self.db, command, limit, learn), statement)
        try:
            mongodb_commands.iterate(first.rows)
        finally:
            if first.close is not None:
                first.close()
        fixed = RowBuilder(columns=learn.columns, fixed=True)
        second = self._guarded(
            lambda: mongodb_commands.run_command(self.db, command, limit, fixed), statement)
        rows: Iterator[list[Any]] = iter(second.rows)  # type: ignore[arg-type]
        return second.columns, rows, (second.close or (lambda: None))

    # -- explain -----------------------------------------------------------
    def explain(self, statement: str, *, timeout_s: float | None = None) -> ExplainResult:
        self.check_script_size(statement)
        statements = self.split(statement)
        if len(statements) != 1:
            raise InvalidRequest(f"explain takes exactly one statement, got {len(statements)}")
        stmt = statements[0]
        command = self._command(stmt)
        level = mongodb_commands.verbosity(command, "executionStats")
        if level == "queryPlanner":
            level = "executionStats"
        ms = max(1, int((self.timeout_s if timeout_s is None else timeout_s) * 1000))
        try:
            raw = mongodb_commands.explain(self.db, command, level, ms)
        except EngineError:
            raise
        except Exception as exc:
            raise self.wrap_error(exc, stmt) from exc
        return plan_result(stmt.text, raw, to_cell(raw))

    # -- schema ------------------------------------------------------------
    def schema(self) -> SchemaInfo:
        info = SchemaInfo(engine=self.kind)
        try:
            for spec in sorted(self.db.list_collections(), key=lambda s: str(s["name"])):
                name = str(spec["name"])
                if not name.startswith("system."):
                    info.tables.append(self._collection_info(name, spec))
        except EngineError:
            raise
        except Exception as exc:
            raise wrap_mongo_error(exc, "schema") from exc
        return info

    def _collection_info(self, name: str, spec: Mapping[str, Any]) -> TableInfo:
        kind = "view" if spec.get("type") == "view" else "collection"
        coll = self.db[name]
        ms = max(1, int(self.timeout_s * 1000))
        sample = list(coll.aggregate([{"$sample": {"size": SAMPLE_SIZE}}], maxTimeMS=ms))
        seen: dict[str, set[str]] = {}
        present: dict[str, int] = {}
        for document in sample:
            for path, value in flatten(document):
                seen.setdefault(path, set()).add(bson_type(value))
                present[path] = present.get(path, 0) + 1
        order = sorted(seen, key=lambda p: p != "_id")  # stable: _id first, then first seen
        columns = [ColumnInfo(name=p, type=combined_type(seen[p]),
                              nullable=present[p] < len(sample) or "null" in seen[p],
                              primary_key=p == "_id") for p in order]
        indexes = [] if kind == "view" else [
            IndexInfo(name=str(ix["name"]), columns=list(ix["key"]),
                      unique=bool(ix.get("unique")) or ix["name"] == "_id_",
                      definition=json_util.dumps(mongodb_dump.index_entry(ix)))
            for ix in coll.list_indexes()]
        try:
            count: int | None = coll.estimated_document_count(maxTimeMS=ms)
        except mongo_errors.PyMongoError:
            count = None
        return TableInfo(name=name, kind=kind, columns=columns,
                         primary_key=[] if kind == "view" else ["_id"], indexes=indexes,
                         row_count=count,
                         extra={"options": to_cell(spec.get("options") or {}),
                                "sampled": len(sample)})

    # -- dump / restore ----------------------------------------------------
    def dump(self, path: Path) -> None:
        try:
            with path.open("w", encoding="utf-8") as out:
                mongodb_dump.write_database(self.db, out)
        except EngineError:
            raise
        except Exception as exc:
            raise DumpError(f"dump failed: {exc}", original=exc) from exc

    def restore(self, path: Path) -> None:
        data = mongodb_dump.read_dump(path)
        try:
            mongodb_dump.restore_database(self.db, data)
        except RestoreError:
            raise
        except Exception as exc:
            raise RestoreError(f"restore failed: {exc}", original=exc) from exc

    # -- import ------------------------------------------------------------
    def import_rows(self, target: str, records: Iterable[dict[str, Any]]) -> ImportReport:
        from engines.mongodb.data_import import import_documents

        started = time.perf_counter()
        try:
            count = import_documents(self.db, target, records,
                                     transactional=self._has_transactions())
        except DBPlayError:  # a rejected row, or a file that cannot be read
            raise
        except Exception as exc:
            raise wrap_mongo_error(exc, f"import into {target}") from exc
        return ImportReport(target=target, rows=count,
                            elapsed_ms=round((time.perf_counter() - started) * 1000, 3))

    def _has_transactions(self) -> bool:
        """Transactions need a replica set member or a mongos."""
        hello = self.db.client.admin.command("hello")
        return bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"


def wrap_mongo_error(exc: BaseException, statement: str) -> EngineError:
    """The closest :mod:`engines.errors` class for a pymongo exception."""
    message = str(exc).strip() or type(exc).__name__
    if isinstance(exc, mongo_errors.OperationFailure):
        details = exc.details or {}
        message = str(details.get("errmsg") or message).strip()
        code = exc.code
        if isinstance(exc, mongo_errors.BulkWriteError):
            first = (details.get("writeErrors") or [{}])[0]
            message = str(first.get("errmsg", message))
            code = first.get("code", code)
        if code in _TIME_LIMIT_CODES or isinstance(exc, mongo_errors.ExecutionTimeout):
            return QueryTimeout(f"the server stopped the statement at its time limit: {message}",
                                statement=statement, original=exc)
        name = details.get("codeName")
        label = "" if code is None else f" (code {code}{', ' + str(name) if name else ''})"
        cls = PermissionDenied if code == _UNAUTHORIZED else ExecutionError
        return cls(message + label, statement=statement, original=exc)
    if isinstance(exc, (mongo_errors.ServerSelectionTimeoutError, mongo_errors.AutoReconnect)):
        return EngineUnavailable(f"MongoDB is not reachable: {message}",
                                 statement=statement, original=exc)
    if isinstance(exc, mongo_errors.PyMongoError) and exc.timeout:
        return QueryTimeout(f"the statement hit its time limit: {message}",
                            statement=statement, original=exc)
    if isinstance(exc, mongo_errors.ConnectionFailure):
        return EngineUnavailable(f"MongoDB is not reachable: {message}",
                                 statement=statement, original=exc)
    return ExecutionError(message, statement=statement, original=exc)
