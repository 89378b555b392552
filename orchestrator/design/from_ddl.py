"""CREATE TABLE statements of any dialect sqlglot reads (MySQL, SQL Server, Oracle, ...)
as a :class:`~orchestrator.design.model.Design` for the sandbox's dialect: types and
defaults are transpiled by sqlglot; keys, unique constraints and foreign keys (with their
actions) are kept. Other statements are left out and listed."""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from engines.errors import InvalidRequest
from orchestrator.design.model import Column, Design, ForeignKey, Index, Table

SQLGLOT_DIALECTS = {"postgresql": "postgres", "sqlite": "sqlite"}


def design_from_ddl(ddl: str, read: str, dialect: str) -> Design:
    """``read``: sqlglot's name of the DDL's dialect (``mysql``, ``tsql``, ``oracle``...)."""
    write = SQLGLOT_DIALECTS[dialect]
    try:
        statements = sqlglot.parse(ddl, read=read or None)
    except (ParseError, ValueError) as exc:
        raise InvalidRequest(f"the DDL does not parse as {read or 'SQL'}: {exc}") from exc
    design = Design()
    for statement in statements:
        if statement is None:
            continue
        if not (isinstance(statement, exp.Create) and statement.kind == "TABLE"
                and isinstance(statement.this, exp.Schema)):
            design.left_out.append(statement.sql(dialect=write)[:80])
            continue
        design.tables.append(_table(statement.this, write))
    return design


def _name(node: exp.Expression | None) -> str:
    return node.name if node is not None else ""


def _table(schema: exp.Schema, write: str) -> Table:
    table = Table(_name(schema.this))
    for part in schema.expressions:
        if isinstance(part, exp.ColumnDef):
            _column(table, part, write)
        elif isinstance(part, exp.PrimaryKey):
            table.primary_key = [_name(e) for e in part.expressions]
        elif isinstance(part, exp.UniqueColumnConstraint) and isinstance(part.this, exp.Schema):
            table.indexes.append(Index(_name(part.this.this) or None,
                                       [_name(e) for e in part.this.expressions], unique=True,
                                       constraint=True))
        elif isinstance(part, (exp.Constraint, exp.ForeignKey)):
            for fk in ([part] if isinstance(part, exp.ForeignKey)
                       else part.find_all(exp.ForeignKey)):
                table.foreign_keys.append(_foreign_key(fk, _name(part.this) if isinstance(
                    part, exp.Constraint) else None))
            for pk in part.find_all(exp.PrimaryKey) if isinstance(part, exp.Constraint) else []:
                table.primary_key = [_name(e) for e in pk.expressions]
    return table


def _column(table: Table, definition: exp.ColumnDef, write: str) -> None:
    kind = definition.args.get("kind")
    column = Column(definition.name, kind.sql(dialect=write) if kind is not None else "text")
    for constraint in definition.constraints:
        kind_ = constraint.kind
        if isinstance(kind_, exp.NotNullColumnConstraint):
            column.nullable = bool(kind_.args.get("allow_null"))
        elif isinstance(kind_, exp.PrimaryKeyColumnConstraint):
            table.primary_key = [column.name]
            column.nullable = False
        elif isinstance(kind_, exp.UniqueColumnConstraint):
            table.indexes.append(Index(None, [column.name], unique=True, constraint=True))
        elif isinstance(kind_, exp.DefaultColumnConstraint):
            column.default = kind_.this.sql(dialect=write)
        elif isinstance(kind_, (exp.AutoIncrementColumnConstraint,
                                exp.GeneratedAsIdentityColumnConstraint)):
            column.identity = "serial"
        elif isinstance(kind_, exp.CommentColumnConstraint):
            column.note = kind_.this.name
        elif isinstance(kind_, exp.Reference):
            table.foreign_keys.append(_reference([column.name], kind_, None))
    table.columns.append(column)


def _foreign_key(fk: exp.ForeignKey, name: str | None) -> ForeignKey:
    columns = [_name(e) for e in fk.expressions]
    return _reference(columns, fk.args["reference"], name)


def _reference(columns: list[str], ref: exp.Reference, name: str | None) -> ForeignKey:
    target = ref.this
    ref_table = _name(target.this) if isinstance(target, exp.Schema) else _name(target)
    ref_columns = [_name(e) for e in target.expressions] if isinstance(target, exp.Schema) \
        else []
    actions: dict[str, str | None] = {"delete": None, "update": None}
    for option in ref.args.get("options") or []:
        text = str(option).upper()
        for event in actions:
            prefix = f"ON {event.upper()} "
            if text.startswith(prefix):
                action = text[len(prefix):].lower()
                actions[event] = None if action == "no action" else action
    return ForeignKey(columns, ref_table, ref_columns or columns, name,
                      actions["delete"], actions["update"])
