"""The Playground's Explain panel draws the plan as a graph of boxes (Graphviz): per-node
rows and time, estimate errors flagged, the hottest nodes highlighted, and, when the same
statement was explained before in the sandbox, what changed since."""

from __future__ import annotations

from typing import Any

from tests.servers import unavailable
from tests.ui.conftest import no_crash, texts
from tests.ui.test_playground_page import key, run_script
from ui.plans import HOT_FILL, MISESTIMATE_FILL

QUERY = "SELECT Name FROM Track WHERE Composer = 'AC/DC'"


def plan_graph(at: Any) -> str:
    (chart,) = at.get("graphviz_chart")
    dot: str = chart.proto.spec
    return dot


def explain(at: Any, text: str) -> Any:
    at = run_script(at, text)
    at.button(key=key(at, "r0_explain")).click().run()
    no_crash(at)
    return at


def test_explain_draws_the_sqlite_plan_as_boxes_and_says_how_it_was_made(app, user, sandbox):
    at = explain(app(user, "playground"), QUERY)
    dot = plan_graph(at)
    assert dot.startswith("digraph plan {")
    assert "<b>QUERY</b>" in dot and "<b>SCAN on Track</b>" in dot
    assert "n0 -> n1" in dot  # the step hangs under the query
    assert any(c.startswith("How: planned only") for c in texts(at, "caption"))
    labels = [e.label for e in at.expander]
    assert "Plan as text" in labels and "Raw plan output" in labels
    assert not any(label.startswith("Compared with") for label in labels)


def test_explaining_again_after_an_index_shows_what_changed(app, user, sandbox):
    at = explain(app(user, "playground"), QUERY)
    at = run_script(at, "CREATE INDEX track_composer ON Track (Composer)")
    at = explain(at, QUERY)
    assert "<b>SEARCH on Track using track_composer</b>" in plan_graph(at)
    (compared,) = [e for e in at.expander if e.label.startswith("Compared with the plan")]
    changes = [m.value for m in compared.markdown]
    assert "- SCAN on Track -> SEARCH on Track using track_composer" in changes
    table = compared.dataframe[0].value
    assert "changed" in table["change"].tolist()


def test_a_postgres_plan_marks_the_hot_node_and_a_bad_estimate(app, user, api):
    if "postgres" not in api.provisioner_info()["engines"]:
        unavailable("the provisioner offers no PostgreSQL here")
    sandbox = api.create_sandbox(user, "chinook")
    try:
        (made,) = api.run_query(user, sandbox.id, """
            CREATE TABLE pairs AS SELECT g % 100 AS a, g % 100 AS b
            FROM generate_series(1, 20000) g""")
        assert made.ok, made.error
        api.run_query(user, sandbox.id, "ANALYZE pairs")
        at = explain(app(user, "playground"), "SELECT * FROM pairs WHERE a = 7 AND b = 7")
        dot = plan_graph(at)
        assert "<b>Seq Scan on pairs</b>" in dot
        assert f'bgcolor="{HOT_FILL}"' in dot and "HOT" in dot
        assert f'bgcolor="{MISESTIMATE_FILL}"' in dot and "x more" in dot
        warnings = texts(at, "warning")
        assert any("Seq Scan on pairs: estimated" in w for w in warnings), warnings
        assert any("Most time:" in m for m in texts(at, "markdown"))
        assert any("rolled back" in c for c in texts(at, "caption"))
    finally:
        api.delete_sandbox(user, sandbox.id)


def test_chroma_explain_says_there_is_no_plan_and_draws_none(app, user, api):
    if "chroma" not in api.provisioner_info()["engines"]:
        unavailable("the provisioner offers no Chroma here")
    sandbox = api.create_sandbox(user, "tldr")
    try:
        at = explain(app(user, "playground"),
                     'tldr.query(query_texts=["compress files"], n_results=2)')
        assert not at.get("graphviz_chart")
        assert any("no query plan" in i for i in texts(at, "info"))
    finally:
        api.delete_sandbox(user, sandbox.id)
