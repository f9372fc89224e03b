"""The shared engine suite: every dialect's SQL, run on a real engine, gives the
NumPy reference's audience and weights (duckdb; PostgreSQL as Redshift; Spark as Hive)."""

from __future__ import annotations

import datasets
import pandas as pd
import pytest
from helpers import assert_execute_gives, assert_same_audience, assert_same_features, assert_statement_gives, assert_stopped, reference_for

from lookalike_sql import Lookalike, NoFeatureSelected, Seed

_loaded: set[tuple] = set()


def load_dataset(engine, dataset: datasets.Dataset) -> tuple[str, str]:
    """Load the population and a seed table once per engine; return their names."""
    population, seed = f"pop_{dataset.name}", f"seed_{dataset.name}"
    key = (engine.name, id(engine.connection), dataset.name)
    if key not in _loaded:
        engine.load(population, dataset.population)
        engine.load(seed, pd.DataFrame({dataset.id_column: pd.Series(dataset.seed_ids, dtype="int64")}))
        _loaded.add(key)
    return population, seed


def model_for(dataset: datasets.Dataset, population: str, **overrides) -> Lookalike:
    params = {**dataset.params, **overrides}
    return Lookalike(population, id_column=dataset.id_column, **params)


@pytest.fixture(params=datasets.ALL, ids=lambda make: make.__name__)
def dataset(request) -> datasets.Dataset:
    return request.param()


def test_execute_equals_reference(engine, dataset):
    population, seed_table = load_dataset(engine, dataset)
    size = 400
    ref, distance_of = reference_for(dataset, size)
    assert_execute_gives(engine, model_for(dataset, population), Seed.table(seed_table), size, ref, distance_of, dataset.id_column)


def test_single_statement_equals_reference(engine, dataset):
    """The one pasteable statement returns the same audience as the reference."""
    population, seed_table = load_dataset(engine, dataset)
    size = 250
    ref, distance_of = reference_for(dataset, size)
    sql = model_for(dataset, population).sql(Seed.table(seed_table), size, dialect=engine.name, connection=engine.connection)
    assert_statement_gives(engine, sql, ref, distance_of, dataset.id_column)


def test_exclude_seed_both_ways(engine):
    dataset = datasets.seed_partly_outside()
    population, seed_table = load_dataset(engine, dataset)
    ref, distance_of = reference_for(dataset, 300, exclude_seed=True)
    model = model_for(dataset, population)
    result = model.execute(engine.connection, Seed.table(seed_table), 300, exclude_seed=True)
    assert_same_audience(result.audience, ref, distance_of, dataset.id_column)
    assert not set(result.audience[dataset.id_column]) & set(dataset.seed_ids)
    got = engine.query(model.sql(Seed.table(seed_table), 300, exclude_seed=True, dialect=engine.name, connection=engine.connection))
    got.columns = [dataset.id_column, "rank", "distance"]
    assert_same_audience(got, ref, distance_of, dataset.id_column)


def test_seed_as_ids_query_and_table_agree(engine):
    dataset = datasets.seed_partly_outside()
    population, seed_table = load_dataset(engine, dataset)
    ref, distance_of = reference_for(dataset, 200)
    model = model_for(dataset, population)
    seeds = {
        "ids": Seed.ids(dataset.seed_ids),
        "table": Seed.table(seed_table),
        "query": Seed.query(f"SELECT {dataset.id_column} FROM {seed_table} WHERE {dataset.id_column} > 0"),
    }
    for kind, seed in seeds.items():
        result = model.execute(engine.connection, seed, 200)
        assert_same_audience(result.audience, ref, distance_of, dataset.id_column), kind
        assert result.n_seed_found == ref.n_seed_found, kind
    # Python ids are counted as given (distinct), so the report shows how many were not found.
    assert model.execute(engine.connection, seeds["ids"], 10).n_seed_ids == len(set(dataset.seed_ids))


def test_no_feature_selected_is_a_clear_error(engine):
    dataset = datasets.basic()
    population, seed_table = load_dataset(engine, dataset)
    model = model_for(dataset, population, threshold=0.99)
    with pytest.raises(NoFeatureSelected, match="lower the threshold or use a sharper seed"):
        model.execute(engine.connection, Seed.table(seed_table), 10)
    # The single statement stops with the same reason when run as pasted.
    sql = model.sql(Seed.table(seed_table), 10, dialect=engine.name, connection=engine.connection)
    with pytest.raises(Exception) as stopped:
        engine.query(sql)
    assert_stopped(str(stopped.value), "T")


def test_seed_of_50000_python_ids(engine):
    """Above the dialect's inline limit, execute() loads the ids into a temporary table;
    the pasteable statement inlines them all. Both give the reference audience."""
    dataset = datasets.large_seed()
    population, _ = load_dataset(engine, dataset)
    ref, distance_of = reference_for(dataset, 1_000)
    model = model_for(dataset, population)
    assert len(dataset.seed_ids) == 50_000
    result = model.execute(engine.connection, dataset.seed_ids, 1_000)
    assert "lookalike_seed_" in result.statements["profile"]  # went through a temporary table
    assert result.n_seed_ids == 50_000 and result.n_seed_found == 48_000
    assert_same_audience(result.audience, ref, distance_of, dataset.id_column)
    sql = model.sql(dataset.seed_ids, 1_000, dialect=engine.name, connection=engine.connection)
    assert len(sql.encode()) < 16 * 2**20
    got = engine.query(sql)
    got.columns = [dataset.id_column, "rank", "distance"]
    assert_same_audience(got, ref, distance_of, dataset.id_column)


def test_more_features_than_one_select_holds(engine):
    """300 features: Redshift's profile is split into feature groups; same answer everywhere.
    Spark plans the wide one-row profile slowly (minutes and over 2 GB of driver memory at
    300 features), so it runs 100 here: see the README's note on Spark."""
    dataset = datasets.wide(n_features=engine.facts.widest_profile)
    population, seed_table = load_dataset(engine, dataset)
    ref, distance_of = reference_for(dataset, 100)
    model = model_for(dataset, population)
    result = model.execute(engine.connection, Seed.table(seed_table), 100)
    if engine.facts.groups_wide_profile:
        assert "pop_range_3" in result.statements["profile"]
    assert_same_features(result.features, ref)
    assert_same_audience(result.audience, ref, distance_of, dataset.id_column)
    got = engine.query(model.sql(Seed.table(seed_table), 100, dialect=engine.name, connection=engine.connection))
    got.columns = [dataset.id_column, "rank", "distance"]
    assert_same_audience(got, ref, distance_of, dataset.id_column)


def test_sqlalchemy_connection_as_well_as_engine(redshift_engine):
    """execute() takes a SQLAlchemy Connection too (and leaves it usable)."""
    import sqlalchemy
    from conftest import EngineHandle

    handle = EngineHandle("redshift", redshift_engine, "postgres")
    dataset = datasets.basic()
    population, seed_table = load_dataset(handle, dataset)
    ref, distance_of = reference_for(dataset, 50)
    with redshift_engine.connect() as connection:
        result = model_for(dataset, population).execute(connection, dataset.seed_ids, 50)
        assert connection.execute(sqlalchemy.text("SELECT 1")).scalar() == 1
    assert_same_audience(result.audience, ref, distance_of, dataset.id_column)
