"""What a job brings back from the warehouse: the audience, the per-feature summary,
the histograms and the statements that ran."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .catalogue import measure_of, readable_name
from .pictures import plot_histograms
from .report import audience_warnings


@dataclass
class LookalikeResult:
    """What comes back from the warehouse: the audience and the per-feature summary."""

    audience: pd.DataFrame  # <id column>, rank, distance
    features: pd.DataFrame  # every candidate: feature, js_divergence, weight, ...
    histograms: pd.DataFrame  # feature, bin, bin_lo, bin_hi, population, seed, lookalike (counts)
    statements: dict[str, str]  # step name -> the exact SQL that ran
    n_population: int
    n_seed_ids: int
    n_seed_found: int
    n_profiled: int  # customers on the population side of the profile (all unless sampled)
    threshold: float  # the model's JS-divergence threshold, for the near-miss warning
    size: int | None = None  # the audience size asked for
    seconds: dict[str, float] = field(default_factory=dict)
    #: CSV (feature, category) naming the features' categories; None = the packaged one
    catalogue: str | None = None
    #: a value-based seed's value column (``value`` for Python values) and total value over
    #: the members found; None when every member counts once
    seed_value: str | None = None
    seed_value_total: float | None = None
    #: ... and its effective size (Kish): (sum of values)^2 / sum of squared values, the
    #: number of members of equal value that would weigh as much
    seed_effective_size: float | None = None

    @property
    def warnings(self) -> list[str]:
        """The seed README's cautions, checked: seed size, ids not found, near miss."""
        return audience_warnings(self)

    def plot(self, path: str | os.PathLike) -> int:
        """Save the histograms of the top features (population, source, lookalike) as a PNG
        grid; returns the number of panels. Needs ``pip install 'lookalike-sql[plot]'``."""
        return plot_histograms(self, Path(path))

    @property
    def top_features(self) -> pd.DataFrame:
        """The selected features by weight, descending (the seed's top_features.csv), named
        by the catalogue convention (symbol + 3-digit category code) where they follow it:
        what the symbol measures and the category's name; with the mean value (NULL as 0) in the population, the seed and the audience."""
        chosen = self.features[self.features["weight"].notna()].sort_values(["weight", "feature"], ascending=[False, True])
        parts = chosen["feature"].str.extract(r"^([A-Za-z]+)(\d{3})$").fillna("")
        table = pd.DataFrame(
            {
                "feature": chosen["feature"],
                "symbol": parts[0],
                "code": parts[1],
                "measure": chosen["feature"].map(measure_of),
                "category": chosen["feature"].map(lambda name: readable_name(name, self.catalogue)),
                "js_divergence": chosen["js_divergence"],
                "weight": chosen["weight"],
                "seed_mean": chosen["seed_mean"],
                "population_mean": chosen["mean"],
                "lookalike_mean": chosen["lookalike_mean"],
            }
        )
        return table.reset_index(drop=True)
