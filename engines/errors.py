"""Every error DB Playground raises on purpose, in one hierarchy.

::

    DBPlayError                      base of everything below; has ``type`` and ``to_dict()``
    ├── EngineError                  something went wrong talking to a database
    │   │                            (keeps ``statement`` and the driver's ``original``)
    │   ├── QuerySyntaxError         the statement does not parse (``line``/``column`` if known)
    │   │   └── ParseLimitExceeded   the script is too long, or nested too deep to parse safely
    │   ├── UnsupportedCommand       valid input we deliberately do not run; says what is supported
    │   ├── QueryTimeout             the server stopped the statement at its time limit
    │   ├── QueryCancelled           the statement was cancelled on request
    │   ├── ExecutionError           the server refused or failed the statement at run time
    │   │   └── PermissionDenied     ... because the sandbox role may not do that
    │   ├── EngineUnavailable        the server cannot be reached (down, died, wrong address)
    │   ├── DumpError                a dump could not be produced
    │   ├── RestoreError             a dump could not be restored (names the statement/line)
    │   └── ImportRowError           a row of an import was rejected (names the row)
    ├── NotFound                     unknown template/sandbox/job, or one the caller may not see
    ├── Conflict                     the object exists already or is in the wrong state
    ├── QuotaExceeded                a per-user limit was reached
    ├── InvalidRequest               the request itself is malformed (bad TTL, bad cron, ...)
    ├── NotAllowed                   the acting user may not do this
    ├── Unauthorized                 no API token, or an unknown or revoked one
    └── ProvisionError               a sandbox could not be started or seeded
        └── ServiceUnavailable       the job queue (Redis) or workers are not running

Driver exceptions never escape an adapter: they are wrapped in the closest class
above, with the statement and the original exception kept on the wrapper.
"""

from __future__ import annotations

from typing import Any


class DBPlayError(Exception):
    """Base class. ``type`` is the stable name shown to users and in JSON."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def type(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message}


class EngineError(DBPlayError):
    def __init__(
        self,
        message: str,
        *,
        statement: str | None = None,
        original: BaseException | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.statement = statement
        self.original = original
        self.line = line
        self.column = column
        if original is not None:
            self.__cause__ = original

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.line is not None:
            data["line"] = self.line
        if self.column is not None:
            data["column"] = self.column
        return data


class QuerySyntaxError(EngineError):
    pass


class ParseLimitExceeded(QuerySyntaxError):
    """The input is refused before (or instead of) parsing: longer than the script size
    limit, or nested or chained deeper than the parser handles safely."""


class UnsupportedCommand(EngineError):
    pass


class QueryTimeout(EngineError):
    pass


class QueryCancelled(EngineError):
    pass


class ExecutionError(EngineError):
    pass


class StatementCrashed(ExecutionError):
    """The process running a statement died (signal, out of memory, exit): only that
    statement's job failed; the worker, other users and the sandbox carry on."""


class PermissionDenied(ExecutionError):
    pass


class EngineUnavailable(EngineError):
    pass


class DumpError(EngineError):
    pass


class RestoreError(EngineError):
    pass


class ImportRowError(EngineError):
    def __init__(self, message: str, *, row: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.row = row

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["row"] = self.row
        return data


class NotFound(DBPlayError):
    pass


class Conflict(DBPlayError):
    pass


class QuotaExceeded(DBPlayError):
    pass


class InvalidRequest(DBPlayError):
    pass


class NotAllowed(DBPlayError):
    """The acting user may not do this (e.g. only admins add or remove accounts)."""


class Unauthorized(DBPlayError):
    """The request says not who makes it: no API token, or an unknown or revoked one."""


class ProvisionError(DBPlayError):
    pass


class ServiceUnavailable(ProvisionError):
    """The stack behind the API (Redis, workers) is not running: ``dbplay up`` starts it."""


_BY_NAME: dict[str, type[DBPlayError]] = {}


def _collect(cls: type[DBPlayError]) -> None:
    _BY_NAME[cls.__name__] = cls
    for sub in cls.__subclasses__():
        _collect(sub)


_collect(DBPlayError)


def from_dict(data: dict[str, Any]) -> DBPlayError:
    """Rebuild an error that crossed a process boundary as ``to_dict()`` output."""
    cls = _BY_NAME.get(str(data.get("type")), DBPlayError)
    message = str(data.get("message", ""))
    if issubclass(cls, ImportRowError):
        return cls(message, row=int(data.get("row", 0)))
    if issubclass(cls, EngineError):
        return cls(message, line=data.get("line"), column=data.get("column"))
    err = cls(message)
    return err
