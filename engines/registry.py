"""The engines, by kind: their descriptors and their adapters.

Each kind is described once by its :class:`~engines.descriptor.EngineDescriptor`
(``engines/<kind>/descriptor.py``); the adapter it names is imported only when a
connection is made, so importing this module never imports a database driver::

    from engines.registry import connect, descriptor_for
    descriptor_for("sqlite").label                # 'SQLite'
    with connect("sqlite", "sqlite:////tmp/x.db") as db:
        results = db.execute("SELECT 1; SELECT 2")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engines.chroma.descriptor import CHROMA
from engines.descriptor import EngineDescriptor
from engines.errors import InvalidRequest
from engines.mongodb.descriptor import MONGODB
from engines.postgres.descriptor import POSTGRES
from engines.sqlite.descriptor import SQLITE

if TYPE_CHECKING:
    from engines.base import Engine

#: every engine, in the order they are shown (SQL first)
_DESCRIPTORS: dict[str, EngineDescriptor] = {d.kind: d for d in (POSTGRES, SQLITE, MONGODB, CHROMA)}


def descriptors() -> list[EngineDescriptor]:
    """Every engine's descriptor, in display order."""
    return list(_DESCRIPTORS.values())


def descriptor_for(kind: str) -> EngineDescriptor:
    """The descriptor of ``kind``; :class:`InvalidRequest` for a kind not known."""
    try:
        return _DESCRIPTORS[kind]
    except KeyError:
        raise InvalidRequest(
            f"unknown engine {kind!r}; known engines: {', '.join(_DESCRIPTORS)}"
        ) from None


def kinds() -> list[str]:
    return list(_DESCRIPTORS)


def engine_class(kind: str) -> type[Engine]:
    module_name, _, class_name = descriptor_for(kind).adapter.partition(":")
    cls: type[Engine] = getattr(importlib.import_module(module_name), class_name)
    return cls


def connect(kind: str, url: str, **options: Any) -> Engine:
    """An adapter instance for ``kind`` at ``url`` (connects on first use or ``with``)."""
    return engine_class(kind)(url, **options)
