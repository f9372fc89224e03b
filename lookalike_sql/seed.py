"""The seed audience: Python ids, a one-column CSV file, a table, or a SELECT query."""

from __future__ import annotations

import decimal
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError


@dataclass(frozen=True)
class Seed:
    """Where the seed's customer ids come from. Build one with a class method:

    >>> Seed.ids([101, 102, 103])
    >>> Seed.table("marketing.mom_seed")            # the id column's name, or column=
    >>> Seed.query("SELECT member_srl FROM population WHERE cto015 > 0")
    >>> Seed.csv("seed.csv")                         # one column, header = the id column
    """

    kind: str  # "ids" | "table" | "query"
    values: tuple = ()
    table_name: str | tuple[str, ...] | None = None
    column: str | None = None
    sql: str | None = None

    @classmethod
    def ids(cls, values: Iterable[object]) -> Seed:
        cleaned = []
        for value in values:
            if value is None or (isinstance(value, float) and value != value):
                continue  # NULL ids never match; the SQL side drops them too
            if hasattr(value, "item"):
                value = value.item()  # numpy scalar -> Python
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            cleaned.append(value)
        if not cleaned:
            raise InputError("the seed is empty: give at least one customer id")
        kinds = {type(v) for v in cleaned}
        if len(kinds) > 1:
            raise InputError(
                f"the seed mixes id types ({', '.join(sorted(k.__name__ for k in kinds))}): "
                "give ids of the population id column's type only"
            )
        return cls(kind="ids", values=tuple(dict.fromkeys(cleaned)))

    @classmethod
    def table(cls, name: str | tuple[str, ...], column: str | None = None) -> Seed:
        return cls(kind="table", table_name=name, column=column)

    @classmethod
    def query(cls, sql: str) -> Seed:
        if not sql or not sql.strip():
            raise InputError("the seed query is empty: give a SELECT that returns the seed's ids")
        return cls(kind="query", sql=sql.strip().rstrip(";").strip())

    @classmethod
    def csv(cls, path: str | os.PathLike, id_column: str | None = None) -> Seed:
        """Read a one-column CSV (header = the id column's name, as the seed's script.py)."""
        import pandas as pd

        path = Path(path)
        if not path.is_file():
            raise InputError(f"seed file {str(path)!r} does not exist: check the path")
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=True)
        except Exception as exc:  # noqa: BLE001 - any parse problem is the file's
            raise InputError(f"seed file {str(path)!r} is not a readable CSV: {exc}") from None
        if frame.shape[1] != 1:
            raise InputError(
                f"seed file {str(path)!r} has {frame.shape[1]} columns: it must have exactly one, "
                f"headed by the id column's name{f' ({id_column!r})' if id_column else ''}"
            )
        values = frame.iloc[:, 0].dropna().str.strip()
        if values.empty:
            raise InputError(f"seed file {str(path)!r} has no ids: add one id per line under the header")
        if values.str.fullmatch(r"-?\d+").all():
            return cls.ids(int(v) for v in values)
        return cls.ids(values)

    def read_ids(self, warehouse: Any, id_column: str, timeout: float | None = None) -> list[object]:
        """The audience's distinct non-NULL ids, sorted: as given, or read from its table
        or (validated) query through a connections.Warehouse."""
        from .validate import single_select_column

        if self.kind == "ids":
            values: Iterable[object] = self.values
        else:
            d = warehouse.dialect
            if self.kind == "table":
                column = self.column or id_column
                table = d.quote_table(self.table_name or "")
                if column not in {c.name for c in warehouse.columns(self.table_name or "")}:
                    raise InputError(f"table {table} has no column {column!r}: name its id column")
                c = "s." + d.quote(column)
                sql = f"SELECT DISTINCT {c} AS seed_id FROM {table} s WHERE {c} IS NOT NULL"
            else:
                c = "seed_query." + d.quote(single_select_column(self.sql or "", d))
                sql = f"SELECT DISTINCT {c} AS seed_id FROM (\n{self.sql}\n) seed_query WHERE {c} IS NOT NULL"
            values = warehouse.run_step(f"reading the ids of {self.describe()}", sql, timeout).iloc[:, 0].tolist()
        try:
            cleaned = Seed.ids(python_id(v) for v in values).values  # one id type; integral floats as int
        except InputError as exc:
            raise InputError(f"{exc} ({self.describe()})") from None
        return sorted(cleaned)  # type: ignore[type-var]

    def describe(self) -> str:
        if self.kind == "ids":
            return f"{len(self.values)} ids"
        if self.kind == "table":
            return f"table {self.table_name}"
        return "query"


def python_id(value: object) -> object:
    """An id as Python gives it: numpy scalars and integral Decimals (PostgreSQL NUMERIC)
    as int, so that ``str(id)`` is the text the SQL engines hash."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, decimal.Decimal) and value == value.to_integral_value():
        value = int(value)
    return value


def as_seed(seed: object) -> Seed:
    """Accept a Seed, or Python ids (list, tuple, set, NumPy array, pandas Series)."""
    if isinstance(seed, Seed):
        return seed
    if isinstance(seed, (str, bytes)):
        raise InputError(
            "a seed given as text is ambiguous: use Seed.table(name), Seed.query(sql) or Seed.csv(path)"
        )
    if isinstance(seed, Iterable):
        return Seed.ids(seed)
    raise InputError(f"cannot use a {type(seed).__name__} as a seed: give ids, or a Seed.table/query/csv")
