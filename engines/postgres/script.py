"""Reading PostgreSQL scripts with PostgreSQL's own parser.

Why pglast
    pglast wraps libpg_query, which is the PostgreSQL server's scanner and bison grammar
    compiled as a library. Statement boundaries therefore come out exactly as the server
    sees them: ``$$``/``$tag$`` bodies, ``E''`` escapes, nested ``/* */`` comments,
    ``BEGIN ATOMIC`` bodies and ``;`` inside any of them need no special cases. sqlparse
    is a regex tokenizer that guesses (it has no grammar, so it cannot tell where a
    statement ends in general), and sqlglot is a multi-dialect transpiler with its own
    grammar that lags behind PostgreSQL's and rejects or rewrites valid statements. The
    parse tree pglast returns also tells what a statement *is* (a streamable ``SELECT``,
    ``COPY ... FROM STDIN``, ``ALTER ... OWNER TO``) without guessing from its text.

    Locations: libpg_query reports UTF-8 *byte* offsets; pglast converts them to
    character indices (``parse_sql``, ``split(only_slices=True)`` and ``ParseError``
    all give 0-based character indices), which is what we slice Python strings with.

psql scripts (:func:`read_psql_script`)
    Dumps and sample scripts are psql input, not plain SQL: they hold ``COPY ... FROM
    stdin;`` followed by data lines up to ``\\.``, and psql meta-commands (a line
    starting with a backslash, such as ``\\connect``). The reader cuts the text at lines
    that start with a backslash and lets the parser split each piece. When a piece holds
    a ``COPY ... FROM STDIN``, the parser stops at the first data line; everything from
    the line after the ``COPY`` statement up to the ``\\.`` line is its data. A
    backslash line that is really inside a string or dollar-quoted body shows up as an
    unterminated literal, and the piece is then extended past that line.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pglast import ast, parser
from pglast.enums import AlterTableType, ObjectType

from engines.base import Statement
from engines.errors import ParseLimitExceeded, QuerySyntaxError
from engines.postgres.limits import check_nesting

_BACKSLASH_LINE = re.compile(r"^[ \t]*\\", re.M)
_FIRST_WORD = re.compile(r"[A-Za-z]+")
# statements whose first keyword is one of these may need a closer look in a restore
_CLASSIFY_WORDS = frozenset({"ALTER", "COMMENT", "COPY", "CREATE", "DROP", "GRANT", "REVOKE",
                             "SET"})


@dataclass
class PgStatement(Statement):
    """A :class:`Statement` that also carries its parse tree (``None`` if unknown)."""

    node: Any = None
    #: set when the statement does not parse; running it raises this error (its line
    #: counts from the statement's first line, its column is the script's)
    error: QuerySyntaxError | None = None

    def raise_if_unparsed(self) -> None:
        """Raise (a fresh copy of, as the caller shifts its line) :attr:`error` if set."""
        bad = self.error
        if bad is not None:
            raise QuerySyntaxError(bad.message, statement=bad.statement, original=bad.original,
                                   line=bad.line, column=bad.column)


class LineIndex:
    """Maps 0-based character indices of a text to 1-based (line, column)."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, index)
        return line, index - self._starts[line - 1] + 1


def syntax_error(exc: parser.ParseError, text: str, offset: int = 0,
                 lines: LineIndex | None = None) -> QuerySyntaxError:
    """A :class:`QuerySyntaxError` for a pglast error in ``text[offset:]``."""
    message = str(exc.args[0]) if exc.args else str(exc)
    index = exc.args[1] if len(exc.args) > 1 and exc.args[1] is not None else None
    absolute = len(text) if index is None else offset + int(index)
    line, column = (lines or LineIndex(text)).position(absolute)
    return QuerySyntaxError(message, statement=None, original=exc, line=line, column=column)


def split_sql(script: str) -> list[PgStatement]:
    """Split ``script`` with the PostgreSQL grammar; lines/columns are 1-based.

    Raises :class:`QuerySyntaxError` (script line/column) when any of it does not parse.
    """
    try:
        raws = parser.parse_sql(script)
    except parser.ParseError as exc:
        raise syntax_error(exc, script) from exc
    return _statements(raws, script, 0, LineIndex(script), len(script))


def split_script(script: str) -> list[PgStatement]:
    """Split ``script`` like :func:`split_sql`, but a syntax error fails only its statement.

    As with psql, the statements before a bad one still run: when the whole script does
    not parse, it is cut at the ``;`` tokens of PostgreSQL's own scanner (so strings,
    dollar quotes and comments are safe) and parsed piece by piece. A piece that ends
    too early (a ``;`` inside a ``BEGIN ATOMIC`` body) is joined with the next one. The
    first piece that does not parse becomes the last statement, carrying its
    :attr:`PgStatement.error`; nothing after it is returned.
    """
    try:
        return split_sql(script)
    except QuerySyntaxError:
        pass
    lines = LineIndex(script)
    statements: list[PgStatement] = []
    start = 0
    for end in _semicolon_ends(script):
        piece = script[start:end]
        try:
            raws = parser.parse_sql(piece)
        except parser.ParseError as exc:
            at_end = len(exc.args) < 2 or exc.args[1] is None
            if at_end and end < len(script):
                continue  # incomplete: extend the piece to the next ";"
            statements.append(_bad_statement(exc, script, start, end, lines))
            return statements
        statements.extend(_statements(raws, script, start, lines, end))
        start = end
    return statements


def _semicolon_ends(script: str) -> list[int]:
    """Indices just after each ``;`` token of ``script``, then ``len(script)``."""
    try:
        tokens = parser.scan(script)
    except parser.ParseError as exc:  # unterminated literal: cut only before it
        stop = exc.args[1] if len(exc.args) > 1 and exc.args[1] is not None else 0
        try:
            tokens = parser.scan(script[:stop])
        except parser.ParseError:
            tokens = []
    ends = [t.end + 1 for t in tokens if t.name == "ASCII_59"]
    return [*ends, len(script)] if not ends or ends[-1] < len(script) else ends


def _bad_statement(exc: parser.ParseError, script: str, start: int, end: int,
                   lines: LineIndex) -> PgStatement:
    piece = script[start:end]
    first = start + len(piece) - len(piece.lstrip())
    line, column = lines.position(first)
    index = exc.args[1] if len(exc.args) > 1 and exc.args[1] is not None else None
    where = len(piece.rstrip()) if index is None else int(index)
    error_line, error_column = lines.position(start + where)
    message = str(exc.args[0]) if exc.args else str(exc)
    text = piece.strip().removesuffix(";").rstrip()
    error = QuerySyntaxError(message, statement=text, original=exc,
                             line=error_line - line + 1, column=error_column)
    return PgStatement(text, line, column, error=error)


def _statements(raws: Any, script: str, offset: int, lines: LineIndex,
                stop: int) -> list[PgStatement]:
    """:class:`PgStatement` objects for the pglast ``RawStmt`` nodes of ``script[offset:stop]``."""
    statements: list[PgStatement] = []
    for raw in raws:
        start = offset + (raw.stmt_location or 0)
        end = start + raw.stmt_len if raw.stmt_len else stop
        chunk = script[start:end]
        start += len(chunk) - len(chunk.lstrip())
        line, column = lines.position(start)
        statements.append(PgStatement(chunk.strip(), line, column, node=raw.stmt))
    return statements


def parse_one(text: str) -> Any:
    """The parse tree of the single statement ``text``, or ``None`` if it does not parse."""
    try:
        raws = parser.parse_sql(text)
    except parser.ParseError:
        return None
    return raws[0].stmt if len(raws) == 1 else None


# -- what a statement is ---------------------------------------------------------

def is_copy_from_stdin(node: Any) -> bool:
    return isinstance(node, ast.CopyStmt) and bool(node.is_from) and not node.filename


def is_copy_to_stdout(node: Any) -> bool:
    return isinstance(node, ast.CopyStmt) and not node.is_from and not node.filename


def is_streamable(node: Any) -> bool:
    """True for a query that can run behind a server-side cursor (``DECLARE ... FOR``).

    That is a ``SELECT``/``VALUES``/``TABLE`` without ``INTO``, without ``FOR UPDATE``
    (not allowed in a ``WITH HOLD`` cursor) and without data-modifying ``WITH`` parts.
    """
    if not isinstance(node, ast.SelectStmt) or node.intoClause is not None:
        return False
    if node.lockingClause:
        return False
    with_clause = node.withClause
    if with_clause is not None:
        for cte in with_clause.ctes or ():
            query = getattr(cte, "ctequery", None)
            if query is not None and not isinstance(query, ast.SelectStmt):
                return False
    return True


def skip_reason(node: Any) -> str | None:
    """Why a restore deliberately skips this statement, or ``None`` to run it.

    * ``CREATE/DROP DATABASE``: a sandbox *is* one database; the script's objects go
      into it, whatever database the script meant to create, drop or connect to.
    * ``ALTER ... OWNER TO``: like ``pg_restore --no-owner``, objects belong to the
      role that restores them (the dump's roles do not exist in a sandbox).
    * ``GRANT``/``REVOKE``/``ALTER DEFAULT PRIVILEGES``: like ``--no-privileges``, for
      the same reason; a sandbox has a single role.
    * ``COMMENT ON EXTENSION``: ``CREATE EXTENSION`` sets the extension's own comment, and
      extensions a sandbox did not create (``plpgsql``) belong to the server.

    Everything else runs with the restoring role's rights: a sandbox restores as its
    non-superuser owner, so a statement that needs more fails the restore.
    """
    if isinstance(node, (ast.CreatedbStmt, ast.DropdbStmt)):
        return "a sandbox is one database"
    if isinstance(node, ast.AlterOwnerStmt):
        return "owners are not restored (like pg_restore --no-owner)"
    if isinstance(node, ast.AlterTableStmt) and node.cmds and all(
        cmd.subtype == AlterTableType.AT_ChangeOwner for cmd in node.cmds
    ):
        return "owners are not restored (like pg_restore --no-owner)"
    if isinstance(node, (ast.GrantStmt, ast.GrantRoleStmt, ast.AlterDefaultPrivilegesStmt)):
        return "privileges are not restored (like pg_restore --no-privileges)"
    if isinstance(node, ast.CommentStmt) and node.objtype == ObjectType.OBJECT_EXTENSION:
        return "an extension keeps the comment it comes with"
    return None


def created_extension(node: Any) -> str | None:
    """The name of the extension a ``CREATE EXTENSION`` statement creates, else None."""
    return str(node.extname) if isinstance(node, ast.CreateExtensionStmt) else None


# -- psql scripts ------------------------------------------------------------------

@dataclass
class ScriptStep:
    """One thing to do while running a psql script.

    ``kind`` is ``sql`` (run ``text``), ``copy`` (run the ``COPY ... FROM STDIN``
    statement ``text`` fed with ``data``) or ``meta`` (a psql meta-command line).
    """

    kind: str
    text: str
    line: int
    node: Any = None
    data: str = ""
    #: for ``copy``: the script line of the first data line
    data_line: int = 0


def _classify(text: str) -> Any:
    word = _FIRST_WORD.match(text)
    if word is None or word.group(0).upper() not in _CLASSIFY_WORDS:
        return None
    return parse_one(text)


def _is_copy_in(text: str) -> bool:
    """True for ``COPY ... FROM STDIN`` (``text`` may start with comments)."""
    if text.startswith(("--", "/*")):
        try:
            tokens = parser.scan(text)
        except parser.ParseError:
            return False
        first = next((t for t in tokens if not t.name.endswith("_COMMENT")), None)
        if first is None:
            return False
        text = text[first.start:]
    word = _FIRST_WORD.match(text)
    return word is not None and word.group(0).upper() == "COPY" and is_copy_from_stdin(
        parse_one(text))


def _unterminated(exc: parser.ParseError) -> bool:
    message = str(exc.args[0]) if exc.args else ""
    index = exc.args[1] if len(exc.args) > 1 else None
    return index is None or message.startswith("unterminated")


def _line_after(text: str, index: int) -> int:
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def read_psql_script(text: str) -> Iterator[ScriptStep]:
    """The statements, COPY blocks and meta-commands of a psql script, in order.

    Raises :class:`QuerySyntaxError` (line/column in ``text``) where the SQL does not
    parse, or where a ``COPY`` block has no ``\\.`` terminator.
    """
    lines = LineIndex(text)
    size = len(text)
    pos = 0
    while pos < size:
        barrier = _BACKSLASH_LINE.search(text, pos)
        end = barrier.start() if barrier else size
        while True:
            window = text[pos:end]
            _refuse_deep_statements(window, pos, lines)
            error: parser.ParseError | None = None
            try:
                slices = parser.split(window, only_slices=True)
            except parser.ParseError as exc:
                error = exc
                stop = exc.args[1] if len(exc.args) > 1 and exc.args[1] is not None else end
                try:
                    slices = parser.split(window[:stop], with_parser=False, only_slices=True)
                except parser.ParseError:
                    slices = ()
            copy_at = next((i for i, s in enumerate(slices) if _is_copy_in(window[s])), None)
            if copy_at is not None:
                break
            if error is None:
                break
            if end < size and _unterminated(error):
                following = _BACKSLASH_LINE.search(text, _line_after(text, end))
                end = following.start() if following else size
                continue
            raise syntax_error(error, text, pos, lines)
        if copy_at is None:
            yield from _sql_steps(window, pos, slices, lines)
            pos = end
            if pos < size:
                after = _line_after(text, pos)
                yield ScriptStep("meta", text[pos:after].strip(), lines.position(pos)[0])
                pos = after
            continue
        # SQL up to and including the COPY statement, then its data up to "\."
        copy_slice = slices[copy_at]
        head = window[:copy_slice.stop]
        try:
            exact = parser.split(head, only_slices=True)
        except parser.ParseError as exc:
            raise syntax_error(exc, text, pos, lines) from exc
        yield from _sql_steps(head, pos, exact[:-1], lines)
        copy_text = head[exact[-1]]
        copy_line = lines.position(pos + exact[-1].start)[0]
        data_start = _line_after(text, pos + text[pos:end].index(";", copy_slice.stop))
        terminator = re.compile(r"^\\\.[ \t]*\r?$", re.M).search(text, data_start)
        if terminator is None:
            raise QuerySyntaxError("COPY data is not terminated by a line \\.",
                                   statement=copy_text, line=copy_line, column=1)
        yield ScriptStep("copy", copy_text, copy_line, node=parse_one(copy_text),
                         data=text[data_start:terminator.start()],
                         data_line=lines.position(data_start)[0])
        pos = _line_after(text, terminator.start())


def _refuse_deep_statements(window: str, offset: int, lines: LineIndex) -> None:
    """Refuse a statement of ``window`` nested deeper than the parser survives, before
    the parser sees it (a dump is user input too: see :mod:`engines.postgres.limits`).

    Pieces are cut by the scanner alone (it never crashes); a ``COPY ... FROM stdin``
    ends the SQL of the window (its data follows), and a scanner error (a quote in COPY
    data, say) ends it too: the parser reports what really is unterminated."""
    try:
        pieces = parser.split(window, with_parser=False, only_slices=True)
    except parser.ParseError as exc:
        stop = exc.args[1] if len(exc.args) > 1 and exc.args[1] is not None else 0
        try:
            pieces = parser.split(window[:stop], with_parser=False, only_slices=True)
        except parser.ParseError:
            pieces = ()
    for piece in pieces:
        statement = window[piece]
        try:
            check_nesting(statement)
        except ParseLimitExceeded as exc:
            line, _column = lines.position(offset + piece.start)
            exc.line = line + (exc.line or 1) - 1
            exc.statement = statement[:200]
            raise
        if _is_copy_in(statement):
            return


def _sql_steps(window: str, offset: int, slices: Any, lines: LineIndex) -> Iterator[ScriptStep]:
    for piece in slices:
        statement = window[piece]
        yield ScriptStep("sql", statement, lines.position(offset + piece.start)[0],
                         node=_classify(statement))

