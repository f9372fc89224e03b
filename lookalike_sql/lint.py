"""Lint rendered SQL for constructs the real warehouse lacks.

The stand-in engines run more than the real ones (Spark runs UNPIVOT and VALUES that
Hive 2/3 lacks; PostgreSQL runs WIDTH_BUCKET and CORR that Redshift lacks), so a green
stand-in run means something only together with this lint. It also requires that the
statement parses with sqlglot in its dialect as one statement that is not a generic
``Command``."""

from __future__ import annotations

import re

from .dialects import Dialect, get_dialect
from .validate import parse_one_statement

#: String literals, quoted identifiers ("..." and `...`) and comments: what they hold is
#: data or a name, never a construct.
_QUOTED_OR_COMMENT = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"]|\"\")*\"|`(?:[^`]|``)*`|--[^\n]*")


def lint(sql: str, dialect: str | Dialect, *, parse: bool = True) -> list[str]:
    """Problems found in ``sql`` for ``dialect``; an empty list means clean."""
    d = get_dialect(dialect)
    code = _QUOTED_OR_COMMENT.sub("''", sql)  # literals, names and comments may say anything
    problems = [
        f"{d.name}: {reason}" for pattern, reason in d.forbidden if re.search(pattern, code, flags=re.IGNORECASE)
    ]
    if parse:
        try:
            parse_one_statement(sql, d)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            problems.append(f"{d.name}: {exc}")
    return problems
