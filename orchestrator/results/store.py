"""The result store's records: which stored result is whose, from which sandbox and run,
whether every row is kept yet; and the rules that remove results (with their sandbox, at
their TTL, oldest first over the owner's quota, and files no record knows)."""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

from engines.errors import Conflict, InvalidRequest, NotFound
from orchestrator.config.settings import Settings
from orchestrator.results import files
from orchestrator.store.db import Database
from orchestrator.store.models import StoredResult, utcnow

_STATEMENT_CHARS = 4000


@dataclass
class ResultView:
    id: str
    sandbox_id: str | None
    statement: str
    engine: str
    complete: bool
    total_rows: int | None
    truncated: bool
    note: str | None
    size_bytes: int
    created_at: str

    @classmethod
    def of(cls, row: StoredResult) -> ResultView:
        return cls(id=row.id, sandbox_id=row.sandbox_id, statement=row.statement,
                   engine=row.engine, complete=row.complete, total_rows=row.total_rows,
                   truncated=row.truncated, note=row.note, size_bytes=row.size_bytes,
                   created_at=row.created_at.isoformat() + "Z")

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ResultStore:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.root = settings.results_dir

    def directory(self, owner: str) -> Path:
        return files.owner_dir(self.root, owner)

    # -- written by the workers -----------------------------------------------------
    def keep_params(self, owner: str) -> dict[str, Any]:
        """What a query job's statement process needs to keep its results."""
        directory = self.directory(owner)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return {"dir": str(directory), "prefix": files.new_prefix(),
                "max_rows": self.settings.result_max_rows,
                "max_bytes": self.settings.result_max_mb * 1024 * 1024}

    def register(self, owner: str, sandbox_id: str | None, job_id: str, engine: str,
                 results: list[dict[str, Any]]) -> None:
        """Record the results a run kept (those answered whole are complete already)."""
        with self.db.session() as session:
            for result in results:
                rid = result.get("result_id")
                if not rid:
                    continue
                row = StoredResult(id=rid, owner=owner, sandbox_id=sandbox_id, job_id=job_id,
                                   engine=engine, statement=result["statement"][:_STATEMENT_CHARS],
                                   created_at=utcnow())
                self._complete(row, files.read_meta(self.directory(owner), rid))
                session.add(row)
        self.enforce_quota(owner)

    def ended(self, owner: str, results: list[dict[str, Any]], how: str) -> None:
        """The statement process that kept ``results`` ended (``how``): a result it did
        not finish is recorded as not kept, saying why."""
        directory = self.directory(owner)
        for result in results:
            rid = result.get("result_id")
            if rid and files.read_meta(directory, rid) is None:
                files.remove(directory, rid)
                files.write_meta(directory, rid, {
                    "total_rows": None, "result_truncated": True, "size_bytes": 0,
                    "result_note": f"the result was not kept: the statement process ended "
                                   f"({how}) before it had written the rows"})

    @staticmethod
    def _complete(row: StoredResult, meta: dict[str, Any] | None) -> bool:
        if meta is None:
            return False
        row.complete = True
        row.total_rows = meta.get("total_rows")
        row.truncated = bool(meta.get("result_truncated"))
        row.note = meta.get("result_note")
        row.size_bytes = int(meta.get("size_bytes") or 0)
        return True

    # -- read by the API ---------------------------------------------------------------
    def get(self, owner: str, rid: str) -> ResultView:
        """The owner's result (another user's, an expired or a missing one is NotFound)."""
        if not files.is_result_id(rid):
            raise NotFound(f"no result {rid!r}")
        with self.db.session() as session:
            row = session.get(StoredResult, rid)
            if row is None or row.owner != owner:
                raise NotFound(f"no result {rid!r}")
            if not row.complete:
                self._complete(row, files.read_meta(self.directory(owner), rid))
            return ResultView.of(row)

    def wait(self, owner: str, rid: str, timeout_s: float | None = None) -> ResultView:
        """The result once every row is kept (its statement process writes the rest after
        answering); Conflict if that takes longer than the statement time limit."""
        limit = timeout_s if timeout_s is not None else self.settings.max_query_seconds + 60
        deadline = time.monotonic() + limit
        view = self.get(owner, rid)
        pause = 0.02
        while not view.complete:
            if time.monotonic() > deadline:
                raise Conflict(f"result {rid} is still being kept; try again in a moment")
            time.sleep(pause)
            pause = min(pause * 1.5, 0.25)
            view = self.get(owner, rid)
        if view.total_rows is None:
            raise InvalidRequest(view.note or f"result {rid} was not kept")
        return view

    def path(self, owner: str, rid: str) -> Path:
        return files.arrow_path(self.directory(owner), rid)

    # -- removal -------------------------------------------------------------------------
    def _remove(self, rows: list[StoredResult]) -> int:
        freed = 0
        with self.db.session() as session:
            for row in rows:
                freed += files.remove(self.directory(row.owner), row.id)
                session.execute(delete(StoredResult).where(StoredResult.id == row.id))
        return freed

    def forget_sandbox(self, sandbox_id: str) -> int:
        """Remove every result of a sandbox (it was deleted); how many."""
        with self.db.session() as session:
            rows = list(session.scalars(select(StoredResult).where(
                StoredResult.sandbox_id == sandbox_id)))
            session.expunge_all()
        self._remove(rows)
        return len(rows)

    def enforce_quota(self, owner: str) -> int:
        """Remove the owner's oldest results while they take more than the quota."""
        quota = self.settings.result_quota_mb * 1024 * 1024
        with self.db.session() as session:
            # after every query: a sum while under the quota (results not complete yet
            # count the size of their file, if it is written already)
            kept = session.scalar(select(func.coalesce(func.sum(StoredResult.size_bytes), 0))
                                  .where(StoredResult.owner == owner)) or 0
            pending = session.scalars(select(StoredResult.id).where(
                StoredResult.owner == owner, StoredResult.size_bytes == 0)).all()
        if kept + sum(_size(files.arrow_path(self.directory(owner), rid))
                      for rid in pending) <= quota:
            return 0
        with self.db.session() as session:
            rows = list(session.scalars(select(StoredResult).where(
                StoredResult.owner == owner).order_by(StoredResult.created_at.desc())))
            session.expunge_all()
        used, over = 0, []
        for row in rows:
            size = row.size_bytes or _size(files.arrow_path(self.directory(owner), row.id))
            used += size
            if used > quota:
                over.append(row)
        self._remove(over)
        return len(over)

    def sweep(self, now: dt.datetime | None = None) -> int:
        """Remove results past their TTL and files no record knows (a run that died
        before recording them); how many results were removed."""
        now = now or utcnow()
        cutoff = now - dt.timedelta(seconds=self.settings.result_ttl)
        with self.db.session() as session:
            old = list(session.scalars(select(StoredResult).where(
                StoredResult.created_at < cutoff)))
            known = set(session.scalars(select(StoredResult.id)))
            session.expunge_all()
        self._remove(old)
        stale = time.time() - max(self.settings.max_query_seconds * 2 + 120, 600)
        if self.root.is_dir():
            for directory in self.root.iterdir():
                for path in directory.glob("*.*"):
                    rid = path.name.split(".", 1)[0]
                    if rid not in known and _mtime(path) < stale:
                        path.unlink(missing_ok=True)
        return len(old)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _mtime(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return time.time()
