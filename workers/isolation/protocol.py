"""What the worker and a statement process say to each other over the job's pipe.

worker -> child: one :class:`StatementRequest`, then possibly :data:`CANCEL`.
child -> worker: ``("ok", value)`` or ``("error", encoded error)``, then it exits; or
``("answered", value)`` when the operation returned :class:`Answered`: the worker has its
answer, and the child goes on with the rest of the work (keeping a result's remaining
rows) before it exits.

Errors cross as plain dicts (a driver exception need not pickle) and are rebuilt as the
same :mod:`engines.errors` class on the worker's side, so the job ends exactly as it
did when the engine ran in the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engines import errors
from engines.base import Engine
from workers.isolation.fence import FenceSpec

CANCEL = "cancel"
#: an operation run in the child: a module-level function (it crosses by name)
Operation = Callable[[Engine, dict[str, Any]], Any]


@dataclass(frozen=True)
class Answered:
    """What an operation returns to answer the job now and finish work after: ``value`` is
    the job's answer; ``then`` runs in the child afterwards, on the same connection."""

    value: Any
    then: Callable[[], None]


@dataclass(frozen=True)
class StatementRequest:
    engine: str
    url: str
    operation: Operation
    params: dict[str, Any]
    fence: FenceSpec
    #: what the user asked to run, for error messages (statement text or a description)
    label: str
    engine_options: dict[str, Any] = field(default_factory=dict)


class RemoteError(errors.DBPlayError):
    """A :class:`~engines.errors.DBPlayError` from the child whose class is not in
    :mod:`engines.errors`; keeps its type name and fields."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(str(data.get("message", "")))
        self.data = data

    @property
    def type(self) -> str:
        return str(self.data.get("type", "DBPlayError"))

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.data.items() if k not in ("dbplay", "statement")}


def encode_error(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, errors.DBPlayError):
        data = exc.to_dict()
        data["dbplay"] = True
        statement = getattr(exc, "statement", None)
        if isinstance(statement, str):
            data["statement"] = statement
        return data
    return {"type": type(exc).__name__, "message": str(exc), "dbplay": False}


def decode_error(data: dict[str, Any]) -> Exception:
    """The exception the child raised, as close to the original as can be rebuilt."""
    if not data.get("dbplay"):
        return RuntimeError(f"{data.get('type')}: {data.get('message')}")
    cls = getattr(errors, str(data.get("type")), None)
    message = str(data.get("message", ""))
    if not (isinstance(cls, type) and issubclass(cls, errors.DBPlayError)):
        return RemoteError(data)
    if issubclass(cls, errors.ImportRowError):
        return cls(message, row=int(data.get("row", 0)), statement=data.get("statement"),
                   line=data.get("line"), column=data.get("column"))
    if issubclass(cls, errors.EngineError):
        return cls(message, statement=data.get("statement"), line=data.get("line"),
                   column=data.get("column"))
    try:
        return cls(message)
    except TypeError:  # a class with a different constructor
        return RemoteError(data)
