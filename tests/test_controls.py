"""Audience controls on every engine, against the reference: exclusions of other
audiences (table, query, ids; long id lists through a temporary table), a population
filter on who is ranked, and the size as a share of the ranked population. Through
execute() and the one statement, wide and long."""

from __future__ import annotations

from fractions import Fraction

import datasets
import numpy as np
import pandas as pd
import pytest
from helpers import assert_both_paths, reference_for

from lookalike_sql import InputError, Long, Lookalike, Seed

pytestmark = pytest.mark.engine

ID = "customer_id"
_loaded: set[tuple] = set()


def load(engine) -> tuple[datasets.Dataset, pd.DataFrame]:
    """The basic dataset with a text column `country`, as a wide table, a long table with
    an ids table that holds `country`, a seed table and an exclusion table."""
    dataset = datasets.basic()
    frame = dataset.population
    country = np.where(frame[ID] % 3 == 0, "US", "KR")
    key = (engine.name, id(engine.connection))
    if key not in _loaded:
        engine.load("ct_wide", frame.assign(country=country))
        engine.load("ct_long", datasets.to_long(dataset, {}, default_fill=None))
        engine.load("ct_ids", pd.DataFrame({ID: frame[ID], "country": country}))
        engine.load("ct_seed", pd.DataFrame({ID: pd.Series(dataset.seed_ids, dtype="int64")}))
        engine.load("ct_existing", pd.DataFrame({ID: frame[ID].iloc[::7].astype("int64")}))
        _loaded.add(key)
    return dataset, pd.DataFrame({ID: frame[ID], "country": country})


def check(engine, model: Lookalike, dataset, size, *, exclude=(), exclude_ids=(), population_filter=None, mask=None, exclude_seed=False):
    ref_size = Fraction(size[:-1]) / 100 if isinstance(size, str) else size  # "2.5%" as the reference takes it
    ref, distance_of = reference_for(
        dataset, ref_size, exclude_seed=exclude_seed, exclude=list(exclude_ids) or None, rank_mask=mask
    )
    controls = {"exclude_seed": exclude_seed, "exclude": exclude, "population_filter": population_filter}
    return assert_both_paths(engine, model, Seed.table("ct_seed"), size, ref, distance_of, ID, **controls)


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_exclusions_filter_and_share(engine, layout):
    dataset, countries = load(engine)
    population = "ct_wide" if layout == "wide" else Long("ct_long", ids="ct_ids", fill=None)
    model = Lookalike(population, ID, features=["age", "spend", "orders", "views", "noise"], **dataset.params)
    frame = dataset.population
    existing = frame[ID].iloc[::7].tolist()
    python_ids = frame[ID].iloc[1:1201].tolist()  # more than Hive inlines: a temporary view there
    query_ids = frame.loc[frame["orders"] == 0, ID].tolist()
    exclusions = [Seed.table("ct_existing"), Seed.ids(python_ids), Seed.query(f"SELECT {ID} FROM ct_ids WHERE {ID} % 5 = 0")]
    excluded = set(existing) | set(python_ids) | {i for i in frame[ID] if i % 5 == 0}
    result = check(engine, model, dataset, 300, exclude=exclusions, exclude_ids=excluded, exclude_seed=True)
    assert not set(result.audience[ID]) & (excluded | set(dataset.seed_ids))
    assert query_ids  # (the orders column has zeros; unused otherwise)

    korea = countries["country"].eq("KR").to_numpy() & (frame["age"] >= 30).to_numpy()
    condition = "country = 'KR' AND age >= 30" if layout == "wide" else "country = 'KR'"
    mask = korea if layout == "wide" else countries["country"].eq("KR").to_numpy()
    result = check(engine, model, dataset, Fraction(1, 20), population_filter=condition, mask=mask)
    assert len(result.audience) == -(-int(mask.sum()) // 20)  # 5% of the ranked population, rounded up
    assert set(result.audience[ID]) <= set(frame.loc[mask, ID])


def test_size_as_a_share_of_everyone(engine):
    dataset, _ = load(engine)
    model = Lookalike("ct_wide", ID, features=["age", "spend", "orders", "views", "noise"], **dataset.params)
    result = check(engine, model, dataset, "2.5%")
    assert len(result.audience) == 75  # 2.5% of 3,000


def test_a_filter_that_keeps_no_one_gives_an_empty_audience(engine):
    """Not an error: the reference's empty audience, with the warning that says why."""
    dataset, _ = load(engine)
    model = Lookalike("ct_wide", ID, features=["age", "spend", "orders", "views", "noise"], **dataset.params)
    result = check(engine, model, dataset, 50, population_filter="age < 0", mask=np.zeros(3000, dtype=bool))
    assert result.audience.empty and (result.histograms["lookalike"] == 0).all()
    assert any("fewer than the size asked for" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"population_filter": "country = 'KR') OR (1 = 1"}, r"must be one condition"),
        ({"population_filter": "planet = 'Mars'"}, r"names 'planet', which the population does not hold"),
        ({"population_filter": "age > (SELECT MAX(age) FROM ct_wide)"}, r"may not hold a query"),
        ({"exclude": [Seed.query("DELETE FROM ct_wide")]}, r"the exclusion query must be a SELECT, not DELETE"),
        ({"exclude": [Seed.table("ct_existing", column="nope")]}, r"exclusion table \S+ has no column 'nope'"),
        ({"exclude": [Seed.ids(["a", "b"])]}, r"the exclusion's ids are text but the id column"),
    ],
)
def test_bad_controls(engine, options, pattern):
    dataset, _ = load(engine)
    model = Lookalike("ct_wide", ID, features=["age", "spend"], **dataset.params)
    with pytest.raises(InputError, match=pattern) as exc:
        model.execute(engine.connection, Seed.table("ct_seed"), 10, **options)
    assert "\n" not in str(exc.value)
    assert int(engine.query("SELECT COUNT(*) AS n FROM ct_wide").iloc[0, 0]) == 3000


@pytest.mark.parametrize(
    ("size", "pattern"),
    [("0%", r"size share 0 must lie in \(0, 1\]"), ("150%", r"must lie in \(0, 1\]"), ("lots", r"size 'lots' is not a number"),
     (1.5, r"must be a whole count of customers, or a share below 1"), (0, r"size must be a whole number of at least 1")],
)
def test_bad_sizes(size, pattern):
    with pytest.raises(InputError, match=pattern):
        Lookalike("pop", ID, features=["age"]).sql(Seed.ids([1]), size)
