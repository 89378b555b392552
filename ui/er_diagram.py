"""An entity-relationship diagram (Graphviz DOT) from a SQL schema's foreign keys."""

from __future__ import annotations

from engines.result import SchemaInfo, TableInfo


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _node(table: TableInfo) -> str:
    fk_columns = {c for fk in table.foreign_keys for c in fk.columns}
    rows = [f'<tr><td bgcolor="#dbe7f5"><b>{_html(table.name)}</b></td></tr>']
    for column in table.columns:
        marks = ("PK " if column.primary_key or column.name in table.primary_key else "") + (
            "FK " if column.name in fk_columns else "")
        rows.append(f'<tr><td align="left" port={_quote(column.name)}>{_html(marks)}'
                    f'{_html(column.name)} <font color="#777777">{_html(column.type)}</font>'
                    "</td></tr>")
    label = '<table border="0" cellborder="1" cellspacing="0">' + "".join(rows) + "</table>"
    return f"  {_quote(table.name)} [label=<{label}>];"


def related_tables(schema: SchemaInfo) -> list[TableInfo]:
    """Tables that take part in a foreign key (as the referencing or the referenced side);
    every table when there are no foreign keys at all."""
    tables = [t for t in schema.tables if t.kind == "table"]
    names = {t.name for t in tables}
    linked = {t.name for t in tables for fk in t.foreign_keys if fk.ref_table in names}
    linked |= {fk.ref_table for t in tables for fk in t.foreign_keys if fk.ref_table in names}
    return [t for t in tables if t.name in linked] if linked else tables


def er_dot(schema: SchemaInfo) -> str:
    """DOT source: one box per related table (columns listed), one edge per foreign key."""
    tables = related_tables(schema)
    names = {t.name for t in tables}
    lines = [
        "digraph er {",
        "  graph [rankdir=LR, fontname=Helvetica];",
        "  node [shape=plain, fontname=Helvetica, fontsize=10];",
        "  edge [arrowhead=crow, arrowtail=none, color=\"#5577aa\"];",
    ]
    lines += [_node(t) for t in tables]
    for table in tables:
        for fk in table.foreign_keys:
            if fk.ref_table not in names:
                continue
            label = ", ".join(fk.columns)
            lines.append(f"  {_quote(fk.ref_table)} -> {_quote(table.name)} "
                         f"[label={_quote(label)}, fontsize=8];")
    lines.append("}")
    return "\n".join(lines)


def has_relations(schema: SchemaInfo) -> bool:
    return any(t.foreign_keys for t in schema.tables)
