"""The seed audience: Python ids, a CSV file, a table, or a SELECT query; optionally with
a value per member (value-based seeds: spend, say), which weights the seed's side of the
profile."""

from __future__ import annotations

import decimal
import math
import os
from collections.abc import Iterable, Mapping
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

    A value-based seed gives each member a value (say, its spend), which weights the
    seed's histograms and persona: a member worth twice as much counts twice. Values are
    numbers of 0 or more; an id given several times (a table of purchases) is worth the
    sum of its values.

    >>> Seed.ids([101, 102], values=[250.0, 12.5])   # or Seed.ids({101: 250.0, 102: 12.5})
    >>> Seed.table("marketing.buyers", value="spend")
    >>> Seed.query("SELECT member_srl, spend FROM orders", value="spend")
    >>> Seed.csv("seed.csv")                         # a second column holds the values
    """

    kind: str  # "ids" | "table" | "query"
    values: tuple = ()  # the ids (kind "ids")
    table_name: str | tuple[str, ...] | None = None
    column: str | None = None
    sql: str | None = None
    member_values: tuple[float, ...] | None = None  # each id's value (kind "ids", value-based)
    value_column: str | None = None  # the column holding the values (kinds "table", "query")

    @property
    def weighted(self) -> bool:
        """True for a value-based seed."""
        return self.member_values is not None or self.value_column is not None

    @classmethod
    def ids(cls, ids: Iterable[object], values: Iterable[object] | None = None) -> Seed:
        """Python ids; with ``values`` (one per id, or ``ids`` a mapping id -> value), a
        value-based seed. A NULL id is dropped, with its value."""
        if isinstance(ids, Mapping) and values is None:
            ids, values = list(ids.keys()), list(ids.values())
        ids = list(ids)
        if values is not None:
            values = list(values)
            if len(values) != len(ids):
                raise InputError(f"the seed has {len(ids)} ids but {len(values)} values: give one value per id")
        cleaned, kept_values = [], []
        for n, member in enumerate(ids):
            if member is None or (isinstance(member, float) and member != member):
                continue  # NULL ids never match; the SQL side drops them too
            if hasattr(member, "item"):
                member = member.item()  # numpy scalar -> Python
            if isinstance(member, float) and member.is_integer():
                member = int(member)
            cleaned.append(member)
            if values is not None:
                kept_values.append(member_value(values[n], member))
        if not cleaned:
            raise InputError("the seed is empty: give at least one customer id")
        kinds = {type(v) for v in cleaned}
        if len(kinds) > 1:
            raise InputError(
                f"the seed mixes id types ({', '.join(sorted(k.__name__ for k in kinds))}): "
                "give ids of the population id column's type only"
            )
        if values is None:
            return cls(kind="ids", values=tuple(dict.fromkeys(cleaned)))
        totals: dict[object, float] = {}
        for member, amount in zip(cleaned, kept_values):
            totals[member] = totals.get(member, 0.0) + amount  # an id given twice: its values add up
        if not sum(totals.values()) > 0:
            raise InputError("the seed's values add up to 0: give some members a value above 0")
        return cls(kind="ids", values=tuple(totals), member_values=tuple(totals.values()))

    @classmethod
    def table(cls, name: str | tuple[str, ...], column: str | None = None, value: str | None = None) -> Seed:
        """A table's ids (``column``, by default the population's id column name); with
        ``value``, the column holding each row's value."""
        if value is not None and (not isinstance(value, str) or not value):
            raise InputError("the seed's value column is empty: name the column holding the values, or leave it out")
        return cls(kind="table", table_name=name, column=column, value_column=value)

    @classmethod
    def query(cls, sql: str, value: str | None = None) -> Seed:
        """A SELECT of the ids; with ``value``, a SELECT of two columns: the ids and the
        column named ``value``."""
        if not sql or not sql.strip():
            raise InputError("the seed query is empty: give a SELECT that returns the seed's ids")
        if value is not None and (not isinstance(value, str) or not value):
            raise InputError("the seed's value column is empty: name the query's value column, or leave it out")
        return cls(kind="query", sql=sql.strip().rstrip(";").strip(), value_column=value)

    @classmethod
    def csv(cls, path: str | os.PathLike, id_column: str | None = None) -> Seed:
        """Read a CSV whose first column holds the ids (header = the id column's name, as
        the seed's script.py) and an optional second column their values."""
        import pandas as pd

        path = Path(path)
        if not path.is_file():
            raise InputError(f"seed file {str(path)!r} does not exist: check the path")
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=True)
        except Exception as exc:  # noqa: BLE001 - any parse problem is the file's
            raise InputError(f"seed file {str(path)!r} is not a readable CSV: {exc}") from None
        if frame.shape[1] not in (1, 2):
            raise InputError(
                f"seed file {str(path)!r} has {frame.shape[1]} columns: give the ids, headed by the id column's "
                f"name{f' ({id_column!r})' if id_column else ''}, and optionally a second column of values"
            )
        frame = frame[frame.iloc[:, 0].notna()]
        ids = frame.iloc[:, 0].str.strip()
        if ids.empty:
            raise InputError(f"seed file {str(path)!r} has no ids: add one id per line under the header")
        if ids.str.fullmatch(r"-?\d+").all():
            ids = ids.map(int)
        if frame.shape[1] == 1:
            return cls.ids(ids)
        values = []
        for line, text in zip(frame.index, frame.iloc[:, 1]):
            try:
                values.append(float(text))
            except (TypeError, ValueError):
                raise InputError(
                    f"seed file {str(path)!r} line {line + 2}: the value {text!r} is not a number: give each id a value of 0 or more"
                ) from None
        try:
            return cls.ids(ids, values)
        except InputError as exc:
            raise InputError(f"seed file {str(path)!r}: {exc}") from None

    def resolve(self, warehouse: Any, id_column: str, timeout: float | None = None) -> Seed:
        """The audience as Python ids, sorted (with their values for a value-based seed):
        as given, or read from its table or (validated) query through a
        warehouse.Warehouse."""
        from .validate import query_id_column

        if self.kind == "ids":
            ids, values = list(self.values), list(self.member_values) if self.weighted else None
        else:
            d = warehouse.dialect
            if self.kind == "table":
                column = self.column or id_column
                table = d.quote_table(self.table_name or "")
                names = {c.name for c in warehouse.columns(self.table_name or "")}
                for role, name in (("id", column), ("value", self.value_column)):
                    if name is not None and name not in names:
                        raise InputError(f"table {table} has no column {name!r}: name its {role} column")
                alias, source = "s", f"{table} s"
                c = "s." + d.quote(column)
            else:
                alias, source = "seed_query", f"(\n{self.sql}\n) seed_query"
                c = "seed_query." + d.quote(query_id_column(self.sql or "", d, value_column=self.value_column))
            if self.weighted:
                value = f"{alias}.{d.quote(self.value_column or '')}"
                sql = f"SELECT {c} AS seed_id, {value} AS seed_value FROM {source} WHERE {c} IS NOT NULL"
            else:
                sql = f"SELECT DISTINCT {c} AS seed_id FROM {source} WHERE {c} IS NOT NULL"
            frame = warehouse.run_step(f"reading the ids of {self.describe()}", sql, timeout)
            ids = [python_id(v) for v in frame.iloc[:, 0]]
            values = [python_id(v) for v in frame.iloc[:, 1]] if self.weighted else None
        try:
            members = Seed.ids(ids, values)  # one id type; integral floats as int; values summed per id
        except InputError as exc:
            raise InputError(f"{exc} ({self.describe()})") from None
        order = sorted(range(len(members.values)), key=members.values.__getitem__)
        return Seed(
            kind="ids",
            values=tuple(members.values[i] for i in order),
            member_values=None if members.member_values is None else tuple(members.member_values[i] for i in order),
        )

    def describe(self) -> str:
        valued = f", value {self.value_column}" if self.value_column else ""
        if self.kind == "ids":
            return f"{len(self.values)} ids{' with values' if self.weighted else ''}"
        if self.kind == "table":
            return f"table {self.table_name}{valued}"
        return f"query{valued}"


def member_value(value: object, member: object) -> float:
    """A seed member's value as a float: a finite number of 0 or more."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        what = "no value" if value is None else f"the value {value!r}, which is not a number"
        raise InputError(f"seed member {member!r} has {what}: give every member a value of 0 or more")
    if not math.isfinite(value) or value < 0:
        raise InputError(f"seed member {member!r} has the value {value!r}: give every member a finite value of 0 or more")
    return float(value)


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
