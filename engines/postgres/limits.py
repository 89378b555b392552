"""What PostgreSQL input is refused before pglast's parser sees it.

pglast runs libpg_query in the worker process. Its grammar (bison) keeps its own stack
and stops cleanly at 10,000 nested parentheses, but left-deep chains are built without
that limit: ``SELECT 1+1+...`` with 40,000 terms (or as many ``::int`` casts,
``||``, ``UNION``, ``IS NULL``, ``COLLATE``) gives a parse tree 40,000 levels deep, and
walking it overflows the C stack: the whole worker dies with a segfault. Measured with
pglast 8: 20,000 terms parse, 25,000 crash.

:func:`check_nesting` estimates the depth of the tree with pglast's scanner, which is
iterative and never crashes: at each bracket level it counts the operator tokens since
the last list separator (``,``, ``AND``, ``OR``: their operands are siblings, not
nested), and the estimate is the sum of those counts along the open brackets plus the
number of open brackets. A statement whose estimate passes :data:`MAX_NESTING` (a tenth
of the depth that crashed) is refused with :class:`ParseLimitExceeded`.

The same scan counts the ``;`` of a script, so that a long script that does not parse
is refused as a whole instead of being re-split piece by piece
(:data:`MAX_FALLBACK_STATEMENTS`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pglast import parser

from engines.errors import ParseLimitExceeded

#: refuse statements nested deeper than this (the parser crashed at about 25,000)
MAX_NESTING = 2000
#: a script that does not parse is re-split piece by piece (to run the statements
#: before the bad one, like psql) only up to this many ``;``: each piece may be parsed
#: again joined with the next, which grows quadratically (8,000 took 73 s)
MAX_FALLBACK_STATEMENTS = 500

_OPEN = frozenset({"ASCII_40", "ASCII_91"})  # ( [
_CLOSE = frozenset({"ASCII_41", "ASCII_93"})  # ) ]
_SIBLINGS = frozenset({"ASCII_44", "AND", "OR"})  # , AND OR
_STATEMENT_END = "ASCII_59"  # ;
_NOT_OPERATORS = frozenset({"ASCII_46", "ASCII_58", "ASCII_36"})  # . : $
#: keywords that chain an expression or a query onto the one before it
_CHAINING_KEYWORDS = frozenset({
    "UNION", "INTERSECT", "EXCEPT", "IS", "ISNULL", "NOTNULL", "COLLATE", "NOT", "LIKE",
    "ILIKE", "SIMILAR", "BETWEEN", "IN_P", "AT", "OPERATOR",
})
_OPERATOR_TOKENS = frozenset({
    "Op", "TYPECAST", "NOT_EQUALS", "LESS_EQUALS", "GREATER_EQUALS", "EQUALS_GREATER",
    "COLON_EQUALS", "DOT_DOT",
})


def _is_operator(name: str) -> bool:
    if name in _OPERATOR_TOKENS or name in _CHAINING_KEYWORDS:
        return True
    return name.startswith("ASCII_") and name not in _NOT_OPERATORS


@dataclass
class ScriptShape:
    """What the scanner saw: the deepest nesting (and where), and how many ``;``."""

    deepest: int = 0
    where: int = 0
    semicolons: int = 0


def nesting_depth(script: str) -> tuple[int, int]:
    """The deepest estimated nesting of any statement of ``script``, and where (index)."""
    shape = scan_shape(script)
    return shape.deepest, shape.where


def scan_shape(script: str) -> ScriptShape:
    """Scan ``script`` (iteratively, never crashing) for its :class:`ScriptShape`."""
    try:
        tokens = parser.scan(script)
    except parser.ParseError:
        return ScriptShape()  # the parser will report the unterminated literal itself
    chains = [0]
    depth = deepest = where = semicolons = 0
    for token in tokens:
        name = token.name
        if name == _STATEMENT_END:
            chains, depth = [0], 0
            semicolons += 1
        elif name in _OPEN:
            chains.append(0)
            depth += 1
        elif name in _CLOSE:
            if len(chains) > 1:
                depth -= 1 + chains.pop()
        elif name in _SIBLINGS:
            depth -= chains[-1]
            chains[-1] = 0
        elif _is_operator(name):
            chains[-1] += 1
            depth += 1
        if depth > deepest:
            deepest, where = depth, token.start
    return ScriptShape(deepest, where, semicolons)


def check_nesting(script: str, limit: int = MAX_NESTING) -> ScriptShape:
    """Raise :class:`ParseLimitExceeded` when a statement of ``script`` nests too deep;
    else return the script's :class:`ScriptShape`."""
    shape = scan_shape(script)
    deepest, where = shape.deepest, shape.where
    if deepest > limit:
        line = script.count("\n", 0, where) + 1
        column = where - (script.rfind("\n", 0, where) + 1) + 1
        raise ParseLimitExceeded(
            f"statement nested or chained too deeply to parse safely (about {deepest:,} "
            f"levels, limit {limit:,}): a chain of operators, casts or UNIONs this long "
            "could crash the parser; split it into smaller statements",
            line=line, column=column)
    return shape
