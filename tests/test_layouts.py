"""Long (id, feature, value) tables, wide populations split over several tables, and
profiling on a deterministic sample: on every engine, the same audience as the reference
computed on the equivalent wide table."""

from __future__ import annotations

import datasets
import pandas as pd
import pytest
from helpers import assert_both_paths, assert_same_audience, reference_for

from lookalike_sql import Long, Lookalike, Seed, Wide
from lookalike_sql.reference import histogram_counts, sample_mask

_loaded: set[tuple] = set()


def load_sparse(engine) -> datasets.Dataset:
    """The sparse dataset as a wide table, a long table with an ids table, two split
    tables and a seed table (loaded once per engine)."""
    dataset = datasets.sparse()
    key = (engine.name, id(engine.connection))
    if key not in _loaded:
        frame, id_column = dataset.population, dataset.id_column
        engine.load("sp_wide", frame)
        engine.load("sp_long", datasets.to_long(dataset, datasets.SPARSE_FILLS))
        engine.load("sp_ids", frame[[id_column]])
        engine.load("sp_left", frame[[id_column, "age", "spend"]])
        # the right-hand table lacks some customers: their orders/views/rare are NULL
        engine.load("sp_right", frame[[id_column, "orders", "views", "rare"]].iloc[100:])
        engine.load("sp_seed", pd.DataFrame({id_column: pd.Series(dataset.seed_ids, dtype="int64")}))
        _loaded.add(key)
    return dataset


def long_population() -> Long:
    return Long("sp_long", ids="sp_ids", fills=datasets.SPARSE_FILLS)


def check_both_paths(engine, model: Lookalike, dataset: datasets.Dataset, reference_frame=None, size=300, seed=None, exclude_seed=False, **reference_options):
    """execute() and the single statement both give the reference's audience."""
    if reference_frame is not None:
        dataset = datasets.Dataset(dataset.name, reference_frame, dataset.seed_ids, dataset.params, dataset.id_column)
    seed = seed or Seed.table("sp_seed")
    ref, distance_of = reference_for(dataset, size, exclude_seed=exclude_seed, **reference_options)
    return assert_both_paths(engine, model, seed, size, ref, distance_of, dataset.id_column, exclude_seed=exclude_seed), ref


def test_long_table_equals_the_wide_table(engine):
    dataset = load_sparse(engine)
    wide_model = Lookalike("sp_wide", dataset.id_column, **dataset.params)
    long_model = Lookalike(long_population(), dataset.id_column, **dataset.params)
    wide_result, _ = check_both_paths(engine, wide_model, dataset)
    long_result, _ = check_both_paths(engine, long_model, dataset)
    assert long_result.audience[dataset.id_column].tolist() == wide_result.audience[dataset.id_column].tolist()
    # customers without any row rank too: 100 of them, all at the same distance
    assert long_result.n_population == len(dataset.population)
    merged = long_result.features.merge(wide_result.features, on="feature", suffixes=("_long", "_wide"))
    for column in ("lo", "hi", "mean", "std", "persona", "pop_count", "seed_count"):
        pd.testing.assert_series_equal(merged[f"{column}_long"], merged[f"{column}_wide"], check_names=False, rtol=1e-9)


def test_long_table_without_an_ids_table_ranks_the_ids_it_holds(engine):
    dataset = load_sparse(engine)
    long_rows = datasets.to_long(dataset, datasets.SPARSE_FILLS)
    present = dataset.population[dataset.population[dataset.id_column].isin(long_rows[dataset.id_column])]
    model = Lookalike(Long("sp_long", fills=datasets.SPARSE_FILLS), dataset.id_column, **dataset.params)
    result, _ = check_both_paths(engine, model, dataset, reference_frame=present.reset_index(drop=True))
    assert result.n_population == len(present) < len(dataset.population)


@pytest.mark.parametrize("sample", [None, 700], ids=["everyone", "sampled"])
def test_wide_population_split_over_two_tables(engine, sample):
    dataset = load_sparse(engine)
    merged = dataset.population.copy()
    merged.loc[merged.index[:100], ["orders", "views", "rare"]] = None  # absent from the right table
    model = Lookalike(Wide("sp_left", "sp_right"), dataset.id_column, sample=sample, **dataset.params)
    check_both_paths(engine, model, dataset, reference_frame=merged, sample=sample)
    # the seed as Python ids, inlined against the joined tables
    reference_dataset = datasets.Dataset(dataset.name, merged, dataset.seed_ids, dataset.params, dataset.id_column)
    ref, distance_of = reference_for(reference_dataset, 300, sample=sample)
    got = engine.query(model.sql(Seed.ids(dataset.seed_ids), 300, dialect=engine.name, connection=engine.connection))
    got.columns = [dataset.id_column, "rank", "distance"]
    assert_same_audience(got, ref, distance_of, dataset.id_column)


@pytest.mark.parametrize("sample", [700, 0.3], ids=["count", "fraction"])
def test_sampled_profile_is_deterministic_and_equals_the_reference(engine, sample):
    dataset = load_sparse(engine)
    model = Lookalike("sp_wide", dataset.id_column, sample=sample, **dataset.params)
    first, ref = check_both_paths(engine, model, dataset, sample=sample)
    expected = int(sample_mask(dataset.population[dataset.id_column], sample).sum())
    assert first.n_profiled == ref.n_profiled == expected < len(dataset.population)
    again = model.execute(engine.connection, Seed.table("sp_seed"), 300)
    pd.testing.assert_frame_equal(again.features, first.features)
    assert again.audience[dataset.id_column].tolist() == first.audience[dataset.id_column].tolist()


def test_sampled_long_profile_equals_the_reference(engine):
    dataset = load_sparse(engine)
    model = Lookalike(long_population(), dataset.id_column, sample=900, **dataset.params)
    result, _ = check_both_paths(engine, model, dataset, sample=900)
    assert result.n_profiled == 900


@pytest.mark.parametrize("seed_kind", ["ids", "query"])
def test_long_table_with_other_seeds_and_exclusion(engine, seed_kind):
    """Python ids (inlined) or a query as the seed, the seed excluded, a fractional sample."""
    dataset = load_sparse(engine)
    if seed_kind == "ids":
        seed, population = Seed.ids(dataset.seed_ids), long_population()
    else:
        seed, population = Seed.query(f"SELECT {dataset.id_column} FROM sp_seed"), Long("sp_long", fills=datasets.SPARSE_FILLS)
    frame = dataset.population
    if population.ids is None:  # the population is the ids the long table holds
        rows = datasets.to_long(dataset, datasets.SPARSE_FILLS)
        frame = frame[frame[dataset.id_column].isin(rows[dataset.id_column])].reset_index(drop=True)
    model = Lookalike(population, dataset.id_column, sample=0.5, **dataset.params)
    result, _ = check_both_paths(engine, model, dataset, reference_frame=frame, seed=seed, exclude_seed=True, sample=0.5)
    assert not set(result.audience[dataset.id_column]) & set(dataset.seed_ids)


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_histograms_of_population_seed_and_audience_equal_numpy(engine, layout):
    """The histograms step: every selected feature's counts on the profile's bins for the
    population, the seed and the audience, and their mean values, equal NumPy's."""
    dataset = load_sparse(engine)
    population = "sp_wide" if layout == "wide" else long_population()
    result = Lookalike(population, dataset.id_column, **dataset.params).execute(engine.connection, Seed.table("sp_seed"), 300)
    frame = dataset.population.set_index(dataset.id_column)
    members = {
        "population": frame.index,
        "seed": frame.index[frame.index.isin(dataset.seed_ids)],
        "lookalike": pd.Index(result.audience[dataset.id_column].astype("int64")),
    }
    top = result.top_features.set_index("feature")
    assert len(top) >= 2 and set(result.histograms["feature"]) == set(top.index)
    for feature, bins in result.histograms.groupby("feature"):
        row = result.features.set_index("feature").loc[feature]
        for side, ids in members.items():
            values = frame.loc[ids, feature].astype("float64")
            expected = histogram_counts(values, row["lo"], row["hi"], dataset.params.get("bins", 10))
            assert bins.sort_values("bin")[side].tolist() == expected.tolist(), (feature, side)
        for side, column in (("population", "population_mean"), ("seed", "seed_mean"), ("lookalike", "lookalike_mean")):
            expected_mean = frame.loc[members[side], feature].astype("float64").fillna(0).mean()
            assert top.loc[feature, column] == pytest.approx(expected_mean, rel=1e-9, abs=1e-12), (feature, column)
