"""The Playground's editor without a browser: what Ctrl+Enter runs, which names it
completes, which highlighting each engine gets, and when completions are read again.
(The browser half is tests/ui/test_e2e_playground.py.)"""

from __future__ import annotations

from engines.registry import descriptor_for, kinds
from engines.result import ColumnInfo, SchemaInfo, TableInfo
from ui import editor, history, schema_cache
from ui.editor import RunRequest, ace_mode, completions, request_of

ACE_MODES = {"sql", "pgsql", "javascript", "python"}


def answer(kind: str, text: str, selected: str = "") -> dict[str, str]:
    return {"id": "a1", "type": kind, "lang": "pgsql", "text": text, "selected": selected,
            "cursor": ""}


def test_ctrl_enter_with_a_selection_runs_the_selection():
    assert request_of(answer("submit", "SELECT 1; SELECT 2;", "SELECT 2;")) == \
        RunRequest("SELECT 2;", selection=True)


def test_ctrl_enter_without_a_selection_runs_everything():
    assert request_of(answer("submit", "SELECT 1; SELECT 2;", "  ")) == \
        RunRequest("SELECT 1; SELECT 2;", selection=False)


def test_run_all_ignores_the_selection_and_typing_runs_nothing():
    assert request_of(answer(editor.RUN_ALL, "SELECT 1; SELECT 2;", "SELECT 2;")) == \
        RunRequest("SELECT 1; SELECT 2;", selection=False)
    assert request_of(answer("blur", "SELECT 1")) is None
    assert request_of(answer("", "")) is None
    assert request_of(None) is None


def test_every_engine_gets_an_ace_mode_from_its_descriptor():
    modes = {kind: ace_mode(descriptor_for(kind)) for kind in kinds()}
    assert set(modes.values()) <= ACE_MODES, modes
    assert modes["mongodb"] == "javascript"
    assert modes["postgres"] == modes["sqlite"] == "pgsql"


def test_completions_offer_tables_and_their_columns_once_each():
    schema = SchemaInfo("sqlite", [
        TableInfo("Track", columns=[ColumnInfo("Milliseconds", "INTEGER"),
                                    ColumnInfo("Name", "TEXT")]),
        TableInfo("Artist", columns=[ColumnInfo("Name", "TEXT")]),
        TableInfo("long_tracks", kind="view", columns=[ColumnInfo("Name", "TEXT")]),
    ])
    items = completions(schema)
    by_name = {(i["value"], i["meta"]) for i in items}
    assert ("Track", "table") in by_name and ("long_tracks", "view") in by_name
    assert ("Milliseconds", "Track.INTEGER") in by_name
    assert [i["value"] for i in items].count("Name") == 3  # one per table: its meta differs
    assert completions(None) == []


def test_mongodb_completions_offer_collections_as_db_dot_name_and_their_fields():
    schema = SchemaInfo("mongodb", [TableInfo("books", kind="collection",
                                              columns=[ColumnInfo("title", "string")])])
    values = {i["value"] for i in completions(schema)}
    assert {"books", "db.books", "title"} <= values


def test_only_statements_that_may_change_the_schema_read_it_again():
    for script in ("CREATE TABLE t (x int)", "alter table t add y int", "DROP VIEW v",
                   "db.books.insertOne({a: 1})", "db.createCollection('x')",
                   "tldr.add(ids=['1'], documents=['x'])"):
        assert schema_cache.may_change_schema(script), script
    for script in ("SELECT created_at FROM orders", "db.books.find({})",
                   "tldr.query(query_texts=['x'])"):
        assert not schema_cache.may_change_schema(script), script


def test_history_searches_runs_and_saved_queries_case_blind():
    from orchestrator.store.views import JobView, SavedQueryView

    def job(text: str, state: str = "done") -> JobView:
        return JobView(id=text, kind="query", state=state, sandbox_id="s",
                       result=[{"statement": text}], error=None,
                       created_at="2026-01-01T10:00:00+00:00", finished_at=None)

    saved = [SavedQueryView(id=1, name="genres", sandbox_id=None, engine="sqlite",
                            text="SELECT * FROM Genre", chart=None, created_at=""),
             SavedQueryView(id=2, name="mongo", sandbox_id=None, engine="mongodb",
                            text="db.genre.find()", chart=None, created_at="")]
    found = history.entries([job("SELECT 1"), job("SELECT name FROM genre", "failed"),
                             job("SELECT 1")], saved, "sqlite", True)
    assert [e.text for e in found] == ["SELECT 1;", "SELECT name FROM genre;",
                                       "SELECT * FROM Genre"]
    assert found[1].label.startswith("✗")
    searched = history.entries([job("SELECT 1"), job("SELECT name FROM genre")], saved,
                               "sqlite", True, search="GENRE")
    assert [e.text for e in searched] == ["SELECT name FROM genre;", "SELECT * FROM Genre"]
