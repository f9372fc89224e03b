"""The warnings the seed's README gives in prose, checked on real results (DuckDB)."""

from __future__ import annotations

import datasets
import duckdb

from lookalike_sql import Lookalike, Seed


def run(dataset: datasets.Dataset, **overrides):
    con = duckdb.connect()
    con.register("frame", dataset.population)
    con.execute("CREATE TABLE pop AS SELECT * FROM frame")
    params = {**dataset.params, **overrides}
    result = Lookalike("pop", dataset.id_column, **params).execute(con, Seed.ids(dataset.seed_ids), 100)
    con.close()
    return result


def test_small_seed_and_ids_not_found():
    result = run(datasets.seed_partly_outside())
    warnings = result.warnings
    assert any("fewer than the recommended 5,000" in w and "widen" in w for w in warnings)
    assert any("150 of the seed's 400 ids (38%) are not in the population" in w for w in warnings)


def test_near_miss_and_a_clean_seed():
    dataset = datasets.basic()
    best = run(dataset).top_features["js_divergence"].max()
    near = run(dataset, threshold=round(best * 0.8, 4))
    assert any("no feature is clearly above the JS-divergence threshold" in w for w in near.warnings)
    far = run(dataset, threshold=round(best / 3, 4))
    assert not any("clearly above" in w for w in far.warnings)


def test_large_seed_is_within_the_recommended_range():
    """48,000 found of 50,000 ids (4% missing, under the 10% bar): no warning at all."""
    result = run(datasets.large_seed())
    assert result.n_seed_found == 48_000
    assert result.warnings == []
