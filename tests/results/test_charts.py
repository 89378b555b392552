"""The chart engine over real Arrow tables and a real DuckDB (no mocks)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal

import altair as alt
import pyarrow as pa
import pytest

from engines.errors import InvalidRequest
from orchestrator.results.charts import ChartFilter, ChartRequest, chart, suggest
from orchestrator.results.files import COLUMNS_KEY

UTC = dt.UTC


def _valid_vega_lite(spec: dict) -> None:
    """Raises when the spec does not validate against Altair's Vega-Lite schema."""
    json.dumps(spec)  # plain JSON: no datetimes or decimals left in it
    alt.Chart.from_dict(spec)


# --- exact aggregation ------------------------------------------------------------------


def test_sums_over_a_million_rows_equal_the_exact_python_sums():
    table = pa.table({"k": pa.array([v % 7 for v in range(1, 1_000_001)], pa.int64()),
                      "g": pa.array(range(1, 1_000_001), pa.int64())})
    expected: dict[int, int] = {}
    for v in range(1, 1_000_001):
        expected[v % 7] = expected.get(v % 7, 0) + v

    data = chart(table, ChartRequest(x="k", y="g", agg="sum"))

    assert {x: y for x, y in data.rows} == expected
    assert all(type(y) is int for _x, y in data.rows)
    assert data.rows_used == 1_000_000
    # a bar chart of categories keeps the result's order: 1, 2, ... 6, then 0
    assert [x for x, _y in data.rows] == [1, 2, 3, 4, 5, 6, 0]
    assert data.columns == ["k", "sum of g"]
    avg = chart(table, ChartRequest(x="k", y="g", agg="avg"))
    counts = Counter(v % 7 for v in range(1, 1_000_001))
    assert {x: y for x, y in avg.rows} == pytest.approx(
        {k: expected[k] / counts[k] for k in expected})


def test_count_without_y_counts_rows_and_with_y_counts_non_null_values():
    table = pa.table({"team": ["a", "a", "b", "a"], "score": [1, None, None, 4]})
    rows = chart(table, ChartRequest(x="team")).rows
    assert rows == [["a", 3], ["b", 1]]
    assert chart(table, ChartRequest(x="team", y="score", agg="count")).rows == \
        [["a", 2], ["b", 0]]
    assert chart(table, ChartRequest(x="team", y="score", agg="min")).rows == \
        [["a", 1], ["b", None]]
    assert chart(table, ChartRequest(x="team", y="score", agg="max")).rows == \
        [["a", 4], ["b", None]]


def test_decimals_come_back_as_floats_and_integer_sums_as_ints():
    table = pa.table({"c": ["x", "x"],
                      "price": pa.array([Decimal("1.10"), Decimal("2.25")], pa.decimal128(10, 2)),
                      "big": pa.array([2**62, 2**62], pa.int64())})
    assert chart(table, ChartRequest(x="c", y="price", agg="sum")).rows == [["x", 3.35]]
    big = chart(table, ChartRequest(x="c", y="big", agg="sum")).rows
    assert big == [["x", 2**63]] and type(big[0][1]) is int  # past int64, still exact


# --- time bins --------------------------------------------------------------------------


def _timestamps(values: list[dt.datetime | None], tz: str | None = None) -> pa.Table:
    return pa.table({"at": pa.array(values, pa.timestamp("us", tz=tz))})


def test_month_bins_have_exact_counts_iso_month_starts_and_null_rows_for_gap_months():
    moments = ([dt.datetime(2024, 2, d, 10) for d in range(1, 29)]        # 28 in Feb
               + [dt.datetime(2024, 3, 31, 23, 59, 59)]                  # 1 in Mar
               + [dt.datetime(2024, 5, d) for d in (1, 2, 3)]            # 3 in May
               + [dt.datetime(2024, 8, 31, 12)] * 5)                    # 5 in Aug
    data = chart(_timestamps(moments), ChartRequest(x="at", bin="month"))

    assert data.rows == [
        ["2024-02-01T00:00:00Z", 28], ["2024-03-01T00:00:00Z", 1],
        ["2024-04-01T00:00:00Z", None], ["2024-05-01T00:00:00Z", 3],
        ["2024-06-01T00:00:00Z", None], ["2024-07-01T00:00:00Z", None],
        ["2024-08-01T00:00:00Z", 5]]
    assert data.rows_used == len(moments)
    assert data.spec["mark"]["type"] == "line"
    assert data.spec["mark"]["invalid"] == "break-paths-show-domains"
    _valid_vega_lite(data.spec)


def test_bins_of_time_zone_aware_timestamps_are_taken_in_utc():
    paris = dt.timezone(dt.timedelta(hours=2))
    moments = [dt.datetime(2024, 4, 1, 1, 30, tzinfo=paris),   # 31 Mar 23:30 UTC
               dt.datetime(2024, 4, 1, 3, 0, tzinfo=paris)]    # 1 Apr 01:00 UTC
    data = chart(_timestamps(moments, tz="UTC"), ChartRequest(x="at", bin="month", mark="bar"))
    assert data.rows == [["2024-03-01T00:00:00Z", 1], ["2024-04-01T00:00:00Z", 1]]


@pytest.mark.parametrize(("bin_", "expected"), [
    ("hour", [["2024-01-03T09:00:00Z", 2], ["2024-01-08T13:00:00Z", 1]]),
    ("day", [["2024-01-03T00:00:00Z", 2], ["2024-01-08T00:00:00Z", 1]]),
    # ISO weeks start on Monday: Wed 3 Jan is in the week of Mon 1 Jan
    ("week", [["2024-01-01T00:00:00Z", 2], ["2024-01-08T00:00:00Z", 1]]),
    ("year", [["2024-01-01T00:00:00Z", 3]]),
])
def test_hour_day_week_and_year_bins_start_where_they_should(bin_, expected):
    table = _timestamps([dt.datetime(2024, 1, 3, 9, 5), dt.datetime(2024, 1, 3, 9, 55),
                         dt.datetime(2024, 1, 8, 13, 0)])
    assert chart(table, ChartRequest(x="at", bin=bin_, mark="bar")).rows == expected


def test_dates_and_iso_text_can_be_binned_but_other_text_cannot():
    dates = pa.table({"d": pa.array([dt.date(2023, 12, 31), dt.date(2024, 1, 1)], pa.date32())})
    assert chart(dates, ChartRequest(x="d", bin="year", mark="bar")).rows == \
        [["2023-01-01T00:00:00Z", 1], ["2024-01-01T00:00:00Z", 1]]

    text = pa.table({"t": ["2024-01-05T10:00:00Z", "2024-03-01 08:00:00", None]})
    assert chart(text, ChartRequest(x="t", bin="month")).rows == [
        ["2024-01-01T00:00:00Z", 1], ["2024-02-01T00:00:00Z", None],
        ["2024-03-01T00:00:00Z", 1]]

    words = pa.table({"t": ["2024-01-05", "last tuesday"]})
    with pytest.raises(InvalidRequest, match="column t is not a date or time"):
        chart(words, ChartRequest(x="t", bin="month"))


def test_each_color_series_gets_its_own_gap_rows():
    table = pa.table({"at": pa.array([dt.datetime(2024, 1, 9), dt.datetime(2024, 2, 2),
                                      dt.datetime(2024, 3, 5)], pa.timestamp("us")),
                      "shop": ["west", "east", "west"]})
    data = chart(table, ChartRequest(x="at", bin="month", color="shop", mark="area"))
    assert data.rows == [["2024-01-01T00:00:00Z", 1, "west"],
                         ["2024-02-01T00:00:00Z", None, "west"],
                         ["2024-02-01T00:00:00Z", 1, "east"],
                         ["2024-03-01T00:00:00Z", 1, "west"]]
    assert data.spec["encoding"]["color"]["sort"] == ["west", "east"]
    _valid_vega_lite(data.spec)


def test_gap_rows_never_push_past_max_points():
    table = _timestamps([dt.datetime(2020, 1, 1), dt.datetime(2024, 1, 1)])
    data = chart(table, ChartRequest(x="at", bin="hour"), max_points=100)
    assert len(data.rows) == 100
    assert data.rows[0] == ["2020-01-01T00:00:00Z", 1]
    assert all(y is None for _x, y in data.rows[1:])
    hours = int((dt.datetime(2024, 1, 1) - dt.datetime(2020, 1, 1)).total_seconds() // 3600)
    assert data.note == f"showing the first 100 of {hours + 1:,} groups"


# --- order, NULL, colors, caps ----------------------------------------------------------


def test_categorical_order_follows_the_table_and_null_is_labelled_NULL():
    table = pa.table({"city": ["Oslo", None, "Bergen", "Oslo", None, "Alta"],
                      "n": [1, 2, 3, 4, 5, 6]})
    data = chart(table, ChartRequest(x="city", y="n", agg="sum"))
    assert data.rows == [["Oslo", 5], [None, 7], ["Bergen", 3], ["Alta", 6]]
    values = data.spec["data"]["values"]
    assert [v["x"] for v in values] == ["Oslo", "NULL", "Bergen", "Alta"]
    assert data.spec["encoding"]["x"]["sort"] is None   # the data's order, not alphabetical
    _valid_vega_lite(data.spec)


def test_color_rows_are_x_y_color_and_the_legend_keeps_table_order():
    table = pa.table({"month": ["jan", "jan", "feb", "feb", "jan"],
                      "shop": ["west", "east", "east", None, "west"],
                      "sales": [1, 2, 3, 4, 5]})
    data = chart(table, ChartRequest(x="month", y="sales", agg="sum", color="shop"))
    assert data.columns == ["month", "sum of sales", "shop"]
    assert data.rows == [["jan", 6, "west"], ["jan", 2, "east"], ["feb", 3, "east"],
                         ["feb", 4, None]]
    assert data.spec["encoding"]["color"]["sort"] == ["west", "east", "NULL"]
    _valid_vega_lite(data.spec)


def test_more_groups_than_max_points_keeps_the_first_ones_and_says_so():
    names = [f"user{i:05d}" for i in range(12_345)][::-1]
    table = pa.table({"who": names})
    data = chart(table, ChartRequest(x="who"))
    assert len(data.rows) == 5_000
    assert [r[0] for r in data.rows] == names[:5_000]
    assert data.note == "showing the first 5,000 of 12,345 groups"
    assert data.spec["title"]["subtitle"] == data.note
    assert data.rows_used == 12_345


# --- filters ----------------------------------------------------------------------------


def test_hostile_filter_values_are_bound_and_match_nothing():
    table = pa.table({'na"me': ["alice", "bob", "x"], "age": [30, 40, 50]})
    hostile = "x' OR 1=1 --"
    data = chart(table, ChartRequest(x='na"me'),
                 filters=[ChartFilter('na"me', "values", values=[hostile])])
    assert data.rows == [] and data.rows_used == 0
    assert data.note == "no rows to chart after the filters"
    numbers = chart(table, ChartRequest(x='na"me'),
                    filters=[ChartFilter("age", "values", values=[hostile, 40])])
    assert numbers.rows == [["bob", 1]]
    with pytest.raises(InvalidRequest, match="needs a number"):
        chart(table, ChartRequest(x='na"me'), filters=[ChartFilter("age", "range", min=hostile)])


def test_range_filters_are_inclusive_and_read_iso_dates():
    table = pa.table({"at": pa.array([dt.datetime(2024, m, 1, tzinfo=UTC) for m in range(1, 7)],
                                     pa.timestamp("us", tz="UTC")),
                      "v": [1, 2, 3, 4, 5, 6]})
    data = chart(table, ChartRequest(x="at", y="v", agg="sum", bin="month", mark="bar"),
                 filters=[ChartFilter("at", "range", min="2024-02-01", max="2024-04-01"),
                          ChartFilter("v", "range", max="3")])
    assert data.rows == [["2024-02-01T00:00:00Z", 2], ["2024-03-01T00:00:00Z", 3]]
    assert data.rows_used == 2
    nulls = pa.table({"c": ["a", None, "b"]})
    kept = chart(nulls, ChartRequest(x="c"), filters=[ChartFilter("c", "values", values=[None])])
    assert kept.rows == [[None, 1]]


def test_filters_from_api_dicts_are_checked():
    assert ChartFilter.from_dict({"column": "c", "kind": "values", "values": [1]}).values == [1]
    with pytest.raises(InvalidRequest, match="unknown filter kind 'like'"):
        ChartFilter.from_dict({"column": "c", "kind": "like"})
    with pytest.raises(InvalidRequest, match="neither min nor max"):
        ChartFilter.from_dict({"column": "c", "kind": "range"})


# --- errors in words --------------------------------------------------------------------


@pytest.mark.parametrize(("request_", "words"), [
    (ChartRequest(x="nope"), "no column 'nope' for x; the columns are: name, amount, at, emb"),
    (ChartRequest(x="emb"), "column emb holds vectors"),
    (ChartRequest(x="name", y="emb", agg="sum"), "sum needs a numeric y"),
    (ChartRequest(x="name", y="name", agg="avg"), "average needs a numeric y"),
    (ChartRequest(x="amount", bin="month"), "column amount is not a date or time"),
    (ChartRequest(x="name", agg="median"), "unknown aggregation 'median'"),
    (ChartRequest(x="at", bin="fortnight"), "unknown time bin 'fortnight'"),
    (ChartRequest(x="name", mark="pie"), "unknown chart mark 'pie'"),
    (ChartRequest(x="name", agg="sum"), "sum needs a y column"),
    (ChartRequest(x="name", color="name"), "color must be a different column"),
])
def test_mistakes_are_invalid_requests_in_words(request_, words):
    table = pa.table({"name": ["a"], "amount": [1.5],
                      "at": pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("us")),
                      "emb": pa.array([[0.1, 0.2]], pa.list_(pa.float32()))})
    with pytest.raises(InvalidRequest) as caught:
        chart(table, request_)
    assert words in caught.value.message
    assert "Error" not in caught.value.message and "duckdb" not in caught.value.message


def test_original_column_names_work_beside_unique_arrow_names():
    schema = pa.schema([("n", pa.string()), ("n_2", pa.int64())], metadata={
        COLUMNS_KEY: json.dumps([{"name": "n", "type": "text", "field": "n"},
                                 {"name": "n", "type": "int", "field": "n_2"}])})
    table = pa.table({"n": ["a", "b"], "n_2": [1, 2]}, schema=schema)
    assert chart(table, ChartRequest(x="n", y="n_2", agg="sum")).columns == ["n", "sum of n"]


# --- the spec ---------------------------------------------------------------------------


@pytest.mark.parametrize(("bin_", "fmt"), [("month", "%b %Y"), ("day", "%d %b %Y"),
                                           ("hour", "%d %b %H:%M"), ("year", "%Y")])
def test_time_axes_are_temporal_on_a_utc_scale_with_a_format_fitting_the_bin(bin_, fmt):
    table = _timestamps([dt.datetime(2024, 2, 1), dt.datetime(2024, 2, 2)])
    spec = chart(table, ChartRequest(x="at", bin=bin_)).spec
    x = spec["encoding"]["x"]
    assert x["type"] == "temporal" and x["scale"] == {"type": "utc"}
    assert x["timeUnit"].startswith("utc")
    assert x["axis"] == {"format": fmt, "formatType": "utc"}
    first = "2024-01-01T00:00:00Z" if bin_ == "year" else "2024-02-01T00:00:00Z"
    assert spec["data"]["values"][0]["x"] == first
    _valid_vega_lite(spec)


@pytest.mark.parametrize(("request_", "title"), [
    (ChartRequest(x="shop"), "count of rows by shop"),
    (ChartRequest(x="shop", y="amount", agg="count"), "count of amount by shop"),
    (ChartRequest(x="shop", y="amount", agg="sum"), "sum of amount by shop"),
    (ChartRequest(x="qty", y="amount", agg="avg", mark="point"), "average of amount by qty"),
    (ChartRequest(x="shop", y="amount", agg="max", color="qty", mark="area"),
     "max of amount by shop and qty"),
])
def test_the_caption_and_y_axis_name_the_aggregation_used(request_, title):
    table = pa.table({"shop": ["a", "b"], "amount": [1.0, 2.0], "qty": [3, 4]})
    spec = chart(table, request_).spec
    assert spec["title"]["text"] == title
    assert spec["encoding"]["y"]["title"] == title.split(" by ")[0]
    _valid_vega_lite(spec)


def test_numbers_on_x_are_a_value_axis_for_points_and_categories_for_bars():
    table = pa.table({"size": [3, 1, 2], "price": [30.0, 10.0, 20.0]})
    points = chart(table, ChartRequest(x="size", y="price", agg="avg", mark="point"))
    assert points.spec["encoding"]["x"]["type"] == "quantitative"
    assert [r[0] for r in points.rows] == [1, 2, 3]
    bars = chart(table, ChartRequest(x="size", y="price", agg="sum"))
    assert bars.spec["encoding"]["x"]["type"] == "nominal"
    assert [r[0] for r in bars.rows] == [3, 1, 2]


# --- suggestions ------------------------------------------------------------------------


def _span(days: float) -> pa.Table:
    start = dt.datetime(2024, 1, 1)
    return pa.table({"rental_id": [1, 2], "customer_id": [7, 8],
                     "rental_date": pa.array([start, start + dt.timedelta(days=days)],
                                             pa.timestamp("us"))})


@pytest.mark.parametrize(("days", "bin_"), [(400, "month"), (60, "day"), (1.5, "hour")])
def test_a_timestamp_with_only_ids_suggests_a_line_of_counts_binned_by_its_span(days, bin_):
    assert suggest(_span(days)) == ChartRequest(x="rental_date", agg="count", bin=bin_,
                                                mark="line")


def test_suggestions_follow_the_column_types():
    at = pa.array([dt.datetime(2024, 1, 1, tzinfo=UTC)] * 2, pa.timestamp("us", tz="UTC"))
    emb = pa.array([[0.1], [0.2]], pa.list_(pa.float32()))
    assert suggest(pa.table({"day": at, "n": [4, 5]})) == \
        ChartRequest(x="day", y="n", agg="sum", bin="hour", mark="line")
    assert suggest(pa.table({"shop": ["a", "b"], "emb": emb, "amount": [1.0, 2.0]})) == \
        ChartRequest(x="shop", y="amount", agg="sum", mark="bar")
    assert suggest(pa.table({"w": [1.0, 2.0], "h": [3.0, 4.0]})) == \
        ChartRequest(x="w", y="h", agg="avg", mark="point")
    assert suggest(pa.table({"shop": ["a", "b"], "emb": emb})) == \
        ChartRequest(x="shop", agg="count", mark="bar")
    assert suggest(pa.table({"emb": emb})) is None
    assert suggest(pa.table({"shop": pa.array([], pa.string())})) is None
