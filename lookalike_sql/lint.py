"""Lint rendered SQL for constructs the real warehouse lacks.

The stand-in engines run more than the real ones (Spark runs UNPIVOT and VALUES that
Hive 2/3 lacks; PostgreSQL runs WIDTH_BUCKET and CORR that Redshift lacks), so a green
stand-in run means something only together with this lint. It also requires that the
statement parses with sqlglot in its dialect as one statement that is not a generic
``Command``.

Two kinds of checks: each dialect's ``forbidden`` regular expressions over the text (with
literals, quoted names and comments blanked), and the rules over the parsed statement
that the dialect names in ``rules`` (the functions in ``RULES`` below). A rule takes the
parsed statement and the dialect and returns its problems, each a line that starts with
where (``line N``) and ends with the fix."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from sqlglot import exp

from .dialects import Dialect, get_dialect
from .validate import nested_withs, parse_one_statement

#: String literals, quoted identifiers ("..." and `...`) and comments: what they hold is
#: data or a name, never a construct.
_QUOTED_OR_COMMENT = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"]|\"\")*\"|`(?:[^`]|``)*`|--[^\n]*")


def lint(sql: str, dialect: str | Dialect, *, parse: bool = True) -> list[str]:
    """Problems found in ``sql`` for ``dialect``; an empty list means clean. With
    ``parse=False`` a statement sqlglot cannot parse is not a problem (its rules are then
    not checked)."""
    d = get_dialect(dialect)
    code = _QUOTED_OR_COMMENT.sub("''", sql)  # literals, names and comments may say anything
    problems = [
        f"{d.name}: {reason}" for pattern, reason in d.forbidden if re.search(pattern, code, flags=re.IGNORECASE)
    ]
    try:
        tree = parse_one_statement(sql, d)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        if parse:
            problems.append(f"{d.name}: {exc}")
        return problems
    for rule in d.rules:
        problems += [f"{d.name}: {problem}" for problem in RULES[rule](tree, d)]
    return problems


def _line(node: exp.Expression) -> int | None:
    """The first line of the text ``node`` was parsed from, as far as sqlglot recorded it
    (it records the lines of names and literals)."""
    lines = [n.meta["line"] for n in node.walk() if "line" in n.meta]
    return min(lines) if lines else None


def _where(node: exp.Expression) -> str:
    line = _line(node)
    return f"line {line}" if line is not None else "somewhere"


def text_literal_columns(tree: exp.Expression, d: Dialect) -> list[str]:
    """A string literal that is a SELECT's output column on its own (bare or aliased, in
    any SELECT: a CTE, a derived table, each branch of a UNION ALL) must be CAST.

    Redshift, based on PostgreSQL 8.0.2
    (https://docs.aws.amazon.com/redshift/latest/dg/c_redshift-and-postgres-sql.html), types
    it as PostgreSQL 8 did: an untyped literal in a SELECT list keeps the type ``unknown``,
    and a later GROUP BY, ORDER BY, PARTITION BY or UNION on that column fails with "failed
    to find conversion function from unknown to text". PostgreSQL 10 types it as text, so
    the stand-in runs it (https://www.postgresql.org/docs/current/typeconv-select.html:
    "Prior to PostgreSQL 10 ... unspecified-type literals in a SELECT output list were left
    as type unknown").

    Not flagged: a literal inside an expression (a comparison, a function's argument, an IN
    list, a CASE condition), which takes its type from the expression; and a CASE whose
    results are all string literals. The UNION/CASE rule of PostgreSQL 8.0 says "If all
    inputs are of type unknown, resolve as type text"
    (https://www.postgresql.org/docs/8.0/typeconv-union-case.html), so such a CASE is a
    text column, not an unknown one. A UNION of literal branches would also resolve to
    text, but each branch is still flagged: a UNION of one branch is a plain SELECT, and
    Redshift users report the error for UNIONs too (OHDSI/SqlRender #66)."""
    problems = []
    for select in tree.find_all(exp.Select, bfs=False):
        for column in select.expressions:
            value = column.this if isinstance(column, exp.Alias) else column
            while isinstance(value, exp.Paren):
                value = value.this
            if isinstance(value, exp.Literal) and value.is_string:
                literal = value.sql(dialect=d.sqlglot_name)
                problems.append(
                    f"{_where(value)}: the text literal {literal} is a column of unknown type on Redshift (grouping, "
                    f"ordering or unioning it fails): write CAST({literal} AS VARCHAR(n))"
                )
    return problems


def with_inside_cte(tree: exp.Expression, d: Dialect, *, anywhere: bool) -> list[str]:
    """A CTE's body may not hold another WITH.

    Redshift, anywhere in the body (``anywhere=True``): "You can't specify another WITH
    clause inside a WITH clause subquery"
    (https://docs.aws.amazon.com/redshift/latest/dg/r_WITH_clause.html, Usage notes). The
    same page allows a WITH in a subquery of a SELECT (its example has one in the SELECT
    list); the rule reads "inside" as at any depth of the CTE's body.

    Hive, heading the body (``anywhere=False``): ``WITH a AS (WITH b AS (...) SELECT ...)``
    fails on Hive 2.3.9 with "Ambiguous table alias", while a WITH in a FROM subquery runs
    (measured; Hive's Common Table Expression page still says "The WITH clause is not
    supported within SubQuery Blocks": https://hive.apache.org/docs/latest/language/common-table-expression).

    Fix: list the inner CTEs in the statement's top-level WITH (validate.hoist_ctes does it
    for a user's query)."""
    problems, seen = [], set()
    for cte in tree.find_all(exp.CTE, bfs=False):
        for inner in nested_withs(cte, anywhere=anywhere):
            if id(inner) not in seen:
                seen.add(id(inner))
                problems.append(
                    f"{_where(inner)}: the CTE {cte.alias!r} holds another WITH, which {d.name} refuses: move its CTEs "
                    "to the statement's top-level WITH"
                )
    return problems


def reserved_aliases(tree: exp.Expression, d: Dialect) -> list[str]:
    """No unquoted column alias, table alias or CTE name may be a reserved word of the
    dialect (``Dialect.reserved_words``; for table aliases also ``reserved_table_aliases``).

    Redshift: https://docs.aws.amazon.com/redshift/latest/dg/r_pg_keywords.html ("You can
    use the reserved words with delimited identifiers"); PostgreSQL accepts several of them
    as aliases (e.g. ``AS raw``), so the stand-in does not catch it. Fix: another name, or
    the name in double quotes."""
    problems = []
    for node in tree.find_all(exp.Alias, exp.TableAlias, bfs=False):
        if isinstance(node, exp.Alias):
            names, what = [node.args.get("alias")], "column alias"
        else:
            names = [node.this, *node.columns]
            what = "CTE name" if isinstance(node.parent, exp.CTE) else "table alias"
        for name in names:
            if not isinstance(name, exp.Identifier) or name.quoted:
                continue
            word = name.name.upper()
            table_only = what == "table alias" and word in d.reserved_table_aliases
            if word in d.reserved_words or table_only:
                problems.append(
                    f"{_where(name)}: the {what} {name.name} is a reserved word of {d.name}: rename it, or quote it as "
                    f"{d.quote(name.name)}"
                )
    return problems


def _tables(node: exp.Expression) -> set[str]:
    """The qualifiers of the columns ``node`` reads ('' for a column named without one)."""
    return {column.table.lower() for column in node.find_all(exp.Column)}


def _is_equi_condition(condition: exp.Expression, right: str) -> bool:
    """True when one of the AND-ed terms of ``condition`` is ``x = y`` with columns on both
    sides, ``right``'s (the joined relation's alias or name) on one side only. A column
    named without a table is given the benefit of the doubt (no schema to resolve it)."""
    while isinstance(condition, exp.Paren):
        condition = condition.this
    for term in condition.flatten() if isinstance(condition, exp.And) else [condition]:
        while isinstance(term, exp.Paren):
            term = term.this
        if isinstance(term, exp.And):
            if _is_equi_condition(term, right):
                return True
            continue
        if not isinstance(term, exp.EQ):
            continue
        left_tables, right_tables = _tables(term.this), _tables(term.expression)
        if not left_tables or not right_tables:
            continue
        if "" in left_tables | right_tables:
            return True
        if (right in left_tables) != (right in right_tables):
            return True
    return False


def cartesian_products(tree: exp.Expression, d: Dialect) -> list[str]:
    """No join without an equality between columns of its two sides: CROSS JOIN, a comma
    join (``FROM a, b``), a JOIN without ON or USING, and ``ON 1=1``, ``ON TRUE`` or any ON
    condition whose AND-ed terms hold no ``left.col = right.col``. ``LATERAL VIEW`` is not
    a join (sqlglot keeps it apart, under ``laterals``).

    Hive 2.x refuses them at compile time ("Cartesian products are disabled for safety
    reasons"): ``hive.strict.checks.cartesian.product`` is true by default from 2.0
    (HIVE-12727) until 3.0 made it false (HIVE-18251,
    https://issues.apache.org/jira/browse/HIVE-18251); see
    https://cwiki.apache.org/confluence/display/Hive/Configuration+Properties#ConfigurationProperties-hive.strict.checks.cartesian.product.
    Fix: give both sides a key and join on it (a constant ``1 AS k`` on each side of a
    one-row join, ``ON a.k = b.k``). Reusable for any dialect: name it in ``rules``."""
    problems = []
    for join in tree.find_all(exp.Join, bfs=False):
        joined = join.this
        right = (joined.alias_or_name or "").lower()
        condition = join.args.get("on")
        if join.args.get("using") or join.args.get("method") == "NATURAL":
            continue
        name = right or "a subquery"
        if (join.args.get("kind") or "").upper() == "CROSS":
            what = f"CROSS JOIN {name} (or a comma join)"
        elif condition is None:
            what = f"JOIN {name} without ON" if join.args.get("side") or join.args.get("kind") else f"the comma join of {name}"
        elif not _is_equi_condition(condition, right):
            what = f"JOIN {name} ON {condition.sql(dialect=d.sqlglot_name)[:60]} (no equality of the two sides' columns)"
        else:
            continue
        problems.append(
            f"{_where(joined)}: {what} is a cartesian product, which {d.name} refuses by default "
            "(hive.strict.checks.cartesian.product): join on a key both sides carry, e.g. 1 AS k on each side, ON a.k = b.k"
        )
    return problems


#: The rules a dialect can name in ``Dialect.rules``.
RULES: dict[str, Callable[[exp.Expression, Dialect], list[str]]] = {
    "text-literal-columns": text_literal_columns,
    "with-inside-cte": functools.partial(with_inside_cte, anywhere=True),
    "with-heading-cte": functools.partial(with_inside_cte, anywhere=False),
    "reserved-aliases": reserved_aliases,
    "cartesian-products": cartesian_products,
}
