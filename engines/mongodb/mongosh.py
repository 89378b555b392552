"""mongosh syntax, parsed with a real JavaScript parser (esprima) into plain commands.

A script is a JavaScript program whose statements are expression statements
(separated by ``;`` or newlines). Each one must be a call chain rooted at ``db``::

    db.restaurants.find({rating: {$gte: 5}}, {name: 1}).sort({name: 1}).limit(10)
    db.getCollection("address book").insertOne({_id: ObjectId(), at: new Date()})
    db["orders"].aggregate([{$group: {_id: "$status", n: {$sum: 1}}}]).explain("executionStats")

:func:`split` returns one :class:`~engines.base.Statement` per expression statement,
:func:`parse_command` turns one statement into a :class:`Command` whose arguments are
already Python/BSON values (see :mod:`engines.mongodb.mongosh_values`). Nothing else of
JavaScript is evaluated: variables, functions, loops and unknown methods raise
:class:`~engines.errors.UnsupportedCommand`; a syntax error raises
:class:`~engines.errors.QuerySyntaxError` with the line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import esprima

from engines.base import Statement
from engines.errors import ParseLimitExceeded, QuerySyntaxError
from engines.mongodb.mongosh_values import evaluate, unsupported, where

#: argument shapes: "doc" (object), "list" (array), "docs" (object or array),
#: "str", "int", "bool", "index" (name or key document), "verbosity" (string or bool)
_Spec = tuple[int, tuple[str, ...]]

DB_METHODS: dict[str, _Spec] = {
    "getCollectionNames": (0, ()),
    "createCollection": (1, ("str", "doc")),
    "getCollection": (1, ("str",)),
    "runCommand": (1, ("doc",)),  # only the commands in commands.RUN_COMMANDS
}

COLLECTION_METHODS: dict[str, _Spec] = {
    "find": (0, ("doc", "doc")),
    "findOne": (0, ("doc", "doc")),
    "aggregate": (0, ("list", "doc")),
    "insertOne": (1, ("doc", "doc")),
    "insertMany": (1, ("list", "doc")),
    "updateOne": (2, ("doc", "docs", "doc")),
    "updateMany": (2, ("doc", "docs", "doc")),
    "replaceOne": (2, ("doc", "doc", "doc")),
    "deleteOne": (1, ("doc", "doc")),
    "deleteMany": (1, ("doc", "doc")),
    "countDocuments": (0, ("doc", "doc")),
    "estimatedDocumentCount": (0, ("doc",)),
    "distinct": (1, ("str", "doc", "doc")),
    "createIndex": (1, ("doc", "doc")),
    "dropIndex": (1, ("index",)),
    "getIndexes": (0, ()),
    "drop": (0, ()),
}

CHAIN_METHODS: dict[str, _Spec] = {
    "sort": (1, ("doc",)),
    "limit": (1, ("int",)),
    "skip": (1, ("int",)),
    "count": (0, ("bool",)),
    "toArray": (0, ()),
    "pretty": (0, ()),
    "explain": (0, ("verbosity",)),
}

#: which chained cursor methods each collection method allows
CHAINS: dict[str, frozenset[str]] = {
    "find": frozenset(CHAIN_METHODS),
    "aggregate": frozenset({"toArray", "pretty", "explain"}),
}

#: chained methods that end a chain
TERMINAL = frozenset({"count", "toArray", "explain"})


@dataclass
class Call:
    """One chained cursor method, e.g. ``.limit(5)``."""

    name: str
    args: list[Any]


@dataclass
class Command:
    """One parsed statement: ``db.<collection>.<method>(args).<chain>...``.

    ``collection`` is ``None`` for database methods (``db.getCollectionNames()``).
    """

    method: str
    args: list[Any]
    collection: str | None = None
    chain: list[Call] = field(default_factory=list)

    def arg(self, index: int, default: Any = None) -> Any:
        return self.args[index] if index < len(self.args) else default

    def modifier(self, name: str) -> Call | None:
        for call in self.chain:
            if call.name == name:
                return call
        return None

    @property
    def terminal(self) -> str | None:
        """``count``, ``toArray`` or ``explain`` when the chain ends with one."""
        if self.chain and self.chain[-1].name in TERMINAL:
            return self.chain[-1].name
        return None


def parse_program(script: str) -> Any:
    """The esprima AST of ``script``; a syntax error becomes QuerySyntaxError."""
    try:
        return esprima.parseScript(script, {"loc": True, "range": True})
    except RecursionError:
        raise ParseLimitExceeded(
            "the script is nested too deeply to parse; split it or flatten the nesting"
        ) from None
    except esprima.Error as exc:
        message = str(getattr(exc, "message", exc))
        if message.startswith("Line ") and ": " in message:
            message = message.split(": ", 1)[1]
        raise QuerySyntaxError(
            f"JavaScript syntax error: {message}",
            line=getattr(exc, "lineNumber", None),
            column=getattr(exc, "column", None),
            original=exc,
        ) from None


def _expression_statements(program: Any) -> list[Any]:
    found = []
    for node in program.body:
        if node.type == "EmptyStatement":
            continue
        if node.type != "ExpressionStatement":
            raise unsupported(f"a {node.type}", node)
        found.append(node)
    return found


def split(script: str) -> list[Statement]:
    """One statement per top-level expression statement, with its 1-based position.

    A syntax error does not sink the statements before it: the longest run of whole
    lines before the error that parses gives the statements that run, and the rest of
    the script becomes one last statement, which fails with the error at its own place
    (so a malformed statement 2 is reported on statement 2, after statement 1 ran)."""
    try:
        return _split_parsed(script)
    except QuerySyntaxError as exc:
        lines = script.splitlines(keepends=True)
        if exc.line is None or exc.line <= 1 or exc.line > len(lines):
            raise
        for end in range(exc.line - 1, 0, -1):
            head = "".join(lines[:end])
            try:
                statements = _split_parsed(head)
            except QuerySyntaxError:
                continue
            rest = "".join(lines[end:])
            if not statements or not rest.strip():
                raise
            lead = rest[:len(rest) - len(rest.lstrip())]  # blank lines and indentation
            return [*statements, Statement(
                text=rest.strip(), line=end + 1 + lead.count("\n"),
                column=len(lead) - (lead.rfind("\n") + 1) + 1)]
        raise


def _split_parsed(script: str) -> list[Statement]:
    statements = []
    for node in _expression_statements(parse_program(script)):
        expression = node.expression
        start, end = expression.range
        statements.append(Statement(text=script[start:end], line=expression.loc.start.line,
                                    column=expression.loc.start.column + 1))
    return statements


def parse_command(text: str) -> Command:
    """Parse exactly one mongosh statement into a :class:`Command`."""
    nodes = _expression_statements(parse_program(text))
    if len(nodes) != 1:
        raise QuerySyntaxError(f"expected one mongosh statement, found {len(nodes)}")
    try:
        return command_from_ast(nodes[0].expression)
    except RecursionError:
        raise ParseLimitExceeded(
            "the statement is nested too deeply to read; flatten the nesting", statement=text
        ) from None


# -- the call chain ---------------------------------------------------------

@dataclass
class _Link:
    """``.name`` (``args is None``) or ``(...)`` (a call with argument nodes).

    ``node`` is the property node for a name, the call node for a call (for positions).
    """

    node: Any
    name: str | None = None
    args: list[Any] | None = None


def _links(node: Any) -> tuple[Any, list[_Link]]:
    if node.type == "MemberExpression":
        root, links = _links(node.object)
        prop = node.property
        if not node.computed and prop.type == "Identifier":
            links.append(_Link(prop, name=prop.name))
        elif node.computed and prop.type == "Literal" and isinstance(prop.value, str):
            links.append(_Link(prop, name=prop.value))
        else:
            raise unsupported("a computed member access other than db[\"name\"]", node)
        return root, links
    if node.type == "CallExpression":
        root, links = _links(node.callee)
        links.append(_Link(node, args=list(node.arguments)))
        return root, links
    return node, []


def command_from_ast(expression: Any) -> Command:
    root, links = _links(expression)
    if root.type != "Identifier" or root.name != "db":
        what = f"the variable {root.name!r}" if root.type == "Identifier" else root.type
        raise unsupported(f"a statement that does not start with db ({what})", root)
    if not links or links[0].name is None:
        raise unsupported("calling db itself", expression)
    first = links[0].name
    if first in DB_METHODS and len(links) > 1 and links[1].args is not None:
        args = _arguments(first, DB_METHODS[first], links[1])
        if first != "getCollection":
            if len(links) > 2:
                raise unsupported(f"chaining after db.{first}()", links[2].node)
            return Command(method=first, args=args)
        return _collection_command(str(args[0]), links[2:], expression)
    return _collection_command(None, links, expression)


def _collection_command(collection: str | None, links: list[_Link], whole: Any) -> Command:
    names: list[str] = [collection] if collection is not None else []
    i = 0
    while i < len(links) and links[i].name is not None and (
        i + 1 >= len(links) or links[i + 1].args is None
    ):
        names.append(str(links[i].name))  # db.a.b.find() addresses collection "a.b"
        i += 1
    if i >= len(links):
        raise unsupported("a bare collection without a method call", whole)
    method = links[i].name
    if method is None:
        raise unsupported(f"calling the collection {'.'.join(names)!r}", links[i].node)
    if not names:
        raise unsupported(f"the database method db.{method}()", links[i].node)
    if method not in COLLECTION_METHODS:
        raise unsupported(f"the collection method {method}()", links[i].node)
    command = Command(method=method, collection=".".join(names),
                      args=_arguments(method, COLLECTION_METHODS[method], links[i + 1]))
    command.chain = _chain(method, links[i + 2:])
    return command


def _chain(method: str, links: list[_Link]) -> list[Call]:
    calls: list[Call] = []
    allowed = CHAINS.get(method, frozenset())
    for j in range(0, len(links), 2):
        link = links[j]
        if link.name is None or j + 1 >= len(links) or links[j + 1].args is None:
            raise unsupported("a property access on a result", link.node)
        if link.name not in allowed:
            raise unsupported(f".{link.name}() after {method}()", link.node)
        if calls and calls[-1].name in TERMINAL:
            raise unsupported(f".{link.name}() after .{calls[-1].name}()", link.node)
        args = _arguments(link.name, CHAIN_METHODS[link.name], links[j + 1])
        if link.name != "pretty":
            calls.append(Call(link.name, args))
    return calls


def _arguments(name: str, spec: _Spec, call: _Link) -> list[Any]:
    required, shapes = spec
    nodes = call.args or []
    if not required <= len(nodes) <= len(shapes):
        expected = (f"{required}" if required == len(shapes)
                    else f"{required} to {len(shapes)}")
        line, column = where(call.node)
        raise QuerySyntaxError(f"{name}() takes {expected} argument(s), got {len(nodes)}",
                               line=line, column=column)
    values = []
    for position, (node, shape) in enumerate(zip(nodes, shapes), 1):
        value = evaluate(node)
        if not _fits(value, shape):
            line, column = where(node)
            raise QuerySyntaxError(
                f"{name}() argument {position} must be {_SHAPE_NAMES[shape]}",
                line=line, column=column)
        values.append(value)
    return values


_SHAPE_NAMES = {
    "doc": "a document {...}",
    "list": "an array [...]",
    "docs": "a document or a pipeline array",
    "str": "a string",
    "int": "a whole number",
    "bool": "true or false",
    "index": "an index name or key document",
    "verbosity": "a verbosity string or a boolean",
}


def _fits(value: Any, shape: str) -> bool:
    if shape == "doc":
        return isinstance(value, dict)
    if shape == "list":
        return isinstance(value, list)
    if shape == "docs":
        return isinstance(value, (dict, list))
    if shape == "str":
        return isinstance(value, str)
    if shape == "int":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if shape == "bool":
        return isinstance(value, bool)
    if shape == "index":
        return isinstance(value, (str, dict))
    if shape == "verbosity":
        return isinstance(value, (str, bool))
    return True
