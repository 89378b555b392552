"""Dashboards bound to templates: items keep their last chart after their sandbox is gone,
a refresh runs on a live (or fresh) sandbox of the template, filters are bound and change
the numbers exactly, layouts are checked, and the scheduler refreshes on a cron."""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import update

from engines.errors import InvalidRequest
from orchestrator.store.db import MIGRATIONS, make_engine
from orchestrator.store.models import Dashboard, SavedQuery, utcnow

TEMPLATE = "chinook-sqlite"
SALES = "SELECT BillingCountry AS country, Total AS total FROM Invoice"
BY_COUNTRY = {"x": "country", "y": "total", "agg": "sum"}


@pytest.fixture
def user() -> str:
    return f"d{uuid.uuid4().hex[:10]}"


@pytest.fixture
def api(running_stack: Any) -> Any:
    return running_stack.api()


def sales_board(api: Any, user: str, text: str = SALES,
                chart: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """A ready sandbox and a dashboard with one item charting ``text`` on it."""
    sandbox = api.create_sandbox(user, TEMPLATE)
    query = api.save_query(user, "sales", text, sandbox_id=sandbox.id)
    board = api.create_dashboard(user, "Sales")
    board = api.add_to_dashboard(user, board.id, query.id, chart=chart or BY_COUNTRY)
    return sandbox, board


def sums(api: Any, user: str, sandbox_id: str, where: str = "1=1") -> dict[str, float]:
    """The exact sums per country, written by hand in SQL."""
    (result,) = api.run_query(user, sandbox_id, f"SELECT BillingCountry, SUM(Total) FROM "
                              f"Invoice WHERE {where} GROUP BY 1")
    return {country: round(total, 6) for country, total in result.rows}


def charted(item: Any) -> dict[str, float]:
    return {row[0]: round(row[1], 6) for row in item.output["rows"]}


def test_an_item_is_bound_to_the_template_of_its_querys_sandbox(running_stack, api, user):
    _, board = sales_board(api, user)
    (item,) = board.items
    assert item.template == TEMPLATE and item.template_id is not None
    assert item.chart == {"x": "country", "y": "total", "agg": "sum", "bin": None,
                          "color": None, "mark": None}
    assert (item.width, item.height, item.output, item.refreshed_at) == (6, 300, None, None)


def test_a_dashboard_survives_deleting_its_sandbox(running_stack, api, user):
    sandbox, board = sales_board(api, user)
    expected = sums(api, user, sandbox.id)
    (item,) = api.refresh_dashboard(user, board.id).items
    assert item.error is None and item.refreshed_at is not None
    assert charted(item) == expected and item.output["sandbox_id"] == sandbox.id
    assert item.output["spec"]["data"]  # a Vega-Lite spec with its data inline
    first_refresh = item.refreshed_at

    api.delete_sandbox(user, sandbox.id)
    (kept,) = api.get_dashboard(user, board.id).items
    assert kept.output == item.output and kept.refreshed_at == first_refresh

    (again,) = api.refresh_dashboard(user, board.id).items
    fresh = [s for s in api.list_sandboxes(user) if s.template == TEMPLATE]
    assert [s.id for s in fresh] == [again.output["sandbox_id"]] != [sandbox.id]
    assert fresh[0].state == "ready"
    assert again.error is None and charted(again) == expected
    assert again.refreshed_at > first_refresh


def test_a_refresh_reuses_the_owners_live_sandbox_of_the_template(running_stack, api, user):
    sandbox, board = sales_board(api, user)
    api.run_query(user, sandbox.id, "INSERT INTO Invoice (CustomerId, InvoiceDate, "
                  "BillingCountry, Total) VALUES (1, '2020-01-01', 'Atlantis', 5)")
    (item,) = api.refresh_dashboard(user, board.id).items
    assert item.output["sandbox_id"] == sandbox.id and charted(item)["Atlantis"] == 5
    assert [s.id for s in api.list_sandboxes(user)] == [sandbox.id]


def test_a_refresh_with_a_filter_changes_the_numbers_exactly(running_stack, api, user):
    sandbox, board = sales_board(api, user)
    everything = charted(api.refresh_dashboard(user, board.id).items[0])
    picked = {"column": "country", "kind": "values", "values": ["USA", "Canada", "France"]}
    (item,) = api.refresh_dashboard(user, board.id, filters=[picked]).items
    assert charted(item) == sums(api, user, sandbox.id,
                                 "BillingCountry IN ('USA', 'Canada', 'France')")
    assert set(charted(item)) == {"USA", "Canada", "France"} and charted(item) != everything
    assert item.output["filters_ignored"] == [] and item.output["filter_note"] is None
    assert api.get_dashboard(user, board.id).filters == [picked]  # kept for the next one

    ranged = {"column": "total", "kind": "range", "min": 5, "max": 10}
    (item,) = api.refresh_dashboard(user, board.id, filters=[ranged]).items
    assert charted(item) == sums(api, user, sandbox.id, "Total BETWEEN 5 AND 10")

    # a value that looks like SQL is a value, never SQL
    sneaky = {"column": "country", "kind": "values", "values": ["USA' OR '1'='1"]}
    (item,) = api.refresh_dashboard(user, board.id, filters=[sneaky]).items
    assert item.error is None and item.output["rows"] == []


def test_an_item_without_the_filters_column_ignores_it_and_says_so(running_stack, api, user):
    _, board = sales_board(api, user)
    unrelated = {"column": "genre", "kind": "values", "values": ["Rock"]}
    (item,) = api.refresh_dashboard(user, board.id, filters=[unrelated]).items
    assert item.error is None and item.output["filters_ignored"] == ["genre"]
    assert "genre" in item.output["filter_note"] and "not applied" in item.output["filter_note"]


def test_a_failed_refresh_keeps_the_last_chart_and_says_why_in_words(running_stack, api,
                                                                     user):
    _, board = sales_board(api, user)
    (good,) = api.refresh_dashboard(user, board.id).items
    with api.db.session() as session:  # the query now names a table that is not there
        session.execute(update(SavedQuery).where(SavedQuery.id == good.query_id).values(
            text="SELECT country FROM no_such_table"))
    (item,) = api.refresh_dashboard(user, board.id).items
    assert item.output == good.output and item.refreshed_at == good.refreshed_at
    assert item.error is not None and "the query failed on sandbox" in item.error
    assert "no_such_table" in item.error and "pick another" not in item.error.lower()


def test_an_item_whose_template_is_gone_says_so(running_stack, api, user):
    sandbox = api.create_sandbox(user, TEMPLATE)
    api.snapshot_sandbox(user, sandbox.id, f"mine-{user}")
    mine = api.create_sandbox(user, f"mine-{user}")
    query = api.save_query(user, "artists", "SELECT Name AS name FROM Artist LIMIT 3",
                           sandbox_id=mine.id)
    board = api.create_dashboard(user, "Mine")
    api.add_to_dashboard(user, board.id, query.id, chart={"x": "name"})
    api.delete_sandbox(user, mine.id)
    api.delete_template(user, f"mine-{user}")
    (item,) = api.refresh_dashboard(user, board.id).items
    assert item.output is None
    assert item.error is not None and f"mine-{user}" in item.error and "deleted" in item.error
    assert "pick another" not in item.error.lower()
    api.delete_sandbox(user, sandbox.id)


def test_layout_widths_heights_and_order_are_checked(running_stack, api, user):
    sandbox = api.create_sandbox(user, TEMPLATE)
    board = api.create_dashboard(user, "Grid")
    for n in range(3):
        query = api.save_query(user, f"q{n}", "SELECT 1 AS one", sandbox_id=sandbox.id)
        board = api.add_to_dashboard(user, board.id, query.id)
    first, second, third = board.items
    with pytest.raises(InvalidRequest, match="1 to 12"):
        api.update_layout(user, board.id, [{"item_id": first.id, "width": 13}])
    with pytest.raises(InvalidRequest, match="120 to 2000 pixels"):
        api.update_layout(user, board.id, [{"item_id": first.id, "height": 50}])
    with pytest.raises(InvalidRequest, match="1 to 12"):
        api.add_to_dashboard(user, board.id, first.query_id, width=0)
    board = api.update_layout(user, board.id, [
        {"item_id": first.id, "width": 8, "height": 400},
        {"item_id": third.id, "width": 4, "position": 1}])
    assert [i.id for i in board.items] == [first.id, third.id, second.id]
    assert [[i.id for i in row] for row in board.grid_rows()] == \
        [[first.id, third.id], [second.id]]
    assert (board.items[0].width, board.items[0].height) == (8, 400)


def test_the_scheduler_refreshes_a_dashboard_on_its_cron(running_stack, api, user):
    _, board = sales_board(api, user)
    with pytest.raises(InvalidRequest, match="cron"):
        api.schedule_dashboard_refresh(user, board.id, "every hour")
    board = api.schedule_dashboard_refresh(user, board.id, "* * * * *")
    assert board.refresh_cron == "* * * * *" and board.next_refresh_at is not None
    with api.db.session() as session:  # as if its slot had just passed
        session.execute(update(Dashboard).where(Dashboard.id == board.id).values(
            next_refresh_at=utcnow() - dt.timedelta(seconds=5)))
    running_stack.wait_for(lambda: api.get_dashboard(user, board.id).items[0].refreshed_at,
                           timeout=120, what="the scheduled refresh")
    refreshed = api.get_dashboard(user, board.id)
    assert refreshed.items[0].error is None and refreshed.items[0].output["rows"]
    assert refreshed.next_refresh_at is not None
    assert dt.datetime.fromisoformat(refreshed.next_refresh_at) > \
        dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    assert api.schedule_dashboard_refresh(user, board.id, None).next_refresh_at is None


def test_dashboard_routes_over_http(running_stack, api, user):
    sandbox = api.create_sandbox(user, TEMPLATE)
    query = api.save_query(user, "sales", SALES, sandbox_id=sandbox.id)
    headers = {"Authorization": f"Bearer {running_stack.token(user)}"}
    with httpx.Client(base_url=f"{running_stack.api_url}/api/v1", headers=headers,
                      timeout=300) as http:
        board = http.post("/dashboards", json={"name": "Sales"}).json()
        added = http.post(f"/dashboards/{board['id']}/items",
                          json={"query_id": query.id, "chart": BY_COUNTRY, "width": 12})
        assert added.status_code == 200, added.text
        (item,) = added.json()["items"]
        assert (item["name"], item["template"], item["width"]) == ("sales", TEMPLATE, 12)
        too_wide = http.put(f"/dashboards/{board['id']}/layout",
                            json={"items": [{"item_id": item["id"], "width": 20}]})
        assert too_wide.status_code == 422 and "1 to 12" in too_wide.json()["error"]["message"]
        bad = http.put(f"/dashboards/{board['id']}/filters",
                       json={"filters": [{"column": "country", "kind": "like"}]})
        assert bad.status_code == 422 and "range, values" in bad.json()["error"]["message"]
        picked = [{"column": "country", "kind": "values", "values": ["USA"]}]
        refreshed = http.post(f"/dashboards/{board['id']}/refresh", json={"filters": picked})
        assert refreshed.status_code == 200, refreshed.text
        (row,) = refreshed.json()["items"][0]["output"]["rows"]
        assert round(row[1], 6) == sums(api, user, sandbox.id, "BillingCountry = 'USA'")["USA"]
        assert http.get(f"/dashboards/{board['id']}").json() == refreshed.json()
        cron = http.put(f"/dashboards/{board['id']}/schedule", json={"cron": "0 6 * * *"})
        assert cron.json()["refresh_cron"] == "0 6 * * *"
        assert http.delete(f"/dashboards/{board['id']}").json() == {"deleted": board["id"]}
        assert http.get(f"/dashboards/{board['id']}").status_code == 404


def test_migration_binds_existing_items_to_their_sandboxs_template() -> None:
    home = Path(tempfile.mkdtemp(prefix="dbplay-migration-"))
    engine = make_engine(f"sqlite:///{home}/meta.db")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        for statement in (
                "INSERT INTO templates (id, name, engine, description, shared, digest, "
                "size_bytes, tables, source, license, created_at) VALUES (7, 'chinook-sqlite', "
                "'sqlite', '', 0, '', 0, '[]', '', '', '2026-01-01')",
                "INSERT INTO sandboxes (id, owner, engine, template, template_id, state, "
                "created_at, expires_at, generation, active_jobs, password) VALUES ('sb1', "
                "'al', 'sqlite', 'chinook-sqlite', 7, 'deleted', '2026-01-01', '2026-01-02', "
                "0, 0, '')",
                "INSERT INTO saved_queries (id, owner, name, sandbox_id, engine, text, "
                "created_at) VALUES (1, 'al', 'a', 'sb1', 'sqlite', 'SELECT 1', '2026-01-01'),"
                " (2, 'al', 'b', NULL, 'sqlite', 'SELECT 2', '2026-01-01')",
                "INSERT INTO dashboards (id, owner, name, created_at) VALUES "
                "(1, 'al', 'd', '2026-01-01')",
                "INSERT INTO dashboard_items (id, dashboard_id, query_id, position) VALUES "
                "(1, 1, 1, 0), (2, 1, 2, 1)"):
            connection.execute(sa.text(statement))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        items = connection.execute(sa.text(
            "SELECT id, template_id, template, width, height, output FROM dashboard_items "
            "ORDER BY id")).all()
        filters = connection.execute(sa.text("SELECT filters FROM dashboards")).scalar()
    engine.dispose()
    assert [tuple(i) for i in items] == [(1, 7, "chinook-sqlite", 6, 300, None),
                                         (2, None, "", 6, 300, None)]
    assert filters == "[]"
