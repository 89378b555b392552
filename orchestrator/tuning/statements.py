"""What a statement asks of each table it reads, from its parse tree (pglast, which also
reads the plain SELECT/UPDATE/DELETE of SQLite): equality and range predicates, ``LIKE
'%x%'``, jsonb containment, full text matches, null tests, the sort and the columns
selected. Columns are resolved to tables through the aliases and the schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import A_Expr_Kind, BoolExprType, NullTestType, SortByDir
from pglast.parser import ParseError, fingerprint
from pglast.stream import RawStream

_RANGE_OPS = {"<", ">", "<=", ">="}


@dataclass
class TableUse:
    """What one statement asks of one table."""

    table: str
    equality: list[str] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)  # equality with another table's column
    ranges: list[str] = field(default_factory=list)
    contains_text: list[str] = field(default_factory=list)  # LIKE/ILIKE '%x%'
    jsonb_contains: list[str] = field(default_factory=list)  # col @> ...
    full_text: list[str] = field(default_factory=list)  # to_tsvector(...) expressions
    null_tests: list[str] = field(default_factory=list)  # "col IS NULL" as written
    sort: list[tuple[str, str]] = field(default_factory=list)  # (column, ASC|DESC)
    selected: list[str] | None = None  # None: every column (*) or unknown

    @property
    def filtered(self) -> bool:
        return bool(self.equality or self.joins or self.ranges or self.contains_text
                    or self.jsonb_contains or self.full_text or self.null_tests or self.sort)


@dataclass
class ParsedStatement:
    text: str
    kind: str  # select | update | delete | other
    fingerprint: str
    uses: list[TableUse] = field(default_factory=list)
    has_params: bool = False


def statement_fingerprint(text: str) -> str | None:
    """Equal for statements that differ only in their constants (like pg_stat_statements
    groups them), None when the text does not parse."""
    try:
        return str(fingerprint(text))
    except ParseError:
        return None


def parse_statement(text: str, columns: dict[str, list[str]]) -> ParsedStatement | None:
    """``columns``: table name -> its column names. None when the text is not one
    statement PostgreSQL's grammar reads."""
    try:
        stmts = parse_sql(text)
    except ParseError:
        return None
    if len(stmts) != 1:
        return None
    node: Any = stmts[0].stmt
    fp = statement_fingerprint(text) or ""
    parsed = ParsedStatement(text=text, kind="other", fingerprint=fp, has_params="$1" in text)
    if isinstance(node, ast.SelectStmt) and node.fromClause and not node.op:
        parsed.kind = "select"
        aliases = _from_tables(node.fromClause)
        where, sort, targets = node.whereClause, node.sortClause, node.targetList
    elif isinstance(node, ast.UpdateStmt):
        parsed.kind = "update"
        aliases = _range_var(node.relation)
        where, sort, targets = node.whereClause, None, None
    elif isinstance(node, ast.DeleteStmt):
        parsed.kind = "delete"
        aliases = _range_var(node.relation)
        where, sort, targets = node.whereClause, None, None
    else:
        return parsed
    aliases = {a: t for a, t in aliases.items() if t in columns}
    if not aliases:
        return parsed
    reader = _Reader(aliases, columns)
    if where is not None:
        reader.predicate(where)
    for join_quals in _join_quals(node.fromClause if parsed.kind == "select" else None):
        reader.predicate(join_quals)
    if sort:
        reader.sort(sort)
    if targets is not None:
        reader.selected(targets)
    parsed.uses = [u for u in reader.uses.values() if u.filtered]
    return parsed


def _range_var(rv: Any) -> dict[str, str]:
    if not isinstance(rv, ast.RangeVar):
        return {}
    name = str(rv.relname)
    alias = rv.alias.aliasname if rv.alias is not None else name
    return {str(alias): name}


def _from_tables(items: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or ():
        if isinstance(item, ast.RangeVar):
            out.update(_range_var(item))
        elif isinstance(item, ast.JoinExpr):
            out.update(_from_tables([item.larg, item.rarg]))
    return out


def _join_quals(items: Any) -> list[Any]:
    quals: list[Any] = []
    for item in items or ():
        if isinstance(item, ast.JoinExpr):
            if item.quals is not None:
                quals.append(item.quals)
            quals.extend(_join_quals([item.larg, item.rarg]))
    return quals


def _is_value(node: Any) -> bool:
    if isinstance(node, ast.TypeCast):
        return _is_value(node.arg)
    return isinstance(node, (ast.A_Const, ast.ParamRef)) or (
        isinstance(node, ast.FuncCall) and not node.args)


class _Reader:
    def __init__(self, aliases: dict[str, str], columns: dict[str, list[str]]) -> None:
        self.aliases = aliases
        self.columns = columns
        self.uses: dict[str, TableUse] = {}

    def use(self, table: str) -> TableUse:
        return self.uses.setdefault(table, TableUse(table))

    def column(self, node: Any) -> tuple[str, str] | None:
        """(table, column) of a column reference, when it resolves to one table."""
        if isinstance(node, ast.TypeCast):
            node = node.arg
        if not isinstance(node, ast.ColumnRef):
            return None
        names = [getattr(f, "sval", None) for f in node.fields or ()]
        if any(n is None for n in names):
            return None
        if len(names) == 2:
            table = self.aliases.get(str(names[0]))
            col = str(names[1])
            return (table, col) if table and col in self.columns[table] else None
        if len(names) == 1:
            owners = [t for t in self.aliases.values() if names[0] in self.columns[t]]
            return (owners[0], str(names[0])) if len(set(owners)) == 1 else None
        return None

    def predicate(self, node: Any) -> None:
        if isinstance(node, ast.BoolExpr):
            if node.boolop == BoolExprType.AND_EXPR:
                for arg in node.args or ():
                    self.predicate(arg)
            return  # OR / NOT: no single index serves them
        if isinstance(node, ast.NullTest):
            ref = self.column(node.arg)
            if ref:
                test = "IS NULL" if node.nulltesttype == NullTestType.IS_NULL else "IS NOT NULL"
                self.use(ref[0]).null_tests.append(f"{_quote(ref[1])} {test}")
            return
        if isinstance(node, ast.A_Expr):
            self._expr(node)

    def _expr(self, node: Any) -> None:
        op = str(node.name[-1].sval) if node.name else ""
        kind = node.kind
        left, right = self.column(node.lexpr), self.column(node.rexpr)
        if kind == A_Expr_Kind.AEXPR_OP and op == "@@" and isinstance(node.lexpr, ast.FuncCall):
            inner = [self.column(a) for a in node.lexpr.args or ()]
            refs = [r for r in inner if r]
            func = getattr((node.lexpr.funcname or (None,))[-1], "sval", "")
            if refs and str(func) == "to_tsvector":
                self.use(refs[0][0]).full_text.append(RawStream()(node.lexpr))
            return
        if left is None and right is not None and kind == A_Expr_Kind.AEXPR_OP:
            left, op = right, _mirror(op)
            node_value: Any = node.lexpr
        else:
            node_value = node.rexpr
        if left is None:
            return
        table, col = left
        if kind == A_Expr_Kind.AEXPR_OP and op == "=":
            other = self.column(node_value)
            if other is not None:  # a join: either side may be looked up by the other
                _add(self.use(table).joins, col)
                _add(self.use(other[0]).joins, other[1])
            elif _is_value(node_value):
                _add(self.use(table).equality, col)
        elif kind == A_Expr_Kind.AEXPR_IN:
            _add(self.use(table).equality, col)
        elif kind == A_Expr_Kind.AEXPR_BETWEEN or (
                kind == A_Expr_Kind.AEXPR_OP and op in _RANGE_OPS and _is_value(node_value)):
            _add(self.use(table).ranges, col)
        elif kind == A_Expr_Kind.AEXPR_OP and op == "@>":
            _add(self.use(table).jsonb_contains, col)
        elif kind in (A_Expr_Kind.AEXPR_LIKE, A_Expr_Kind.AEXPR_ILIKE):
            pattern = _literal(node_value)
            if pattern is None or pattern.startswith(("%", "_")):
                _add(self.use(table).contains_text, col)
            elif kind == A_Expr_Kind.AEXPR_LIKE:
                _add(self.use(table).ranges, col)  # a prefix: a btree range

    def sort(self, sort: Any) -> None:
        refs: list[tuple[str, str, str]] = []
        for item in sort:
            ref = self.column(item.node)
            if ref is None:
                return  # an expression or an unknown column: no index order serves it
            direction = "DESC" if item.sortby_dir == SortByDir.SORTBY_DESC else "ASC"
            refs.append((ref[0], ref[1], direction))
        if len({t for t, _, _ in refs}) == 1:
            self.use(refs[0][0]).sort = [(c, d) for _, c, d in refs]

    def selected(self, targets: Any) -> None:
        picked: dict[str, list[str]] = {}
        for target in targets:
            val = target.val
            if isinstance(val, ast.ColumnRef) and isinstance((val.fields or ())[-1], ast.A_Star):
                return
            refs = _column_refs(val)
            for ref in refs:
                resolved = self.column(ref)
                if resolved is None:
                    return
                _add(picked.setdefault(resolved[0], []), resolved[1])
        for table, use in self.uses.items():
            use.selected = picked.get(table, [])


def _column_refs(node: Any) -> list[Any]:
    found: list[Any] = []

    def walk(n: Any) -> None:
        if isinstance(n, ast.ColumnRef):
            found.append(n)
        elif isinstance(n, ast.Node):
            for name in getattr(n, "__slots__", ()):
                walk(getattr(n, name, None))
        elif isinstance(n, (tuple, list)):
            for item in n:
                walk(item)

    walk(node)
    return found


def _literal(node: Any) -> str | None:
    if isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
        return str(node.val.sval)
    return None


def _mirror(op: str) -> str:
    return {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def _quote(name: str) -> str:
    return name if name.isidentifier() and name == name.lower() else '"' + name.replace(
        '"', '""') + '"'


quote_ident = _quote
