"""What an engine is, said once: :class:`EngineDescriptor`.

Each engine package declares its descriptor in a light module of its own
(``engines/<kind>/descriptor.py``, no driver imported); :mod:`engines` lists them
(``engines.registry.descriptors()``, ``descriptor_for(kind)``). Everything that needs an
engine fact (its label, script language, editor highlighting, starter statement, dump
file names, whether it speaks SQL or stores documents) reads it from here: the UI pages,
the CLI's output, the template store, snapshots and the HTTP API (``GET /engines``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

#: the language of an engine's scripts (what :meth:`engines.base.Engine.execute` runs)
Language = Literal["sql", "javascript", "chroma"]

#: capabilities an engine may have, by name
#: - a running statement can be stopped on the server (the adapter overrides ``cancel``)
CANCEL = "cancel"
#: - ``schema()`` reports foreign keys, so an ER diagram can be drawn
FOREIGN_KEYS = "foreign_keys"
#: - runs in-process on a local file (``sqlite:///``, ``chroma+file://``): no server
EMBEDDED = "embedded"
#: - runs as a network server (a container, a local server process)
SERVER = "server"
CAPABILITIES = (CANCEL, FOREIGN_KEYS, EMBEDDED, SERVER)


@dataclass(frozen=True)
class EngineDescriptor:
    """The facts about one database kind that do not need its driver."""

    #: the kind name used everywhere (``postgres``, ``sqlite``, ``mongodb``, ``chroma``)
    kind: str
    #: how people call it (``PostgreSQL``)
    label: str
    #: the script language: ``sql``, ``javascript`` (mongosh) or ``chroma`` (commands)
    language: Language
    #: the language as shown to people (``SQL``, ``mongosh``, ``Chroma commands``)
    language_label: str
    #: the syntax-highlighting mode of a code editor or viewer (Prism, Ace, Monaco all
    #: know ``sql``, ``javascript`` and ``python``)
    highlight: str
    #: a statement to start with: lists what the database holds
    example: str
    #: file name endings of its dumps; the first is the one a snapshot writes
    dump_suffixes: tuple[str, ...]
    #: speaks SQL: tables with columns, types and foreign keys
    is_sql: bool
    #: stores documents (or records) in collections rather than rows in tables
    document_store: bool
    #: names from :data:`CAPABILITIES`
    capabilities: frozenset[str] = frozenset()
    #: the adapter class as ``"module:ClassName"``, imported only when connecting
    adapter: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        unknown = self.capabilities - set(CAPABILITIES)
        if unknown:
            raise ValueError(f"{self.kind}: unknown capabilities {sorted(unknown)}")
        if not self.dump_suffixes:
            raise ValueError(f"{self.kind}: a dump needs at least one file name suffix")

    @property
    def dump_suffix(self) -> str:
        """The file name ending of the dumps this engine writes."""
        return self.dump_suffixes[0]

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def to_dict(self) -> dict[str, Any]:
        """The public description (what ``GET /api/v1/engines`` serves)."""
        return {"kind": self.kind, "label": self.label, "language": self.language,
                "language_label": self.language_label, "highlight": self.highlight,
                "example": self.example, "dump_suffixes": list(self.dump_suffixes),
                "is_sql": self.is_sql, "document_store": self.document_store,
                "capabilities": sorted(self.capabilities)}
