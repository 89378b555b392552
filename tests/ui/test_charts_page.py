"""Charts: drawn from the stored result, aggregated exactly on the server over every row
(not the page the Playground shows), controls (x, y, aggregate, time bin, colour, type)
started from the server's suggestion, errors in words, saving to a dashboard."""

from __future__ import annotations

import json
import time
from typing import Any

import pyarrow as pa

from tests.ui.conftest import no_crash, texts, vega_charts
from ui.charts import MAX_CHART_ROWS

BY_GENRE = ("SELECT g.Name AS genre, t.Milliseconds AS ms FROM Track t "
            "JOIN Genre g USING (GenreId)")
#: 12,000 rows: the Playground holds a page of 200, the chart reads all of them
TWELVE_THOUSAND = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                   "WHERE i < 12000) SELECT 'g' || (i % 7) AS grp, i AS v FROM n")


def chart_from_playground(app, user, text: str, at=None):
    at = at or app(user, "playground")
    at.session_state["pg_editor"] = text  # what the editor component reports
    at.button(key="pg_run").click().run()
    deadline = time.monotonic() + 60
    while "pg_job" in at.session_state and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
    at.button(key="pg_r0_chart").click().run()
    no_crash(at)
    assert [t.value for t in at.title] == ["Charts"]
    # AppTest keeps requesting the page given to switch_page(); follow the app's own switch
    return at.switch_page("app_pages/charts.py")


def specs(at) -> list[dict[str, Any]]:
    """The Vega-Lite spec of each chart on the page, with the data Streamlit sends beside
    it (it moves inline data out of the spec) put back as ``data.values``."""
    out = []
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        blobs = [d.data.data for d in element.proto.datasets] or [element.proto.data.data]
        values = [row for blob in blobs if blob
                  for row in pa.ipc.open_stream(blob).read_all().to_pylist()]
        spec["data"] = {"values": values}
        out.append(spec)
    return out


def points(spec: dict[str, Any]) -> dict[Any, Any]:
    return {row["x"]: row["y"] for row in spec["data"]["values"]}


def control(at, suffix: str) -> Any:
    (box,) = [s for s in at.selectbox if s.key and s.key.startswith("ch_")
              and s.key.endswith(suffix)]
    return box


def test_without_a_result_it_says_to_run_a_query_first(app, user):
    at = app(user, "charts")
    no_crash(at)
    assert any("No result to chart yet" in i for i in texts(at, "info"))


def test_category_and_number_become_a_bar_chart_of_sums(app, user, sandbox, api):
    at = chart_from_playground(app, user, BY_GENRE)
    ((spec),) = specs(at)
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["y"]["title"] == "sum of ms"
    (exact,) = api.run_query(user, sandbox.id, "SELECT g.Name, sum(t.Milliseconds) FROM Track t "
                             "JOIN Genre g USING (GenreId) GROUP BY g.Name")
    assert points(spec) == {name: total for name, total in exact.rows}
    assert any("rows stored" in c for c in texts(at, "caption"))


def test_sums_cover_every_stored_row_not_the_page_shown(app, user, sandbox):
    at = chart_from_playground(app, user, TWELVE_THOUSAND)
    control(at, "_y").set_value("v").run()
    control(at, "_agg").set_value("sum").run()
    no_crash(at)
    ((spec),) = specs(at)
    expected = {f"g{k}": sum(i for i in range(1, 12001) if i % 7 == k) for k in range(7)}
    assert points(spec) == expected
    assert len(spec["data"]["values"]) <= MAX_CHART_ROWS
    assert any("12,000 rows" in c for c in texts(at, "caption"))


def test_controls_change_the_chart_and_the_caption_names_the_aggregate(app, user, sandbox):
    at = chart_from_playground(app, user, BY_GENRE)
    control(at, "_agg").set_value("count").run()
    control(at, "_mark").set_value("line").run()
    no_crash(at)
    ((spec),) = specs(at)
    assert spec["mark"]["type"] == "line"
    assert spec["encoding"]["y"]["title"] == "count of ms"
    assert sum(points(spec).values()) == 3503


def test_month_bins_of_invoice_dates_count_every_invoice(app, user, sandbox, api):
    api.save_query(user, "invoices", "SELECT InvoiceDate, Total FROM Invoice",
                   sandbox_id=sandbox.id, engine="sqlite")
    at = app(user, "charts")
    at.radio(key="ch_source").set_value("A saved query").run()
    control(at, "_y").select_index(0).run()  # (none)
    control(at, "_agg").set_value("count").run()
    control(at, "_bin").set_value("month").run()
    no_crash(at)
    ((spec),) = specs(at)
    assert spec["encoding"]["x"]["type"] == "temporal"
    assert spec["encoding"]["x"]["scale"]["type"] == "utc"
    (exact,) = api.run_query(user, sandbox.id, "SELECT substr(InvoiceDate, 1, 7), count(*) "
                             "FROM Invoice GROUP BY 1")
    assert {x[:7]: y for x, y in points(spec).items()} == dict(exact.rows)


def test_a_chart_that_cannot_be_drawn_says_why_in_words(app, user, sandbox):
    at = chart_from_playground(app, user, BY_GENRE)
    control(at, "_y").select_index(0).run()  # (none)
    control(at, "_agg").set_value("sum").run()
    no_crash(at)
    assert not specs(at)
    (error,) = texts(at, "error")
    assert error.startswith("**InvalidRequest**") and "Traceback" not in error
    assert any("Cannot draw this chart" in c for c in texts(at, "caption"))


def test_a_later_result_gets_its_own_controls_and_chart(app, user, sandbox):
    at = chart_from_playground(app, user, BY_GENRE)
    first = control(at, "_x").key
    at.switch_page("app_pages/playground.py").run()
    at = chart_from_playground(app, user, "SELECT Name AS artist, ArtistId AS n FROM Artist",
                               at=at)
    assert control(at, "_x").key != first
    ((spec),) = specs(at)
    assert spec["encoding"]["x"]["title"] == "artist"


def test_save_to_a_new_dashboard(app, user, sandbox, api):
    at = chart_from_playground(app, user, BY_GENRE)
    at.text_input(key="ch_name").input("time per genre")
    at.text_input(key="ch_new_dash").input("Music")
    at.button(key="FormSubmitter:save_chart-Save to dashboard").click().run()
    no_crash(at)
    (dashboard,) = api.list_dashboards(user)
    assert dashboard.name == "Music"
    (item,) = api.get_dashboard(user, dashboard.id).items
    assert item.name == "time per genre"
    assert item.chart["mark"] == "bar" and item.chart["x"] == "genre"
    assert item.chart["agg"] == "sum" and item.chart["y"] == "ms"


def test_a_saved_query_is_run_once_and_its_stored_result_charted(app, user, sandbox, api):
    api.save_query(user, "invoices", "SELECT InvoiceDate, Total FROM Invoice",
                   sandbox_id=sandbox.id, engine="sqlite")
    at = app(user, "charts")
    at.radio(key="ch_source").set_value("A saved query").run()
    no_crash(at)
    ((spec),) = specs(at)
    assert spec["encoding"]["x"]["title"].startswith("InvoiceDate")
    (run,) = at.session_state["ch_saved_runs"].values()
    first = run["result"]["result_id"]
    control(at, "_mark").set_value("bar").run()
    (run,) = at.session_state["ch_saved_runs"].values()
    assert run["result"]["result_id"] == first  # redrawn from the same stored result
    jobs = [j for j in api.list_jobs(user, sandbox.id) if j.kind == "query"]
    assert len(jobs) == 1


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
    ((spec, rows),) = vega_charts(at)  # drawn here: an Altair chart, its data beside it
    assert rows == 12
    assert spec["encoding"]["x"]["field"] == "pc1" and spec["encoding"]["y"]["field"] == "pc2"
    assert spec["encoding"]["color"]["field"].endswith("kind")
    assert any("PCA projection of 12 vectors of dimension 4" in c for c in texts(at, "caption"))
