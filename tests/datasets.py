"""Generated test datasets: each one a population frame, seed ids and job parameters.

They cover what the reference and every engine must agree on: NULLs, constant and
all-NULL columns, exact distance ties, seeds partly outside the population."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class Dataset:
    name: str
    population: pd.DataFrame
    seed_ids: list
    params: dict = field(default_factory=dict)
    id_column: str = "customer_id"


def _base(rng: np.random.Generator, n: int, shift_rows: np.ndarray) -> pd.DataFrame:
    """Five informative features whose distribution moves for the `shift_rows` customers."""
    frame = pd.DataFrame({"customer_id": rng.permutation(np.arange(10_000, 10_000 + n)).astype("int64")})
    frame["age"] = rng.integers(18, 80, n).astype("int64")
    frame["spend"] = rng.lognormal(3, 1, n)
    frame["orders"] = rng.poisson(2, n).astype("int64")
    frame["views"] = rng.normal(50, 15, n)
    frame["noise"] = rng.uniform(0, 1, n)
    frame.loc[shift_rows, "age"] = rng.integers(25, 36, len(shift_rows))
    frame.loc[shift_rows, "spend"] *= 4
    frame.loc[shift_rows, "orders"] += 3
    return frame


def basic(random_state: int = 0, n: int = 3_000) -> Dataset:
    rng = np.random.default_rng(random_state)
    seed_rows = rng.choice(n, 300, replace=False)
    frame = _base(rng, n, seed_rows)
    return Dataset("basic", frame, frame["customer_id"].iloc[seed_rows].tolist(), {"min_count": 10})


def with_nulls(random_state: int = 1, n: int = 3_000) -> Dataset:
    rng = np.random.default_rng(random_state)
    seed_rows = rng.choice(n, 400, replace=False)
    frame = _base(rng, n, seed_rows)
    frame["views"] = frame["views"].where(rng.random(n) > 0.3)  # 30% NULL everywhere
    frame["days_since"] = np.where(rng.random(n) < 0.5, np.nan, rng.exponential(60, n))
    frame.loc[seed_rows, "days_since"] = np.nan  # NULL for every seed member: too few values, js = 0
    frame["orders"] = frame["orders"].astype("Int64").mask(rng.random(n) < 0.1)  # nullable integers
    return Dataset("nulls", frame, frame["customer_id"].iloc[seed_rows].tolist(), {"min_count": 10})


def with_constants(random_state: int = 2, n: int = 2_000) -> Dataset:
    rng = np.random.default_rng(random_state)
    seed_rows = rng.choice(n, 200, replace=False)
    frame = _base(rng, n, seed_rows)
    frame["constant"] = 7.0
    frame["all_null"] = np.nan
    frame["null_or_one"] = np.where(rng.random(n) < 0.5, np.nan, 1.0)  # constant where present
    return Dataset("constants", frame, frame["customer_id"].iloc[seed_rows].tolist(), {"min_count": 10})


def with_ties(random_state: int = 3, n: int = 2_000) -> Dataset:
    """Few distinct values, so many customers share a distance exactly: ties go by id."""
    rng = np.random.default_rng(random_state)
    frame = pd.DataFrame({"customer_id": rng.permutation(np.arange(n)).astype("int64") * 7 + 3})
    frame["a"] = rng.integers(0, 3, n).astype("int64")
    frame["b"] = rng.integers(0, 2, n).astype("int64")
    frame["c"] = rng.choice([0.0, 0.5, 1.0], n)
    seed_rows = np.flatnonzero((frame["a"] == 2).to_numpy())[:150]
    frame.loc[seed_rows[:100], "b"] = 1
    return Dataset("ties", frame, frame["customer_id"].iloc[seed_rows].tolist(), {"min_count": 10, "threshold": 0.01}, "customer_id")


def seed_partly_outside(random_state: int = 4, n: int = 2_500) -> Dataset:
    rng = np.random.default_rng(random_state)
    seed_rows = rng.choice(n, 250, replace=False)
    frame = _base(rng, n, seed_rows)
    inside = frame["customer_id"].iloc[seed_rows].tolist()
    outside = list(range(900_000, 900_150))  # not customers
    seed = inside + outside + inside[:50]  # and duplicates
    rng.shuffle(seed)
    return Dataset("outside", frame, seed, {"min_count": 10, "max_features": 3})


ALL = [basic, with_nulls, with_constants, with_ties, seed_partly_outside]


def large_seed(random_state: int = 5, n: int = 60_000) -> Dataset:
    """A seed of 50,000 ids (the seed's recommended maximum), 2,000 of them not customers."""
    rng = np.random.default_rng(random_state)
    seed_rows = rng.choice(n, 48_000, replace=False)
    frame = _base(rng, n, seed_rows)[["customer_id", "age", "spend", "orders"]]
    seed = frame["customer_id"].iloc[seed_rows].tolist() + list(range(5_000_000, 5_002_000))
    return Dataset("large_seed", frame, seed, {"min_count": 30, "threshold": 0.001})


def wide(random_state: int = 6, n: int = 1_500, n_features: int = 300) -> Dataset:
    """More features than one Redshift SELECT can profile at once (133 at 10 bins): the
    profile is built in feature groups there."""
    rng = np.random.default_rng(random_state)
    values = rng.normal(0, 1, (n, n_features))
    seed_rows = rng.choice(n, 200, replace=False)
    values[np.ix_(seed_rows, np.arange(0, n_features, 37))] += 2.0  # a few informative features
    frame = pd.DataFrame(values, columns=[f"f{i:03d}" for i in range(n_features)])
    frame.insert(0, "customer_id", np.arange(n, dtype="int64") + 1)
    return Dataset("wide", frame, frame["customer_id"].iloc[seed_rows].tolist(), {"min_count": 10})


def sparse(random_state: int = 7, n: int = 2_500) -> Dataset:
    """Mostly-empty features as in a real category catalogue: zeros stand for "no row" in
    the long layout, NULLs for a value that is unknown, and some customers have nothing."""
    rng = np.random.default_rng(random_state)
    seed_rows = rng.choice(n, 300, replace=False)
    frame = _base(rng, n, seed_rows)[["customer_id", "age", "spend", "orders", "views"]]
    frame["spend"] = np.where(rng.random(n) < 0.6, 0.0, frame["spend"])
    frame["orders"] = frame["orders"].astype("Int64").mask(rng.random(n) < 0.05)  # NULL where unknown
    frame["views"] = frame["views"].where(rng.random(n) < 0.5)  # fill None: no row means NULL
    frame["rare"] = np.where(rng.random(n) < 0.05, rng.exponential(5, n), 0.0)
    frame.loc[seed_rows[:150], "rare"] = rng.exponential(20, 150)
    nothing = rng.choice(np.setdiff1d(np.arange(n), seed_rows), 100, replace=False)
    frame.loc[nothing, ["age", "spend", "orders", "rare"]] = 0
    frame.loc[nothing, "views"] = np.nan
    return Dataset("sparse", frame, frame["customer_id"].iloc[seed_rows].tolist(), {"min_count": 10, "threshold": 0.01})


#: The long layout's fill values for `sparse`: 0 by default, NULL for views.
SPARSE_FILLS = {"views": None}


def to_long(dataset: Dataset, fills: dict, default_fill: float | None = 0.0) -> pd.DataFrame:
    """The same data as (id, feature, value) rows: a value equal to its feature's fill
    has no row; a NULL has a NULL row unless the fill is NULL."""
    parts = []
    for feature in dataset.population.columns.drop(dataset.id_column):
        fill = fills.get(feature, default_fill)
        values = dataset.population[feature].astype("float64")
        keep = values.notna() if fill is None else ~(values == fill)
        parts.append(
            pd.DataFrame({dataset.id_column: dataset.population[dataset.id_column][keep], "feature": feature, "value": values[keep]})
        )
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=0).reset_index(drop=True)
