"""The scoring methods: their names, what each ranking computes (for the statements'
stage comments), and the constants a method needs from the profile."""

from __future__ import annotations

import math
from typing import Any

#: What each method's ranking computes, for the statements' stage comments.
METHOD_LABELS = {"euclidean": "weighted distance", "likelihood": "likelihood score", "cosine": "cosine distance",
                 "mahalanobis": "Mahalanobis distance"}


#: Scoring methods: euclidean = the seed's weighted distance to the persona; likelihood =
#: the weighted sum of each feature's smoothed log ratio ln(Q(bin) / P(bin)) of the seed's
#: and the population's shares of the customer's bin (the JS step's histograms); cosine =
#: 1 - the cosine similarity of the weighted standardized values and the weighted persona;
#: mahalanobis = sqrt(u' M u), u = w (z - persona), M the inverse population covariance of
#: the selected z (computed in the warehouse, inverted in Python: execute() only).
METHODS = ("euclidean", "likelihood", "cosine", "mahalanobis")


def likelihood_ratios(row: Any, bins: int) -> tuple[list[float], float]:
    """A profile row's smoothed log ratios ln(Q/P) per bin, and for NULL (its own bin):
    additive smoothing of 1 over the bins + 1 cells, on each side's own count."""
    cells = bins + 1
    n_seed, n_profiled = row["n_seed_found"], row["n_profiled"]

    def ratio(q: float, p: float) -> float:
        return math.log((q + 1) / (n_seed + cells)) - math.log((p + 1) / (n_profiled + cells))

    lrs = [ratio(row[f"q_{k}"], row[f"p_{k}"]) for k in range(bins)]
    return lrs, ratio(n_seed - row["seed_weight"], n_profiled - row["pop_count"])
