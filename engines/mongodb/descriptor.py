"""MongoDB as :mod:`engines` describes it (no driver imported here)."""

from __future__ import annotations

from engines.descriptor import SERVER, EngineDescriptor

MONGODB = EngineDescriptor(
    kind="mongodb",
    label="MongoDB",
    language="javascript",
    language_label="mongosh",
    highlight="javascript",
    example="db.getCollectionNames()",
    dump_suffixes=(".dump.json",),  # dbplay-mongodb-dump (engines/mongodb/dump.py)
    is_sql=False,
    document_store=True,
    capabilities=frozenset({SERVER}),
    adapter="engines.mongodb.adapter:MongoEngine",
)
