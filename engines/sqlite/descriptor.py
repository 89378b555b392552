"""SQLite as :mod:`engines` describes it."""

from __future__ import annotations

from engines.descriptor import CANCEL, EMBEDDED, FOREIGN_KEYS, EngineDescriptor

SQLITE = EngineDescriptor(
    kind="sqlite",
    label="SQLite",
    language="sql",
    language_label="SQL",
    highlight="sql",
    example="SELECT name FROM sqlite_master WHERE type = 'table';",
    # a database file (told by its header, whatever its name) or a SQL script
    dump_suffixes=(".sqlite", ".db", ".sql"),
    is_sql=True,
    document_store=False,
    capabilities=frozenset({EMBEDDED, CANCEL, FOREIGN_KEYS}),
    adapter="engines.sqlite.adapter:SQLiteEngine",
)

#: files SQLite keeps beside a database file ``x.sqlite``: ``x.sqlite-journal``, ...
COMPANION_SUFFIXES = ("-journal", "-wal", "-shm")
