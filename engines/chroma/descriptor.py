"""Chroma as :mod:`engines` describes it (no driver imported here)."""

from __future__ import annotations

from engines.descriptor import EMBEDDED, SERVER, EngineDescriptor

CHROMA = EngineDescriptor(
    kind="chroma",
    label="Chroma",
    language="chroma",
    language_label="Chroma commands",
    highlight="python",  # the commands are Python calls: tldr.query(query_texts=[...])
    example="list_collections()",
    # dbplay-chroma-dump (engines/chroma/transfer.py), gzip-compressed when it ends in .gz
    dump_suffixes=(".dump.json.gz", ".dump.json"),
    is_sql=False,
    document_store=True,
    capabilities=frozenset({SERVER, EMBEDDED}),
    adapter="engines.chroma.adapter:ChromaEngine",
)
