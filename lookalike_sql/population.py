"""Where the customers' features live: a wide table (or several joined on the id), or a
long table of (id, feature, value) rows. ``Lookalike(population=...)`` takes either; a
plain table name means one wide table."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import InputError

TableName = str | tuple[str, ...]


@dataclass(frozen=True, init=False)
class Wide:
    """One row per customer and one column per feature.

    ``Wide("customers")`` is one table; ``Wide("demographics", "spend")`` is a population
    split over several tables: the first lists the customers, the others are LEFT JOINed
    to it on the id column (a customer missing from one has NULL for its features).
    Splitting needs a connection, to read which table holds which feature."""

    tables: tuple[TableName, ...]

    def __init__(self, *tables: TableName) -> None:
        if not tables:
            raise InputError("Wide() needs at least one table name: Wide('customers')")
        for table in tables:
            if not isinstance(table, (str, tuple)):
                raise InputError(f"table name {table!r} must be a string such as 'schema.table'")
        object.__setattr__(self, "tables", tuple(tables))

    def describe(self) -> str:
        return " + ".join(".".join(t) if isinstance(t, tuple) else t for t in self.tables)


@dataclass(frozen=True)
class Long:
    """One row per customer and feature: ``(<id column>, feature, value)``.

    A customer with no row for a feature has the feature's fill value: ``fill`` (0 by
    default, ``None`` for NULL), or its entry in ``fills``. A row whose value is NULL
    stays NULL. ``ids`` names a table listing every customer in the model's id column, so
    that customers without any row still rank; without it the population is the ids the
    long table holds. Each (id, feature) pair must appear at most once."""

    table: TableName
    ids: TableName | None = None
    feature_column: str = "feature"
    value_column: str = "value"
    fill: float | None = 0.0
    fills: Mapping[str, float | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_fill("fill", self.fill)
        for name, value in self.fills.items():
            _check_fill(f"fills[{name!r}]", value)
        if self.feature_column == self.value_column:
            raise InputError("the long table's feature and value columns must differ: name each one")

    def fill_of(self, feature: str) -> float | None:
        return self.fills.get(feature, self.fill)

    def describe(self) -> str:
        return ".".join(self.table) if isinstance(self.table, tuple) else self.table


Population = Wide | Long


def as_population(population: object) -> Population:
    if isinstance(population, (Wide, Long)):
        return population
    if isinstance(population, (str, tuple)):
        return Wide(population)
    raise InputError(
        f"population {population!r} is not a table name: pass 'table', Wide('a', 'b') for a "
        "population split over tables, or Long('values', ids='customers') for (id, feature, value) rows"
    )


def _check_fill(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{name} must be a finite number or None (NULL), not {value!r}")


def parse_sample(sample: object) -> int | float | None:
    """``sample`` as given to Lookalike: None (everyone), a number of customers, a
    fraction in (0, 1], or text such as '10%' or '200000'."""
    if sample is None:
        return None
    if isinstance(sample, str):
        text = sample.strip()
        try:
            sample = float(text[:-1]) / 100 if text.endswith("%") else (int(text) if text.isdigit() else float(text))
        except ValueError:
            raise InputError(f"sample {text!r} is not a number: give a count (200000) or a share (10%)") from None
    if isinstance(sample, bool) or not isinstance(sample, (int, float)):
        raise InputError(f"sample must be a count of customers or a fraction, not {sample!r}")
    if isinstance(sample, int):
        if sample < 1:
            raise InputError(f"sample {sample} must be at least 1 customer")
        return sample
    if not 0 < sample <= 1:
        raise InputError(f"sample fraction {sample} must lie in (0, 1]: for a count of customers pass an integer")
    return None if sample == 1 else float(sample)


def sample_threshold(fraction: float) -> str:
    """A fraction sample keeps the customers whose key's first 8 hex digits are below this
    (8 lower-case hex digits, compared as text: the same order as the numbers)."""
    return format(min(int(fraction * 16**8), 16**8 - 1), "08x")
