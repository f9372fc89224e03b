"""Degenerate data and inputs, on every engine: each case gives the reference's answer or
a one-line error that names the problem (execute()), and the one statement stops rather
than return an audience (its guard's message where the engine passes it on)."""

from __future__ import annotations

import datasets
import numpy as np
import pandas as pd
import pytest
from helpers import assert_same_audience, assert_same_features, assert_stopped, reference_for

from lookalike_sql import InputError, Long, Lookalike, NoFeatureSelected, Seed

pytestmark = pytest.mark.engine

ID = "customer_id"
FEATURES = ["age", "spend", "orders", "views", "noise"]


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message and len(message) < 400, message
    return message


def statement_fails(engine, model: Lookalike, seed, size: int, code: str) -> None:
    """The one statement stops with the message of the check ``code`` in the engine's
    error (lookalike_sql/checks.py)."""
    sql = model.sql(seed, size, dialect=engine.name, connection=engine.connection)
    with pytest.raises(Exception) as exc:  # the engine's own error type
        engine.query(sql)
    assert_stopped(str(exc.value), code)


def check_same_as_reference(engine, table: str, dataset: datasets.Dataset, size: int, **options) -> None:
    model = Lookalike(table, ID, **dataset.params)
    ref, distance_of = reference_for(dataset, size, **options)
    result = model.execute(engine.connection, Seed.ids(dataset.seed_ids), size, **options)
    assert_same_features(result.features, ref)
    assert_same_audience(result.audience, ref, distance_of, ID)
    got = engine.query(model.sql(Seed.ids(dataset.seed_ids), size, dialect=engine.name, connection=engine.connection, **options))
    got.columns = [ID, "rank", "distance"]
    assert_same_audience(got, ref, distance_of, ID)


def test_empty_population(engine):
    frame = datasets.basic().population.iloc[:0]
    engine.load("dg_empty", frame)
    model = Lookalike("dg_empty", ID, min_count=1)
    with pytest.raises(InputError, match=r"the population dg_empty is empty") as exc:
        model.execute(engine.connection, Seed.ids([1, 2]), 10)
    one_line(exc)
    statement_fails(engine, model, Seed.ids([1, 2]), 10, "E")


def test_population_of_one_and_seed_equal_to_population(engine):
    base = datasets.basic().population
    engine.load("dg_one", base.iloc[:1])
    engine.load("dg_small", base.iloc[:200])
    for table, ids in (("dg_one", base[ID].iloc[:1].tolist()), ("dg_small", base[ID].iloc[:200].tolist())):
        model = Lookalike(table, ID, min_count=1, threshold=0.0)
        with pytest.raises(NoFeatureSelected, match=r"The seed holds every customer of the population") as exc:
            model.execute(engine.connection, Seed.ids(ids), 10)
        one_line(exc)
        statement_fails(engine, model, Seed.ids(ids), 10, "T")


def test_constant_features_and_a_seed_without_values(engine):
    base = datasets.basic().population
    seed = base[ID].iloc[:300].tolist()
    constant = base[[ID]].assign(a=1.0, b=5, c=np.nan)
    engine.load("dg_constant", constant)
    without = base.copy()
    without.loc[without[ID].isin(seed), FEATURES] = np.nan  # every feature NULL for the seed
    engine.load("dg_seed_null", without)
    for table in ("dg_constant", "dg_seed_null"):
        model = Lookalike(table, ID, min_count=10)
        with pytest.raises(NoFeatureSelected, match=r"No feature reaches the JS-divergence threshold") as exc:
            model.execute(engine.connection, Seed.ids(seed), 10)
        one_line(exc)
        statement_fails(engine, model, Seed.ids(seed), 10, "T")


def _with_special_values(engine, table: str, cases: dict[str, tuple[int, str]]) -> None:
    """Copy dg_base into ``table``, with ``feature: (id, 'NaN' | 'Infinity' | '-Infinity')``
    set through SQL (the loaders turn NaN into NULL)."""
    double = engine.facts.double_type
    picks = [ID] + [
        f"CASE WHEN {ID} = {cases[f][0]} THEN CAST('{cases[f][1]}' AS {double}) ELSE CAST({f} AS {double}) END AS {f}"
        if f in cases else f
        for f in FEATURES
    ]
    select = f"SELECT {', '.join(picks)} FROM dg_base"
    engine.create_from(table, select)


def test_nan_and_infinite_values_are_refused(engine):
    dataset = datasets.basic()
    engine.load("dg_base", dataset.population)
    outsider = next(i for i in dataset.population[ID] if i not in set(dataset.seed_ids))
    member = dataset.seed_ids[0]
    for table, cases, named in (
        ("dg_nan", {"views": (outsider, "NaN")}, "'views'"),
        ("dg_inf", {"noise": (outsider, "Infinity"), "views": (member, "-Infinity")}, "'views', 'noise'"),
        ("dg_seed_inf", {"spend": (member, "Infinity")}, "'spend'"),
    ):
        _with_special_values(engine, table, cases)
        model = Lookalike(table, ID, min_count=10)
        first = named.split(",")[0].strip("'")
        expected = f"feature {named} of {table} holds NaN" if engine.facts.names_every_non_finite_feature else f"^F: .* feature {first} holds NaN"
        with pytest.raises(InputError, match=expected) as exc:
            model.execute(engine.connection, Seed.ids(dataset.seed_ids), 50)
        one_line(exc)
        statement_fails(engine, model, Seed.ids(dataset.seed_ids), 50, "F")


def test_duplicate_and_null_ids_are_refused(engine):
    dataset = datasets.basic()
    frame = dataset.population
    engine.load("dg_dup", pd.concat([frame, frame.iloc[[5, 6]]], ignore_index=True))
    nulls = frame.copy()
    nulls[ID] = nulls[ID].astype("Int64")
    nulls.loc[[3, 4, 5], ID] = pd.NA
    engine.load("dg_null_id", nulls)
    for table, pattern, code in (
        ("dg_dup", r"2 ids \S+ appear more than once in dg_dup: make the id unique", "D"),
        ("dg_null_id", r"3 customers of dg_null_id have a NULL id", "N"),
    ):
        model = Lookalike(table, ID, min_count=10)
        with pytest.raises(InputError, match=pattern) as exc:
            model.execute(engine.connection, Seed.ids(dataset.seed_ids), 50)
        one_line(exc)
        statement_fails(engine, model, Seed.ids(dataset.seed_ids), 50, code)


def test_repeated_rows_of_a_long_table_are_refused(engine):
    dataset = datasets.basic()
    long = datasets.to_long(dataset, {}, default_fill=None)
    seed = set(dataset.seed_ids)
    # a seed member's row repeated for an informative feature (the ranking's check), and
    # a feature whose every row is doubled (the profile's check)
    one = long[(long[ID].isin(seed)) & (long["feature"] == "spend")].iloc[:1]
    engine.load("dg_long_one", pd.concat([long, one], ignore_index=True))
    doubled = long[long["feature"] == "noise"]
    engine.load("dg_long_all", pd.concat([long, doubled], ignore_index=True))
    for table in ("dg_long_one", "dg_long_all"):
        model = Lookalike(Long(table, fill=None), ID, min_count=10)
        with pytest.raises(InputError, match=r"an \(id, feature\) pair appears more than once in the long table") as exc:
            model.execute(engine.connection, Seed.ids(dataset.seed_ids), 50)
        one_line(exc)
        statement_fails(engine, model, Seed.ids(dataset.seed_ids), 50, "R")


def test_size_larger_than_the_population(engine):
    dataset = datasets.basic(n=500)
    dataset.seed_ids = dataset.seed_ids[:60]
    engine.load("dg_size", dataset.population)
    for exclude_seed in (False, True):
        check_same_as_reference(engine, "dg_size", dataset, 10_000, exclude_seed=exclude_seed)
    result = Lookalike("dg_size", ID, **dataset.params).execute(engine.connection, Seed.ids(dataset.seed_ids), 10_000)
    assert len(result.audience) == 500
    assert any("fewer than the size asked for (10,000)" in w for w in result.warnings)


def test_text_ids_with_quotes(engine):
    """Text ids, some with quotes and semicolons, as Python ids and as a seed table."""
    dataset = datasets.basic(n=1_200)
    frame = dataset.population.copy()
    names = {i: (f"c{i}'x; --" if i % 3 == 0 else f"c{i}") for i in frame[ID]}
    frame[ID] = frame[ID].map(names)
    seed_ids = [names[i] for i in dataset.seed_ids]
    engine.load("dg_text", frame)
    engine.load("dg_text_seed", pd.DataFrame({ID: seed_ids}))
    text = datasets.Dataset("text", frame, seed_ids, dataset.params)
    check_same_as_reference(engine, "dg_text", text, 200)
    model = Lookalike("dg_text", ID, **dataset.params)
    ref, distance_of = reference_for(text, 200)
    assert_same_audience(model.execute(engine.connection, Seed.table("dg_text_seed"), 200).audience, ref, distance_of, ID)


def test_seed_ids_of_the_wrong_type(engine):
    dataset = datasets.basic()
    engine.load("dg_types", dataset.population)
    engine.load("dg_text_seed_ids", pd.DataFrame({ID: [str(i) for i in dataset.seed_ids]}))
    model = Lookalike("dg_types", ID, min_count=10)
    cases = [
        (Seed.ids([str(i) for i in dataset.seed_ids]), r"the seed's ids are text but the id column 'customer_id' is \w+"),
        (Seed.table("dg_text_seed_ids"), r"seed table \S+'s column 'customer_id' are text but the id column"),
        (Seed.query(f"SELECT CAST({ID} AS {engine.facts.text_type}) AS {ID} FROM dg_types"),
         r"the seed query's column are text but the id column"),
    ]
    for seed, pattern in cases:
        with pytest.raises(InputError, match=pattern) as exc:
            model.execute(engine.connection, seed, 10)
        one_line(exc)
