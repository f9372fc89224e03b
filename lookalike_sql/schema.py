"""What the warehouse says about the population: the feature columns of a wide
population's tables, the features of a long table, the columns a population filter may
name, and the unqualified tables a statement reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dialects import Dialect, split_table_name
from .errors import InputError
from .population import Long, Wide
from .render import render
from .seed import Seed
from .warehouse import Column, Warehouse

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .model import Lookalike


TableKey = tuple[str, ...]


def table_key(table: str | tuple[str, ...]) -> TableKey:
    return split_table_name(table)


def resolve_wide_columns(
    model: Lookalike, population: Wide, warehouse: Warehouse | None
) -> tuple[dict[TableKey, list[str]], set[str], Column | None]:
    """The feature columns of each table of a wide population (empty when there is no
    connection and one table: the features are then the model's list), those already
    of the 8-byte float type, and the id column (None without a connection)."""
    if warehouse is None:
        if len(population.tables) > 1:
            raise InputError(
                f"a population split over {len(population.tables)} tables needs a connection to find each "
                "feature's table: pass connection= (--url)"
            )
        if model.features is None:
            raise InputError(
                "the features are unknown without a connection: pass features=[...] (--features) or a connection (--url)"
            )
        return {}, set(), None
    wanted = set(model.features) if model.features is not None else None
    found: dict[TableKey, list[str]] = {}
    owner: dict[str, str] = {}
    doubles: set[str] = set()
    id_column: Column | None = None
    for table in population.tables:
        columns = {c.name: c for c in warehouse.columns(table)}
        quoted = warehouse.dialect.quote_table(table)
        if model.id_column not in columns:
            raise InputError(f"id column {model.id_column!r} is not in table {quoted}: choose one of {column_names(columns)}")
        id_column = id_column or columns[model.id_column]
        names = []
        for c in columns.values():
            if c.name == model.id_column or (wanted is not None and c.name not in wanted):
                continue
            if wanted is None and not c.is_numeric:
                continue
            if c.name in owner:
                raise InputError(f"column {c.name!r} is in both {owner[c.name]} and {quoted}: list the features to use (--features)")
            if not c.is_numeric:
                raise InputError(
                    f"feature column {c.name!r} is not numeric ({c.type_name}) in table {quoted}: "
                    "cast it to a number in a view, or leave it out"
                )
            owner[c.name] = quoted
            names.append(c.name)
            if c.is_double:
                doubles.add(c.name)
        found[table_key(table)] = names
    if wanted is not None:
        absent = [name for name in model.features or [] if name not in owner]
        if absent:
            tables = ", ".join(warehouse.dialect.quote_table(t) for t in population.tables)
            raise InputError(f"feature column {absent[0]!r} is not in table {tables}: choose from {column_names(columns)}")
        # keep the model's order
        order = {name: i for i, name in enumerate(model.features or [])}
        found = {t: sorted(names, key=order.__getitem__) for t, names in found.items()}
    if not owner:
        tables = ", ".join(warehouse.dialect.quote_table(t) for t in population.tables)
        raise InputError(f"{tables} has no numeric column besides {model.id_column!r}: there is nothing to compare")
    return found, doubles, id_column


def resolve_long_features(model: Lookalike, population: Long, warehouse: Warehouse | None) -> tuple[list[str], Column | None]:
    """The candidate features of a long table, and its id column (None without a connection)."""
    unknown = [name for name in population.fills if model.features is not None and name not in model.features]
    if unknown:
        raise InputError(f"fills names {unknown[0]!r}, which is not a candidate feature: remove it or add the feature")
    if warehouse is None:
        if model.features is None:
            raise InputError(
                "the features of a long table are unknown without a connection: pass features=[...] (--features) or a connection (--url)"
            )
        return list(model.features), None
    d = warehouse.dialect
    table = d.quote_table(population.table)
    columns = {c.name: c for c in warehouse.columns(population.table)}
    for role, name in (("id", model.id_column), ("feature", population.feature_column), ("value", population.value_column)):
        if name not in columns:
            raise InputError(f"the long table {table} has no {role} column {name!r}: choose one of {column_names(columns)}")
    if not columns[population.value_column].is_numeric:
        raise InputError(f"the value column {population.value_column!r} of {table} is not numeric: cast it in a view")
    if population.ids is not None and model.id_column not in {c.name for c in warehouse.columns(population.ids)}:
        raise InputError(f"the ids table {d.quote_table(population.ids)} has no column {model.id_column!r}: name the id column")
    if model.features is not None:
        return list(model.features), columns[model.id_column]
    features = long_feature_names(warehouse, population)
    if not features:
        raise InputError(f"the long table {table} has no rows: there is nothing to compare")
    unknown = [name for name in population.fills if name not in features]
    if unknown:
        raise InputError(f"fills names {unknown[0]!r}, which {table} does not hold: check the name")
    return features, columns[model.id_column]


def long_feature_names(warehouse: Warehouse, population: Long) -> list[str]:
    """The distinct feature names of a long table, sorted. Rows whose name is NULL belong to
    no feature: no statement reads them, and they are not a candidate (not "None")."""
    d = warehouse.dialect
    table, feature = d.quote_table(population.table), d.quote(population.feature_column)
    sql = render("feature_names.sql.j2", d, table=table, feature_col=feature)
    return sorted(str(name) for name in warehouse.run_step(f"reading the feature names of {table}", sql).iloc[:, 0])


def tables_read(model: Lookalike, seed: Seed, exclusions: Sequence[Seed]) -> set[str]:
    """The tables the statement reads by an unqualified name: a user CTE of that name
    would take their place."""
    population = model.population
    tables = list(population.tables) if isinstance(population, Wide) else [population.table, population.ids]
    tables += [s.table_name for s in (seed, *exclusions) if s.kind == "table"]
    return {split_table_name(t)[0] for t in tables if t is not None and len(split_table_name(t)) == 1}


def filter_condition(model: Lookalike, d: Dialect, population_filter: str | None, warehouse: Warehouse | None) -> str | None:
    """The population filter as it goes into the SQL, once validated: one boolean
    expression over the population's own columns (the ids table's, when long)."""
    if population_filter is None:
        return None
    population = model.population
    if isinstance(population, Long) and population.ids is None:
        raise InputError("a population filter on a long table needs its ids table (ids=, --ids-table), whose columns it reads")
    columns = None
    if warehouse is not None:
        if isinstance(population, Long):
            columns = [c.name for c in warehouse.columns(population.ids)]
        elif len(population.tables) == 1:
            columns = [c.name for c in warehouse.columns(population.tables[0])]
        else:  # the joined relation holds the id and the features
            columns = [model.id_column, *(model.features or [])] if model.features else None
    from .validate import filter_expression  # sqlglot, imported when a filter needs it

    return filter_expression(population_filter, d, columns)


def column_names(columns: dict[str, Any]) -> str:
    names = list(columns)
    shown = ", ".join(names[:12])
    return shown + (f" ... ({len(names)} columns)" if len(names) > 12 else "")
