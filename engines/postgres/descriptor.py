"""PostgreSQL as :mod:`engines` describes it (no driver imported here)."""

from __future__ import annotations

from engines.descriptor import CANCEL, FOREIGN_KEYS, SERVER, EngineDescriptor

POSTGRES = EngineDescriptor(
    kind="postgres",
    label="PostgreSQL",
    language="sql",
    language_label="SQL",
    highlight="sql",
    example="SELECT table_name FROM information_schema.tables\nWHERE table_schema = 'public';",
    dump_suffixes=(".sql",),  # a psql script (engines/postgres/dump.py)
    is_sql=True,
    document_store=False,
    capabilities=frozenset({SERVER, CANCEL, FOREIGN_KEYS}),
    adapter="engines.postgres.adapter:PostgresEngine",
)
