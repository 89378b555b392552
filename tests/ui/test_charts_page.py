"""Charts: suggested from column types, controls, server-side aggregation, saving to a
dashboard."""

from __future__ import annotations

from tests.ui.conftest import no_crash, texts, vega_charts
from ui.charts import MAX_CHART_ROWS

BY_GENRE = ("SELECT g.Name AS genre, t.Milliseconds AS ms FROM Track t "
            "JOIN Genre g USING (GenreId)")


def chart_from_playground(app, user, text: str):
    at = app(user, "playground")
    at.text_area(key="pg_editor").input(text)
    at.button(key="pg_run").click().run()
    at.button(key="pg_r0_chart").click().run()
    no_crash(at)
    assert [t.value for t in at.title] == ["Charts"]
    # AppTest keeps requesting the page given to switch_page(); follow the app's own switch
    return at.switch_page("app_pages/charts.py")


def test_without_a_result_it_says_to_run_a_query_first(app, user):
    at = app(user, "charts")
    no_crash(at)
    assert any("No result to chart yet" in i for i in texts(at, "info"))


def test_category_and_number_become_a_bar_chart_of_sums(app, user, sandbox):
    at = chart_from_playground(app, user, BY_GENRE)
    ((spec, rows),) = vega_charts(at)
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["field"] == "genre"
    assert rows == 25  # one bar per genre, summed on the server
    assert any("suggested: **bar**" in c for c in texts(at, "caption"))


def test_controls_change_the_chart(app, user, sandbox):
    at = chart_from_playground(app, user, BY_GENRE)
    key = next(s.key for s in at.selectbox if s.key and s.key.endswith("_agg"))
    at.selectbox(key=key).set_value("count").run()
    mark_key = key.replace("_agg", "_mark")
    at.selectbox(key=mark_key).set_value("line").run()
    no_crash(at)
    ((spec, _),) = vega_charts(at)
    assert spec["mark"]["type"] == "line"
    assert spec["encoding"]["y"]["field"] == "count"


def test_results_over_5000_rows_are_aggregated_before_reaching_the_browser(app, user, sandbox):
    big = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000) "
           "SELECT i AS x, (i * 7919) % 1000 AS y FROM n")
    at = chart_from_playground(app, user, big)
    assert any("12,000 rows" in c for c in texts(at, "caption"))
    ((_, rows),) = vega_charts(at)
    assert 0 < rows <= MAX_CHART_ROWS
    assert any("binned" in c or "aggregated" in c for c in texts(at, "caption"))


def test_save_to_a_new_dashboard(app, user, sandbox, api):
    at = chart_from_playground(app, user, BY_GENRE)
    at.text_input(key="ch_name").input("time per genre")
    at.text_input(key="ch_new_dash").input("Music")
    at.button(key="FormSubmitter:save_chart-Save to dashboard").click().run()
    no_crash(at)
    (dashboard,) = api.list_dashboards(user)
    assert dashboard.name == "Music"
    (item,) = api.get_dashboard(user, dashboard.id).items
    assert item.name == "time per genre" and item.sandbox_id == sandbox.id
    assert item.chart["mark"] == "bar" and item.chart["x"] == "genre"


def test_a_saved_query_can_be_charted(app, user, sandbox, api):
    api.save_query(user, "invoices", "SELECT InvoiceDate, Total FROM Invoice",
                   sandbox_id=sandbox.id, engine="sqlite")
    at = app(user, "charts")
    at.radio(key="ch_source").set_value("A saved query").run()
    no_crash(at)
    ((spec, _),) = vega_charts(at)
    assert spec["mark"]["type"] == "line"
    assert spec["encoding"]["x"]["type"] == "temporal"


def test_vector_results_get_a_2d_projection_coloured_by_metadata(app, user, api):
    chroma = api.create_sandbox(user, "empty-chroma")
    ids = [f"d{i}" for i in range(12)]
    vectors = [[float(i), float(i % 3), float(i % 2), 1.0] for i in range(12)]
    kinds = [{"kind": "even" if i % 2 == 0 else "odd"} for i in range(12)]
    api.run_query(user, chroma.id, 'create_collection("docs")\n'
                  f"docs.add(ids={ids}, embeddings={vectors}, metadatas={kinds}, "
                  f"documents={[f'text {i}' for i in range(12)]})")
    at = chart_from_playground(
        app, user, 'docs.get(include=["embeddings", "metadatas", "documents"])')
    ((spec, rows),) = vega_charts(at)
    assert rows == 12
    assert spec["encoding"]["x"]["field"] == "pc1" and spec["encoding"]["y"]["field"] == "pc2"
    assert spec["encoding"]["color"]["field"] == "kind"
    assert any("PCA projection of 12 vectors of dimension 4" in c for c in texts(at, "caption"))
