"""Templates: a content-addressed dump store and the built-in catalog.

A dump lives at ``$DBPLAY_HOME/templates/<sha256>/<original file name>``: the directory
is the content address (identical dumps are stored once), the file keeps its name so
engines can tell a ``.sql`` script from a ``.sqlite`` file or a ``.json.gz`` dump.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engines.registry import descriptors
from orchestrator.store.models import Template

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin_templates"


@dataclass(frozen=True)
class Builtin:
    name: str
    engine: str
    folder: str
    pattern: str  # glob of the dump inside the folder
    description: str
    source: str
    license: str
    #: tables, views and collections, as the engine's ``schema()`` lists them after a
    #: restore (checked by tests/orchestrator/test_templates.py)
    tables: tuple[str, ...] = ()


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


PAGILA_TABLES = _names("""
    actor actor_info address category city country customer customer_list film film_actor
    film_category film_list inventory language nicer_but_slower_film_list payment
    payment_p2022_01 payment_p2022_02 payment_p2022_03 payment_p2022_04 payment_p2022_05
    payment_p2022_06 payment_p2022_07 rental rental_by_category sales_by_film_category
    sales_by_store staff staff_list store""")
CHINOOK_TABLES = _names("""album artist customer employee genre invoice invoice_line
    media_type playlist playlist_track track""")
CHINOOK_SQLITE_TABLES = _names("""Album Artist Customer Employee Genre Invoice InvoiceLine
    MediaType Playlist PlaylistTrack Track""")
EMPTY_SOURCE, EMPTY_LICENSE = "DB Playground", "n/a"

CATALOG: list[Builtin] = [
    Builtin("pagila", "postgres", "pagila", "pagila.sql",
            "DVD rental store (PostgreSQL port of Sakila): films, actors, customers, rentals.",
            "devrimgunduz/pagila", "PostgreSQL License (pagila/LICENSE.txt)", PAGILA_TABLES),
    Builtin("chinook", "postgres", "chinook-postgres", "Chinook_PostgreSql.sql",
            "Digital music store: artists, albums, tracks, invoices, employees.",
            "lerocha/chinook-database", "MIT (chinook-postgres/LICENSE.md)", CHINOOK_TABLES),
    Builtin("chinook-sqlite", "sqlite", "chinook-sqlite", "Chinook_Sqlite.sqlite",
            "Digital music store (SQLite): artists, albums, tracks, invoices, employees.",
            "lerocha/chinook-database", "MIT (chinook-sqlite/LICENSE.md)",
            CHINOOK_SQLITE_TABLES),
    Builtin("restaurants", "mongodb", "restaurants", "*.dump.json",
            "UK takeaway restaurants (Just Eat listings): address, postcode, cuisine, rating.",
            "ozlerhakan/mongodb-json-files", "CC0 (restaurants/README.adoc)", ("restaurants",)),
    Builtin("books", "mongodb", "books", "*.dump.json",
            "Programming books with authors, categories and descriptions.",
            "ozlerhakan/mongodb-json-files", "CC0 (books/README.adoc)", ("books",)),
    Builtin("tldr", "chroma", "tldr", "*.dump.json.gz",
            "500 tldr-pages command summaries with all-MiniLM-L6-v2 embeddings.",
            "tldr-pages/tldr", "CC BY 4.0, the tldr-pages authors (tldr/LICENSE.md)",
            ("tldr",)),
    Builtin("public-apis", "chroma", "public-apis", "*.dump.json.gz",
            "1695 public API descriptions with all-MiniLM-L6-v2 embeddings.",
            "public-apis/public-apis", "MIT (public-apis/LICENSE)", ("public_apis",)),
] + [
    Builtin(f"empty-{engine.kind}", engine.kind, "", "", f"An empty {engine.label} database.",
            EMPTY_SOURCE, EMPTY_LICENSE)
    for engine in descriptors()
]


def builtin_dump(entry: Builtin) -> Path | None:
    """The dump file of a built-in, or None when it is empty or not there (yet)."""
    if not entry.pattern:
        return None
    found = sorted(p for p in (BUILTIN_DIR / entry.folder).glob(entry.pattern)
                   if p.is_file() and p.stat().st_size > 0)
    return found[0] if found else None


def builtin_available(entry: Builtin) -> bool:
    return not entry.pattern or builtin_dump(entry) is not None


class TemplateStore:
    """Dump files by content address."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def put(self, source: Path, name: str | None = None) -> tuple[str, int]:
        """Copy ``source`` into the store; returns ``(sha256, size)``."""
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        tmp = Path(tmp_name)
        size = 0
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            sha = digest.hexdigest()
            folder = self.root / sha
            target = folder / (name or source.name)
            if not target.exists():
                folder.mkdir(exist_ok=True)
                os.replace(tmp, target)
            return sha, size
        finally:
            tmp.unlink(missing_ok=True)

    def path(self, digest: str) -> Path | None:
        if not digest:
            return None
        folder = self.root / digest
        files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        return files[0] if files else None

    def discard(self, digest: str) -> None:
        if digest:
            shutil.rmtree(self.root / digest, ignore_errors=True)


def _digest_cached(store: TemplateStore, path: Path) -> tuple[str, int]:
    """Store a built-in dump, remembering (size, mtime) -> digest to avoid rehashing."""
    cache_file = store.root / "builtin-digests.json"
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    stat = path.stat()
    key = str(path)
    hit = cache.get(key)
    if hit and hit[0] == stat.st_size and hit[1] == stat.st_mtime_ns and store.path(hit[2]):
        return hit[2], stat.st_size
    digest, size = store.put(path)
    cache[key] = [stat.st_size, stat.st_mtime_ns, digest]
    tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(cache))
    os.replace(tmp, cache_file)
    return digest, size


def sync_builtins(session: Session, store: TemplateStore) -> None:
    """Make the templates table hold every available built-in (and only those)."""
    builtins = session.scalars(select(Template).where(Template.owner.is_(None)))
    existing = {t.name: t for t in builtins}
    for entry in CATALOG:
        path = builtin_dump(entry)
        if entry.pattern and path is None:
            if entry.name in existing and existing[entry.name].digest:
                session.delete(existing[entry.name])
            continue
        digest, size = _digest_cached(store, path) if path else ("", 0)
        row = existing.get(entry.name)
        if row is None:
            row = Template(name=entry.name, owner=None, shared=True, tables=[])
            session.add(row)
        if list(row.tables or []) != list(entry.tables):
            row.tables = list(entry.tables)
        row.engine, row.description = entry.engine, entry.description
        row.digest, row.size_bytes = digest, size
        row.source, row.license = entry.source, entry.license
