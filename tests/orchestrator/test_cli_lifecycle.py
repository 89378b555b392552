"""A sandbox's whole life through the `dbplay` command line, on real workers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from orchestrator.store.models import Schedule, utcnow


def test_sandbox_created_queried_snapshotted_scheduled_and_deleted(running_stack, tmp_path):
    stack = running_stack
    rc, sb = stack.cli("sandbox", "create", "chinook-sqlite", "--ttl", "30m")
    assert rc == 0, sb
    assert sb["state"] == "ready" and sb["engine"] == "sqlite"
    assert sb["template"] == "chinook-sqlite" and sb["ready_ms"] is not None
    sid = sb["id"]

    rc, out = stack.cli("query", sid, "SELECT Name FROM Artist ORDER BY ArtistId LIMIT 2; "
                                      "SELECT count(*) AS n FROM Track")
    assert rc == 0, out
    first, second = out["statements"]
    assert first["columns"] == ["Name"] and first["rows"] == [["AC/DC"], ["Accept"]]
    assert second["rows"] == [[3503]] and second["error"] is None

    rc, out = stack.cli("query", sid, "-", "--max-rows", "5", stdin="SELECT * FROM Track")
    assert rc == 0 and out["statements"][0]["truncated"] is True
    assert len(out["statements"][0]["rows"]) == 5

    rc, out = stack.cli("query", sid, "CREATE TABLE t (x); SELEC 1")
    assert rc != 0
    assert out["statements"][1]["error"]["type"] == "QuerySyntaxError"

    rc, tpl = stack.cli("snapshot", sid, "--name", "my-chinook")
    assert rc == 0, tpl
    assert tpl["owner"] == "alice" and "Artist" in tpl["tables"] and "t" in tpl["tables"]
    rc, templates = stack.cli("templates", "list")
    assert "my-chinook" in {t["name"] for t in templates}

    rc, sched = stack.cli("schedule", sid, "--cron", "0 3 * * *", "--name", "nightly")
    assert rc == 0, sched
    api = stack.api()
    with api.db.session() as session:  # make it due now instead of waiting for 03:00
        session.execute(update(Schedule).where(Schedule.id == sched["id"]).values(
            next_run_at=utcnow() - dt.timedelta(minutes=1)))
    done = stack.wait_for(lambda: [s for s in api.list_schedules("alice")
                                   if s.id == sched["id"] and s.last_status == "done"],
                          timeout=60, what="the scheduled snapshot")
    assert done[0].last_run_at is not None
    assert any(t.name.startswith("nightly-") for t in api.list_templates("alice"))

    out_file = tmp_path / "artists.csv"
    rc, _ = stack.cli("export", sid, "SELECT ArtistId, Name FROM Artist", "--format", "csv",
                      "--out", str(out_file))
    assert rc == 0 and out_file.read_text().splitlines()[:2] == ["ArtistId,Name", "1,AC/DC"]

    rc, _ = stack.cli("sandbox", "rm", sid)
    assert rc == 0
    rc, listed = stack.cli("sandbox", "list")
    assert sid not in {s["id"] for s in listed}
    rc, err = stack.cli("query", sid, "SELECT 1")
    assert rc != 0 and err["error"]["type"] == "NotFound"


def test_failure_prints_typed_error_and_exits_nonzero(running_stack):
    rc, out = running_stack.cli("sandbox", "create", "no-such-template")
    assert rc != 0
    assert out == {"error": {"type": "NotFound", "message": "no template 'no-such-template'"}}
