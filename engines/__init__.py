"""Engine adapters: one interface (:mod:`engines.base`), one module per database kind.

Adapters are registered by kind name and imported lazily, so importing ``engines``
never imports a database driver::

    from engines import connect
    with connect("sqlite", "sqlite:////tmp/x.db") as db:
        results = db.execute("SELECT 1; SELECT 2")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engines.errors import InvalidRequest

if TYPE_CHECKING:
    from engines.base import Engine

_REGISTRY: dict[str, str] = {
    "postgres": "engines.postgres.adapter:PostgresEngine",
    "mongodb": "engines.mongodb.adapter:MongoEngine",
    "chroma": "engines.chroma.adapter:ChromaEngine",
    "sqlite": "engines.sqlite.adapter:SQLiteEngine",
}


def register(kind: str, target: str) -> None:
    """Register an adapter class, given as ``"module:ClassName"``, under ``kind``."""
    _REGISTRY[kind] = target


def kinds() -> list[str]:
    return list(_REGISTRY)


def engine_class(kind: str) -> type[Engine]:
    try:
        target = _REGISTRY[kind]
    except KeyError:
        raise InvalidRequest(
            f"unknown engine {kind!r}; known engines: {', '.join(_REGISTRY)}"
        ) from None
    module_name, _, class_name = target.partition(":")
    cls: type[Engine] = getattr(importlib.import_module(module_name), class_name)
    return cls


def connect(kind: str, url: str, **options: Any) -> Engine:
    """An adapter instance for ``kind`` at ``url`` (connects on first use or ``with``)."""
    return engine_class(kind)(url, **options)
