"""MongoDB (restaurants) and Chroma (tldr) through the pages: extended-JSON cells chart with
their real types, vector search hits and embeddings get their charts, the Schema page lists
collections, fields and indexes (no ER diagram), and script errors point at their place."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.ui.conftest import no_crash, texts, vega_charts

EVENTS = ('db.events.insertMany([{at: new Date("2024-01-01T10:00:00Z"), v: 1},\n'
          '  {at: ISODate("2024-01-02T10:00:00Z"), v: 3}, {at: new Date("2024-01-03"), v: 2}])')
EMBEDDINGS = 'tldr.get(include=["embeddings","metadatas","documents"], limit=200)'


@pytest.fixture(scope="module")
def owner() -> str:
    return f"d{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def mongo(api: Any, owner: str) -> Any:
    sandbox = api.create_sandbox(owner, "restaurants")
    (inserted,) = api.run_query(owner, sandbox.id, EVENTS)
    assert inserted.ok, inserted.error
    return sandbox


@pytest.fixture(scope="module")
def chroma(api: Any, owner: str) -> Any:
    return api.create_sandbox(owner, "tldr")


def run(app: Any, owner: str, sandbox: Any, text: str) -> Any:
    at = app(owner, "playground", current_sandbox=sandbox.id)
    at.session_state["pg_editor"] = text  # what the editor component reports
    at.button(key="pg_run").click().run()
    deadline = time.monotonic() + 240
    while "pg_job" in at.session_state:
        # slower than the page's quick wait (a Chroma model load on a busy machine): the
        # page polls, as a user's browser would
        assert time.monotonic() < deadline, "the query did not finish in 240 s"
        time.sleep(0.3)
        at.run()
    no_crash(at)
    return at


def chart(app: Any, owner: str, sandbox: Any, text: str) -> tuple[Any, dict[str, Any], int]:
    at = run(app, owner, sandbox, text)
    at.button(key="pg_r0_chart").click().run()
    at = at.switch_page("app_pages/charts.py").run()
    no_crash(at)
    ((spec, rows),) = vega_charts(at)
    return at, spec, rows


def test_mongodb_ids_and_dates_show_as_text_not_extended_json(app, owner, mongo):
    at = run(app, owner, mongo, "db.events.find().sort({at: 1})")
    frame = at.tabs[0].dataframe[0].value
    assert frame["_id"].str.match(r"^ObjectId\('[0-9a-f]{24}'\)$").all()
    assert frame["at"].tolist()[0].startswith("2024-01-01T10:00:00")


def test_mongodb_dates_chart_as_time_on_a_line(app, owner, mongo):
    _, spec, rows = chart(app, owner, mongo, "db.events.find()")
    assert spec["mark"]["type"] == "line"
    x, y = spec["encoding"]["x"], spec["encoding"]["y"]
    assert x["type"] == "temporal" and x["title"] == "at (hour)"  # under 3 days of data
    assert x["scale"] == {"type": "utc"} and y["title"] == "sum of v"
    assert rows >= 3  # the three events' hours, and the hours between them as gaps


def test_mongodb_group_counts_chart_as_bars(app, owner, mongo):
    _, spec, rows = chart(app, owner, mongo, 'db.restaurants.aggregate([{$group: '
                           '{_id: "$type_of_food", n: {$sum: 1}}}])')
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["title"] == "_id" and spec["encoding"]["y"]["title"] == "sum of n"
    assert rows > 10


def test_chroma_query_hits_chart_their_distance_nearest_first(app, owner, chroma):
    _, spec, rows = chart(app, owner, chroma,
                          'tldr.query(query_texts=["compress files"], n_results=8)')
    assert spec["mark"]["type"] == "bar" and rows == 8
    # the bars keep the result's order: the query's hits, nearest first
    assert spec["encoding"]["x"]["title"] == "id" and spec["encoding"]["x"]["sort"] is None
    assert spec["encoding"]["y"]["title"] == "sum of distance"


def test_chroma_embeddings_get_a_2d_projection(app, owner, chroma):
    at, spec, rows = chart(app, owner, chroma, EMBEDDINGS)
    assert rows == 200
    assert spec["encoding"]["x"]["field"] == "pc1" and spec["encoding"]["y"]["field"] == "pc2"
    assert any("PCA projection of 200 vectors of dimension 384" in c
               for c in texts(at, "caption"))


def test_mongosh_syntax_error_points_at_its_line_and_column(app, owner, mongo):
    at = run(app, owner, mongo, 'db.events.countDocuments()\ndb.events.find({v: 1,\n'
             '  at: {$gt: 3)).limit(3)')
    assert at.tabs[0].label.startswith("✓ 1:")  # statement 1 ran; the error is statement 2's
    tab = at.tabs[1]
    assert tab.error[0].value.startswith("**QuerySyntaxError**")
    assert "line 3, column 14" in tab.error[0].value
    pointer = tab.code[0].value.splitlines()
    assert pointer[-2] == "3 |   at: {$gt: 3)).limit(3)"
    assert pointer[-1].index("^") == pointer[-2].index(")")


def test_chroma_syntax_error_points_at_its_line_and_column(app, owner, chroma):
    at = run(app, owner, chroma, 'tldr.count()\ntldr.query(query_texts=["zip"], n_results=3')
    tab = at.tabs[0]
    assert "line 2, column 11" in tab.error[0].value
    pointer = tab.code[0].value.splitlines()
    assert pointer[-1].index("^") == pointer[-2].index("(")


def test_schema_of_mongodb_lists_fields_and_indexes_without_an_er_diagram(app, owner, mongo):
    at = app(owner, "schema", current_sandbox=mongo.id)
    no_crash(at)
    assert not at.get("graphviz_chart") and not at.tabs
    labels = [e.label for e in at.expander]
    assert "events · 3 documents" in labels
    block = at.expander[labels.index("events · 3 documents")]
    fields = block.dataframe[0].value.set_index("field")
    assert fields.loc["at", "BSON type"] == "date"
    assert fields.loc["_id", "key"]
    assert block.dataframe[1].value["name"].tolist() == ["_id_"]
    assert any("sampled documents" in c.value for c in block.caption)


def test_schema_of_chroma_shows_metadata_fields_dimension_and_index(app, owner, chroma):
    at = app(owner, "schema", current_sandbox=chroma.id)
    no_crash(at)
    assert not at.get("graphviz_chart")
    (block,) = [e for e in at.expander if e.label.startswith("tldr")]
    assert block.label == "tldr · 500 records"
    metrics = {m.label: m.value for m in block.metric}
    assert metrics["Embedding dimension"] == "384" and metrics["Distance"] == "cosine"
    assert "platform" in block.dataframe[0].value["field"].tolist()
    assert "**Vector index (HNSW)**" in [m.value for m in block.markdown]


@pytest.mark.parametrize("engine, text", [
    ("mongo", "db.restaurants.find({rating: 99})"),
    ("chroma", 'tldr.get(where={"platform": "no-such-platform"})'),
])
def test_a_read_that_matches_nothing_says_no_rows_matched(app, owner, request, engine, text):
    at = run(app, owner, request.getfixturevalue(engine), text)
    tab = at.tabs[0]
    rows = tab.metric[0]
    assert (rows.label, rows.value) == ("Rows", "0")
    assert any(i.startswith("No rows matched") for i in texts(tab, "info"))
    assert "Rows affected" not in [m.label for m in tab.metric]
