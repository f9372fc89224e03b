"""What people read before using an audience: the warnings the seed's README gives in
prose, and a short Markdown report that puts them together with the top features, the
sizes and the histogram picture (``pictures.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .output import write_text

if TYPE_CHECKING:
    from .result import LookalikeResult

#: The seed's README: "The recommended size of source audience is between 5,000 and 50,000".
SEED_SIZE_RANGE = (5_000, 50_000)
#: A larger share of seed ids missing from the population gets a warning.
MISSING_SHARE = 0.10
#: A value-based seed whose effective size (Kish) is below this share of its members, and
#: below the recommended seed size, gets a warning: its values rest on few members.
CONCENTRATED = 0.5
#: The strongest feature below this multiple of the threshold is a near miss.
NEAR_MISS = 2.0


def audience_warnings(result: LookalikeResult) -> list[str]:
    """One line per problem, each saying what to do about it."""
    warnings = []
    low, high = SEED_SIZE_RANGE
    found = result.n_seed_found
    if found < low:
        warnings.append(
            f"the seed has {found:,} members in the population, fewer than the recommended {low:,}: its histograms "
            "are noisy and the weights unstable; widen the seed's definition"
        )
    elif found > high:
        warnings.append(
            f"the seed has {found:,} members in the population, more than the recommended {high:,}: a seed this broad "
            "looks like the population; narrow its definition (sampling it down does not help)"
        )
    effective = result.seed_effective_size
    if effective is not None and effective < min(low, found * CONCENTRATED):
        warnings.append(
            f"the seed's values {result.seed_value!r} rest on few members: its {found:,} members weigh as much as "
            f"{effective:,.0f} of equal value, so its histograms are as noisy as a seed that small; cap the largest "
            "values, or check with evaluate that the values help"
        )
    missing = result.n_seed_ids - found
    if result.n_seed_ids and missing / result.n_seed_ids > MISSING_SHARE:
        warnings.append(
            f"{missing:,} of the seed's {result.n_seed_ids:,} ids ({missing / result.n_seed_ids:.0%}) are not in the "
            "population: check that the seed holds the population's ids and that both come from the same snapshot"
        )
    top = result.top_features
    if not top.empty and top["js_divergence"].max() < NEAR_MISS * result.threshold:
        best = top.iloc[0]
        warnings.append(
            f"no feature is clearly above the JS-divergence threshold {result.threshold} (the strongest, "
            f"{best['feature']}, has {best['js_divergence']:.3f}): the seed hardly differs from the population; "
            "check its definition before using the audience"
        )
    if result.size is not None and len(result.audience) < result.size:
        warnings.append(
            f"the audience has {len(result.audience):,} customers, fewer than the size asked for ({result.size:,}): "
            "that is everyone the population holds (less the seed, when excluded)"
        )
    return warnings


def write_report(path: Path, result: LookalikeResult, picture: Path | None) -> None:
    """report.md: sizes, warnings, the top-features table and the picture."""
    missing = result.n_seed_ids - result.n_seed_found
    lines = [
        "# Lookalike audience",
        "",
        f"- population: {result.n_population:,} customers"
        + ("" if result.n_profiled == result.n_population else f" (profiled on a sample of {result.n_profiled:,})"),
        f"- seed: {result.n_seed_ids:,} ids, {result.n_seed_found:,} found in the population, {missing:,} not found"
        + value_note(result),
        f"- lookalike: {len(result.audience):,} customers",
        "",
        "## Warnings",
        "",
    ]
    warnings = audience_warnings(result)
    lines += [f"- {w}" for w in warnings] or ["- none"]
    lines += ["", "## Top features", "", "| feature | measure | category | JS divergence | weight | seed mean | population mean | lookalike mean |",
              "|---|---|---|---:|---:|---:|---:|---:|"]
    for f in result.top_features.itertuples():
        lines.append(
            f"| {f.feature} | {f.measure} | {f.category} | {f.js_divergence:.4f} | {f.weight:.4f} | {_number(f.seed_mean)} | "
            f"{_number(f.population_mean)} | {_number(f.lookalike_mean)} |"
        )
    lines += ["", "Means count a missing value as 0, as the distance does.", ""]
    if picture is not None:
        lines += ["## Histograms", "", f"![population, source and lookalike per top feature]({picture.name})", ""]
    lines += ["Before using the audience, check that the top features, their weights and the histograms make sense.", ""]
    write_text(path, "\n".join(lines))


def value_note(result: LookalikeResult) -> str:
    """How a value-based seed is weighted, for the sizes line; empty otherwise."""
    if result.seed_value is None:
        return ""
    return (
        f"; weighted by {result.seed_value!r} (total {_number(result.seed_value_total or 0.0)} over the members found, "
        f"who weigh as much as {result.seed_effective_size or 0.0:,.0f} members of equal value)"
    )


def _number(value: float) -> str:
    """Readable in a table: 108,432 / 31.26 / 0.177."""
    if value != value:  # NaN
        return ""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
