"""Chart choice, server-side aggregation and the vector projection (no Streamlit needed)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engines.result import Column, StatementResult
from ui.charts import (
    MAX_CHART_ROWS,
    ChartSpec,
    build_chart,
    pca_2d,
    prepare,
    project,
    suggest_chart,
)
from ui.frames import column_kinds, display_frame, typed_frame


def result(columns: list[str], rows: list[list[object]]) -> StatementResult:
    return StatementResult(statement="q", columns=[Column(c) for c in columns], rows=rows)


def test_iso_strings_and_decimal_strings_become_times_and_numbers():
    frame = typed_frame(result(["day", "total"], [["2009-01-01 00:00:00", "1.98"],
                                                  ["2009-01-02T10:00:00", "13.86"]]))
    assert column_kinds(frame) == {"day": "time", "total": "number"}
    assert frame["total"].sum() == pytest.approx(15.84)


def test_time_and_number_suggest_a_line():
    frame = typed_frame(result(["InvoiceDate", "InvoiceId", "Total"],
                               [["2009-01-01", 1, "1.98"], ["2009-01-02", 2, "3.96"]]))
    spec = suggest_chart(frame)
    assert (spec.mark, spec.x, spec.y) == ("line", "InvoiceDate", "Total")


def test_category_and_number_suggest_a_bar_summed_when_categories_repeat():
    frame = typed_frame(result(["genre", "ms"], [["Rock", 10], ["Jazz", 20], ["Rock", 5]]))
    spec = suggest_chart(frame)
    assert (spec.mark, spec.x, spec.y, spec.aggregate) == ("bar", "genre", "ms", "sum")


def test_two_numbers_suggest_a_scatter():
    frame = typed_frame(result(["bytes", "ms"], [[1, 2], [3, 4]]))
    assert suggest_chart(frame).mark == "scatter"


def test_vectors_suggest_a_projection_coloured_by_metadata():
    frame = typed_frame(result(["id", "embedding", "metadata"], [
        ["a", [0.1, 0.2, 0.3], {"kind": "x"}], ["b", [0.3, 0.1, 0.0], {"kind": "y"}]]))
    spec = suggest_chart(frame)
    assert (spec.mark, spec.x, spec.color) == ("projection", "embedding", "metadata.kind")


def test_small_results_are_drawn_unchanged():
    frame = pd.DataFrame({"g": ["a", "b"], "v": [1, 2]})
    prepared = prepare(frame, ChartSpec("bar", x="g", y="v"))
    assert prepared.note is None
    assert prepared.frame.equals(frame)


def test_many_categories_are_aggregated_on_the_server_to_at_most_5000_rows():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"g": [f"c{i % 9000}" for i in range(20_000)],
                          "v": rng.integers(0, 100, 20_000)})
    prepared = prepare(frame, ChartSpec("bar", x="g", y="v", aggregate="sum"))
    assert len(prepared.frame) == MAX_CHART_ROWS
    assert prepared.note and "top 5,000" in prepared.note
    top = frame.groupby("g")["v"].sum().max()
    assert prepared.frame["v"].max() == top


def test_long_time_series_is_bucketed_and_totals_are_kept():
    times = pd.date_range("2020-01-01", periods=12_000, freq="min")
    frame = pd.DataFrame({"t": times, "v": np.ones(12_000)})
    prepared = prepare(frame, ChartSpec("line", x="t", y="v", aggregate="sum"))
    assert len(prepared.frame) <= 501
    assert prepared.frame["v"].sum() == 12_000
    assert "aggregated on the server" in (prepared.note or "")


def test_big_scatter_is_binned_on_a_grid_with_counts():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": rng.normal(size=30_000), "b": rng.normal(size=30_000)})
    prepared = prepare(frame, ChartSpec("scatter", x="a", y="b"))
    assert prepared.binned
    assert len(prepared.frame) <= MAX_CHART_ROWS
    assert prepared.frame["count"].sum() == 30_000


def test_count_without_y_counts_rows_per_category():
    frame = pd.DataFrame({"g": ["a", "b", "a"]})
    prepared = prepare(frame, ChartSpec("bar", x="g", aggregate="count"))
    assert dict(zip(prepared.frame["g"], prepared.frame["count"], strict=True)) == {"a": 2, "b": 1}


def test_chart_spec_round_trips_through_json():
    spec = ChartSpec("bar", x="g", y="v", color="c", aggregate="mean", title="T")
    assert ChartSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_built_chart_embeds_only_the_prepared_rows():
    frame = pd.DataFrame({"g": [f"c{i}" for i in range(9000)], "v": range(9000)})
    spec = ChartSpec("bar", x="g", y="v", aggregate="sum")
    prepared = prepare(frame, spec)
    chart = build_chart(prepared, spec).to_dict()
    shipped = next(iter(chart["datasets"].values()))
    assert len(shipped) == MAX_CHART_ROWS


def test_pca_finds_the_direction_of_largest_spread():
    rng = np.random.default_rng(3)
    t = rng.normal(size=500)
    direction = np.array([1.0, 1.0, 0.0, 0.0]) / np.sqrt(2)
    points = np.outer(t * 10, direction) + rng.normal(scale=0.1, size=(500, 4))
    coords = pca_2d(points)
    assert coords.shape == (500, 2)
    assert abs(np.corrcoef(coords[:, 0], t)[0, 1]) > 0.99
    assert coords[:, 0].std() > 20 * coords[:, 1].std()


def test_projection_keeps_metadata_colour_and_labels():
    frame = typed_frame(result(["id", "embedding", "metadata"], [
        [f"d{i}", [float(i), float(i % 3), 1.0], {"kind": "even" if i % 2 else "odd"}]
        for i in range(10)]))
    prepared = project(frame, ChartSpec("projection", x="embedding", color="metadata.kind"))
    assert list(prepared.frame.columns) == ["pc1", "pc2", "metadata.kind", "id"]
    assert set(prepared.frame["metadata.kind"]) == {"even", "odd"}
    assert "dimension 3" in (prepared.note or "")


def test_display_frame_shows_documents_and_vectors_as_compact_text():
    shown = display_frame(result(["doc", "vec"], [[{"a": 1}, list(range(20))]]))
    assert shown.loc[0, "doc"] == '{"a": 1}'
    assert shown.loc[0, "vec"].endswith("20 values]")


def test_projection_colour_prefers_a_small_metadata_field_over_ids():
    frame = typed_frame(result(["id", "document", "kind", "embedding"], [
        [f"d{i}", f"text {i}", "a" if i % 2 else "b", [float(i), 1.0]] for i in range(6)]))
    assert suggest_chart(frame).color == "kind"


def test_bar_prefers_a_count_over_an_average_and_draws_unique_categories_as_they_are():
    frame = typed_frame(result(["category", "rating", "films", "avg_length"], [
        ["Action", "G", 12, "111.5"], ["Action", "PG", 9, "120.25"], ["Drama", "G", 7, "98.0"]]))
    spec = suggest_chart(frame)
    assert (spec.mark, spec.x, spec.y, spec.aggregate) == ("bar", "category", "films", "sum")
    one_per_row = typed_frame(result(["category", "films", "avg_length"], [
        ["Action", 21, "115.1"], ["Drama", 7, "98.0"]]))
    spec = suggest_chart(one_per_row)
    assert (spec.y, spec.aggregate) == ("films", "none")


def test_averages_alone_are_averaged_not_summed_when_categories_repeat():
    frame = typed_frame(result(["genre", "avgLength", "hit_rate"], [
        ["Rock", 200.0, 0.5], ["Jazz", 300.0, 0.1], ["Rock", 100.0, 0.3]]))
    spec = suggest_chart(frame)
    assert (spec.y, spec.aggregate) == ("avgLength", "mean")
    assert prepare(frame, spec).frame.set_index("genre").loc["Rock", "avgLength"] == 150.0
