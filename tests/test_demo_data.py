"""Tests for the synthetic demo population (lookalike_sql.demo_data)."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from lookalike_sql.demo_data import (
    DEMO_CATEGORIES,
    DEMO_FEATURES,
    DEMO_SYMBOLS,
    MOM_SEED_SQL,
    SEX_FEMALE,
    build_demo_database,
    load_catalogue,
    make_population,
)

# Ratio metrics that are NULL when the customer never ordered in the category.
NULLABLE = ("dpo", "dsl", "vpo")


@pytest.fixture(scope="module")
def pop() -> pd.DataFrame:
    """A mid-sized population with the hidden segments (fast, enough for rates)."""
    return make_population(50_000, random_state=11, include_segments=True)


@pytest.fixture(scope="module")
def catalogue() -> pd.DataFrame:
    return load_catalogue()


# --- catalogue ------------------------------------------------------------- #


def test_catalogue_shape_and_codes(catalogue: pd.DataFrame) -> None:
    assert len(catalogue) == 1805
    assert list(catalogue.columns) == ["idx", "feature", "sym", "code", "category"]
    assert catalogue["code"].map(lambda c: isinstance(c, str) and len(c) == 3).all()
    assert (catalogue["feature"] == catalogue["sym"] + catalogue["code"]).all()
    assert catalogue.loc[catalogue.feature == "sex000", "category"].item() == "null"


def test_demo_subset_matches_catalogue(catalogue: pd.DataFrame) -> None:
    names = catalogue.drop_duplicates("code").set_index("code")["category"]
    for code, name in DEMO_CATEGORIES.items():
        assert names[code] == name, code
    assert set(DEMO_SYMBOLS) <= set(catalogue["sym"])
    assert 14 <= len(DEMO_CATEGORIES) <= 18 and 6 <= len(DEMO_SYMBOLS) <= 10
    assert len(DEMO_FEATURES) == 3 + len(DEMO_SYMBOLS) * len(DEMO_CATEGORIES)
    assert len(set(DEMO_FEATURES)) == len(DEMO_FEATURES)


# --- the population frame --------------------------------------------------- #


def test_columns_exist_in_catalogue(catalogue: pd.DataFrame) -> None:
    frame = make_population(2_000, random_state=1)
    assert list(frame.columns) == ["member_srl", *DEMO_FEATURES]
    unknown = set(frame.columns) - {"member_srl"} - set(catalogue["feature"])
    assert not unknown
    assert all(pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns)


def test_deterministic() -> None:
    a = make_population(5_000, random_state=3)
    b = make_population(5_000, random_state=3)
    pd.testing.assert_frame_equal(a, b)
    c = make_population(5_000, random_state=4)
    assert not a.equals(c)
    # The truth columns are extra; they do not change the features.
    d = make_population(5_000, random_state=3, include_segments=True)
    pd.testing.assert_frame_equal(a, d[a.columns])


def test_ids_unique_and_unordered(pop: pd.DataFrame) -> None:
    ids = pop["member_srl"]
    assert ids.dtype == np.int64
    assert ids.is_unique
    assert ids.min() >= 1_000_000
    assert not ids.is_monotonic_increasing and not ids.is_monotonic_decreasing
    # Ids carry no signal: no rank correlation with spend or age.
    for col in ("aas015", "age000"):
        rho = np.corrcoef(ids.rank(), pop[col].rank())[0, 1]
        assert abs(rho) < 0.05, col


def test_demographics(pop: pd.DataFrame) -> None:
    assert pop["age000"].between(18, 75).all()
    assert set(pop["sex000"].unique()) == {0, 1, 2}
    assert 0.4 < (pop["sex000"] == SEX_FEMALE).mean() < 0.6
    assert pop["aay000"].between(0.1, 12.0).all()


def test_nulls_exactly_where_no_orders(pop: pd.DataFrame) -> None:
    for code in DEMO_CATEGORIES:
        no_orders = pop[f"cto{code}"] == 0
        for sym in NULLABLE:
            col = pop[f"{sym}{code}"]
            assert col.isna().any(), f"{sym}{code} has no NULLs"
            assert (col.isna() == no_orders).all(), f"{sym}{code}"
        for sym in ("cto", "aas", "gpo", "gpq", "ctv"):
            assert pop[f"{sym}{code}"].notna().all()
        assert (pop.loc[no_orders, [f"aas{code}", f"gpo{code}", f"gpq{code}"]] == 0).all().all()
    assert pop[["age000", "sex000", "aay000"]].notna().all().all()


def test_sparse_categories(pop: pd.DataFrame) -> None:
    active = {code: (pop[f"cto{code}"] > 0).mean() for code in DEMO_CATEGORIES}
    # Everyday groceries are common, every other category is bought by few.
    for code, share in active.items():
        limit = 0.6 if code in ("057", "064") else 0.25
        assert 0.005 < share < limit, (code, share)
    assert np.median(list(active.values())) < 0.1


def test_values_are_sane(pop: pd.DataFrame) -> None:
    buyers = pop["cto015"] > 0
    assert (pop.loc[buyers, "gpo015"] > 0).all()
    assert (pop.loc[buyers, "gpq015"] <= pop.loc[buyers, "gpo015"]).all()
    assert np.allclose(pop.loc[buyers, "aas015"], pop.loc[buyers, "cto015"] * pop.loc[buyers, "gpo015"])
    assert (pop.loc[buyers, "dsl015"] <= pop.loc[buyers, "aay000"] * 365 + 1).all()
    assert (pop.loc[buyers, "dpo015"] > 0).all()
    # Some customers only browse: views without orders.
    assert ((pop["ctv015"] > 0) & ~buyers).any()


def test_correlated_behaviour(pop: pd.DataFrame) -> None:
    def lift(given: str, then: str) -> float:
        base = (pop[then] > 0).mean()
        return (pop.loc[pop[given] > 0, then] > 0).mean() / base

    assert lift("cto015", "cto016") > 5  # diapers -> formula
    assert lift("cto015", "cto017") > 5  # diapers -> wipes
    assert lift("cto087", "cto088") > 5  # cat food -> cat supply
    assert lift("cto089", "cto090") > 5  # dog food -> dog supply
    assert lift("cto015", "cto040") < 2  # diapers say little about games


def test_segments_soft_not_hard(pop: pd.DataFrame) -> None:
    parents = pop[pop["is_parent"]]
    assert 0.06 < len(parents) / len(pop) < 0.10
    female = (parents["sex000"] == SEX_FEMALE).mean()
    in_age = parents["age000"].between(25, 40).mean()
    # Mostly women aged 25-40, but fathers and older parents exist.
    assert 0.6 < female < 0.9 and 0.7 < in_age < 0.97
    cat_owners = pop["is_cat"].mean()
    assert 0.04 < cat_owners < 0.08


def test_generation_is_fast() -> None:
    start = time.perf_counter()
    frame = make_population(200_000)
    elapsed = time.perf_counter() - start
    assert len(frame) == 200_000
    assert elapsed < 5.0, f"200k customers took {elapsed:.2f}s"


# --- the DuckDB demo database ----------------------------------------------- #


def test_build_demo_database(tmp_path: Path) -> None:
    path = tmp_path / "demo.duckdb"
    facts = build_demo_database(path)
    assert facts["path"] == str(path)
    assert facts["n_customers"] == 200_000
    assert facts["n_features"] == len(DEMO_FEATURES)
    assert 1_500 <= facts["seed_size"] <= 5_000

    con = duckdb.connect(str(path), read_only=True)
    try:
        n, n_ids, nulls, nans = con.execute(
            "SELECT count(*), count(DISTINCT member_srl), count(*) - count(dsl015),"
            " count(*) FILTER (WHERE isnan(dsl015)) FROM population"
        ).fetchone()
        assert n == n_ids == 200_000
        assert nulls > 0 and nans == 0  # NaN arrived as SQL NULL
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_name = 'population'"
            ).fetchall()
        )
        assert types["member_srl"] == "BIGINT"
        assert types["gpo015"] == "DOUBLE"
        seed_n, bad = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE NOT (cto015 > 0 AND sex000 = 1"
            " AND gpo015 > 70000 AND dsl015 BETWEEN 30 AND 180 AND age000 BETWEEN 25 AND 35))"
            " FROM mom_seed JOIN population USING (member_srl)"
        ).fetchone()
        assert seed_n == facts["seed_size"] and bad == 0
        again = con.execute(f"SELECT count(*) FROM ({MOM_SEED_SQL}) s").fetchone()
        assert again[0] == seed_n
    finally:
        con.close()

    # Rebuilding replaces the tables rather than failing or appending.
    assert build_demo_database(path, n_customers=10_000)["n_customers"] == 10_000
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM population").fetchone()[0] == 10_000
    finally:
        con.close()
