"""The Chroma adapter against a real ``chroma run`` server and an embedded PersistentClient."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engines.base import Engine
from engines.chroma.embed import DATASETS, read_jsonl
from engines.errors import ImportRowError, QuerySyntaxError, RestoreError
from tests.servers.chroma import ensure_embedding_model

MODES = ["server", "embedded"]

RECIPES = """create_collection("recipes", metadata={"hnsw:space": "cosine"})
recipes.add(
    ids=["pie", "bread", "engine", "tax"],
    documents=["apple pie with cinnamon", "banana bread recipe", "car engine repair",
               "filing tax forms"],
    metadatas=[{"kind": "dessert", "year": 2001}, {"kind": "dessert", "year": 1999},
               {"kind": "car", "year": 2010}, {"kind": "admin"}],
)
"""


@pytest.fixture
def new_engine(engine_for: Callable[..., Engine]) -> Callable[[str], Engine]:
    """``new_engine(mode)``: the shared ``engine_for`` fixture, by ``server``/``embedded``."""
    ensure_embedding_model()
    return lambda mode: engine_for("chroma" if mode == "server" else "chroma-embedded")


@pytest.fixture(params=MODES)
def chroma(request: pytest.FixtureRequest, new_engine: Callable[[str], Engine]) -> Engine:
    return new_engine(request.param)


def run(engine: Engine, script: str, **options: Any) -> list[Any]:
    results = engine.execute(script, **options)
    for result in results:
        assert result.error is None, result.error
    return results


def rows_as_dicts(result: Any) -> list[dict[str, Any]]:
    return [dict(zip([c.name for c in result.columns], row)) for row in result.rows]


def read_dump(path: Path) -> dict[str, Any]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def content_checksum(dump_path: Path) -> str:
    """A digest of every collection's name, metadata, index space and records' ids,
    documents and metadata (embeddings are compared with a tolerance instead: Chroma
    normalizes vectors stored in a cosine index, which can move a float32 by one ulp)."""
    digest = hashlib.sha256()
    for c in sorted(read_dump(dump_path)["collections"], key=lambda c: c["name"]):
        digest.update(json.dumps([c["name"], c["metadata"], c["count"],
                                  c["configuration"]["hnsw"]["space"]]).encode())
        for r in sorted(c["records"], key=lambda r: r["id"]):
            digest.update(json.dumps([r["id"], r["document"], r["metadata"]],
                                     sort_keys=True).encode())
    return digest.hexdigest()


def max_embedding_difference(a: Path, b: Path) -> float:
    """The largest difference between two dumps' embeddings of the same record."""
    def vectors(path: Path) -> dict[tuple[str, str], list[float]]:
        return {(c["name"], r["id"]): r["embedding"]
                for c in read_dump(path)["collections"] for r in c["records"]}

    left, right = vectors(a), vectors(b)
    assert left.keys() == right.keys()
    return max((abs(x - y) for key in left for x, y in zip(left[key], right[key], strict=True)),
               default=0.0)


# -- queries ---------------------------------------------------------------
def test_query_ranks_dessert_documents_first(chroma: Engine) -> None:
    run(chroma, RECIPES)
    [result] = run(chroma, 'recipes.query(query_texts=["dessert cooking"], n_results=3)')
    assert [c.name for c in result.columns] == ["id", "document", "distance", "kind", "year"]
    assert {row[0] for row in result.rows[:2]} == {"pie", "bread"}
    distances = [row[2] for row in result.rows]
    assert distances == sorted(distances)


def test_several_query_texts_add_a_query_index_column(chroma: Engine) -> None:
    run(chroma, RECIPES)
    [result] = run(chroma, 'recipes.query(query_texts=["dessert", "fix my car"], n_results=1)')
    rows = rows_as_dicts(result)
    assert [(r["query"], r["id"]) for r in rows] == [(0, "pie"), (1, "engine")]


def test_where_and_where_document_filter_query_and_get(chroma: Engine) -> None:
    run(chroma, RECIPES)
    [query] = run(chroma, 'recipes.query(query_texts=["dessert"], n_results=5, '
                          'where={"year": {"$gte": 2000}})')
    assert {r["id"] for r in rows_as_dicts(query)} == {"pie", "engine"}
    [get] = run(chroma, 'recipes.get(where={"$and": [{"kind": "dessert"}, '
                        '{"year": {"$lt": 2000}}]})')
    assert [r["id"] for r in rows_as_dicts(get)] == ["bread"]
    [doc] = run(chroma, 'recipes.get(where_document={"$contains": "engine"})')
    assert [r["id"] for r in rows_as_dicts(doc)] == ["engine"]


def test_get_peek_count_delete_upsert_update(chroma: Engine) -> None:
    run(chroma, RECIPES)
    results = run(chroma, """
recipes.count()
recipes.peek(2)
recipes.delete(ids=["tax"])
recipes.upsert(ids=["pie", "cake"], documents=["apple pie", "chocolate cake"],
               metadatas=[{"kind": "dessert", "year": 2020}, {"kind": "dessert"}])
recipes.update(ids=["bread"], metadatas=[{"kind": "bakery", "year": -5}])
recipes.count()
recipes.get(ids=["pie", "bread", "cake"], include=["metadatas", "embeddings"])
""")
    assert results[0].rows == [[4]]
    assert len(results[1].rows) == 2 and results[1].columns[1].name == "document"
    assert results[2].rowcount == 1
    assert results[5].rows == [[4]]
    got = {r["id"]: r for r in rows_as_dicts(results[6])}
    assert got["pie"]["year"] == 2020 and got["bread"] == {**got["bread"], "kind": "bakery",
                                                            "year": -5}
    assert "document" not in got["cake"] and len(got["cake"]["embedding"]) == 384


def test_get_streams_every_page_and_caps_rows(chroma: Engine) -> None:
    ids = [f"r{i:04d}" for i in range(2300)]
    embeddings = [[float(i), 1.0] for i in range(2300)]
    run(chroma, f'create_collection("points")\n'
                f'points.add(ids={ids!r}, embeddings={embeddings!r})')
    [capped] = chroma.execute("points.get()", max_rows=10)
    assert capped.truncated and len(capped.rows) == 10
    _columns, rows, close = chroma.stream("points.get()")
    try:
        assert sorted(row[0] for row in rows) == ids
    finally:
        close()


def test_top_level_functions_manage_collections(chroma: Engine) -> None:
    results = run(chroma, """create_collection("my-docs", metadata={"team": "a"})
get_or_create_collection("my-docs")
collection("my-docs").add(ids=["x"], documents=["hello"])
get_collection("my-docs")
collection("my-docs").modify(metadata={"team": "b"})
list_collections()
delete_collection("my-docs")
list_collections()""")
    assert results[3].rows == [["my-docs", 1, {"team": "a"}]]
    assert results[5].rows == [["my-docs", 1, {"team": "b"}]]
    assert results[7].rows == []


# -- errors ----------------------------------------------------------------
def test_missing_collection_error_names_it(chroma: Engine) -> None:
    [result] = chroma.execute("ghosts.count()")
    assert result.error is not None and result.error["type"] == "ExecutionError"
    assert "'ghosts' does not exist" in result.error["message"]


def test_malformed_command_reports_line_and_column(chroma: Engine) -> None:
    [result] = chroma.execute('list_collections()\n\nrecipes.query(query_texts=["a"]')
    assert result.error is not None and result.error["type"] == "QuerySyntaxError"
    assert result.error["line"] == 3


def test_unsupported_method_lists_the_supported_ones(chroma: Engine) -> None:
    run(chroma, RECIPES)
    results = chroma.execute("recipes.count()\nrecipes.drop()")
    assert results[0].error is None
    error = results[1].error
    assert error is not None and error["type"] == "UnsupportedCommand" and error["line"] == 2
    assert ".query()" in error["message"] and "list_collections()" in error["message"]
    [bad_arg] = chroma.execute("recipes.get(sort=1)")
    assert bad_arg.error is not None and "where_document" in bad_arg.error["message"]


@pytest.mark.parametrize("script", [
    'recipes.get(ids=[__import__("os").getcwd()])',
    "x = recipes.count()",
    "recipes.get(limit=1 + 1)",
    "recipes.get(**{'limit': 1})",
])
def test_non_literal_input_is_refused_before_running(chroma: Engine, script: str) -> None:
    [result] = chroma.execute(script)
    assert result.error is not None and result.error["type"] == "UnsupportedCommand"


def test_split_gives_one_statement_per_expression_with_its_line(chroma: Engine) -> None:
    statements = chroma.split('a.count(); b.count()\n# note\nc.get(\n  limit=-1,\n)\n')
    assert [(s.text, s.line) for s in statements] == [
        ("a.count()", 1), ("b.count()", 1), ("c.get(\n  limit=-1,\n)", 3)]
    with pytest.raises(QuerySyntaxError) as info:
        chroma.split("a.count(]")
    assert info.value.line == 1 and info.value.column is not None


def test_explain_says_chroma_has_no_planner(chroma: Engine) -> None:
    explained = chroma.explain('recipes.query(query_texts=["x"])')
    assert explained.plan is None
    assert explained.message is not None and "no query planner" in explained.message


def test_server_timeout_becomes_query_timeout(new_engine: Callable[[str], Engine]) -> None:
    engine = new_engine("server")
    run(engine, RECIPES)
    [result] = engine.execute('recipes.query(query_texts=["dessert"])', timeout_s=1e-6)
    assert result.error is not None and result.error["type"] == "QueryTimeout"
    assert engine.execute("recipes.count()")[0].rows == [[4]]


# -- schema, dumps, imports ------------------------------------------------
def test_schema_lists_metadata_keys_types_and_dimension(chroma: Engine) -> None:
    run(chroma, RECIPES)
    table = chroma.schema().table("recipes")
    assert table.kind == "collection" and table.row_count == 4
    columns = {c.name: c for c in table.columns}
    assert columns["kind"].type == "str" and not columns["kind"].nullable
    assert columns["year"].type == "int" and columns["year"].nullable
    assert table.extra["dimension"] == 384
    assert table.extra["configuration"]["hnsw"]["space"] == "cosine"


@pytest.mark.parametrize("source_mode", MODES)
@pytest.mark.parametrize("target_mode", MODES)
def test_dump_restore_round_trip_keeps_embeddings(
        new_engine: Callable[[str], Engine], tmp_path: Path, source_mode: str,
        target_mode: str) -> None:
    source = new_engine(source_mode)
    run(source, RECIPES + 'create_collection("empty-one", metadata={"note": "x"})')
    source.dump(tmp_path / "a.json.gz")
    target = new_engine(target_mode)
    target.restore(tmp_path / "a.json.gz")
    target.dump(tmp_path / "b.json.gz")
    assert content_checksum(tmp_path / "a.json.gz") == content_checksum(tmp_path / "b.json.gz")
    assert max_embedding_difference(tmp_path / "a.json.gz", tmp_path / "b.json.gz") < 1e-6
    get = 'recipes.get(include=["documents", "metadatas", "embeddings"])'
    before, after = run(source, get)[0], run(target, get)[0]
    assert before.columns == after.columns
    for old, new in zip(sorted(before.rows), sorted(after.rows)):
        assert old[:-1] == new[:-1]
        assert max(abs(a - b) for a, b in zip(old[-1], new[-1])) < 1e-6
    assert target.schema().table("recipes").extra["configuration"]["hnsw"]["space"] == "cosine"
    query = 'recipes.query(query_texts=["dessert cooking"], n_results=2)'
    assert run(target, query)[0].rows[0][0] == run(source, query)[0].rows[0][0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(DATASETS))
def test_builtin_dataset_round_trips(new_engine: Callable[[str], Engine], tmp_path: Path,
                                     mode: str, name: str) -> None:
    dataset = DATASETS[name]
    first = new_engine(mode)
    first.restore(dataset.dump_path)
    first.dump(tmp_path / "first.json.gz")
    second = new_engine(mode)
    second.restore(tmp_path / "first.json.gz")
    second.dump(tmp_path / "second.json.gz")
    assert content_checksum(dataset.dump_path) == content_checksum(tmp_path / "first.json.gz")
    assert content_checksum(tmp_path / "first.json.gz") == content_checksum(
        tmp_path / "second.json.gz")
    assert max_embedding_difference(dataset.dump_path, tmp_path / "second.json.gz") < 1e-6
    source = read_jsonl(dataset.source_path)
    [listed] = run(second, "list_collections()")
    assert [row[:2] for row in listed.rows] == [[dataset.collection, len(source)]]
    [sample] = run(second, f'collection("{dataset.collection}").get(ids=["{source[7]["id"]}"])')
    assert sample.rows[0][1] == source[7]["document"]


def test_import_with_a_bad_row_adds_nothing(chroma: Engine) -> None:
    records: list[dict[str, Any]] = [
        {"id": "a", "document": "apple pie", "metadata": {"kind": "dessert"}},
        {"id": "b", "document": "bread", "metadata": {"kind": {"nested": 1}}},
        {"id": "c", "document": "cake"},
    ]
    with pytest.raises(ImportRowError) as info:
        chroma.import_rows("desserts", records)
    assert info.value.row == 2
    assert run(chroma, "list_collections()")[0].rows == []
    run(chroma, RECIPES)
    with pytest.raises(ImportRowError) as info:
        chroma.import_rows("recipes", [{"id": "new", "document": "x"},
                                       {"id": "pie", "document": "again"}])
    assert info.value.row == 2
    assert run(chroma, "recipes.count()")[0].rows == [[4]]


def test_import_embeds_documents_and_keeps_given_embeddings(chroma: Engine) -> None:
    given = [0.0] * 383 + [1.0]
    report = chroma.import_rows("notes", [
        {"id": "pie", "document": "apple pie", "kind": "dessert"},
        {"id": 2, "document": "car repair", "metadata": '{"kind": "car"}'},
        {"id": "v", "document": "vector", "embedding": given},
    ])
    assert report.rows == 3
    [got] = run(chroma, 'notes.get(ids=["v", "pie"], include=["metadatas", "embeddings"])')
    rows = {r["id"]: r for r in rows_as_dicts(got)}
    assert rows["v"]["embedding"] == given
    assert rows["pie"]["kind"] == "dessert" and len(rows["pie"]["embedding"]) == 384
    [hit] = run(chroma, 'notes.query(query_texts=["fixing cars"], n_results=1)')
    assert hit.rows[0][0] == "2"


def test_restore_refuses_a_database_that_has_the_collection(chroma: Engine,
                                                            tmp_path: Path) -> None:
    run(chroma, RECIPES)
    chroma.dump(tmp_path / "d.json")
    with pytest.raises(RestoreError, match="already exists"):
        chroma.restore(tmp_path / "d.json")
