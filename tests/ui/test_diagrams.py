"""Plan trees and ER diagrams are built from the API's plain result objects."""

from __future__ import annotations

from engines.result import ColumnInfo, ForeignKey, PlanNode, SchemaInfo, TableInfo
from orchestrator.design.model import Design, Table
from orchestrator.design.model import ForeignKey as DesignKey
from ui.design_diagram import boxes, chart, columns_of, lines
from ui.er_diagram import er_dot, related_tables
from ui.plans import plan_tree


def test_plan_tree_indents_children_under_their_parent():
    plan = PlanNode("Hash Join", "a.id = b.a_id", estimated_rows=10, cost=4.5, children=[
        PlanNode("Seq Scan", "a"), PlanNode("Index Scan", "b", children=[PlanNode("Filter")])])
    assert plan_tree(plan).splitlines() == [
        "Hash Join: a.id = b.a_id  [est. rows 10, cost 4.5]",
        "├─ Seq Scan: a",
        "└─ Index Scan: b",
        "   └─ Filter",
    ]


def test_er_diagram_draws_one_edge_per_foreign_key():
    schema = SchemaInfo("sqlite", tables=[
        TableInfo("Artist", columns=[ColumnInfo("ArtistId", "INTEGER", primary_key=True)]),
        TableInfo("Album", columns=[ColumnInfo("AlbumId", "INTEGER", primary_key=True),
                                    ColumnInfo("ArtistId", "INTEGER")],
                  foreign_keys=[ForeignKey(["ArtistId"], "Artist", ["ArtistId"])]),
        TableInfo("Gone", foreign_keys=[ForeignKey(["x"], "Missing", ["y"])]),
    ])
    dot = er_dot(schema)
    assert '"Artist" -> "Album" [label="ArtistId"' in dot
    assert "Missing" not in dot
    assert dot.count("->") == 1


def test_er_diagram_escapes_html_in_names():
    schema = SchemaInfo("postgres", tables=[TableInfo("a<b", columns=[ColumnInfo("c&d", "t")])])
    dot = er_dot(schema)
    assert "a&lt;b" in dot and "c&amp;d" in dot


def test_er_diagram_leaves_out_views_and_unrelated_tables_when_keys_exist():
    schema = SchemaInfo("postgres", tables=[
        TableInfo("a"), TableInfo("b", foreign_keys=[ForeignKey(["a_id"], "a", ["id"])]),
        TableInfo("lonely"), TableInfo("a_view", kind="view")])
    assert [t.name for t in related_tables(schema)] == ["a", "b"]
    assert "lonely" not in er_dot(schema) and "a_view" not in er_dot(schema)


def test_without_foreign_keys_every_table_is_drawn():
    schema = SchemaInfo("sqlite", tables=[TableInfo("x"), TableInfo("y")])
    assert [t.name for t in related_tables(schema)] == ["x", "y"]


def _design(*tables: Table) -> Design:
    return Design(tables=list(tables))


def test_design_diagram_puts_each_table_right_of_the_tables_it_references():
    design = _design(
        Table("Track", foreign_keys=[DesignKey(["AlbumId"], "Album", ["AlbumId"]),
                                     DesignKey(["GenreId"], "Genre", ["GenreId"])]),
        Table("Album", foreign_keys=[DesignKey(["ArtistId"], "Artist", ["ArtistId"])]),
        Table("Artist"), Table("Genre"),
        Table("Employee", foreign_keys=[DesignKey(["ReportsTo"], "Employee", ["EmployeeId"])]))
    assert columns_of(design) == {"Artist": 0, "Genre": 0, "Employee": 0, "Album": 1,
                                  "Track": 2}
    placed = boxes(design).set_index("table")
    assert placed.loc["Album", "x"] > placed.loc["Artist", "x2"]
    drawn = lines(design, boxes(design))
    assert sorted(drawn["fk"]) == ["Album(ArtistId) → Artist(ArtistId)",
                                   "Track(AlbumId) → Album(AlbumId)",
                                   "Track(GenreId) → Genre(GenreId)"]  # no self-line


def test_design_diagram_layout_ends_on_a_foreign_key_cycle():
    design = _design(Table("a", foreign_keys=[DesignKey(["b_id"], "b", ["id"])]),
                     Table("b", foreign_keys=[DesignKey(["a_id"], "a", ["id"])]))
    assert set(columns_of(design).values()) <= {0, 1}
    assert chart(design).to_dict()["layer"]  # it draws
