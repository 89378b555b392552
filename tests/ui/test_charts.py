"""What the UI still does about charts itself: the chart choice saved with a query, the
vector projection, and typed/display frames (no Streamlit needed). Aggregation is the
server's (tests/results/test_charts.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engines.result import Column, StatementResult
from ui.charts import MAX_CHART_ROWS, PROJECTION, ChartChoice, pca_2d, project, projection_chart
from ui.frames import column_kinds, display_frame, typed_frame


def result(columns: list[str], rows: list[list[object]]) -> StatementResult:
    return StatementResult(statement="q", columns=[Column(c) for c in columns], rows=rows)


def test_iso_strings_and_decimal_strings_become_times_and_numbers():
    frame = typed_frame(result(["day", "total"], [["2009-01-01 00:00:00", "1.98"],
                                                  ["2009-01-02T10:00:00", "13.86"]]))
    assert column_kinds(frame) == {"day": "time", "total": "number"}
    assert frame["total"].sum() == pytest.approx(15.84)


def test_chart_choice_round_trips_through_json_and_gives_chart_result_arguments():
    choice = ChartChoice(x="t", y="v", agg="avg", bin="month", color="c", mark="line", title="T")
    assert ChartChoice.from_dict(json.loads(json.dumps(choice.to_dict()))) == choice
    assert choice.kwargs() == {"x": "t", "y": "v", "agg": "avg", "bin": "month", "color": "c",
                               "mark": "line"}


def test_charts_saved_before_stored_results_read_as_server_requests():
    old = {"mark": "scatter", "x": "a", "y": "b", "color": None, "aggregate": "mean",
           "title": "old"}
    assert ChartChoice.from_dict(old) == ChartChoice(x="a", y="b", agg="avg", mark="point",
                                                     title="old")
    drawn_as_is = ChartChoice.from_dict({"mark": "bar", "x": "g", "y": "v", "aggregate": "none"})
    assert (drawn_as_is.agg, drawn_as_is.mark) == ("sum", "bar")
    counted = ChartChoice.from_dict({"mark": "bar", "x": "g", "aggregate": "none"})
    assert counted.agg == "count"


def test_pca_finds_the_direction_of_largest_spread():
    rng = np.random.default_rng(3)
    t = rng.normal(size=500)
    direction = np.array([1.0, 1.0, 0.0, 0.0]) / np.sqrt(2)
    points = np.outer(t * 10, direction) + rng.normal(scale=0.1, size=(500, 4))
    coords = pca_2d(points)
    assert coords.shape == (500, 2)
    assert abs(np.corrcoef(coords[:, 0], t)[0, 1]) > 0.99
    assert coords[:, 0].std() > 20 * coords[:, 1].std()


def test_projection_keeps_metadata_colour_and_labels_with_null_as_null():
    frame = typed_frame(result(["id", "embedding", "metadata"], [
        [f"d{i}", [float(i), float(i % 3), 1.0], {"kind": None if i == 0 else
                                                  "even" if i % 2 else "odd"}]
        for i in range(10)]))
    projection = project(frame, "embedding", "metadata.kind")
    assert list(projection.frame.columns) == ["pc1", "pc2", "metadata.kind", "id"]
    assert set(projection.frame["metadata.kind"]) == {"even", "odd", "NULL"}
    assert "dimension 3" in projection.note
    spec = projection_chart(projection).to_dict()
    assert spec["encoding"]["color"]["field"] == "metadata.kind"


def test_projection_ships_at_most_5000_points():
    frame = typed_frame(result(["embedding"], [[[float(i), float(i % 7)]]
                                              for i in range(MAX_CHART_ROWS + 50)]))
    projection = project(frame, "embedding")
    assert len(projection.frame) == MAX_CHART_ROWS
    assert PROJECTION == "projection"


def test_projection_of_a_column_without_vectors_says_so():
    with pytest.raises(ValueError, match="holds no vectors"):
        project(typed_frame(result(["embedding"], [["text"]])), "embedding")


def test_display_frame_shows_documents_and_vectors_as_compact_text():
    shown = display_frame(result(["doc", "vec"], [[{"a": 1}, list(range(20))]]))
    assert shown.loc[0, "doc"] == '{"a": 1}'
    assert shown.loc[0, "vec"].endswith("20 values]")


def test_display_frame_shows_null_as_null_and_keeps_whole_numbers_whole():
    shown = display_frame(result(["n", "name", "plain"], [[1, None, 5], [None, "b", 6]]))
    assert shown["n"].tolist() == ["1", "NULL"]
    assert shown["name"].tolist() == ["NULL", "b"]
    assert shown["plain"].tolist() == [5, 6]
    assert str(shown["plain"].dtype) == "int64"


def test_display_frame_names_repeated_columns_apart():
    shown = display_frame(result(["a", "a"], [[1, 2]]))
    assert shown.columns.tolist() == ["a", "a_2"]
