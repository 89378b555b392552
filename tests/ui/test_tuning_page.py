"""Tuning page: the workload ranked by time and index advice proven on a clone, applied to
the sandbox only by its "Apply" button."""

from __future__ import annotations

from tests.servers import unavailable
from tests.ui.conftest import all_text, no_crash

DATA = """
CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, score INTEGER);
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 100000)
INSERT INTO events SELECT n, (n * 7919) % 5000, n % 1000 FROM g
"""


def test_workload_tab_ranks_the_sandboxes_statements(app, user, sandbox, api):
    for _ in range(2):
        (done,) = api.run_query(user, sandbox.id, "SELECT count(*) FROM Track WHERE "
                                "Milliseconds > 100000")
        assert done.ok, done.error
    at = app(user, "tuning")
    no_crash(at)
    assert [t.label for t in at.tabs] == ["Workload", "Advice"]
    frame = at.dataframe[0].value
    row = frame.iloc[0]
    assert row["statement"] == "SELECT count(*) FROM Track WHERE Milliseconds > 100000"
    assert row["calls"] == 2 and row["source"] == "history"
    assert "No advice yet" in all_text(at)


def test_advice_is_shown_with_its_proof_and_applied_on_request(app, user, sandbox, api):
    for result in api.run_query(user, sandbox.id, DATA):
        assert result.ok, result.error
    for _ in range(2):
        api.run_query(user, sandbox.id, "SELECT * FROM events WHERE user_id = 42")
    at = app(user, "tuning")
    at.button(key="tuning_advise").click().run(timeout=600)
    no_crash(at)
    ddl = "CREATE INDEX events_user_id_idx ON events (user_id)"
    labels = [e.label for e in at.expander]
    first = next(label for label in labels if label.startswith(f"1. {ddl}"))
    assert "ms →" in first
    assert "verified on a clone" in all_text(at)
    names = {ix.name for t in api.schema(user, sandbox.id).tables for ix in t.indexes}
    at.button(key=f"tuning_apply_{sandbox.id}_1").click().run(timeout=120)
    no_crash(at)
    assert not at.error, [e.value for e in at.error]
    assert f"Applied to the sandbox: {ddl}" in all_text(at)
    after = {ix.name for t in api.schema(user, sandbox.id).tables for ix in t.indexes}
    assert len(after - names) == 1


def test_engines_without_advice_say_so(app, user, api):
    if "chroma" not in api.provisioner_info()["engines"]:
        unavailable("the local provisioner cannot start Chroma sandboxes here")
    api.create_sandbox(user, "empty-chroma")
    at = app(user, "tuning")
    no_crash(at)
    assert "cover PostgreSQL, SQLite and MongoDB sandboxes" in all_text(at)


def test_mongodb_advice_is_shown_as_mongosh_measured_on_a_clone(app, user, api):
    if "mongodb" not in api.provisioner_info()["engines"]:
        unavailable("the local provisioner cannot start MongoDB sandboxes here")
    sandbox = api.create_sandbox(user, "empty-mongodb")
    docs = ", ".join(f"{{n: {i}, kind: {i % 300}}}" for i in range(3000))
    for statement in (f"db.things.insertMany([{docs}])", "db.things.find({kind: 7})",
                      "db.things.find({kind: 8})"):
        (done,) = api.run_query(user, sandbox.id, statement)
        assert done.ok, done.error
    at = app(user, "tuning")  # the user's only sandbox
    no_crash(at)
    assert at.dataframe[0].value.iloc[0]["calls"] == 2  # one shape, two values
    at.button(key="tuning_advise").click().run(timeout=600)
    no_crash(at)
    assert not at.error, [e.value for e in at.error]
    ddl = "db.things.createIndex({kind: 1})"
    assert any(e.label.startswith(f"1. {ddl}") for e in at.expander), \
        [e.label for e in at.expander]
    assert [c.language for c in at.code if c.value == ddl] == ["javascript"]
    assert "equality-sort-range index" in all_text(at)
