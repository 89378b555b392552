"""Dashboards: items bound to a template, drawn from their kept chart (even after their
sandbox is gone), refreshed on a live or fresh sandbox, laid out in a grid, filtered."""

from __future__ import annotations

from sqlalchemy import update

from orchestrator.store.models import SavedQuery
from tests.ui.conftest import SQLITE_TEMPLATE, all_text, no_crash, texts

QUERY = "SELECT BillingCountry AS country, SUM(Total) AS total FROM Invoice GROUP BY 1"
BY_COUNTRY = {"x": "country", "y": "total", "agg": "sum"}


def dashboard_with_chart(api, user, sandbox, name="sales", width=6):
    query = api.save_query(user, name, QUERY, sandbox_id=sandbox.id, engine="sqlite")
    dashboard = api.create_dashboard(user, "Sales")
    return api.add_to_dashboard(user, dashboard.id, query.id, chart=BY_COUNTRY, width=width)


def charts(at):
    """Each Vega-Lite chart on the page: its spec and the points it draws (as dicts;
    Streamlit ships a spec's inline data as Arrow datasets)."""
    import json

    import pyarrow as pa

    drawn = []
    for element in at.get("vega_lite_chart"):
        proto = element.proto
        blobs = [d.data.data for d in proto.datasets] or [proto.data.data]
        points = [row for b in blobs if b
                  for row in pa.ipc.open_stream(b).read_all().to_pylist()]
        spec = json.loads(proto.spec)
        points += (spec.get("data") or {}).get("values") or []
        drawn.append((spec, points))
    return drawn


def test_without_dashboards_it_says_how_to_make_one(app, user):
    at = app(user, "dashboards")
    no_crash(at)
    assert any("No dashboards yet" in i for i in texts(at, "info"))


def test_an_empty_dashboard_points_to_charts(app, user, api):
    api.create_dashboard(user, "Empty")
    at = app(user, "dashboards")
    no_crash(at)
    assert any("This dashboard is empty" in i for i in texts(at, "info"))


def test_create_a_dashboard_from_the_page(app, user, api):
    at = app(user, "dashboards")
    at.text_input(key="dash_new_name").input("Mine")
    at.button(key="dash_create").click().run()
    no_crash(at)
    assert [d.name for d in api.list_dashboards(user)] == ["Mine"]


def test_a_new_item_is_drawn_from_its_template_when_first_shown(app, user, sandbox, api):
    board = dashboard_with_chart(api, user, sandbox)
    at = app(user, "dashboards")
    no_crash(at)
    assert "Sales" in texts(at, "subheader")
    ((spec, points),) = charts(at)
    assert len(points) == 24 and spec["mark"]["type"] == "bar"
    assert any(f"runs on template `{SQLITE_TEMPLATE}`" in c for c in texts(at, "caption"))
    (item,) = api.get_dashboard(user, board.id).items
    assert item.refreshed_at is not None and item.output["sandbox_id"] == sandbox.id


def test_refresh_runs_the_items_again(app, user, sandbox, api):
    dashboard_with_chart(api, user, sandbox)
    at = app(user, "dashboards")
    api.run_query(user, sandbox.id, "INSERT INTO Invoice (CustomerId, InvoiceDate, "
                  "BillingCountry, Total) VALUES (1, '2020-01-01', 'Atlantis', 5)")
    at.button(key="dash_refresh").click().run()
    no_crash(at)
    ((_, points),) = charts(at)
    assert len(points) == 25 and "Atlantis" in [p["x"] for p in points]


def test_an_item_shows_its_last_chart_after_its_sandbox_is_deleted(app, user, sandbox, api):
    board = dashboard_with_chart(api, user, sandbox)
    api.refresh_dashboard(user, board.id)
    api.delete_sandbox(user, sandbox.id)
    at = app(user, "dashboards")
    no_crash(at)
    ((_, points),) = charts(at)
    assert len(points) == 24
    assert not texts(at, "error") and not texts(at, "warning")
    assert "pick another" not in all_text(at).lower()
    at.button(key="dash_refresh").click().run()  # runs on a fresh sandbox of the template
    no_crash(at)
    ((_, points),) = charts(at)
    assert len(points) == 24
    (fresh,) = api.list_sandboxes(user)
    assert fresh.id != sandbox.id and fresh.template == SQLITE_TEMPLATE


def test_a_failed_refresh_says_why_and_keeps_the_chart(app, user, sandbox, api):
    board = dashboard_with_chart(api, user, sandbox)
    api.refresh_dashboard(user, board.id)
    with api.db.session() as session:
        session.execute(update(SavedQuery).where(SavedQuery.id == board.items[0].query_id)
                        .values(text="SELECT country FROM gone_table"))
    at = app(user, "dashboards")
    at.button(key="dash_refresh").click().run()
    no_crash(at)
    (warning,) = texts(at, "warning")
    assert "The last refresh failed" in warning and "gone_table" in warning
    assert len(charts(at)) == 1
    assert "pick another" not in all_text(at).lower()


def test_items_sit_side_by_side_by_width_and_the_layout_saves(app, user, sandbox, api):
    board = dashboard_with_chart(api, user, sandbox, width=4)
    second = api.save_query(user, "again", QUERY, sandbox_id=sandbox.id)
    board = api.add_to_dashboard(user, board.id, second.id, chart=BY_COUNTRY, width=8)
    at = app(user, "dashboards")
    no_crash(at)
    weights = [round(c.weight, 3) for c in at.columns]
    assert weights[weights.index(0.333):][:2] == [0.333, 0.667]  # 4 and 8 of 12, one row
    first = board.items[0]
    at.number_input(key=f"dash_width_{first.id}").set_value(12)
    at.number_input(key=f"dash_height_{first.id}").set_value(500)
    at.button(key="dash_save_layout").click().run()
    no_crash(at)
    saved = api.get_dashboard(user, board.id).items[0]
    assert (saved.width, saved.height) == (12, 500)
    assert [[i.id for i in row] for row in api.get_dashboard(user, board.id).grid_rows()] == \
        [[first.id], [board.items[1].id]]


def test_a_value_filter_narrows_the_chart_on_refresh(app, user, sandbox, api):
    board = dashboard_with_chart(api, user, sandbox)
    api.set_dashboard_filters(user, board.id, [
        {"column": "country", "kind": "values", "values": ["USA", "Canada"]}])
    at = app(user, "dashboards")
    assert at.multiselect(key=f"dash_filter_{board.id}_0").value == ["USA", "Canada"]
    at.button(key="dash_refresh").click().run()
    no_crash(at)
    ((_, points),) = charts(at)
    assert sorted(p["x"] for p in points) == ["Canada", "USA"]
    at.multiselect(key=f"dash_filter_{board.id}_0").set_value(["USA"])
    at.button(key="dash_refresh").click().run()
    ((_, points),) = charts(at)
    assert [p["x"] for p in points] == ["USA"]
    assert api.get_dashboard(user, board.id).filters[0]["values"] == ["USA"]


def test_a_schedule_is_saved_from_the_page(app, user, sandbox, api):
    board = dashboard_with_chart(api, user, sandbox)
    at = app(user, "dashboards")
    at.text_input(key=f"dash_cron_{board.id}").input("0 * * * *")
    at.button(key="dash_save_cron").click().run()
    no_crash(at)
    assert api.get_dashboard(user, board.id).refresh_cron == "0 * * * *"
