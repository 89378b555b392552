"""ChromaDB adapter (kind ``chroma``, language ``chroma``).

URLs::

    chroma+http://HOST:PORT                 server mode, default tenant and database
    chroma+http://:TOKEN@HOST:PORT          the same, sending TOKEN as ``X-Chroma-Token``
                                            (sandbox servers need their token)
    chroma+http://HOST:PORT/DATABASE        server mode, one database of the default tenant
    chroma+http://HOST:PORT/DATABASE?tenant=TENANT
    chroma+https://...                      the same over TLS
    chroma+file:///ABS/PATH                 embedded mode (``PersistentClient(path)``)

Scripts use the command language of :mod:`engines.chroma.commands`, a literal-only subset
of Chroma's Python client API (``docs.query(query_texts=[...], n_results=5)``,
``collection("my-docs").get(limit=10)``, ``list_collections()``).

Results are tables:

* ``query`` gives one row per hit: ``id, document, distance, <metadata keys...>``, with a
  leading ``query`` column (0-based index into ``query_texts``/``query_embeddings``) when
  several queries were asked, and ``embedding`` when ``include`` asks for it;
* ``get``/``peek`` give ``id, document, <metadata keys...>`` (+ ``embedding`` if included).
  ``get`` streams page by page; its metadata columns are the keys seen in the first page
  (1000 records), keys that appear only later are not shown;
* ``count`` gives one row; ``list_collections`` gives ``name, count, metadata``.

A metadata key that clashes with a fixed column is shown as ``metadata.<key>``.

Time limits: Chroma has no server-side statement timeout. In server mode every HTTP
request made for a statement gets the statement's time limit as its client-side timeout
(and a paged ``get`` stops once the limit is spent), raising
:class:`~engines.errors.QueryTimeout`; the server may still finish the work. Embedded mode
runs inside this process and cannot be interrupted: the limit is not enforced there.
Texts are embedded on the client with Chroma's default embedding function
(all-MiniLM-L6-v2), in both modes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from engines.base import Cursor, Engine, Statement
from engines.chroma import transfer as chroma_transfer
from engines.chroma.commands import Command, parse_command, split_script
from engines.chroma.descriptor import CHROMA
from engines.errors import (
    EngineError,
    EngineUnavailable,
    ExecutionError,
    InvalidRequest,
    QueryTimeout,
)
from engines.result import (
    Column,
    ColumnInfo,
    ExplainResult,
    ImportReport,
    SchemaInfo,
    TableInfo,
)

PAGE_SIZE = 1000
#: the header carrying a server's token (``chroma+http://:TOKEN@host:port``)
TOKEN_HEADER = "X-Chroma-Token"
SCHEMA_SAMPLE = 1000
_QUERY_FIXED = ("query", "id", "document", "distance", "embedding")


def open_client(url: str) -> Any:
    """A chromadb client for a ``chroma+http(s)://`` or ``chroma+file://`` URL."""
    import chromadb
    from chromadb.config import Settings

    parts = urlsplit(url)
    settings = Settings(anonymized_telemetry=False)
    if parts.scheme == "chroma+file":
        if not parts.path:
            raise InvalidRequest(f"chroma+file URL needs an absolute path: {url!r}")
        return chromadb.PersistentClient(path=unquote(parts.path), settings=settings)
    if parts.scheme in ("chroma+http", "chroma+https"):
        query = parse_qs(parts.query)
        database = unquote(parts.path.strip("/")) or "default_database"
        tenant = query.get("tenant", ["default_tenant"])[0]
        token = unquote(parts.password or "")
        return chromadb.HttpClient(
            host=parts.hostname or "localhost", port=parts.port or 8000,
            ssl=parts.scheme == "chroma+https", settings=settings,
            headers={TOKEN_HEADER: token} if token else None,
            tenant=tenant, database=database)
    raise InvalidRequest(
        f"not a Chroma URL: {url!r}; use chroma+http://host:port[/database] or chroma+file:///path")


class ChromaEngine(Engine):
    descriptor = CHROMA
    kind = CHROMA.kind
    ping_script: ClassVar[str] = "list_collections(1)"

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self._client: Any = None
        self._deadline: float | None = None

    # -- lifecycle -------------------------------------------------------
    @property
    def embedded(self) -> bool:
        return self.url.startswith("chroma+file:")

    @property
    def shown_url(self) -> str:
        """The URL without its token, for messages."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return parts._replace(netloc=netloc).geturl()

    @property
    def client(self) -> Any:
        if self._client is None:
            self.connect()
        return self._client

    def connect(self) -> None:
        if self._client is not None:
            return
        try:
            self._client = open_client(self.url)
        except (EngineError, InvalidRequest):
            raise
        except Exception as exc:  # any failure to reach the server
            raise EngineUnavailable(f"cannot open Chroma at {self.shown_url}: {exc}",
                                    original=exc) from exc

    def close(self) -> None:
        # Embedded clients share one system per path inside chromadb; nothing to release.
        session = self._http_session()
        if session is not None:
            session.close()
        self._client = None

    def _http_session(self) -> Any:
        if self._client is None or self.embedded:
            return None
        return getattr(getattr(self._client, "_server", None), "_session", None)

    def _limit_time(self, timeout_s: float | None) -> None:
        """Give every following HTTP request the statement's time limit."""
        self._deadline = None if timeout_s is None else time.monotonic() + timeout_s
        session = self._http_session()
        if session is not None:
            import httpx

            session.timeout = httpx.Timeout(timeout_s)

    def _check_deadline(self, statement: str) -> None:
        if self._deadline is not None and not self.embedded and time.monotonic() > self._deadline:
            raise QueryTimeout("Chroma statement exceeded its time limit", statement=statement)

    # -- statements --------------------------------------------------------
    def split(self, script: str) -> list[Statement]:
        return [Statement(text=s.text, line=s.line, column=s.column)
                for s in split_script(script)]

    def run_statement(self, statement: Statement, timeout_s: float) -> Cursor:
        command = parse_command(statement.text)
        self._limit_time(timeout_s)
        if command.collection is None:
            return self._run_function(command)
        collection = self.collection(command.collection)
        cursor = self._run_method(collection, command, statement.text)
        # a request that beat its client timeout can still end past the limit
        self._check_deadline(statement.text)
        return cursor

    def collection(self, name: str) -> Any:
        """The collection called ``name``, or an :class:`ExecutionError` naming it."""
        try:
            return self.client.get_collection(name)
        except Exception as exc:
            if _is_not_found(exc):
                raise ExecutionError(
                    f"collection {name!r} does not exist (list_collections() shows the "
                    f"existing ones)", original=exc) from exc
            raise

    def _run_function(self, command: Command) -> Cursor:
        kw = command.kwargs
        client = self.client
        if command.method == "list_collections":
            found = client.list_collections(**kw)
            return Cursor(columns=[Column("name"), Column("count"), Column("metadata")],
                          rows=([c.name, c.count(), c.metadata] for c in found))
        if command.method == "delete_collection":
            try:
                client.delete_collection(kw["name"])
            except Exception as exc:
                if _is_not_found(exc):
                    raise ExecutionError(f"collection {kw['name']!r} does not exist",
                                         original=exc) from exc
                raise
            return Cursor(rowcount=1, notice=f"deleted collection {kw['name']!r}")
        if command.method == "get_collection":
            collection = self.collection(kw["name"])
            verb = "found"
        else:
            method = getattr(client, command.method)
            collection = method(**kw)
            verb = "created" if command.method == "create_collection" else "opened"
        return Cursor(columns=[Column("name"), Column("count"), Column("metadata")],
                      rows=[[collection.name, collection.count(), collection.metadata]],
                      notice=f"{verb} collection {collection.name!r}")

    def _run_method(self, collection: Any, command: Command, text: str) -> Cursor:
        kw = dict(command.kwargs)
        method = command.method
        if method == "count":
            return Cursor(columns=[Column("count", "int")], rows=[[collection.count()]])
        if method == "query":
            return _query_cursor(collection.query(**kw))
        if method == "peek":
            kw.setdefault("limit", 10)
            return self._get_cursor(collection, kw, ["documents", "metadatas"], text)
        if method == "get":
            return self._get_cursor(collection, kw, ["documents", "metadatas"], text)
        if method in ("add", "upsert", "update"):
            getattr(collection, method)(**kw)
            ids = kw.get("ids")
            n = 1 if isinstance(ids, str) else len(ids or [])
            past = {"add": "added", "upsert": "upserted", "update": "updated"}[method]
            return Cursor(rowcount=n, notice=f"{past} {n} record(s) in {collection.name!r}")
        if method == "delete":
            result = collection.delete(**kw)
            deleted = result.get("deleted") if isinstance(result, dict) else None
            how_many = "" if deleted is None else f" {deleted}"
            return Cursor(rowcount=deleted,
                          notice=f"deleted{how_many} record(s) from {collection.name!r}")
        if method == "modify":
            collection.modify(**kw)
            return Cursor(rowcount=1, notice=f"modified collection {collection.name!r}")
        raise ExecutionError(f"unhandled method {method}")  # pragma: no cover

    def _get_cursor(self, collection: Any, kw: dict[str, Any], default_include: list[str],
                    text: str) -> Cursor:
        """Stream ``get`` results page by page; columns come from the first page."""
        include = list(kw.pop("include", default_include))
        limit: int | None = kw.pop("limit", None)
        offset = int(kw.pop("offset", None) or 0)

        def fetch(done: int) -> dict[str, Any]:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - done)
            self._check_deadline(text)
            page: dict[str, Any] = collection.get(**kw, limit=size, offset=offset + done,
                                                  include=include)
            page["_size"] = size
            return page

        first = fetch(0)
        keys = _metadata_keys(first.get("metadatas") or [])
        columns = [Column("id")]
        if "documents" in include:
            columns.append(Column("document"))
        columns += [Column(_label(k, ("id", "document", "embedding"))) for k in keys]
        if "embeddings" in include:
            columns.append(Column("embedding"))

        def rows() -> Iterator[list[Any]]:
            page, done = first, 0
            while True:
                yield from _record_rows(page, include, keys)
                got = len(page["ids"])
                done += got
                if got < page["_size"] or got == 0 or (limit is not None and done >= limit):
                    return
                page = fetch(done)

        return Cursor(columns=columns, rows=rows(), returns_rows=True)

    def wrap_error(self, exc: Exception, statement: Statement) -> EngineError:
        import httpx

        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, httpx.TimeoutException):
            cause = cause.__cause__ or cause.__context__  # Chroma may wrap httpx errors
        if cause is not None:
            return QueryTimeout(f"Chroma did not answer within the time limit: {exc}",
                                statement=statement.text, original=exc)
        if isinstance(exc, httpx.TransportError):
            return EngineUnavailable(f"cannot reach Chroma at {self.shown_url}: {exc}",
                                     statement=statement.text, original=exc)
        return ExecutionError(str(exc).strip() or type(exc).__name__,
                              statement=statement.text, original=exc)

    # -- metadata, plans, dumps --------------------------------------------
    def explain(self, statement: str, *, timeout_s: float | None = None) -> ExplainResult:
        self.check_script_size(statement)
        for part in split_script(statement):
            parse_command(part.text)
        return ExplainResult(
            statement=statement, plan=None,
            message="Chroma has no query planner: a query is an approximate nearest-neighbour "
                    "search over the collection's HNSW index, filtered by where/where_document.")

    def schema(self) -> SchemaInfo:
        self._limit_time(self.timeout_s)
        tables = []
        for collection in self.client.list_collections():
            count = collection.count()
            sample = collection.get(limit=SCHEMA_SAMPLE, include=["metadatas"])
            metadatas = [m or {} for m in sample.get("metadatas") or []]
            columns = []
            for key in _metadata_keys(metadatas):
                kinds = sorted({type(m[key]).__name__ for m in metadatas if key in m})
                columns.append(ColumnInfo(name=key, type="|".join(kinds),
                                          nullable=any(key not in m for m in metadatas)))
            tables.append(TableInfo(
                name=collection.name, kind="collection", columns=columns, row_count=count,
                extra={"dimension": chroma_transfer.dimension(collection),
                       "metadata": collection.metadata,
                       "configuration": chroma_transfer.index_configuration(collection),
                       "id": str(collection.id)}))
        return SchemaInfo(engine=self.kind, tables=tables)

    def dump(self, path: Path) -> None:
        self._limit_time(None)
        chroma_transfer.dump_client(self.client, path)

    def restore(self, path: Path) -> None:
        self._limit_time(None)
        chroma_transfer.restore_client(self.client, path)

    def import_rows(self, target: str, records: Iterable[dict[str, Any]]) -> ImportReport:
        self._limit_time(None)
        started = time.perf_counter()
        count = chroma_transfer.import_records(self.client, target, records)
        return ImportReport(target=target, rows=count,
                            elapsed_ms=round((time.perf_counter() - started) * 1000, 3))


def _is_not_found(exc: Exception) -> bool:
    from chromadb.errors import NotFoundError

    return isinstance(exc, NotFoundError) or (
        isinstance(exc, ValueError) and "does not exist" in str(exc))


def _label(key: str, fixed: Sequence[str]) -> str:
    return f"metadata.{key}" if key in fixed else key


def _metadata_keys(metadatas: Iterable[dict[str, Any] | None]) -> list[str]:
    keys: dict[str, None] = {}
    for metadata in metadatas:
        for key in metadata or {}:
            keys.setdefault(key, None)
    return sorted(keys)


def _record_rows(page: dict[str, Any], include: list[str], keys: list[str]) -> Iterator[list[Any]]:
    ids = page["ids"]
    documents = page.get("documents") or [None] * len(ids)
    metadatas = page.get("metadatas") or [None] * len(ids)
    embeddings = page.get("embeddings")
    for i, record_id in enumerate(ids):
        row: list[Any] = [record_id]
        if "documents" in include:
            row.append(documents[i])
        metadata = metadatas[i] or {}
        row += [metadata.get(k) for k in keys]
        if "embeddings" in include and embeddings is not None:
            row.append(chroma_transfer.as_floats(embeddings[i]))
        yield row


def _query_cursor(result: dict[str, Any]) -> Cursor:
    include = result.get("included") or []
    n_queries = len(result["ids"])
    metadatas = [m for hits in (result.get("metadatas") or []) for m in hits]
    keys = _metadata_keys(metadatas)
    columns = [Column("query", "int")] if n_queries > 1 else []
    columns.append(Column("id"))
    if "documents" in include:
        columns.append(Column("document"))
    if "distances" in include:
        columns.append(Column("distance", "float"))
    columns += [Column(_label(k, _QUERY_FIXED)) for k in keys]
    if "embeddings" in include:
        columns.append(Column("embedding"))

    def rows() -> Iterator[list[Any]]:
        for q, ids in enumerate(result["ids"]):
            for i, record_id in enumerate(ids):
                row: list[Any] = [q] if n_queries > 1 else []
                row.append(record_id)
                if "documents" in include:
                    row.append(result["documents"][q][i])
                if "distances" in include:
                    row.append(float(result["distances"][q][i]))
                metadata = (result["metadatas"][q][i] if "metadatas" in include else None) or {}
                row += [metadata.get(k) for k in keys]
                if "embeddings" in include:
                    row.append(chroma_transfer.as_floats(result["embeddings"][q][i]))
                yield row

    return Cursor(columns=columns, rows=rows(), returns_rows=True)
