"""Assertions shared by the engine tests: an audience equals the reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lookalike_sql import InputError
from lookalike_sql.checks import BY_CODE, stop_in
from lookalike_sql.lint import lint
from lookalike_sql.reference import ReferenceResult, reference_lookalike

TOLERANCE = 1e-9


def reference_for(dataset, size: int, **overrides) -> tuple[ReferenceResult, pd.Series]:
    """The reference result, and every customer's reference distance (by id)."""
    params = {**dataset.params, **overrides}
    ref = reference_lookalike(dataset.population, dataset.id_column, dataset.seed_ids, size, **params)
    everyone = reference_lookalike(dataset.population, dataset.id_column, dataset.seed_ids, len(dataset.population), **params)
    distance_of = everyone.audience.set_index(dataset.id_column)["distance"]
    return ref, distance_of


def assert_both_paths(engine, model, seed, size, ref: ReferenceResult, distance_of: pd.Series, id_column: str, **controls):
    """execute() and the one statement (mahalanobis has none: it says so) both give the
    reference's features, sizes and audience, and every statement passes the dialect's
    lint. ``controls`` go to both (exclude_seed, exclude, population_filter). Returns
    execute()'s result."""
    result = assert_execute_gives(engine, model, seed, size, ref, distance_of, id_column, **controls)
    if model.method == "mahalanobis":  # the covariance is inverted in Python between two statements
        with pytest.raises(InputError, match="method mahalanobis inverts the k x k covariance in Python"):
            model.sql(seed, size, dialect=engine.name, connection=engine.connection, **controls)
        return result
    assert_statement_gives(engine, model.sql(seed, size, dialect=engine.name, connection=engine.connection, **controls), ref, distance_of, id_column)
    return result


def assert_execute_gives(engine, model, seed, size, ref: ReferenceResult, distance_of: pd.Series, id_column: str, **controls):
    """execute() gives the reference's features, sizes and audience, and each of its
    statements passes the dialect's lint. Returns the result."""
    result = model.execute(engine.connection, seed, size, **controls)
    assert_same_features(result.features, ref)
    assert_same_audience(result.audience, ref, distance_of, id_column)
    assert (result.n_population, result.n_seed_found, result.n_profiled) == (ref.n_population, ref.n_seed_found, ref.n_profiled)
    for step, sql in result.statements.items():
        assert lint(sql, engine.name) == [], step
    return result


def assert_statement_gives(engine, sql: str, ref: ReferenceResult, distance_of: pd.Series, id_column: str) -> None:
    """The one statement passes the dialect's lint and returns the reference's audience."""
    assert lint(sql, engine.name) == []
    got = engine.query(sql)
    got.columns = [id_column, "rank", "distance"]
    assert_same_audience(got, ref, distance_of, id_column)


def assert_same_audience(got: pd.DataFrame, ref: ReferenceResult, distance_of: pd.Series, id_column: str) -> None:
    """Same ids in the same order, allowing only genuine floating-point ties: wherever
    the ids differ, the reference distances of the two customers are equal to 1e-9."""
    expected = ref.audience
    assert list(got.columns) == [id_column, "rank", "distance"]
    assert len(got) == len(expected), f"{len(got)} rows, reference has {len(expected)}"
    assert got["rank"].tolist() == list(range(1, len(got) + 1))
    assert got[id_column].is_unique
    np.testing.assert_allclose(got["distance"].to_numpy(float), expected["distance"].to_numpy(float), rtol=TOLERANCE, atol=TOLERANCE)
    got_ids = got[id_column].tolist()
    exp_ids = expected[id_column].tolist()
    for position, (a, b) in enumerate(zip(got_ids, exp_ids)):
        if a != b:
            da, db = float(distance_of[a]), float(distance_of[b])
            assert abs(da - db) <= TOLERANCE * max(1.0, abs(db)), (
                f"rank {position + 1}: got id {a} (reference distance {da!r}), expected {b} ({db!r})"
            )


def assert_same_features(got: pd.DataFrame, ref: ReferenceResult) -> None:
    """Same JS divergence for every feature and the same weights, to 1e-9."""
    merged = got.merge(ref.features, on="feature", suffixes=("", "_ref"))
    assert len(merged) == len(ref.features)
    np.testing.assert_allclose(merged["js_divergence"], merged["js_divergence_ref"], rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(merged["weight"].fillna(-1), merged["weight_ref"].fillna(-1), rtol=0, atol=TOLERANCE)


def assert_stopped(error_text: str, code: str) -> None:
    """An engine's error carries the stop message of check ``code`` (its code letter and
    its words), whatever the engine wrapped it in."""
    message = stop_in(error_text)
    assert message is not None, f"no lookalike-sql stop message in: {error_text[:500]}"
    assert message.startswith(f"{code}: "), f"expected check {code} ({BY_CODE[code].reason}), got: {message}"
