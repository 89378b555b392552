"""Schema: tables with columns, keys, indexes, counts, and the ER diagram."""

from __future__ import annotations

import json

from tests.ui.conftest import no_crash, texts, vega_charts


def test_without_sandboxes_it_points_to_templates(app, user):
    at = app(user, "schema")
    no_crash(at)
    assert any("Launch one from **Templates**" in i for i in texts(at, "info"))


def test_tables_show_columns_keys_indexes_and_counts(app, user, sandbox):
    at = app(user, "schema")
    no_crash(at)
    labels = [e.label for e in at.expander]
    album = next(label for label in labels if label.startswith("Album ·"))
    assert album.endswith("347 rows")
    block = at.expander[labels.index(album)]
    columns = block.dataframe[0].value
    assert columns["column"].tolist() == ["AlbumId", "Title", "ArtistId"]
    assert columns.set_index("column").loc["AlbumId", "primary key"]
    markdown = " ".join(m.value for m in block.markdown)
    assert "**Foreign key** (ArtistId) → Artist (ArtistId)" in markdown
    assert "**Indexes**" in markdown


def test_er_diagram_links_tables_by_foreign_keys(app, user, sandbox):
    at = app(user, "schema")
    (diagram,) = at.get("graphviz_chart")
    dot = diagram.proto.spec
    assert '"Artist" -> "Album"' in dot
    assert '"Album" -> "Track"' in dot


def test_views_show_a_dash_for_rows_and_say_they_are_views(app, user, sandbox, api):
    (made,) = api.run_query(user, sandbox.id, "CREATE VIEW long_tracks AS "
                            "SELECT Name FROM Track WHERE Milliseconds > 600000")
    assert made.ok, made.error
    at = app(user, "schema")
    no_crash(at)
    overview = at.dataframe[0].value.set_index("name")
    assert overview.loc["long_tracks", "rows"] == "—"
    assert overview.loc["long_tracks", "kind"] == "view (stores no rows)"
    assert overview.loc["Album", "rows"] == "347"
    assert "None" not in overview["rows"].tolist()
    labels = [e.label for e in at.expander]
    assert "long_tracks · view (stores no rows)" in labels


def test_the_caption_counts_tables_and_views_apart(app, user, sandbox, api):
    (made,) = api.run_query(user, sandbox.id, "CREATE VIEW v_artists AS SELECT * FROM Artist")
    assert made.ok, made.error
    at = app(user, "schema")
    no_crash(at)
    assert "11 tables and 1 view in SQLite." in texts(at, "caption")


def test_counts_are_read_again_after_a_create_table_without_pressing_refresh(app, user,
                                                                              sandbox, api):
    at = app(user, "schema")
    assert "fresh_one" not in at.dataframe[0].value["name"].tolist()
    for statement in ("CREATE TABLE fresh_one (x INTEGER)",
                      "INSERT INTO fresh_one VALUES (1), (2), (3)"):
        (done,) = api.run_query(user, sandbox.id, statement)
        assert done.ok, done.error
    at.run()
    no_crash(at)
    overview = at.dataframe[0].value.set_index("name")
    assert overview.loc["fresh_one", "rows"] == "3"


def test_a_chroma_collection_offers_a_2d_map_of_its_embeddings(app, user, api):
    chroma = api.create_sandbox(user, "tldr")
    at = app(user, "schema", current_sandbox=chroma.id)
    no_crash(at)
    go = next(b for b in at.button if b.key.endswith("_go") and "tldr" in b.key)
    go.click().run()
    no_crash(at)
    ((spec, rows),) = vega_charts(at)
    assert rows > 10 and {"pc1", "pc2"} <= set(json.dumps(spec["encoding"]).split('"'))
    assert any("PCA projection of" in c for c in texts(at, "caption"))
