"""Plain NumPy/pandas reference implementation of the lookalike algorithm.

This module is the test oracle the generated SQL is checked against, so it
favours being literal and readable over being fast.  No SQL is involved.

Algorithm
---------
Inputs: a population table (one row per customer: an id column plus numeric
feature columns, NULL/NaN allowed), seed ids (only those present in the
population count, duplicates count once), an audience size ``n``,
``max_features``, ``threshold``, ``bins`` (B) and ``min_count``.

1. Histograms, per feature, over non-NULL values only: B equal-width bins over
   ``[lo, hi]`` = population ``[min, max]``;
   ``bin(x) = min(floor((x - lo) / (hi - lo) * B), B - 1)`` clipped to
   ``[0, B - 1]``.  ``p`` = population bin shares, ``q`` = seed bin shares
   (each divided by its own number of non-NULL values).
2. Jensen-Shannon divergence, base 2:
   ``js = 1/2 sum p log2(p/m) + 1/2 sum q log2(q/m)``, ``m = (p + q) / 2``,
   with ``0 log 0 = 0``.  ``js = 0`` when ``hi == lo``, when the population
   has no non-NULL value, or when the seed has fewer than ``min_count``
   non-NULL values.
3. Selection: features with ``js >= threshold`` and ``js > 0``, then the top
   ``max_features`` by js (ties: feature name ascending).  None -> ValueError.
4. Weights: ``w = js / sum(js over the selected features)``.
5. Standardise: ``x' = x`` with NULL -> 0, ``z = (x' - mean) / std`` using the
   population mean and population std (ddof=0) of ``x'``.
6. Persona: the mean of ``z`` over the seed members, per selected feature.
7. Distance: ``d = sqrt(sum_f (w_f * (z_f - persona_f)) ** 2)``.
8. Output: the ``n`` customers with the smallest ``d`` (ties: id ascending),
   seed members included unless ``exclude_seed``; all candidates when ``n``
   exceeds their number.

Value-based seed (``seed_ids`` a mapping id -> value >= 0): member ``i`` with
value ``v_i`` weighs ``w_i = v_i * n / V`` (``n`` members found, ``V`` their
total value; 1 on average).  ``q`` counts weights instead of members, the
persona is the weighted mean of ``z``, the likelihood's seed counts are
weighted; ``min_count`` still counts members.

Sampling (``sample``): the population's side of steps 1 and 5 (range,
histogram ``p``, mean and std) may be computed on a deterministic sample of
customers, keyed by ``md5(str(id))`` as lower-case hex: an int ``n`` keeps the
``n`` customers with the smallest key (everyone when there are fewer), a
fraction ``f`` in (0, 1) keeps those whose key's first 8 hex digits are below
``f * 16**8`` (see :func:`sample_mask`).  The seed's side (``q``, persona) and
the ranking always use every customer.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

__all__ = [
    "ReferenceResult",
    "histogram_counts",
    "js_divergence_base2",
    "reference_lookalike",
    "sample_mask",
    "sample_threshold",
]


@dataclass(frozen=True)
class ReferenceResult:
    """What :func:`reference_lookalike` returns."""

    # columns [<id_column>, "rank", "distance"], rank 1..n, sorted by rank
    audience: pd.DataFrame
    # one row per candidate feature, in input order: feature, js_divergence,
    # weight (NaN when not selected), selected, seed_count, lo, hi, mean, std,
    # persona (NaN when not selected)
    features: pd.DataFrame
    n_population: int
    n_seed_found: int  # distinct seed ids present in the population
    n_profiled: int  # customers on the population side of the profile (see ``sample``)


def histogram_counts(values, lo: float, hi: float, bins: int, weights=None) -> np.ndarray:
    """Counts per bin of the non-NaN ``values`` over ``[lo, hi]`` with ``bins`` bins
    (with ``weights``, one per value, the sum of the weights per bin).

    ``bin(x) = min(floor((x - lo) / (hi - lo) * bins), bins - 1)``, clipped to
    ``[0, bins - 1]``, computed in exactly that order of float operations.
    Degenerate range (``hi == lo``): every value goes to bin 0.
    """
    x = np.asarray(values, dtype="float64")
    if weights is not None:
        weights = np.asarray(weights, dtype="float64")[~np.isnan(x)]
    x = x[~np.isnan(x)]  # NULLs do not take part in histograms
    if hi == lo:
        idx = np.zeros(x.shape, dtype=np.int64)
    else:
        idx = np.floor((x - lo) / (hi - lo) * bins)
        idx = np.minimum(idx, bins - 1)  # x == hi lands in the last bin
        idx = np.clip(idx, 0, bins - 1).astype(np.int64)
    return np.bincount(idx, weights=weights, minlength=bins)


def bin_index(values, lo: float, hi: float, bins: int, null_bin: int) -> np.ndarray:
    """Each value's bin, as histogram_counts bins it; NaN (NULL) gets ``null_bin``."""
    x = np.asarray(values, dtype="float64")
    with np.errstate(invalid="ignore"):
        idx = np.floor((x - lo) / (hi - lo) * bins)
        idx = np.clip(np.minimum(idx, bins - 1), 0, bins - 1)
    return np.where(np.isnan(x), null_bin, idx).astype(np.int64)


def sample_threshold(fraction: float) -> str:
    """The 8 lower-case hex digits a key's prefix must stay below for ``fraction``."""
    return format(min(int(fraction * 16**8), 16**8 - 1), "08x")


def sample_mask(ids, sample: float | None) -> np.ndarray:
    """Which customers a ``sample`` keeps (True for all when ``sample`` is None)."""
    ids = np.asarray(ids, dtype=object)
    if sample is None:
        return np.ones(len(ids), dtype=bool)
    keys = np.array([hashlib.md5(str(v).encode("utf-8")).hexdigest() for v in ids], dtype=object)
    if isinstance(sample, float):
        return keys < sample_threshold(sample)
    if len(keys) <= sample:
        return np.ones(len(ids), dtype=bool)
    cutoff = np.sort(keys)[sample - 1]
    return keys <= cutoff


def js_divergence_base2(p_counts, q_counts) -> float:
    """Jensen-Shannon divergence (base 2) between two count vectors.

    Counts are turned into shares first; ``0 * log 0 = 0``.  Equals
    ``scipy.spatial.distance.jensenshannon(p, q, base=2) ** 2``.
    Returns 0.0 when either vector has no mass.
    """
    p_counts = np.asarray(p_counts, dtype="float64")
    q_counts = np.asarray(q_counts, dtype="float64")
    if p_counts.shape != q_counts.shape:
        raise ValueError("p_counts and q_counts must have the same length")
    p_total, q_total = p_counts.sum(), q_counts.sum()
    if p_total == 0 or q_total == 0:
        return 0.0
    p = p_counts / p_total
    q = q_counts / q_total
    m = (p + q) / 2

    def kl_to_m(a: np.ndarray) -> float:
        # sum a * log2(a / m) over a > 0 (where a > 0, m > 0 too)
        pos = a > 0
        return float(np.sum(a[pos] * np.log2(a[pos] / m[pos])))

    return 0.5 * kl_to_m(p) + 0.5 * kl_to_m(q)


def _as_float(series: pd.Series) -> np.ndarray:
    """A column as float64 with NULL (None / pd.NA / NaN) as NaN."""
    return series.to_numpy(dtype="float64", na_value=np.nan)


def _default_features(population: pd.DataFrame, id_column: str) -> list[str]:
    """Every numeric (non-boolean) column except the id column."""
    return [
        str(c)
        for c in population.columns
        if c != id_column
        and pd.api.types.is_numeric_dtype(population[c])
        and not pd.api.types.is_bool_dtype(population[c])
    ]


def reference_lookalike(
    population: pd.DataFrame,
    id_column: str,
    seed_ids: Iterable,
    size: int | Fraction,
    *,
    features: list[str] | None = None,
    max_features: int = 20,
    threshold: float = 0.05,
    bins: int = 10,
    min_count: int = 30,
    exclude_seed: bool = False,
    sample: float | None = None,
    exclude: Iterable | None = None,
    rank_mask: np.ndarray | None = None,
    method: str = "euclidean",
) -> ReferenceResult:
    """Compute a lookalike audience of ``size`` customers (see module docstring).
    ``seed_ids`` is the seed's ids, or a mapping id -> value for a value-based seed.

    Audience controls: ``exclude`` ids never enter the audience (as the seed with
    ``exclude_seed``); ``rank_mask`` (a boolean per population row, the population
    filter) restricts who is ranked, not the profile; a ``Fraction`` size is a share of
    the ranked population (after the filter, before the exclusions), rounded up."""
    # ---- argument checks ------------------------------------------------
    if isinstance(size, Fraction):
        eligible = len(population) if rank_mask is None else int(np.asarray(rank_mask).sum())
        size = max(1, math.ceil(size * eligible)) if eligible else 1
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    if max_features < 1:
        raise ValueError(f"max_features must be >= 1, got {max_features}")
    if id_column not in population.columns:
        raise ValueError(f"id column {id_column!r} not in the population table")
    ids = population[id_column].to_numpy()
    if population[id_column].duplicated().any():
        raise ValueError(f"id column {id_column!r} has duplicate values")

    if features is None:
        features = _default_features(population, id_column)
    features = list(features)
    if not features:
        raise ValueError("No candidate feature: the population has no numeric column")
    if id_column in features:
        raise ValueError(f"the id column {id_column!r} cannot be a feature")
    missing = [f for f in features if f not in population.columns]
    if missing:
        raise ValueError(f"features not in the population table: {missing}")

    # ---- seed members: population rows whose id is a seed id -----------
    seed_set = set(seed_ids)  # duplicates count once
    is_seed = population[id_column].isin(seed_set).to_numpy()
    n_seed_found = int(pd.unique(ids[is_seed]).size)
    if n_seed_found == 0:
        raise ValueError("No seed id was found in the population")
    # each member's weight: 1, or its value * members / total value (value-based)
    member_weight = np.ones(int(is_seed.sum()))
    if isinstance(seed_ids, Mapping):
        values = np.array([float(seed_ids[i]) for i in ids[is_seed]])
        if not (np.isfinite(values) & (values >= 0)).all():
            raise ValueError("a seed member's value is negative or not finite")
        if not values.sum() > 0:
            raise ValueError("the seed members' values add up to 0")
        member_weight = values * n_seed_found / values.sum()
    profiled = sample_mask(ids, sample)  # the population side of the profile

    # ---- steps 1, 2 and 5: per-feature statistics ------------------------
    rows = []
    z_by_feature: dict[str, np.ndarray] = {}
    for f in features:
        x_all = _as_float(population[f])
        x = x_all[profiled]
        nonnull = ~np.isnan(x)
        seed_x = x_all[is_seed]
        seed_count = int((~np.isnan(seed_x)).sum())  # members, for min_count

        if nonnull.any():
            lo, hi = float(x[nonnull].min()), float(x[nonnull].max())
        else:
            lo, hi = np.nan, np.nan

        # standardisation of x' = x with NULL -> 0 (population mean / std, ddof=0)
        x0 = np.where(nonnull, x, 0.0)
        mean = float(x0.mean()) if len(x0) else np.nan
        std = float(x0.std(ddof=0)) if len(x0) else np.nan

        # JS divergence (0 in the degenerate cases; a std of 0 despite hi > lo means the
        # spread underflowed, and z could not be computed)
        if not nonnull.any() or hi == lo or not std > 0 or seed_count < min_count:
            js = 0.0
        else:
            p_counts = histogram_counts(x, lo, hi, bins)
            q_counts = histogram_counts(seed_x, lo, hi, bins, member_weight)
            js = js_divergence_base2(p_counts, q_counts)
        with np.errstate(divide="ignore", invalid="ignore"):
            z_by_feature[f] = (np.nan_to_num(x_all, nan=0.0) - mean) / std

        rows.append(
            {
                "feature": f,
                "js_divergence": js,
                "seed_count": seed_count,
                "lo": lo,
                "hi": hi,
                "mean": mean,
                "std": std,
            }
        )

    # ---- step 3: selection ------------------------------------------------
    eligible = [r for r in rows if r["js_divergence"] >= threshold and r["js_divergence"] > 0]
    eligible.sort(key=lambda r: (-r["js_divergence"], r["feature"]))
    selected = [r["feature"] for r in eligible[:max_features]]
    if not selected:
        raise ValueError(
            f"No feature reaches the JS-divergence threshold ({threshold}): "
            "lower the threshold or use a sharper seed"
        )

    # ---- step 4: weights --------------------------------------------------
    js_of = {r["feature"]: r["js_divergence"] for r in rows}
    js_total = sum(js_of[f] for f in selected)
    weight = {f: js_of[f] / js_total for f in selected}

    # ---- step 6: persona = mean z over the seed members ------------------
    persona = {f: float(np.average(z_by_feature[f][is_seed], weights=member_weight)) for f in selected}

    # ---- step 7: weighted Euclidean distance to the persona --------------
    if method == "likelihood":
        # score = sum of w * ln(Q(bin) / P(bin)), the smoothed shares of the customer's
        # bin (NULL its own bin) among the seed and the profiled population; distance =
        # -score, so that the most seed-like rank first
        cells = bins + 1
        n_profiled_all = int(profiled.sum())
        score = np.zeros(len(population), dtype="float64")
        for f in selected:
            r = next(row for row in rows if row["feature"] == f)
            x_all = _as_float(population[f])
            p_counts = histogram_counts(x_all[profiled], r["lo"], r["hi"], bins)
            q_counts = histogram_counts(x_all[is_seed], r["lo"], r["hi"], bins, member_weight)
            p_null = n_profiled_all - int(p_counts.sum())
            q_null = n_seed_found - float(q_counts.sum())

            def ratio(q: float, p: int) -> float:
                return math.log((q + 1) / (n_seed_found + cells)) - math.log((p + 1) / (n_profiled_all + cells))

            lr = np.array([ratio(float(q), int(p)) for p, q in zip(p_counts, q_counts)] + [ratio(q_null, p_null)])
            score += weight[f] * lr[bin_index(x_all, r["lo"], r["hi"], bins, null_bin=bins)]
        distance = -score
    elif method == "mahalanobis":
        # sqrt(u' M u), u = w (z - persona), M = pinv of the population covariance of z
        z = np.column_stack([z_by_feature[f] for f in selected])
        covariance = (z.T @ z) / len(z) - np.outer(z.mean(axis=0), z.mean(axis=0))
        inverse = np.linalg.pinv(covariance, hermitian=True)
        u = np.column_stack([weight[f] * (z_by_feature[f] - persona[f]) for f in selected])
        q = np.einsum("ni,ij,nj->n", u, inverse, u)
        distance = np.sqrt(np.maximum(q, 0))
    elif method == "cosine":
        # 1 - cos(a, b) with a = w z (the customer), b = w persona; 1 when a norm is 0
        dot = np.zeros(len(population), dtype="float64")
        norm = np.zeros(len(population), dtype="float64")
        persona_norm = 0.0
        for f in selected:
            a = weight[f] * z_by_feature[f]
            b = weight[f] * persona[f]
            dot += a * b
            norm += a * a
            persona_norm += b * b
        with np.errstate(divide="ignore", invalid="ignore"):
            denominator = np.sqrt(norm) * np.sqrt(persona_norm)
            distance = np.where(denominator == 0, 1.0, 1 - dot / np.where(denominator == 0, 1.0, denominator))
    else:
        sq = np.zeros(len(population), dtype="float64")
        for f in selected:  # summed in selection order (js descending)
            sq += (weight[f] * (z_by_feature[f] - persona[f])) ** 2
        distance = np.sqrt(sq)

    # ---- step 8: the size nearest candidates, ties by id ------------------
    keep = ~is_seed if exclude_seed else np.ones(len(population), dtype=bool)
    if exclude is not None:
        keep &= ~population[id_column].isin(set(exclude)).to_numpy()
    if rank_mask is not None:
        keep &= np.asarray(rank_mask, dtype=bool)
    candidates = np.flatnonzero(keep)
    order = np.lexsort((ids[candidates], distance[candidates]))  # by d, then id
    chosen = candidates[order][:size]
    audience = pd.DataFrame(
        {
            id_column: ids[chosen],
            "rank": np.arange(1, len(chosen) + 1, dtype=np.int64),
            "distance": distance[chosen],
        }
    )

    # ---- feature report, in input order -----------------------------------
    features_df = pd.DataFrame(rows)
    features_df["selected"] = features_df["feature"].isin(selected)
    features_df["weight"] = features_df["feature"].map(weight).astype("float64")
    features_df["persona"] = features_df["feature"].map(persona).astype("float64")
    features_df["seed_count"] = features_df["seed_count"].astype(np.int64)
    features_df = features_df[
        ["feature", "js_divergence", "weight", "selected", "seed_count",
         "lo", "hi", "mean", "std", "persona"]
    ]

    return ReferenceResult(
        audience=audience,
        features=features_df,
        n_population=len(population),
        n_seed_found=n_seed_found,
        n_profiled=int(profiled.sum()),
    )
