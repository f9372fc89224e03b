"""Checks on SQL text with sqlglot: user queries and rendered statements."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.generator import Generator

from .dialects import Dialect, get_dialect
from .errors import InputError

#: Functions that change state although called from a SELECT (sequences, settings, other
#: sessions, large objects, remote writes). A seed query may read anything the analyst can
#: read, but may not call these. The real protection is read-only credentials (SECURITY.md).
STATE_CHANGING_FUNCTIONS = frozenset(
    {
        "nextval", "setval", "set_config", "pg_terminate_backend", "pg_cancel_backend",
        "pg_reload_conf", "pg_rotate_logfile", "lo_import", "lo_export", "lo_unlink", "lo_create",
        "dblink_exec", "pg_advisory_lock", "pg_advisory_xact_lock", "pg_sleep", "reflect", "java_method",
    }
)


def parse_one_statement(sql: str, dialect: str | Dialect) -> exp.Expression:
    """Parse SQL in the dialect; refuse several statements, and sqlglot's generic
    ``Command`` (what it returns for text it does not understand)."""
    d = get_dialect(dialect)
    try:
        statements = [s for s in sqlglot.parse(sql, read=d.sqlglot_name) if s is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        raise InputError(f"the SQL does not parse as {d.name}: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise InputError(f"expected one SQL statement, found {len(statements)}: remove the extra statements")
    if isinstance(statements[0], exp.Command):
        raise InputError(f"sqlglot could not understand the SQL as {d.name} (parsed as a generic command)")
    return statements[0]


def query_id_column(query: str, dialect: str | Dialect, role: str = "seed", value_column: str | None = None) -> str:
    """The id column's name in a user query that must be ONE read-only SELECT of ONE
    column (with ``value_column``, of two: the ids and the values): no second statement,
    no DDL/DML anywhere in it (a data-modifying CTE, SELECT INTO), no row locks, no
    state-changing function, and nothing that escapes the parentheses it is placed in."""
    d = get_dialect(dialect)
    if any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") and c not in "\t\n\r" for c in query):
        raise InputError(f"the {role} query contains a control character or a Unicode line separator: remove it")
    d.check_text(query, f"the {role} query")
    if d.name == "redshift" and "\\" in query:
        raise InputError(
            f"the {role} query contains a backslash, which Redshift and PostgreSQL read differently in a string: "
            "write a quote inside a string as ''"
        )
    tree = parse_one_statement(query, d)
    if not isinstance(tree, exp.Query):
        raise InputError(f"the {role} query must be a SELECT, not {tree.key.upper()}: write SELECT <id column> FROM ...")
    for node in tree.walk():
        if isinstance(node, (exp.DDL, exp.DML, exp.Command, exp.Merge)):
            raise InputError(f"the {role} query contains {node.key.upper()}: it may only read (one SELECT)")
        if isinstance(node, exp.Into):
            raise InputError(f"the {role} query uses SELECT ... INTO, which creates a table: remove the INTO clause")
        if isinstance(node, exp.Lock):
            raise InputError(f"the {role} query locks rows (FOR UPDATE/SHARE): remove the locking clause")
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in STATE_CHANGING_FUNCTIONS:
                raise InputError(f"the {role} query calls {name}(), which changes state: a {role} query may only read")
    names = tree.named_selects
    wanted = 1 if value_column is None else 2
    if len(tree.selects) != wanted or len(names) != wanted or any(name in ("", "*") for name in names):
        if value_column is None:
            raise InputError(f"the {role} query must select exactly one named column (the ids), e.g. SELECT member_srl FROM ...")
        raise InputError(
            f"the {role} query must select exactly two named columns, the ids and {value_column!r}, e.g. SELECT member_srl, {value_column} FROM ..."
        )
    _check_embeds(query, tree, d, role)
    if value_column is None:
        return names[0]
    if value_column not in names or names[0] == names[1]:
        raise InputError(f"the {role} query selects {names[0]!r} and {names[1]!r}: one of them must be the value column {value_column!r}")
    return names[1 - names.index(value_column)]


def _check_embeds(query: str, tree: exp.Expression, d: Dialect, role: str) -> None:
    """The templates place the query, as written, in ``FROM (\\n<query>\\n) alias``. Parse
    it in that place: it must come back as the same query, as one subquery (so no comment
    or parenthesis in it reaches the surrounding statement)."""
    wrapped = f"SELECT lookalike_check.* FROM (\n{query}\n) lookalike_check"
    try:
        outer = sqlglot.parse(wrapped, read=d.sqlglot_name)
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
        outer = []
    source = outer[0].args.get("from_", outer[0].args.get("from")) if len(outer) == 1 and isinstance(outer[0], exp.Select) else None
    subquery = source.this if source is not None else None
    if not isinstance(subquery, exp.Subquery) or subquery.this != tree or subquery.alias != "lookalike_check":
        raise InputError(f"the {role} query does not stay one subquery when placed in the statement: remove stray comments or parentheses")


def filter_expression(text: str, dialect: str | Dialect, columns: list[str] | None = None) -> str:
    """A population filter, validated, as it goes into ``WHERE (\\n<text>\\n)``: one
    boolean expression over the population's own columns (named plainly, checked against
    ``columns`` when known), with no subquery, aggregate, window or state-changing
    function, and nothing that escapes its parentheses."""
    d = get_dialect(dialect)
    if not isinstance(text, str) or not text.strip():
        raise InputError("the population filter is empty: give a condition such as country = 'KR', or leave it out")
    if any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") and c not in "\t\n\r" for c in text):
        raise InputError("the population filter contains a control character or a Unicode line separator: remove it")
    d.check_text(text, "the population filter")
    if d.name == "redshift" and "\\" in text:
        raise InputError("the population filter contains a backslash, which Redshift and PostgreSQL read differently: remove it")
    wrapped = f"SELECT 1 FROM lookalike_population WHERE (\n{text}\n)"
    try:
        parsed = [s for s in sqlglot.parse(wrapped, read=d.sqlglot_name) if s is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        raise InputError(f"the population filter does not parse as a {d.name} condition: {str(exc).splitlines()[0]}") from None
    where = parsed[0].args.get("where") if len(parsed) == 1 and isinstance(parsed[0], exp.Select) else None
    if where is None or len(parsed[0].expressions) != 1 or not isinstance(where.this, exp.Paren):
        raise InputError("the population filter must be one condition (it may not close its parentheses or add clauses)")
    try:
        alone = sqlglot.parse_one(text, read=d.sqlglot_name)
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        raise InputError(f"the population filter does not parse as a {d.name} condition: {str(exc).splitlines()[0]}") from None
    if where.this.this != alone:
        raise InputError("the population filter must be one condition (it may not close its parentheses or add clauses)")
    for node in alone.walk():
        if isinstance(node, (exp.Query, exp.Subquery, exp.DDL, exp.DML, exp.Command)):
            raise InputError("the population filter may not hold a query: use a condition on the population's columns")
        if isinstance(node, (exp.AggFunc, exp.Window)):
            raise InputError("the population filter may not aggregate: use a condition on each customer's own columns")
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in STATE_CHANGING_FUNCTIONS:
                raise InputError(f"the population filter calls {name}(), which changes state: it may only read")
        if isinstance(node, exp.Column):
            if node.table:
                raise InputError(f"the population filter names {node.sql(d.sqlglot_name)}: name the population's columns without a table")
            if columns is not None and node.name.lower() not in {c.lower() for c in columns}:
                raise InputError(f"the population filter names {node.name!r}, which the population does not hold: choose among its columns")
    return text


def _with_clause(node: exp.Expression) -> exp.With | None:
    return node.args.get("with_") or node.args.get("with")


def nested_withs(cte: exp.CTE, *, anywhere: bool) -> list[exp.With]:
    """The WITH clauses inside the body of ``cte``: anywhere in it (``anywhere=True``), or
    only those heading it (its own query, or a branch of its UNION/INTERSECT/EXCEPT)."""
    if anywhere:
        return list(cte.this.find_all(exp.With))
    found: list[exp.With] = []
    todo: list[exp.Expression] = [cte.this]
    while todo:
        node = todo.pop()
        if isinstance(node, (exp.Subquery, exp.Paren)):  # parentheses around the body or a branch
            todo.append(node.this)
            continue
        clause = _with_clause(node)
        if clause is not None:
            found.append(clause)
        if isinstance(node, exp.SetOperation):
            todo += [node.this, node.expression]
    return found


def _writer(d: Dialect) -> Generator:
    """sqlglot's generator for the dialect, writing text literals as ``Dialect.string_literal``
    does (sqlglot writes Redshift's 'o''brien' as 'o\\'brien', which Redshift reads alike
    but PostgreSQL, its stand-in, does not) and leaving every WITH where it is."""
    return _writer_class(d.sqlglot_name, d.string_quote_escape == "''")(dialect=d.sqlglot_name, comments=False)


@lru_cache(maxsize=None)
def _writer_class(sqlglot_name: str, standard: bool) -> type[Generator]:
    dialect = sqlglot.Dialect.get_or_raise(sqlglot_name)

    class Writer(dialect.generator_class):  # type: ignore[name-defined,misc]
        # sqlglot's Hive writer lifts a WITH out of a subquery to the top of what it writes:
        # a CTE's body would then start with WITH, which Hive refuses. Keep WITHs in place.
        EXPRESSIONS_WITHOUT_NESTED_CTES: set[type[exp.Expression]] = set()

        def literal_sql(self, expression: exp.Literal) -> str:
            if standard and expression.is_string:
                return "'" + expression.this.replace("'", "''") + "'"
            return super().literal_sql(expression)

    return Writer


def _faithful_sql(node: exp.Expression, d: Dialect, role: str, original: str) -> str:
    """``node`` written in the dialect, after checking that the text parses back to the same
    tree (names quoted or not as they were, the same literals, functions and clauses) and
    holds no backslash the ``original`` text lacked (an escape Redshift and PostgreSQL
    read differently), so writing it did not change what the query means. Comments are
    dropped."""
    text = _writer(d).generate(node, copy=True)
    try:
        back = sqlglot.parse_one(text, read=d.sqlglot_name)
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
        back = None
    if back != node or ("\\" in text and "\\" not in original):
        raise InputError(
            f"the {role} query's WITH cannot be moved into the statement unchanged (sqlglot does not write it back as "
            f"{d.name} faithfully): write the query with subqueries instead of WITH"
        )
    return text


def hoist_ctes(query: str, dialect: str | Dialect, taken: set[str], *, role: str = "seed") -> tuple[list[tuple[str, str]], str]:
    """Take the leading WITH off a validated user query (see ``query_id_column``), so its
    CTEs can join the statement's own top-level WITH: a CTE's body may not hold another
    WITH on Redshift ("You can't specify another WITH clause inside a WITH clause
    subquery": https://docs.aws.amazon.com/redshift/latest/dg/r_WITH_clause.html) nor on
    Hive 2.3 (``WITH a AS (WITH b AS (...) SELECT ...)`` fails with "Ambiguous table alias").

    Returns ``(ctes, select)``: ``ctes`` lists ``(name, body)`` in the query's order (a CTE
    may read the ones before it, so place them in this order, before any CTE that reads
    ``select``), ``name`` as written in SQL (quoted if the query quoted it) and ``body`` the
    CTE's query in the dialect; ``select`` is the rest of the query. A query without WITH
    comes back as it was: ``([], query)``. Bodies and ``select`` are written by sqlglot and
    checked to parse back to the same tree; comments are dropped.

    ``taken`` holds the names the CTEs may not use, compared without regard to case (all
    three warehouses fold or ignore it): the statement's CTE names and every table it
    reads by an unqualified name (a CTE of that name would shadow the table). The hoisted
    names are added to it, so a second query hoisted with the same set cannot reuse them.
    A clash is an ``InputError`` naming the CTE.

    A WITH deeper in the query (in a FROM subquery) stays where it is, except on Redshift:
    its documentation allows a WITH in a subquery of a SELECT, but not inside a WITH
    clause subquery, and the statement places the user's query inside its seed CTE, so
    such a query is refused. On Hive a WITH in a FROM subquery runs (Hive 2.3.9), although
    the Common Table Expression page says "The WITH clause is not supported within SubQuery
    Blocks" (https://hive.apache.org/docs/latest/language/common-table-expression)."""
    d = get_dialect(dialect)
    tree = parse_one_statement(query, d)
    leading = _with_clause(tree)
    if "with-inside-cte" in d.rules and any(w is not leading for w in tree.find_all(exp.With)):
        raise InputError(
            f"the {role} query has a WITH inside a subquery, which {d.name} refuses once the query is placed in the "
            f"statement's WITH: move those CTEs to the {role} query's leading WITH"
        )
    if leading is None:
        return [], query
    if leading.args.get("recursive"):
        raise InputError(f"the {role} query uses WITH RECURSIVE, which cannot join the statement's WITH: write it without recursion")
    names = {name.lower() for name in taken}
    found: list[str] = []
    ctes: list[tuple[str, str]] = []
    for cte in leading.expressions:
        alias = cte.args["alias"]
        name = alias.name
        if alias.columns:
            raise InputError(f"the {role} query's CTE {name!r} lists its column names after its name: name the columns in its SELECT instead")
        if "with-heading-cte" in d.rules and nested_withs(cte, anywhere=False):
            raise InputError(f"the {role} query's CTE {name!r} holds another WITH, which {d.name} refuses: write those CTEs one after the other")
        if name.lower() in names:
            raise InputError(
                f"the {role} query's CTE name {name!r} is already used in the statement (by its own CTEs or tables, or another "
                f"query's CTEs): rename the CTE in the {role} query"
            )
        names.add(name.lower())
        found.append(name)
        ctes.append((alias.this.sql(dialect=d.sqlglot_name), _faithful_sql(cte.this, d, role, query)))
    rest = tree.copy()
    rest.set("with_" if "with_" in rest.args else "with", None)
    select = _faithful_sql(rest, d, role, query)
    taken.update(found)
    return ctes, select
