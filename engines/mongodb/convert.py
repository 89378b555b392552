"""Convert raw MongoDB JSON lines (``mongoexport``/``mongoimport`` style) into a dump file.

The sample datasets ship as one extended-JSON document per line, in mixed styles:
``{"$oid": ...}``, legacy dates with an offset (``{"$date": "2009-04-01T00:00:00.000-0700"}``,
read as the same instant in UTC), or plain JSON. This turns such a file into the
single-collection :mod:`engines.mongodb.dump` format that ``MongoEngine.restore`` loads::

    python -m engines.mongodb.convert orchestrator/store/builtin_templates/books/books.json \\
        --collection books -o orchestrator/store/builtin_templates/books/books.dump.json

The built-in ``restaurants`` and ``books`` template dumps are generated this way.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bson import json_util

from engines.mongodb.dump import DumpWriter

_RELAXED = json_util.RELAXED_JSON_OPTIONS


def read_json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The documents of a JSON-lines file; a bad line raises ValueError naming it."""
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                document = json_util.loads(line, json_options=_RELAXED)
            except ValueError as exc:
                raise ValueError(f"{path.name} line {number}: {exc}") from exc
            if not isinstance(document, dict):
                raise ValueError(f"{path.name} line {number}: not a JSON object")
            yield document


def convert(source: Path, collection: str, out: Path) -> int:
    """Write ``source`` (JSON lines) as a one-collection dump; returns the document count."""
    with out.open("w", encoding="utf-8") as fh:
        writer = DumpWriter(fh)
        count = writer.collection(collection, documents=read_json_lines(source))
        writer.finish()
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m engines.mongodb.convert",
        description="Convert a JSON-lines MongoDB export into a DB Playground dump file.")
    parser.add_argument("source", type=Path, help="one extended-JSON document per line")
    parser.add_argument("--collection", help="collection name (default: the file's stem)")
    parser.add_argument("-o", "--output", type=Path,
                        help="dump file to write (default: <stem>.dump.json beside source)")
    args = parser.parse_args(argv)
    source: Path = args.source
    out = args.output or source.with_name(f"{source.stem}.dump.json")
    count = convert(source, args.collection or source.stem, out)
    print(f"{out}: {count} documents")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
