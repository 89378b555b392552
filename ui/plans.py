"""Query plans (``ExplainResult``) drawn as pictures and text.

* :func:`plan_dot` -- a Graphviz graph (``st.graphviz_chart``): one box per node with its
  time (own and with its children), rows against the estimate, loops, buffers, keys and
  documents examined; the hottest nodes filled red, estimates off by 10x or more in amber.
  Arrows point the way rows flow, from a node up to the node that consumes them.
* :func:`plan_tree` -- the same tree as indented text, for copying.
* :func:`diff_rows` -- a before/after comparison (:func:`engines.plans.diff.diff_plans`)
  as table rows.
"""

from __future__ import annotations

import textwrap
from typing import Any

from engines.plans.annotate import estimate_error_text
from engines.plans.diff import PlanDiff
from engines.plans.nodes import label, walk
from engines.result import PlanNode

HOT_FILL = "#ffd9d4"
HOT_BORDER = "#c62828"
MISESTIMATE_FILL = "#fff1c2"
PLAIN_FILL = "#eef3fa"
DETAIL_WIDTH = 48
DETAIL_LINES = 3


def _numbers(node: PlanNode) -> str:
    parts = []
    if node.estimated_rows is not None:
        parts.append(f"est. rows {node.estimated_rows:g}")
    if node.actual_rows is not None:
        parts.append(f"actual rows {node.actual_rows:g}")
    if node.cost is not None:
        parts.append(f"cost {node.cost:g}")
    if node.time_ms is not None:
        parts.append(f"{node.time_ms:g} ms")
    return f"  [{', '.join(parts)}]" if parts else ""


def plan_tree(node: PlanNode) -> str:
    """One line per node, children indented under their parent with box-drawing lines."""
    lines: list[str] = []

    def walk_lines(current: PlanNode, prefix: str, last: bool, root: bool) -> None:
        branch = "" if root else ("└─ " if last else "├─ ")
        detail = f": {current.detail}" if current.detail else ""
        lines.append(f"{prefix}{branch}{current.node}{detail}{_numbers(current)}")
        child_prefix = prefix if root else prefix + ("   " if last else "│  ")
        for i, child in enumerate(current.children):
            walk_lines(child, child_prefix, i == len(current.children) - 1, False)

    walk_lines(node, "", True, True)
    return "\n".join(lines)


def _html(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _ms(value: float) -> str:
    return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"


def _count(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _cell(text: str, fill: str | None = None, bold: bool = False) -> str:
    body = f"<b>{text}</b>" if bold else text
    colour = f' bgcolor="{fill}"' if fill else ""
    return f'<tr><td align="left" balign="left"{colour}>{body}</td></tr>'


def _detail(node: PlanNode) -> str | None:
    """The detail without what the box's title already says ("on rental", "using ix")."""
    said = {f"on {node.relation}", f"using {node.index}"}
    text = "; ".join(part for part in node.detail.split("; ") if part not in said)
    if not text:
        return None
    lines = textwrap.wrap(text, DETAIL_WIDTH)
    if len(lines) > DETAIL_LINES:
        lines = lines[:DETAIL_LINES]
        lines[-1] += " …"
    return '<br align="left"/>'.join(_html(line) for line in lines)


def box_rows(node: PlanNode, total_ms: float | None) -> list[str]:
    """The rows of one node's box (HTML-like Graphviz table rows)."""
    fill = HOT_FILL if node.hot else PLAIN_FILL
    rows = [_cell(_html(label(node)), fill, bold=True)]
    detail = _detail(node)
    if detail:
        rows.append(_cell(f'<font point-size="9">{detail}</font>'))
    if node.time_ms is not None:
        own = ""
        if node.self_time_ms is not None and node.children:
            own = f" (own {_ms(node.self_time_ms)} ms)"
        share = ""
        if node.hot and total_ms and node.self_time_ms is not None:
            share = f" · HOT {100 * node.self_time_ms / total_ms:.0f}% of the time"
        rows.append(_cell(f"{_ms(node.time_ms)} ms{own}{share}"))
    counts = []
    if node.actual_rows is not None:
        counts.append(f"rows {_count(node.actual_rows)}")
    if node.estimated_rows is not None:
        counts.append(f"est. {_count(node.estimated_rows)}")
    if node.loops is not None and node.loops != 1:
        counts.append(f"loops {_count(node.loops)}")
    if counts:
        warning = estimate_error_text(node)
        text = " · ".join(counts) + (f"<br/>⚠ {_html(warning)}" if warning else "")
        rows.append(_cell(text, MISESTIMATE_FILL if warning else None))
    examined = []
    if node.keys_examined is not None:
        examined.append(f"keys examined {_count(node.keys_examined)}")
    if node.docs_examined is not None:
        examined.append(f"docs examined {_count(node.docs_examined)}")
    if examined:
        rows.append(_cell(" · ".join(examined)))
    if node.buffers:
        text = ", ".join(f"{k} {_count(v)}" for k, v in node.buffers.items())
        rows.append(_cell(f'<font point-size="9">buffers: {_html(text)}</font>'))
    return rows


def plan_dot(root: PlanNode) -> str:
    """DOT source of the whole plan, root at the top."""
    total = root.time_ms
    ids = {id(node): f"n{i}" for i, node in enumerate(walk(root))}
    lines = [
        "digraph plan {",
        "  graph [rankdir=TB, fontname=Helvetica, nodesep=0.3, ranksep=0.35];",
        "  node [shape=plain, fontname=Helvetica, fontsize=10];",
        '  edge [dir=back, arrowtail=normal, color="#7a8ca8", fontname=Helvetica, '
        "fontsize=9];",
    ]
    for node in walk(root):
        border = HOT_BORDER if node.hot else "#8899aa"
        table = (f'<table border="{2 if node.hot else 1}" cellborder="0" cellspacing="0" '
                 f'cellpadding="3" color="{border}">' + "".join(box_rows(node, total))
                 + "</table>")
        lines.append(f"  {ids[id(node)]} [label=<{table}>];")
    for node in walk(root):
        for child in node.children:
            rows = f' [label="{_count(child.actual_rows)} rows"]' \
                if child.actual_rows is not None else ""
            lines.append(f"  {ids[id(node)]} -> {ids[id(child)]}{rows};")
    lines.append("}")
    return "\n".join(lines)


def diff_rows(diff: PlanDiff) -> list[dict[str, Any]]:
    """One row per node pair: what happened to it, before and after (times in ms)."""
    return [{"change": n.status, "before": n.before or "", "after": n.after or "",
             "before ms": n.before_ms, "after ms": n.after_ms,
             "before rows": n.before_rows, "after rows": n.after_rows} for n in diff.nodes]
