"""The scoring methods, registered in one place: each method's record here and its SQL in
``templates/methods/<name>.sql.j2``; and the constants a method takes from the profile."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

@dataclass(frozen=True)
class Method:
    """A scoring method: how a customer's selected features become one distance (smaller
    is more alike). Its SQL is ``templates/methods/<name>.sql.j2`` (a feature's ``term``
    in each of its sums, and the ``distance`` from the sums); these fields say what else
    the statements carry for it. The NumPy reference (reference.py) computes each method
    on its own, as the oracle."""

    name: str
    #: what its ranking computes, for the statements' stage comments
    label: str
    #: the sums per customer its distance is made of
    sums: int = 1
    #: it reads each selected feature's range and smoothed log ratio per bin
    bin_ratios: bool = False
    #: its distance needs the squared norm of the weighted persona
    persona_norm: bool = False
    #: it ranks by a quadratic form of the inverse covariance, which Python inverts
    #: between two statements: execute() only, no one statement
    covariance: bool = False


#: The scoring methods by name: euclidean = the seed's weighted distance to the persona;
#: likelihood = the weighted sum of each feature's smoothed log ratio ln(Q(bin) / P(bin))
#: of the seed's and the population's shares of the customer's bin (the JS step's
#: histograms); cosine = 1 - the cosine similarity of the weighted standardized values and
#: the weighted persona; mahalanobis = sqrt(u' M u), u = w (z - persona), M the inverse
#: population covariance of the selected z (computed in the warehouse, inverted in Python).
REGISTRY: dict[str, Method] = {
    m.name: m
    for m in (
        Method("euclidean", "weighted distance"),
        Method("likelihood", "likelihood score", bin_ratios=True),
        Method("cosine", "cosine distance", sums=2, persona_norm=True),
        Method("mahalanobis", "Mahalanobis distance", covariance=True),
    )
}
METHODS = tuple(REGISTRY)


def likelihood_ratios(row: Any, bins: int) -> tuple[list[float], float]:
    """A profile row's smoothed log ratios ln(Q/P) per bin, and for NULL (its own bin):
    additive smoothing of 1 over the bins + 1 cells, on each side's own count."""
    cells = bins + 1
    n_seed, n_profiled = row["n_seed_found"], row["n_profiled"]

    def ratio(q: float, p: float) -> float:
        return math.log((q + 1) / (n_seed + cells)) - math.log((p + 1) / (n_profiled + cells))

    lrs = [ratio(row[f"q_{k}"], row[f"p_{k}"]) for k in range(bins)]
    return lrs, ratio(n_seed - row["seed_weight"], n_profiled - row["pop_count"])
