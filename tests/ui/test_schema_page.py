"""Schema: tables with columns, keys, indexes, counts, and the ER diagram."""

from __future__ import annotations

from tests.ui.conftest import no_crash, texts


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
