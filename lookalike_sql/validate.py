"""Checks on SQL text with sqlglot: user queries and rendered statements."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from .dialects import Dialect, get_dialect
from .errors import InputError


def parse_one_statement(sql: str, dialect: str | Dialect) -> exp.Expression:
    """Parse SQL in the dialect; refuse several statements, and sqlglot's generic
    ``Command`` (what it returns for text it does not understand)."""
    d = get_dialect(dialect)
    try:
        statements = [s for s in sqlglot.parse(sql, read=d.sqlglot_name) if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise InputError(f"the SQL does not parse as {d.name}: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise InputError(f"expected one SQL statement, found {len(statements)}: remove the extra statements")
    if isinstance(statements[0], exp.Command):
        raise InputError(f"sqlglot could not understand the SQL as {d.name} (parsed as a generic command)")
    return statements[0]


def single_select_column(query: str, dialect: str | Dialect) -> str:
    """The output column name of a seed query that must be ONE SELECT of ONE column."""
    tree = parse_one_statement(query, dialect)
    if not isinstance(tree, exp.Query):
        raise InputError(f"the seed query must be a SELECT, not {tree.key.upper()}: write SELECT <id column> FROM ...")
    names = tree.named_selects
    if len(tree.selects) != 1 or len(names) != 1 or names[0] in ("", "*"):
        raise InputError(
            "the seed query must select exactly one named column (the ids), e.g. SELECT member_srl FROM ..."
        )
    return names[0]
