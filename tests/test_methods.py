"""Scoring methods on every engine, against the reference: `likelihood` (the weighted sum
of the smoothed log ratios of the seed's and the population's bin shares) and `cosine`
(1 - cosine similarity of the weighted standardized values and persona), through
execute() and the one statement, wide and long (NULLs, NULL fills, customers without
rows), with a sample and with the audience controls."""

from __future__ import annotations

import datasets
import pandas as pd
import pytest
from helpers import assert_both_paths, reference_for

from lookalike_sql import InputError, Long, Lookalike, Seed
from lookalike_sql.reference import histogram_counts

pytestmark = pytest.mark.engine

_loaded: set[tuple] = set()


def load(engine) -> datasets.Dataset:
    dataset = datasets.sparse()
    key = (engine.name, id(engine.connection))
    if key not in _loaded:
        engine.load("mt_wide", dataset.population)
        engine.load("mt_long", datasets.to_long(dataset, datasets.SPARSE_FILLS))
        engine.load("mt_ids", dataset.population[[dataset.id_column]])
        engine.load("mt_seed", pd.DataFrame({dataset.id_column: pd.Series(dataset.seed_ids, dtype="int64")}))
        _loaded.add(key)
    return dataset


def both_paths(engine, model, dataset, size, reference_frame=None, **controls):
    if reference_frame is not None:
        dataset = datasets.Dataset(dataset.name, reference_frame, dataset.seed_ids, dataset.params, dataset.id_column)
    options = {k: v for k, v in controls.items() if k in ("exclude_seed",)}
    ref, distance_of = reference_for(dataset, size, method=model.method, sample=model.sample, **options)
    result = assert_both_paths(engine, model, Seed.table("mt_seed"), size, ref, distance_of, dataset.id_column, **controls)
    if model.method == "mahalanobis":  # no one statement: a covariance step instead
        # DuckDB reads a wide population's ranges first (and draws a sample into a table before)
        ranges = ["ranges"] if engine.name == "duckdb" and not isinstance(model.population, Long) else []
        ranges = ["sample", *ranges] if ranges and model.sample is not None else ranges
        assert list(result.statements) == ["facts", *ranges, "profile", "covariance", "rank", "histograms"]
    return result


@pytest.mark.parametrize("method", ["likelihood", "cosine", "mahalanobis"])
@pytest.mark.parametrize("layout", ["wide", "long"])
def test_method_equals_the_reference(engine, layout, method):
    dataset = load(engine)
    population = "mt_wide" if layout == "wide" else Long("mt_long", ids="mt_ids", fills=datasets.SPARSE_FILLS)
    model = Lookalike(population, dataset.id_column, method=method, **dataset.params)
    result = both_paths(engine, model, dataset, 250, exclude_seed=True)
    if method == "likelihood":
        assert (result.audience["distance"] <= 0).any()  # minus the score: the most seed-like first
    elif method == "cosine":
        assert result.audience["distance"].between(0, 2).all()  # 1 - cosine similarity
    sampled = Lookalike(population, dataset.id_column, method=method, sample=0.5, **dataset.params)
    both_paths(engine, sampled, dataset, 250)


@pytest.mark.parametrize("bins", [37, 1300])
def test_packed_bin_counts_equal_the_reference(duckdb_con, bins):
    """DuckDB counts the bins by keys packed from several features (one digit of base
    bins + 2 each, NULL the last digit): for the population three per key, for the seed as
    many as a DOUBLE holds exactly (14 at 10 bins, 10 at 37, 5 at 1300); the counts of
    both, the selection and the audience equal the reference's."""
    from conftest import EngineHandle

    engine = EngineHandle("duckdb", duckdb_con, "duckdb")
    loaded = load(engine)
    params = {**loaded.params, "bins": bins, "min_count": 1}
    dataset = datasets.Dataset(loaded.name, loaded.population, loaded.seed_ids, params, loaded.id_column)
    model = Lookalike("mt_wide", dataset.id_column, **params)
    result = both_paths(engine, model, dataset, 120)
    assert "pop_bin_keys_1" in result.statements["profile"]
    varying = result.features[result.features["hi"] > result.features["lo"]]
    assert len(varying) >= 3
    seed_rows = dataset.population[dataset.population[dataset.id_column].isin(dataset.seed_ids)]
    for f in varying.itertuples():  # every bin of the population and of the seed, as the reference counts them
        for column, rows in (("p", dataset.population), ("q", seed_rows)):
            expected = histogram_counts(rows[f.feature].to_numpy(dtype=float), f.lo, f.hi, bins)
            got = [getattr(f, f"{column}_{k}") for k in range(bins)]
            assert got == expected.astype(int).tolist(), (f.feature, column)


@pytest.mark.parametrize("sample", [None, 0.5])
def test_spread_in_one_pass_or_around_the_mean(duckdb_con, sample):
    """DuckDB's execute() takes a feature's standard deviation from pass 1's sum of squares
    when E[x'^2] is at most 1e4 times the variance, and computes it around the mean
    otherwise (here a feature of values near 1e9): both equal the reference's to 1e-12."""
    from conftest import EngineHandle

    base = datasets.basic()
    frame = base.population.copy()
    frame["far_from_zero"] = 1e9 + frame["spend"]  # a spread of about 1e2 next to a mean of 1e9
    dataset = datasets.Dataset("mt_spread", frame, base.seed_ids, base.params, base.id_column)
    engine = EngineHandle("duckdb", duckdb_con, "duckdb")
    engine.load("mt_spread", frame)
    engine.load("mt_seed", pd.DataFrame({dataset.id_column: pd.Series(dataset.seed_ids, dtype="int64")}))
    model = Lookalike("mt_spread", dataset.id_column, sample=sample, **dataset.params)
    ref, _ = reference_for(dataset, 100, sample=sample)
    result = model.execute(duckdb_con, Seed.table("mt_seed"), 100)
    profile = result.statements["profile"]
    assert profile.count("SQRT(SUM(") == 1 and '"far_from_zero"' in profile.split("SQRT(SUM(")[1].split("AS std_")[0]
    merged = result.features.merge(ref.features, on="feature", suffixes=("", "_ref"))
    assert len(merged) == len(ref.features) == frame.shape[1] - 1
    assert ((merged["std"] - merged["std_ref"]).abs() <= 1e-12 * merged["std_ref"].abs()).all(), merged[["feature", "std", "std_ref"]]


def test_bad_method():
    with pytest.raises(InputError, match=r"method 'jaccard' is not available: use one of euclidean, likelihood, cosine, mahalanobis"):
        Lookalike("pop", "id", method="jaccard")
