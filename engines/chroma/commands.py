"""The Chroma command language: a small, safe subset of Python mirroring Chroma's client API.

A script is Python source parsed with :mod:`ast` (never evaluated). Each top-level
expression is one statement and must be a call:

* a collection method, ``<collection>.<method>(...)``::

      docs.query(query_texts=["dessert cooking"], n_results=5, where={"year": {"$gt": 2000}})
      docs.add(ids=["a"], documents=["apple pie"], metadatas=[{"kind": "dessert"}])
      docs.get(limit=10, include=["documents", "metadatas", "embeddings"])

  where ``<collection>`` is a bare name (``docs``) or, for names that are not Python
  identifiers, ``collection("my-docs")``;
* a top-level function: ``list_collections()``, ``create_collection("docs", metadata={...})``,
  ``get_collection("docs")``, ``get_or_create_collection("docs")``, ``delete_collection("docs")``.

Arguments are literals only: strings, numbers, ``True``/``False``/``None``, lists, tuples
and dicts of literals, and a unary minus on numbers. Anything else is rejected before
anything runs.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from engines.errors import ParseLimitExceeded, QuerySyntaxError, UnsupportedCommand

#: method -> (positional parameters, all accepted keyword parameters)
COLLECTION_METHODS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "query": ((), ("query_texts", "query_embeddings", "n_results", "where",
                   "where_document", "include", "ids")),
    "add": (("ids",), ("ids", "documents", "metadatas", "embeddings")),
    "upsert": (("ids",), ("ids", "documents", "metadatas", "embeddings")),
    "update": (("ids",), ("ids", "documents", "metadatas", "embeddings")),
    "get": (("ids",), ("ids", "where", "where_document", "limit", "offset", "include")),
    "delete": (("ids",), ("ids", "where", "where_document")),
    "count": ((), ()),
    "peek": (("limit",), ("limit",)),
    "modify": (("name",), ("name", "metadata")),
}

FUNCTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "list_collections": (("limit", "offset"), ("limit", "offset")),
    "create_collection": (("name",), ("name", "metadata", "get_or_create")),
    "get_collection": (("name",), ("name",)),
    "get_or_create_collection": (("name",), ("name", "metadata")),
    "delete_collection": (("name",), ("name",)),
}

#: the call that names a collection whose name is not a Python identifier
COLLECTION_FUNCTION = "collection"

SUPPORTED = (
    "collection methods: "
    + ", ".join(f"<collection>.{m}()" for m in COLLECTION_METHODS)
    + "; functions: "
    + ", ".join(f"{f}()" for f in FUNCTIONS)
    + f'; write {COLLECTION_FUNCTION}("my-name").query(...) for names that are not identifiers'
)


@dataclass
class Command:
    """One parsed statement: ``collection`` is ``None`` for top-level functions."""

    method: str
    collection: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedStatement:
    text: str
    line: int
    column: int


def split_script(script: str) -> list[ParsedStatement]:
    """One entry per top-level statement, with its source text and 1-based position."""
    module = _parse(script)
    lines = script.splitlines(keepends=True)
    out: list[ParsedStatement] = []
    for node in module.body:
        text = ast.get_source_segment(script, node)
        if text is None:  # pragma: no cover - CPython always records positions
            text = "".join(lines[node.lineno - 1:node.end_lineno])
        out.append(ParsedStatement(text=text.strip(), line=node.lineno,
                                   column=node.col_offset + 1))
    return out


def parse_command(text: str) -> Command:
    """Parse one statement into a :class:`Command`; reject anything outside the language."""
    module = _parse(text)
    if len(module.body) != 1:
        raise QuerySyntaxError(f"expected one statement, found {len(module.body)}",
                               statement=text)
    node = module.body[0]
    if not isinstance(node, ast.Expr) or not isinstance(node.value, ast.Call):
        raise _unsupported("only calls are allowed (no assignments, imports or other Python)",
                           node, text, True)
    call = node.value
    func = call.func
    if isinstance(func, ast.Name):
        if func.id not in FUNCTIONS:
            raise _unsupported(f"unknown function {func.id}()", func, text, True)
        positional, keywords = FUNCTIONS[func.id]
        return Command(method=func.id, kwargs=_arguments(call, func.id, positional, keywords, text))
    if isinstance(func, ast.Attribute):
        name = _collection_name(func.value, text)
        if func.attr not in COLLECTION_METHODS:
            raise _unsupported(f"unknown collection method .{func.attr}()", func, text, True)
        positional, keywords = COLLECTION_METHODS[func.attr]
        kwargs = _arguments(call, func.attr, positional, keywords, text)
        return Command(method=func.attr, collection=name, kwargs=kwargs)
    raise _unsupported("expected <collection>.<method>(...) or a function call", call, text, True)


def _parse(script: str) -> ast.Module:
    try:
        return ast.parse(script, mode="exec")
    except RecursionError:
        raise ParseLimitExceeded(
            "the script is nested too deeply to parse; split it or flatten the nesting",
            statement=script) from None
    except SyntaxError as exc:
        raise QuerySyntaxError(f"syntax error: {exc.msg}", statement=script,
                               line=exc.lineno, column=exc.offset, original=exc) from None


def _collection_name(node: ast.expr, text: str) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == COLLECTION_FUNCTION and len(node.args) == 1
            and not node.keywords):
        name = literal(node.args[0], text)
        if isinstance(name, str):
            return name
    raise _unsupported(
        f'a collection is a bare name or {COLLECTION_FUNCTION}("name")', node, text)


def _arguments(call: ast.Call, method: str, positional: tuple[str, ...],
               keywords: tuple[str, ...], text: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if len(call.args) > len(positional):
        allowed = ", ".join(positional) or "none"
        raise _unsupported(f"{method}() takes at most {len(positional)} positional "
                           f"argument(s) ({allowed}); pass the others by keyword",
                           call.args[len(positional)], text)
    for name, arg in zip(positional, call.args):
        kwargs[name] = literal(arg, text)
    for kw in call.keywords:
        if kw.arg is None:
            raise _unsupported("**kwargs is not supported", kw.value, text)
        if kw.arg not in keywords:
            raise _unsupported(
                f"{method}() has no argument {kw.arg!r}; supported: "
                + (", ".join(keywords) or "no arguments"), kw, text)
        if kw.arg in kwargs:
            raise QuerySyntaxError(f"{method}() got argument {kw.arg!r} twice", statement=text,
                                   line=kw.lineno, column=kw.col_offset + 1)
        kwargs[kw.arg] = literal(kw.value, text)
    return kwargs


def literal(node: ast.expr, text: str) -> Any:
    """The value of a literal expression; anything that would need evaluating is refused."""
    if isinstance(node, ast.Constant) and isinstance(
            node.value, (str, int, float, bool, type(None))):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [literal(e, text) for e in node.elts]
    if isinstance(node, ast.Dict):
        out: dict[Any, Any] = {}
        for key, value in zip(node.keys, node.values):
            if key is None:
                raise _unsupported("**dict unpacking is not supported", value, text)
            k = literal(key, text)
            if not isinstance(k, str):
                raise _unsupported("dictionary keys must be strings", key, text)
            out[k] = literal(value, text)
        return out
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, int | float)
            and not isinstance(node.operand.value, bool)):
        number = node.operand.value
        return -number if isinstance(node.op, ast.USub) else number
    raise _unsupported(
        "only literal values (strings, numbers, True/False/None, lists and dicts) are allowed",
        node, text)


def _unsupported(message: str, node: ast.AST, text: str,
                 list_supported: bool = False) -> UnsupportedCommand:
    if list_supported:
        message = f"{message}. Supported: {SUPPORTED}"
    return UnsupportedCommand(message, statement=text,
                              line=getattr(node, "lineno", None),
                              column=getattr(node, "col_offset", -1) + 1 or None)
