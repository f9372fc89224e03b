"""Seeds and exclusions as the SQL reads them: their template context (checked against
the id column), the WITH of their queries hoisted into the statement's, long id lists
in temporary tables, and their one-line note for the statement's header."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

from .dialects import Dialect, split_table_name
from .errors import InputError
from .render import statement_names
from .seed import Seed
from .template_data import AudienceContext
from .warehouse import Column, Warehouse


def audience_context(
    d: Dialect,
    seed: Seed,
    warehouse: Warehouse | None,
    id_name: str,
    id_column: Column | None = None,
    seed_as_given: Seed | None = None,
    role: str = "seed",
) -> AudienceContext:
    """An audience (the seed, or an exclusion: ``role``) for the templates. With a
    connection, its ids must be of the id column's kind (``id_name`` names it) (numbers or text): comparing
    a number with text fails on Redshift and Hive, and on DuckDB would compare as text."""
    given = seed_as_given or seed
    if given.kind == "ids" and id_column is not None:
        check_id_kind(f"the {role}'s ids", "text" if isinstance(given.values[0], str) else "number", id_column)
    # an exclusion's values (a two-column file) mean nothing: only its ids are read
    value_column = seed.value_column if role == "seed" else None
    value_name = given.value_column or "value" if role == "seed" and seed.weighted else None
    if seed.kind == "ids" and value_name:
        if len(seed.values) > d.max_inline_rows:
            raise InputError(
                f"a value-based seed of {len(seed.values):,} Python ids is more than one {d.name} statement inlines "
                f"({d.max_inline_rows:,} rows): load it into a table and use Seed.table(name, value=...), or run it "
                "with execute(), which loads it into a temporary table"
            )
        rows = tuple((d.id_literal(v), d.float_literal(a)) for v, a in zip(seed.values, seed.member_values or ()))
        return AudienceContext("ids", rows=rows, value=True, value_name=value_name)
    if seed.kind == "ids":
        return AudienceContext("ids", ids=tuple(d.id_literal(v) for v in seed.values))
    if seed.kind == "table":
        column = id_name if seed.column is None else seed.column
        if warehouse is not None:
            columns = {c.name: c for c in warehouse.columns(seed.table_name)}
            for kind, name in (("id", column), ("value", value_column)):
                if name is not None and name not in columns:
                    raise InputError(
                        f"{role} table {d.quote_table(seed.table_name)} has no column {name!r}: "
                        f"name its {kind} column among {', '.join(sorted(columns))}"
                    )
            if id_column is not None and given.kind == "table":
                check_id_kind(f"{role} table {d.quote_table(seed.table_name)}'s column {column!r}", columns[column].kind, id_column)
            if value_column is not None:
                _check_value_column(f"{role} table {d.quote_table(seed.table_name)}'s value column", columns[value_column])
        value = d.quote(value_column) if value_column else None
        return AudienceContext("table", table=d.quote_table(seed.table_name), column=d.quote(column), value=value, value_name=value_name)
    from .validate import query_id_column  # sqlglot, imported when a query needs it

    column = query_id_column(seed.sql or "", d, role=role, value_column=value_column)
    if warehouse is not None and id_column is not None:
        # the engine's names (PostgreSQL lower-cases unquoted ones) in the query's order
        selected = warehouse.query_columns(seed.sql or "")
        id_found, value_found = (selected[0], None) if value_column is None else _id_and_value(selected, value_column)
        check_id_kind(f"the {role} query's column", id_found.kind, id_column)
        if value_found is not None:
            _check_value_column(f"the {role} query's value column", value_found)
    value = d.quote(value_column) if value_column else None
    return AudienceContext("query", query=seed.sql, column=d.quote(column), value=value, value_name=value_name)


def hoist_query_ctes(
    d: Dialect, sources: list[tuple[str, AudienceContext]], tables: set[str], groups: int
) -> tuple[list[AudienceContext], tuple[tuple[str, str], ...]]:
    """The leading WITH of every seed or exclusion query, taken off the query (which then
    sits inside the statement's seed or exclusion CTE) for the statement's own WITH:
    neither Redshift nor Hive accepts a WITH inside a CTE. A name the statement already
    uses is an error that says so. Gives the sources without their WITH, and the CTEs."""
    taken = statement_names(groups) | tables
    hoisted: list[tuple[str, str]] = []
    without: list[AudienceContext] = []
    for role, source in sources:
        if source.kind == "query":
            from .validate import hoist_ctes  # sqlglot, imported when a query needs it

            ctes, query = hoist_ctes(source.query or "", d, taken, role=role)
            hoisted += ctes
            source = dataclasses.replace(source, query=query)
        without.append(source)
    return without, tuple(hoisted)


@contextlib.contextmanager
def ids_in_warehouse(warehouse: Warehouse, seed: Seed) -> Iterator[Seed]:
    """The seed as the SQL reads it: a long list of Python ids goes into a session-scoped
    temporary table (dropped afterwards) rather than one huge IN list."""
    limit = warehouse.dialect.max_inline_rows if seed.weighted else warehouse.dialect.max_inline_ids
    if seed.kind == "ids" and len(seed.values) > limit:
        with warehouse.temporary_ids(seed.values, seed.member_values) as table:
            yield Seed.table(table, column="seed_id", value="seed_value" if seed.weighted else None)
    else:
        yield seed


def seed_note(seed: Seed, given: Seed, id_column: str) -> str:
    """The seed in one line for the header: names cannot hold line breaks
    (check_identifier); a query can, so it is collapsed to one line and cut."""
    if given.kind == "ids":
        where = "inlined" if seed.kind == "ids" else "in the temporary table " + ".".join(split_table_name(seed.table_name or ""))
        return f"{len(given.values)} ids{' with values' if given.weighted else ''}, {where}"
    valued = f", value {seed.value_column}" if seed.value_column else ""
    if seed.kind == "table":
        return f"table {'.'.join(split_table_name(seed.table_name or ''))}, column {seed.column or id_column}{valued}"
    query = " ".join((seed.sql or "").split())
    return "query: " + (query if len(query) <= 60 else query[:60].rstrip() + " ...") + valued


def check_id_kind(what: str, kind: str, id_column: Column) -> None:
    """Ids (``kind``: number, text or other) must be of the id column's kind."""
    if kind == "other" or id_column.kind == "other" or kind == id_column.kind:
        return
    wanted = "integers" if id_column.kind == "number" else "text"
    raise InputError(
        f"{what} are {kind} but the id column {id_column.name!r} is {id_column.type_name}: give {wanted}, as the id column holds"
    )


def _id_and_value(selected: list[Column], value_name: str) -> tuple[Column, Column]:
    """A two-column seed query's id and value columns, as the engine describes them."""
    by_name = {c.name.lower(): c for c in selected}
    value = by_name.get(value_name.lower(), selected[1])
    return next(c for c in selected if c is not value), value


def _check_value_column(what: str, column: Column) -> None:
    """A value-based seed's values must be numbers."""
    if column.kind != "number" and column.kind != "other":
        raise InputError(f"{what} {column.name!r} is {column.type_name}, not a number: cast it to a number in the query or a view")
