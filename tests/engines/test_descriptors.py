"""Each engine describes itself once (``engines/<kind>/descriptor.py``), and the product
uses what it says: the adapters, template import and snapshots (dump suffixes), the
Playground (language, example, highlighting).

The stack tests run on the UI suite's real stack (Redis, workers, local provisioner) and
cover every engine this machine can run."""

from __future__ import annotations

import dataclasses
import gzip
import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engines.base import Engine
from engines.descriptor import CANCEL, EMBEDDED, EngineDescriptor
from engines.errors import DBPlayError, InvalidRequest
from engines.registry import connect, descriptor_for, descriptors, engine_class, kinds
from orchestrator.store.models import Template
from tests.ui.conftest import api, app, no_crash, stack_env, ui_stack  # noqa: F401
from tests.ui.editor_driver import editor_args
from ui.editor import ace_mode

REPO = Path(__file__).resolve().parents[2]
DRIVERS = ("psycopg2", "pymongo", "bson", "chromadb", "engines.base")

#: a script that leaves one table or collection ``pets`` holding one row, per engine
PETS = {
    "postgres": "CREATE TABLE pets (name text); INSERT INTO pets VALUES ('rex');",
    "sqlite": "CREATE TABLE pets (name TEXT); INSERT INTO pets VALUES ('rex');",
    "mongodb": 'db.pets.insertOne({name: "rex"})',
    "chroma": 'create_collection("pets")\npets.add(ids=["rex"], embeddings=[[0.1, 0.2, 0.3]])',
}
COUNT = {"postgres": "SELECT count(*) FROM pets", "sqlite": "SELECT count(*) FROM pets",
         "mongodb": "db.pets.countDocuments({})", "chroma": "pets.count()"}


# -- the registry ------------------------------------------------------------------
def test_every_registered_kind_has_a_descriptor_and_its_adapter_says_so() -> None:
    assert [d.kind for d in descriptors()] == kinds()
    assert set(kinds()) == set(PETS)  # a new engine needs its rows in these tests too
    for kind in kinds():
        described = descriptor_for(kind)
        adapter = engine_class(kind)
        assert adapter.kind == kind and adapter.descriptor is described


def test_an_unknown_kind_is_an_invalid_request_naming_the_known_ones() -> None:
    with pytest.raises(InvalidRequest) as info:
        descriptor_for("oracle")
    assert "'oracle'" in info.value.message and "postgres" in info.value.message
    with pytest.raises(InvalidRequest):
        connect("oracle", "oracle://nowhere")


def test_importing_engines_imports_no_driver_and_no_adapter() -> None:
    probe = ("import sys; from engines import registry; registry.descriptors(); "
             "registry.descriptor_for('chroma');"
             f"print([m for m in {DRIVERS!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


def test_descriptors_are_frozen_and_serve_as_json() -> None:
    postgres = descriptor_for("postgres")
    with pytest.raises(dataclasses.FrozenInstanceError):
        postgres.label = "Postgres"  # type: ignore[misc]
    for described in descriptors():
        data = json.loads(json.dumps(described.to_dict()))
        assert data["kind"] == described.kind
        assert data["dump_suffixes"] == list(described.dump_suffixes)
        assert data["language"] in ("sql", "javascript", "chroma")
        assert "adapter" not in data  # where the class lives is not part of the API
        assert data["is_sql"] == (data["language"] == "sql")


def test_a_descriptor_refuses_unknown_capabilities() -> None:
    with pytest.raises(ValueError, match="teleport"):
        dataclasses.replace(descriptor_for("sqlite"), capabilities=frozenset({"teleport"}))


def test_cancel_capability_is_exactly_the_adapters_that_implement_cancel() -> None:
    for described in descriptors():
        implements = engine_class(described.kind).cancel is not Engine.cancel
        assert described.has(CANCEL) == implements, described.kind


def test_embedded_engines_run_their_example_on_a_local_file(tmp_path: Path) -> None:
    urls = {"sqlite": f"sqlite:///{tmp_path}/pets.db", "chroma": f"chroma+file://{tmp_path}/c"}
    embedded = [d for d in descriptors() if d.has(EMBEDDED)]
    assert {d.kind for d in embedded} == set(urls)
    for described in embedded:
        with connect(described.kind, urls[described.kind]) as engine:
            (result,) = engine.execute(described.example)
        assert result.error is None, result.error


# -- through the real stack: examples, snapshots and template import -------------------
def _runnable(api: Any) -> list[EngineDescriptor]:  # noqa: F811
    here = set(api.provisioner_info()["engines"])
    return [d for d in descriptors() if d.kind in here]


def _pets_sandbox(api: Any, user: str, kind: str) -> Any:  # noqa: F811
    sandbox = api.create_sandbox(user, f"empty-{kind}")
    for result in api.run_query(user, sandbox.id, PETS[kind]):
        assert result.error is None, result.error
    return sandbox


def _stored_dump(api: Any, user: str, name: str) -> Path:  # noqa: F811
    with api.db.session() as session:
        digest = session.scalars(select(Template.digest).where(
            Template.name == name, Template.owner == user)).one()
    path = api.store.path(digest)
    assert path is not None
    return Path(path)


def _as(suffix: str, dump: Path, kind: str, out: Path) -> Path:
    """The snapshot ``dump`` rewritten as a ``suffix`` file of the same content."""
    data = dump.read_bytes()
    if kind == "sqlite" and suffix == ".sql":  # the database as a SQL script
        conn = sqlite3.connect(dump)
        data = "\n".join(conn.iterdump()).encode()
        conn.close()
    elif kind == "chroma" and not suffix.endswith(".gz"):
        data = gzip.decompress(data)
    target = out / f"pets{suffix}"
    target.write_bytes(data)
    return target


def test_each_engines_example_runs_in_a_fresh_sandbox(api: Any) -> None:  # noqa: F811
    user = f"x{uuid.uuid4().hex[:8]}"
    for described in _runnable(api):
        sandbox = api.create_sandbox(user, f"empty-{described.kind}")
        try:
            (result,) = api.run_query(user, sandbox.id, described.example)
            assert result.error is None, (described.kind, result.error)
        finally:
            api.delete_sandbox(user, sandbox.id)


def test_snapshots_write_the_first_dump_suffix_and_import_takes_every_suffix(
        api: Any, tmp_path: Path) -> None:  # noqa: F811
    user = f"s{uuid.uuid4().hex[:8]}"
    for described in _runnable(api):
        kind = described.kind
        sandbox = _pets_sandbox(api, user, kind)
        try:
            snapshot = api.snapshot_sandbox(user, sandbox.id, f"snap-{kind}")
        finally:
            api.delete_sandbox(user, sandbox.id)
        assert snapshot.tables == ["pets"]
        dump = _stored_dump(api, user, f"snap-{kind}")
        assert dump.name.endswith(described.dump_suffix), (kind, dump.name)
        for n, suffix in enumerate(described.dump_suffixes):
            folder = tmp_path / f"{kind}{n}"
            folder.mkdir()
            name = f"imp-{kind}-{n}"
            view = api.import_template(user, name, kind, _as(suffix, dump, kind, folder))
            assert view.tables == ["pets"], (kind, suffix)
            assert _stored_dump(api, user, name).name.endswith(suffix)
            started = api.create_sandbox(user, name)
            try:
                (count,) = api.run_query(user, started.id, COUNT[kind])
                assert count.error is None and count.rows[0][-1] == 1, (kind, suffix, count)
            finally:
                api.delete_sandbox(user, started.id)
            api.delete_template(user, name)
        api.delete_template(user, f"snap-{kind}")


def test_a_chroma_dump_is_read_as_its_suffix_says(api: Any, tmp_path: Path) -> None:  # noqa: F811
    """The suffix is meaningful: compressed bytes under the plain-JSON suffix are refused."""
    user = f"c{uuid.uuid4().hex[:8]}"
    chroma = descriptor_for("chroma")
    if chroma not in _runnable(api):
        pytest.skip("no Chroma here")
    sandbox = _pets_sandbox(api, user, "chroma")
    try:
        api.snapshot_sandbox(user, sandbox.id, "snap")
    finally:
        api.delete_sandbox(user, sandbox.id)
    compressed = _stored_dump(api, user, "snap")
    plain_suffix = next(s for s in chroma.dump_suffixes if not s.endswith(".gz"))
    mislabelled = tmp_path / f"pets{plain_suffix}"
    mislabelled.write_bytes(compressed.read_bytes())
    with pytest.raises(DBPlayError):
        api.import_template(user, "mislabelled", "chroma", mislabelled)
    assert "mislabelled" not in {t.name for t in api.list_templates(user)}


# -- the Playground ---------------------------------------------------------------------
def test_the_playground_editor_uses_the_language_example_and_highlighting(
        app: Any, api: Any) -> None:  # noqa: F811
    user = f"p{uuid.uuid4().hex[:8]}"
    for described in _runnable(api):
        sandbox = api.create_sandbox(user, f"empty-{described.kind}")
        try:
            at = app(user, "playground", current_sandbox=sandbox.id)
            args = editor_args(at)
            assert any(f"**{described.language_label}**" in c.value for c in at.caption)
            assert args["ghost_text"] == described.example
            assert args["lang"] == ace_mode(described), described.kind
            no_crash(at)
        finally:
            api.delete_sandbox(user, sandbox.id)
