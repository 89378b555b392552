"""Dashboards: list, charts refreshed against the sandbox on demand, failures explained."""

from __future__ import annotations

from tests.ui.conftest import SQLITE_TEMPLATE, no_crash, texts, vega_charts

QUERY = "SELECT BillingCountry AS country, SUM(Total) AS total FROM Invoice GROUP BY 1"


def dashboard_with_chart(api, user, sandbox):
    query = api.save_query(user, "sales", QUERY, sandbox_id=sandbox.id, engine="sqlite",
                           chart={"mark": "bar", "x": "country", "y": "total",
                                  "aggregate": "none"})
    dashboard = api.create_dashboard(user, "Sales")
    api.add_to_dashboard(user, dashboard.id, query.id)
    return dashboard


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


def test_dashboard_shows_its_saved_charts(app, user, sandbox, api):
    dashboard_with_chart(api, user, sandbox)
    at = app(user, "dashboards")
    no_crash(at)
    assert "Sales" in texts(at, "subheader")
    ((spec, rows),) = vega_charts(at)
    assert spec["mark"]["type"] == "bar" and rows == 24


def test_refresh_reruns_the_query_against_the_sandbox(app, user, sandbox, api):
    dashboard = dashboard_with_chart(api, user, sandbox)
    at = app(user, "dashboards")
    api.run_query(user, sandbox.id, "INSERT INTO Invoice (CustomerId, InvoiceDate, "
                  "BillingCountry, Total) VALUES (1, '2020-01-01', 'Atlantis', 5)")
    item = api.get_dashboard(user, dashboard.id).items[0]
    at.button(key=f"dash_refresh_{item.id}").click().run()
    no_crash(at)
    ((_, rows),) = vega_charts(at)
    assert rows == 25


def test_a_chart_whose_sandbox_is_gone_explains_what_to_do(app, user, sandbox, api):
    dashboard_with_chart(api, user, sandbox)
    api.delete_sandbox(user, sandbox.id)
    at = app(user, "dashboards")
    no_crash(at)
    assert any("is gone: it was deleted or expired" in w for w in texts(at, "warning"))
    assert any("Launch a SQLite template again" in c for c in texts(at, "caption"))
    assert not texts(at, "error")
    assert not vega_charts(at)


def test_a_chart_whose_sandbox_is_gone_can_be_drawn_from_another(app, user, sandbox, api):
    dashboard = dashboard_with_chart(api, user, sandbox)
    api.delete_sandbox(user, sandbox.id)
    replacement = api.create_sandbox(user, SQLITE_TEMPLATE)
    at = app(user, "dashboards")
    item = api.get_dashboard(user, dashboard.id).items[0]
    assert at.selectbox(key=f"dash_alt_{item.id}").value == replacement.id
    at.button(key=f"dash_use_{item.id}").click().run()
    no_crash(at)
    ((spec, rows),) = vega_charts(at)
    assert spec["mark"]["type"] == "bar" and rows == 24
    assert any(replacement.id[:8] in c for c in texts(at, "caption"))
