"""Build the Chroma dumps of the built-in templates, with precomputed embeddings.

Each built-in Chroma template ships a ``*.jsonl`` source (``{id, document, metadata}`` per
line) and the ``*.dump.json.gz`` built from it here, in the format of
:mod:`engines.chroma.transfer`. Embeddings come from Chroma's default embedding function
(all-MiniLM-L6-v2, run locally through onnxruntime), so sandboxes restore the dump without
embedding anything. They are rounded to 6 significant digits to keep the files small (a
change of about 1e-6 per component, far below what moves a ranking).

Re-run after changing a source file::

    .venv/bin/python -m engines.chroma.embed            # every built-in template
    .venv/bin/python -m engines.chroma.embed tldr       # one of them
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines.chroma.transfer import CollectionDump, write_dump

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "orchestrator" / "store" / "builtin_templates"
DIGITS = 6
BATCH = 64


@dataclass(frozen=True)
class BuiltinDataset:
    template: str
    source: str
    collection: str
    description: str

    @property
    def source_path(self) -> Path:
        return TEMPLATES_DIR / self.template / self.source

    @property
    def dump_path(self) -> Path:
        return TEMPLATES_DIR / self.template / f"{self.template}.dump.json.gz"


DATASETS = {
    "tldr": BuiltinDataset(
        "tldr", "tldr_en_500.jsonl", "tldr",
        "500 tldr-pages command summaries (CC BY 4.0, see LICENSE.md)"),
    "public-apis": BuiltinDataset(
        "public-apis", "public_apis.jsonl", "public_apis",
        "The public-apis list: one record per free API (MIT, see LICENSE)"),
}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def embedded_records(records: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The records with an ``embedding`` from Chroma's default embedding function."""
    from chromadb.utils.embedding_functions import DefaultEmbeddingFunction

    embed = DefaultEmbeddingFunction()
    for start in range(0, len(records), BATCH):
        chunk = records[start:start + BATCH]
        for record, vector in zip(chunk, embed([r["document"] for r in chunk])):
            yield {"id": record["id"], "document": record["document"],
                   "metadata": record.get("metadata") or None, "embedding": vector}


def build(dataset: BuiltinDataset) -> Path:
    records = read_jsonl(dataset.source_path)
    collection = CollectionDump(
        name=dataset.collection,
        metadata={"description": dataset.description},
        configuration={"hnsw": {"space": "cosine"}},
        count=len(records), dimension=384, records=embedded_records(records))
    write_dump(dataset.dump_path, [collection], digits=DIGITS)
    return dataset.dump_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("templates", nargs="*",
                        help=f"templates to rebuild: {', '.join(DATASETS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.templates) - set(DATASETS)
    if unknown:
        parser.error(f"unknown template(s): {', '.join(sorted(unknown))}")
    for name in args.templates or list(DATASETS):
        path = build(DATASETS[name])
        print(f"{name}: wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
