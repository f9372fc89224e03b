"""Tests of the NumPy/pandas reference implementation (the SQL test oracle)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon

from lookalike_sql.reference import (
    ReferenceResult,
    histogram_counts,
    js_divergence_base2,
    reference_lookalike,
)

LOG2_3 = math.log2(3)


# ---------------------------------------------------------------- JS divergence


@pytest.mark.parametrize("seed", range(20))
def test_js_matches_scipy_on_random_counts(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 15))
    p = rng.integers(0, 50, size=k).astype(float)
    q = rng.integers(0, 50, size=k).astype(float)
    # force some zeros, including bins empty on one side only and on both
    p[rng.integers(0, k)] = 0
    q[rng.integers(0, k)] = 0
    p[0], q[0] = 0, 0
    p[-1] += 1  # keep both vectors non-empty
    q[-1] += 1
    expected = jensenshannon(p, q, base=2) ** 2
    assert js_divergence_base2(p, q) == pytest.approx(expected, abs=1e-9)


def test_js_known_values() -> None:
    assert js_divergence_base2([3, 5, 0], [3, 5, 0]) == 0.0
    assert js_divergence_base2([6, 12, 0], [1, 2, 0]) == pytest.approx(0.0, abs=1e-15)
    # disjoint supports: maximal divergence 1 bit
    assert js_divergence_base2([1, 0], [0, 1]) == pytest.approx(1.0, abs=1e-12)
    # p = (1/2, 1/2), q = (0, 1): 1.5 - 0.75 log2 3
    assert js_divergence_base2([1, 1], [0, 4]) == pytest.approx(1.5 - 0.75 * LOG2_3, abs=1e-12)


def test_js_symmetric() -> None:
    p, q = [4, 0, 7, 1], [0, 3, 2, 9]
    assert js_divergence_base2(p, q) == pytest.approx(js_divergence_base2(q, p), abs=1e-15)


# ---------------------------------------------------------------- bin rule


def test_histogram_value_at_hi_lands_in_last_bin_and_nan_ignored() -> None:
    counts = histogram_counts([0.0, 10.0, np.nan, 10.0, 5.0, np.nan], 0.0, 10.0, 10)
    assert counts.tolist() == [1, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    assert counts.sum() == 4  # the two NaNs are not counted


def test_histogram_bin_edges_go_to_the_upper_bin() -> None:
    # lo=0, hi=4, B=4: edges at 1, 2, 3 belong to the bin they open
    counts = histogram_counts([0, 0.999, 1, 1.5, 2, 3, 3.999, 4], 0, 4, 4)
    assert counts.tolist() == [2, 2, 1, 3]


def test_histogram_uses_the_literal_float_formula() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=500)
    x[::17] = np.nan
    lo, hi, b = float(np.nanmin(x)), float(np.nanmax(x)), 7
    ok = x[~np.isnan(x)]
    idx = np.clip(np.minimum(np.floor((ok - lo) / (hi - lo) * b), b - 1), 0, b - 1)
    expected = np.bincount(idx.astype(int), minlength=b)
    got = histogram_counts(x, lo, hi, b)
    assert got.tolist() == expected.tolist()
    assert got.sum() == ok.size


def test_histogram_clips_out_of_range_values() -> None:
    assert histogram_counts([-5.0, 15.0], 0.0, 10.0, 5).tolist() == [1, 0, 0, 0, 1]


# ---------------------------------------------------------------- end to end


def tiny_population() -> pd.DataFrame:
    """6 customers, 2 features; with seed {5, 6} and B=2 everything is hand-computable.

    a = 0 0 0 1 1 1 -> p_a = (1/2, 1/2), q_a = (0, 1): js_a = 3/2 - 3/4 log2 3
    b = 0 0 0 0 1 1 -> p_b = (2/3, 1/3), q_b = (0, 1): js_b = 1/2 log2 3 - 1/3
    z_a = -1 for a=0, +1 for a=1 (mean 1/2, std 1/2)
    z_b = -1/sqrt2 for b=0, sqrt2 for b=1 (mean 1/3, std sqrt2/3)
    persona = (1, sqrt2)
    """
    return pd.DataFrame(
        {
            "cid": [1, 2, 3, 4, 5, 6],
            "a": [0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
            "b": [0.0, 0.0, 0.0, 0.0, 1.0, 1.0],
        }
    )


def test_tiny_example_by_hand() -> None:
    res = reference_lookalike(tiny_population(), "cid", [5, 6], 6, bins=2, min_count=1)
    assert isinstance(res, ReferenceResult)
    assert res.n_population == 6
    assert res.n_seed_found == 2

    js_a = 1.5 - 0.75 * LOG2_3  # ~0.3113
    js_b = 0.5 * LOG2_3 - 1 / 3  # ~0.4591
    w_a, w_b = js_a / (js_a + js_b), js_b / (js_a + js_b)

    feats = res.features.set_index("feature")
    assert list(res.features.columns) == [
        "feature", "js_divergence", "weight", "selected", "seed_count",
        "lo", "hi", "mean", "std", "persona",
    ]
    assert list(res.features["feature"]) == ["a", "b"]  # input order
    assert feats.loc["a", "js_divergence"] == pytest.approx(js_a, abs=1e-12)
    assert feats.loc["b", "js_divergence"] == pytest.approx(js_b, abs=1e-12)
    assert feats.loc["a", "weight"] == pytest.approx(w_a, abs=1e-12)
    assert feats.loc["b", "weight"] == pytest.approx(w_b, abs=1e-12)
    assert feats["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert feats["selected"].tolist() == [True, True]
    assert feats["seed_count"].tolist() == [2, 2]
    assert feats.loc["a", "mean"] == pytest.approx(0.5)
    assert feats.loc["a", "std"] == pytest.approx(0.5)
    assert feats.loc["b", "mean"] == pytest.approx(1 / 3)
    assert feats.loc["b", "std"] == pytest.approx(math.sqrt(2) / 3)
    assert feats.loc["a", "persona"] == pytest.approx(1.0)
    assert feats.loc["b", "persona"] == pytest.approx(math.sqrt(2))

    # distances: seed members 0; id 4 differs on b only; ids 1-3 on both
    d4 = w_b * 3 / math.sqrt(2)
    d123 = math.sqrt((2 * w_a) ** 2 + (w_b * 3 / math.sqrt(2)) ** 2)
    aud = res.audience
    assert list(aud.columns) == ["cid", "rank", "distance"]
    assert aud["cid"].tolist() == [5, 6, 4, 1, 2, 3]
    assert aud["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert aud["distance"].to_numpy() == pytest.approx([0, 0, d4, d123, d123, d123], abs=1e-12)


def test_tiny_example_size_truncates() -> None:
    res = reference_lookalike(tiny_population(), "cid", [5, 6], 4, bins=2, min_count=1)
    assert res.audience["cid"].tolist() == [5, 6, 4, 1]
    assert res.audience["rank"].tolist() == [1, 2, 3, 4]


def test_size_larger_than_candidates_returns_all() -> None:
    res = reference_lookalike(tiny_population(), "cid", [5, 6], 100, bins=2, min_count=1)
    assert len(res.audience) == 6
    res = reference_lookalike(
        tiny_population(), "cid", [5, 6], 100, bins=2, min_count=1, exclude_seed=True
    )
    assert res.audience["cid"].tolist() == [4, 1, 2, 3]


def test_exclude_seed() -> None:
    res = reference_lookalike(
        tiny_population(), "cid", [5, 6], 2, bins=2, min_count=1, exclude_seed=True
    )
    assert res.audience["cid"].tolist() == [4, 1]
    assert res.audience["rank"].tolist() == [1, 2]
    # the persona is still computed from the seed
    assert res.features.set_index("feature").loc["b", "persona"] == pytest.approx(math.sqrt(2))


def test_ties_broken_by_id_ascending_whatever_the_row_order() -> None:
    pop = tiny_population().sample(frac=1.0, random_state=3).reset_index(drop=True)
    res = reference_lookalike(pop, "cid", [6, 5], 6, bins=2, min_count=1)
    assert res.audience["cid"].tolist() == [5, 6, 4, 1, 2, 3]


def test_ties_broken_by_string_id() -> None:
    pop = pd.DataFrame(
        {
            "cid": ["zed", "amy", "kim", "bob", "eve", "dan"],
            "x": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        }
    )
    res = reference_lookalike(pop, "cid", ["zed", "eve"], 6, bins=2, min_count=1)
    # all x=1 rows at distance 0, all x=0 rows at the same positive distance
    assert res.audience["cid"].tolist() == ["eve", "zed", "amy", "bob", "dan", "kim"]
    d = res.audience["distance"].to_numpy()
    assert d[0] == d[1] == 0.0
    assert d[2] == d[3] == d[4] == d[5] > 0


def test_duplicate_seed_ids_count_once() -> None:
    once = reference_lookalike(tiny_population(), "cid", [5, 6], 6, bins=2, min_count=1)
    dup = reference_lookalike(tiny_population(), "cid", [5, 5, 6, 6, 6], 6, bins=2, min_count=1)
    assert dup.n_seed_found == 2
    assert dup.features["seed_count"].tolist() == [2, 2]
    pd.testing.assert_frame_equal(once.features, dup.features)
    pd.testing.assert_frame_equal(once.audience, dup.audience)


def test_seed_ids_not_in_population_are_ignored() -> None:
    once = reference_lookalike(tiny_population(), "cid", [5, 6], 6, bins=2, min_count=1)
    extra = reference_lookalike(
        tiny_population(), "cid", [5, 99, 6, -1, 1000], 6, bins=2, min_count=1
    )
    assert extra.n_seed_found == 2
    pd.testing.assert_frame_equal(once.features, extra.features)
    pd.testing.assert_frame_equal(once.audience, extra.audience)


def test_nulls_ignored_in_histograms_and_zero_in_standardisation() -> None:
    pop = pd.DataFrame(
        {
            "cid": [1, 2, 3, 4, 5, 6],
            "a": [0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
            "n": [np.nan, 2.0, 4.0, np.nan, 4.0, 4.0],
        }
    )
    res = reference_lookalike(pop, "cid", [5, 6], 6, bins=2, min_count=1, threshold=0.01)
    n = res.features.set_index("feature").loc["n"]
    assert (n["lo"], n["hi"]) == (2.0, 4.0)  # NULLs not in min / max
    assert n["seed_count"] == 2
    # p_n = (1/4, 3/4), q_n = (0, 1)
    assert n["js_divergence"] == pytest.approx(
        js_divergence_base2([1, 3], [0, 2]), abs=1e-15
    )
    # x' = 0 2 4 0 4 4: mean 7/3, population std
    x0 = np.array([0, 2, 4, 0, 4, 4], dtype=float)
    assert n["mean"] == pytest.approx(14 / 6)
    assert n["std"] == pytest.approx(x0.std(ddof=0))


def test_nullable_integer_columns() -> None:
    pop = tiny_population().astype({"a": "Int64", "b": "Int64"})
    pop.loc[0, "a"] = pd.NA
    res = reference_lookalike(pop, "cid", [5, 6], 6, bins=2, min_count=1)
    feats = res.features.set_index("feature")
    assert feats.loc["a", "seed_count"] == 2
    assert feats.loc["a", "mean"] == pytest.approx(0.5)  # NULL counted as 0
    assert res.audience["cid"].tolist()[:2] == [5, 6]


def test_default_features_are_numeric_columns_except_id() -> None:
    pop = tiny_population()
    pop["label"] = ["x", "y", "x", "y", "x", "y"]
    res = reference_lookalike(pop, "cid", [5, 6], 3, bins=2, min_count=1)
    assert res.features["feature"].tolist() == ["a", "b"]


def test_explicit_feature_list_restricts_candidates() -> None:
    res = reference_lookalike(tiny_population(), "cid", [5, 6], 6, features=["a"], bins=2, min_count=1)
    assert res.features["feature"].tolist() == ["a"]
    assert res.features["weight"].tolist() == [1.0]
    # on a alone, ids 4, 5, 6 are tied at distance 0
    assert res.audience["cid"].tolist() == [4, 5, 6, 1, 2, 3]


# ---------------------------------------------------------------- selection


def test_min_count_zeroes_js() -> None:
    # the seed has 2 non-NULL values: below min_count=3 every js is 0 -> error
    with pytest.raises(ValueError, match="No feature reaches the JS-divergence threshold"):
        reference_lookalike(tiny_population(), "cid", [5, 6], 3, bins=2, min_count=3)
    # min_count is about non-NULL seed values: b is NULL for one seed member
    pop = tiny_population()
    pop.loc[5, "b"] = np.nan
    res = reference_lookalike(pop, "cid", [5, 6], 3, bins=2, min_count=2)
    feats = res.features.set_index("feature")
    assert feats.loc["b", "seed_count"] == 1
    assert feats.loc["b", "js_divergence"] == 0.0
    assert not feats.loc["b", "selected"]
    assert np.isnan(feats.loc["b", "weight"])
    assert np.isnan(feats.loc["b", "persona"])
    assert feats.loc["a", "weight"] == 1.0


def test_constant_and_all_null_features_get_zero_js() -> None:
    pop = tiny_population()
    pop["const"] = 7.0
    pop["empty"] = np.nan
    res = reference_lookalike(pop, "cid", [5, 6], 3, bins=2, min_count=1, threshold=0.0)
    feats = res.features.set_index("feature")
    assert feats.loc["const", "js_divergence"] == 0.0
    assert feats.loc["empty", "js_divergence"] == 0.0
    assert np.isnan(feats.loc["empty", "lo"]) and np.isnan(feats.loc["empty", "hi"])
    # threshold 0: zero-divergence features are still not selected
    assert feats["selected"].tolist() == [True, True, False, False]


def test_threshold_is_inclusive() -> None:
    js_a = 1.5 - 0.75 * LOG2_3
    computed = js_divergence_base2([1, 1], [0, 2])
    res = reference_lookalike(tiny_population(), "cid", [5, 6], 3, bins=2, min_count=1, threshold=computed)
    feats = res.features.set_index("feature")
    assert computed == pytest.approx(js_a)
    assert feats["selected"].tolist() == [True, True]
    res = reference_lookalike(
        tiny_population(), "cid", [5, 6], 3, bins=2, min_count=1, threshold=np.nextafter(computed, 1)
    )
    assert res.features["selected"].tolist() == [False, True]


def test_max_features_keeps_top_js_ties_by_name() -> None:
    pop = tiny_population()
    pop["c"] = pop["b"]  # same js as b
    res = reference_lookalike(pop, "cid", [5, 6], 3, bins=2, min_count=1, max_features=1)
    assert res.features["selected"].tolist() == [False, True, False]
    # names in reverse order: still "b" wins the tie against "c"
    pop2 = pop[["cid", "c", "b", "a"]]
    res2 = reference_lookalike(pop2, "cid", [5, 6], 3, bins=2, min_count=1, max_features=1)
    assert res2.features["feature"].tolist() == ["c", "b", "a"]
    assert res2.features["selected"].tolist() == [False, True, False]
    # max_features=2: b and c (higher js) beat a
    res3 = reference_lookalike(pop, "cid", [5, 6], 3, bins=2, min_count=1, max_features=2)
    assert res3.features["selected"].tolist() == [False, True, True]
    assert res3.features["weight"].dropna().tolist() == [0.5, 0.5]


# ---------------------------------------------------------------- errors


def test_error_no_feature_selected() -> None:
    with pytest.raises(ValueError, match="lower the threshold or use a sharper seed"):
        reference_lookalike(tiny_population(), "cid", [5, 6], 3, bins=2, min_count=1, threshold=0.9)


def test_error_seed_with_no_divergence() -> None:
    # seed {1, 2} has the population's shares (1/2, 1/2) -> js = 0
    pop = pd.DataFrame({"cid": [1, 2, 3, 4], "a": [0.0, 1.0, 0.0, 1.0]})
    with pytest.raises(ValueError, match="No feature reaches the JS-divergence threshold"):
        reference_lookalike(pop, "cid", [1, 2], 3, bins=2, min_count=1, threshold=0.0)


def test_error_no_seed_in_population() -> None:
    with pytest.raises(ValueError, match="seed"):
        reference_lookalike(tiny_population(), "cid", [42, 43], 3, bins=2, min_count=1)
    with pytest.raises(ValueError, match="seed"):
        reference_lookalike(tiny_population(), "cid", [], 3, bins=2, min_count=1)


@pytest.mark.parametrize("size", [0, -3])
def test_error_size_below_one(size: int) -> None:
    with pytest.raises(ValueError, match="size"):
        reference_lookalike(tiny_population(), "cid", [5, 6], size, bins=2, min_count=1)
