"""execute(): the job as a few statements run one after the other in the warehouse
(facts, on DuckDB the sample and the ranges, profile, rank, histograms), each result
checked before the next statement is rendered from it."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from .audiences import audience_context, ids_in_warehouse, seed_note
from .checks import check
from .context import computes_text, prepare
from .dialects import Dialect
from .errors import InputError, NoFeatureSelected
from .methods import REGISTRY, likelihood_ratios
from .render import render
from .result import LookalikeResult
from .seed import Seed
from .template_data import FeatureContext, FeatureRange, Ranges, SelectedFeature, StatementContext
from .warehouse import Warehouse, temporary_name

if TYPE_CHECKING:
    from .model import Lookalike

#: Called with (step name, seconds since the job started) as each step begins and ends.
Progress = Callable[[str, float], None]


def execute_job(
    model: Lookalike,
    warehouse: Warehouse,
    seed: Seed,
    n_ids_given: int | None,
    size: int,
    exclude_seed: bool,
    progress: Progress | None,
    timeout: float | None,
    seed_as_given: Seed,
    controls: dict[str, Any],
    stack: contextlib.ExitStack,  # what the job leaves in the warehouse, removed at its end
) -> LookalikeResult:
    """Lookalike.execute()'s steps, in one session of ``warehouse``: ``seed`` is already
    as the SQL reads it (a long id list in a temporary table), ``seed_as_given`` as the
    user gave it; ``controls`` are the exclusions and the population filter."""
    started = time.perf_counter()
    report = progress or (lambda step, seconds: None)
    d = warehouse.dialect
    job = prepare(model, d, seed, size, exclude_seed, warehouse, seed_as_given, **controls)
    statements: dict[str, str] = {}
    seconds: dict[str, float] = {}

    def run(step: str, sql: str) -> pd.DataFrame:
        statements[step] = sql
        report(step, time.perf_counter() - started)
        t0 = time.perf_counter()
        frame = warehouse.run_step(f"the {step} step", sql, timeout)
        seconds[step] = time.perf_counter() - t0
        return frame

    facts = _facts(run("facts", render("facts.sql.j2", d, purpose="the population and seed facts checked first", computes=computes_text("facts", job), job=job)))
    # Python ids are counted as given, so the report shows how many were not found.
    n_seed_ids = n_ids_given if n_ids_given is not None else facts["n_seed_ids"]
    _check_facts(facts, job, seed, n_seed_ids)
    if d.ranges_first and job.shape == "one_row":
        if job.sample.kind != "all":  # drawn once, into a temporary table the next two statements read
            name = temporary_name("lookalike_sample")
            stack.enter_context(warehouse.dropping(name))
            run("sample", render("sample.sql.j2", d, purpose="draw the profile sample", computes=computes_text("sample", job), job=job, into=d.quote(name)))
            job = job.replace(sample_table=d.quote(name))
        ranges = run("ranges", render("ranges.sql.j2", d, purpose="the ranges of the features, pass 1 of the profile", computes=computes_text("ranges", job), job=job))
        job = job.replace(ranges=_literal_ranges(ranges, job, facts["n_population"], d))
    profile = run("profile", render("profile.sql.j2", d, purpose="profile and select the features", computes=computes_text("profile", job), job=job))
    profile = _normalise_profile(profile, job.features)
    _check_profile(profile, job)
    n_population = facts["n_population"]
    n_seed_found = int(profile["n_seed_found"].iloc[0])
    n_profiled = int(profile["n_profiled"].iloc[0])
    if n_seed_found == 0:
        raise InputError(
            f"none of the {n_seed_ids} seed ids is in the population table {job.population_label}: "
            f"check that the seed holds values of {job.id_col}"
        )
    chosen = profile[profile["weight"].notna()].sort_values("idx")
    if chosen.empty:
        best = profile.sort_values("js_divergence", ascending=False).head(3)
        near = ", ".join(f"{r.feature}={r.js_divergence:.4f}" for r in best.itertuples())
        if n_seed_found == n_population:
            raise NoFeatureSelected(
                f"The seed holds every customer of the population ({n_population:,}), so no feature tells it apart: "
                "use a seed that is a part of the population."
            )
        raise NoFeatureSelected(
            f"No feature reaches the JS-divergence threshold {model.threshold} (highest: {near}): "
            "lower the threshold or use a sharper seed."
        )
    by_idx = {f.idx: f for f in job.features}
    selected = [_selected(by_idx[int(r.idx)], r._asdict(), model.bins, d) for r in chosen.itertuples()]
    selected_rows = [  # the long layout's selected features, as literal rows
        [d.text_column(f.name), f.fill_sql, *(f.terms[k] for k in ("weight", "mean", "std", "persona"))]
        + ([f.terms["lo"], f.terms["width"], *f.terms["lrs"], f.terms["lr_null"]] if REGISTRY[model.method].bin_ratios else [])
        for f in selected
    ] if job.layout == "long" else []
    inverse = _inverse_covariance(run, d, job, selected) if REGISTRY[model.method].covariance else None
    audience = run(
        "rank",
        render(
            "rank.sql.j2", d, purpose="rank customers by the selected features", computes=computes_text("rank", job, len(selected)),
            selected=selected, selected_rows=selected_rows, inverse=inverse, job=job,
            persona_norm=sum((f.weight * f.persona) * (f.weight * f.persona) for f in selected),
        ),
    )
    if "repeated_pairs" in audience.columns:  # the long ranking's own check
        if (pd.to_numeric(audience["repeated_pairs"]) > 0).any():
            raise InputError(f"{REPEATED_PAIRS} ({job.population_label})")
        audience = audience.drop(columns="repeated_pairs")
    audience.columns = [model.id_column, "rank", "distance"]
    audience["rank"] = audience["rank"].astype("int64")
    audience["distance"] = audience["distance"].astype("float64")
    job_columns = ["n_population", "n_null_ids", "n_duplicate_ids", "repeated_pairs", "n_profiled", "n_seed_found", "n_bad_seed_values", "seed_value_total", "seed_effective_size"]
    features = profile.drop(columns=job_columns, errors="ignore")
    features["lookalike_mean"] = float("nan")
    if audience.empty:  # everyone was excluded or filtered out: no histograms step to run
        histograms = _audience_histograms(model, run, d, job, None, selected, features)
    else:
        with ids_in_warehouse(warehouse, Seed.ids(audience[model.id_column].tolist())) as members:
            histograms = _audience_histograms(model, run, d, job, members, selected, features)
    report("done", time.perf_counter() - started)
    return LookalikeResult(
        audience=audience,
        features=features,
        histograms=histograms,
        statements=statements,
        n_population=n_population,
        n_seed_ids=n_seed_ids,
        n_seed_found=n_seed_found,
        n_profiled=n_profiled,
        threshold=model.threshold,
        size=job.size,
        seconds=seconds,
        seed_value=job.seed.value_name,
        seed_value_total=float(profile["seed_value_total"].iloc[0]) if "seed_value_total" in profile.columns else None,
        seed_effective_size=float(profile["seed_effective_size"].iloc[0]) if "seed_effective_size" in profile.columns else None,
    )


def _inverse_covariance(
    run: Callable[[str, str], pd.DataFrame], d: Dialect, job: StatementContext, selected: list[SelectedFeature]
) -> list[list[float]]:
    """Mahalanobis: the population covariance of the selected standardized features,
    computed in the warehouse (only the k x k matrix comes back), inverted here. A
    singular matrix (a feature the others determine) gets its pseudo-inverse."""
    import numpy as np

    row = run("covariance", render("covariance.sql.j2", d, purpose="the covariance of the selected features", computes=computes_text("covariance", job), selected=selected, job=job))
    values = {c.lower(): v for c, v in row.iloc[0].items()}
    if values["repeated_pairs"] and int(values["repeated_pairs"]) > 0:
        raise InputError(f"{REPEATED_PAIRS} ({job.population_label})")
    k = len(selected)
    covariance = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            covariance[i, j] = covariance[j, i] = float(values[f"c_{i + 1}_{j + 1}"])
    return np.linalg.pinv(covariance, hermitian=True).tolist()


def _audience_counts(
    model: Lookalike, run: Callable[[str, str], pd.DataFrame], d: Dialect, job: StatementContext, members: Seed, selected: list[SelectedFeature], features: pd.DataFrame
) -> dict[int, list[int]]:
    """The audience's count in each bin of each selected feature (by its idx), in the
    warehouse; fills features["lookalike_mean"]."""
    job = job.replace(
        seed=audience_context(d, members, None, model.id_column),
        seed_note=f"the audience ({seed_note(members, members, '')}) in seed_ids, the seed of the job: {job.seed_note}",
    )
    computes = computes_text("histograms", job)
    counts: dict[int, list[int]] = {}
    if job.layout == "long":
        rows = [["1", str(f.idx), d.text_column(f.name), f.fill_sql, d.float_literal(f.lo), d.float_literal(f.width)] for f in selected]
        frame = run("histograms", render("histograms.sql.j2", d, purpose="the histograms of the audience", computes=computes, selected=selected, selected_rows=rows, job=job))
        frame.columns = [c.lower() for c in frame.columns]
        for r in frame.itertuples(index=False):
            idx = int(r.idx)
            counts[idx] = [_count(getattr(r, f"h_{k}")) for k in range(model.bins)]
            features.loc[features["idx"] == idx, "lookalike_mean"] = float(r.mean)
    else:
        # one-row results, in chunks that fit the dialect's column limit
        per_chunk = len(selected) if d.max_columns is None else max(1, (d.max_columns - 1) // (model.bins + 1))
        for start in range(0, len(selected), per_chunk):
            chunk = selected[start : start + per_chunk]
            frame = run("histograms", render("histograms.sql.j2", d, purpose="the histograms of the audience", computes=computes, selected=chunk, job=job))
            row = {c.lower(): v for c, v in frame.iloc[0].items()}
            for f in chunk:
                counts[f.idx] = [_count(row[f"h_{f.idx}_{k}"]) for k in range(model.bins)]
                features.loc[features["idx"] == f.idx, "lookalike_mean"] = float(row[f"mean_{f.idx}"])
    return counts


def _audience_histograms(
    model: Lookalike, run: Callable[[str, str], pd.DataFrame], d: Dialect, job: StatementContext, members: Seed | None, selected: list[SelectedFeature], features: pd.DataFrame
) -> pd.DataFrame:
    """The histograms step: the audience's counts on the profile's bins, beside the
    population's and the seed's (from the profile), one row per selected feature and
    bin. Fills features["lookalike_mean"]. ``members`` None is an empty audience."""
    weighted = bool(job.seed.value)  # the job's seed: its histogram counts are weighted
    counts = {f.idx: [0] * model.bins for f in selected} if members is None else _audience_counts(model, run, d, job, members, selected, features)
    table = []
    for f in selected:
        profile_row = features[features["idx"] == f.idx].iloc[0]
        edges = [f.lo + f.width * k / model.bins for k in range(model.bins + 1)]
        for k in range(model.bins):
            table.append(
                {
                    "feature": f.name, "bin": k, "bin_lo": edges[k], "bin_hi": edges[k + 1],
                    "population": int(profile_row[f"p_{k}"]), "lookalike": counts[f.idx][k],
                    # a value-based seed's counts are weighted: members in value terms
                    "seed": float(profile_row[f"q_{k}"]) if weighted else int(profile_row[f"q_{k}"]),
                }
            )
    return pd.DataFrame(table, columns=["feature", "bin", "bin_lo", "bin_hi", "population", "seed", "lookalike"])


def _facts(frame: pd.DataFrame) -> dict[str, int]:
    """The facts step's two rows as named facts (row 0: the population, row 1: the seed)."""
    frame = frame.copy()
    frame.columns = [c.lower() for c in frame.columns]
    rows = {int(r.fact_row): r for r in frame.itertuples(index=False)}
    population, seed = rows[0], rows[1]
    return {
        "n_population": int(population.n_rows), "n_null_ids": int(population.n_null), "n_duplicate_ids": int(population.n_repeated),
        "n_seed_ids": int(seed.n_rows), "n_bad_seed_values": int(_count(seed.n_bad_values)),
    }


def _check_facts(facts: dict[str, int], job: StatementContext, seed: Seed, n_seed_ids: int) -> None:
    """What stops a job before its profile, said with the table and the counts: an empty
    population, NULL or repeated ids, an empty seed, a value-based seed's bad values."""
    where, id_name = job.population_label, job.id_col
    if facts["n_population"] == 0:
        raise InputError(f"the population {where} is empty: check the table")
    if facts["n_null_ids"] > 0:
        raise InputError(f"{facts['n_null_ids']:,} customers of {where} have a NULL id {id_name}: filter them out in a view")
    if facts["n_duplicate_ids"] > 0:
        joined = " (or a table joined on the id repeats it)" if job.layout == "wide" and "JOIN" in job.population else ""
        raise InputError(
            f"{facts['n_duplicate_ids']:,} ids {id_name} appear more than once in {where}{joined}: "
            "make the id unique (a view with one row per customer)"
        )
    if n_seed_ids == 0:
        raise InputError(f"the seed ({seed.describe()}) returned no ids: check the seed table or query")
    if job.seed.value and facts["n_bad_seed_values"] > 0:
        raise InputError(
            f"{facts['n_bad_seed_values']:,} seed ids have a value {job.seed.value_name!r} that is NULL, negative or not finite: "
            "give every member a value of 0 or more"
        )


def _normalise_profile(profile: pd.DataFrame, features: Sequence[FeatureContext]) -> pd.DataFrame:
    """The profile step's rows, typed, in feature order, each named (the SQL carries the
    feature's index only)."""
    profile = profile.copy()
    profile.columns = [c.lower() for c in profile.columns]
    weighted = "seed_value_total" in profile.columns  # a value-based seed: its counts are weighted
    counts = [c for c in profile.columns if c[:2] in ("p_", "q_") and c[2:].isdigit()]  # histogram bins
    seed_counts = [c for c in counts if c.startswith("q_")] + ["seed_weight"]
    floats = ["js_divergence", "weight", "lo", "hi", "mean", "std", "persona", "seed_mean"]
    for column in floats + (seed_counts + ["seed_value_total", "seed_effective_size"] if weighted else []):
        profile[column] = pd.to_numeric(profile[column], errors="coerce").astype("float64")
    # DuckDB's count_if is NULL, not 0, when every value is NULL (a feature NULL for the
    # whole seed); the JS step treats both alike, the histograms need the 0.
    profile[counts] = profile[counts].fillna(0)
    integers = ["idx", "js_rank", "pop_count", "seed_count", "n_population", "n_null_ids", "n_duplicate_ids", "repeated_pairs", "non_finite"]
    integers += ["n_profiled", "n_seed_found"] + (["n_bad_seed_values"] if weighted else [])
    for column in integers + [c for c in counts + ["seed_weight"] if not (weighted and c in seed_counts)]:
        profile[column] = pd.to_numeric(profile[column]).fillna(0).astype("int64")
    name_of = {f.idx: f.name for f in features}
    profile = profile.copy()  # one block again after the column-by-column typing (many bins)
    profile.insert(1, "feature", profile["idx"].map(name_of))
    return profile.sort_values("idx").reset_index(drop=True)


def _selected(feature: FeatureContext, row: dict[str, Any], bins: int, d: Dialect) -> SelectedFeature:
    """A selected feature with its profile row's numbers, and them as SQL literals."""
    lrs, lr_null = likelihood_ratios(row, bins)
    numbers = {k: row[k] for k in ("weight", "mean", "std", "persona", "lo", "hi")}
    terms: dict[str, Any] = {k: d.float_literal(v) for k, v in {**numbers, "width": row["hi"] - row["lo"], "lr_null": lr_null}.items()}
    terms["lrs"] = [d.float_literal(v) for v in lrs]
    fields = {f.name: getattr(feature, f.name) for f in dataclasses.fields(feature)}
    return SelectedFeature(**fields, **numbers, lrs=tuple(lrs), lr_null=lr_null, terms=terms)


#: the repeated-pairs check's words (checks.py), said with the table in Python
REPEATED_PAIRS = f"{check('repeated_pairs').reason}: {check('repeated_pairs').fix}"


def _literal_ranges(frame: pd.DataFrame, job: StatementContext, n_population: int, d: Dialect) -> Ranges:
    """The ranges step's one row as SQL numbers for the profile statement: per feature its
    lo, hi, width (NULL for a constant feature), count, mean and, where pass 1 gives it
    without cancellation, its standard deviation (else None). A feature with NaN or
    infinite values stops the job here, named."""
    row = {c.lower(): v for c, v in frame.iloc[0].items()}
    n_profiled = int(row["n_profiled"])
    number = d.nullable_float_literal  # NULL (NaN in pandas) where SQL gave NULL

    features, bad = {}, []
    for f in job.features:
        i = f.idx
        lo, hi, count = row[f"lo_{i}"], row[f"hi_{i}"], int(row[f"pop_count_{i}"])
        # as SQL had it: COALESCE(SUM(x), 0) / NULLIF(COUNT(*), 0) and NULLIF(hi - lo, 0)
        mean = (0.0 if pd.isna(row[f"sum_{i}"]) else float(row[f"sum_{i}"])) / n_profiled if n_profiled else math.nan
        width = math.nan if pd.isna(lo) or pd.isna(hi) or hi - lo == 0 else hi - lo
        # NULL only when no value (lo, hi) or no customer (mean); NaN or inf otherwise
        if (count > 0 and not (math.isfinite(lo) and math.isfinite(hi))) or (n_profiled > 0 and not math.isfinite(mean)):
            bad.append(f.name)
            continue
        features[i] = FeatureRange(
            lo=number(lo), hi=number(hi), width=number(width), pop_count=count, mean=number(mean),
            std=_spread_in_one_pass(row[f"sum_squares_{i}"], mean, n_profiled, d),
        )
    if bad:
        raise _non_finite_error(bad, job.population_label)
    one_pass_spread = tuple(i for i, f in features.items() if f.std is not None)
    return Ranges(n_population=n_population, n_profiled=n_profiled, features=features, one_pass_spread=one_pass_spread)


#: the one-pass variance E[x'^2] - mean^2 is used when E[x'^2] is at most this many times
#: the variance: its relative error is then about this many times the double's epsilon
#: (1e-12), as near the reference's two-pass figure as the order of summation makes it.
ONE_PASS_SPREAD_RATIO = 1e4


def _spread_in_one_pass(sum_squares: Any, mean: float, n_profiled: int, d: Dialect) -> str | None:
    """The standard deviation as an SQL number from pass 1's sum of squares, or None where
    the subtraction would cancel too many digits (a constant feature, a spread small next
    to the mean): the profile statement then computes it around the mean (pass 2)."""
    if n_profiled == 0 or pd.isna(sum_squares) or not math.isfinite(sum_squares):
        return None
    mean_square = sum_squares / n_profiled
    variance = mean_square - mean * mean
    if not variance > 0 or mean_square > ONE_PASS_SPREAD_RATIO * variance:
        return None
    return d.float_literal(math.sqrt(variance))


def _non_finite_error(names: Sequence[str], where: str) -> InputError:
    shown = ", ".join(repr(name) for name in names[:5])
    return InputError(f"feature {shown} of {where} holds NaN or infinite values: replace them with NULL in a view, or leave the feature out")


def _check_profile(profile: pd.DataFrame, job: StatementContext) -> None:
    """What the profile shows that stops the job, with the feature named: repeated (id,
    feature) pairs, a value-based seed worth 0, non-finite values."""
    first = profile.iloc[0]
    where = job.population_label
    if profile["repeated_pairs"].max() > 0:
        raise InputError(f"{REPEATED_PAIRS} ({where})")
    if "seed_value_total" in profile.columns and first["n_seed_found"] > 0 and not first["seed_value_total"] > 0:
        raise InputError(f"the values {job.seed.value_name!r} of the seed members found add up to 0: give some members a value above 0")
    bad = profile.loc[profile["non_finite"] > 0, "feature"]  # flagged in SQL, where NaN and NULL differ
    if len(bad):
        raise _non_finite_error(list(bad), where)


def _count(value: object) -> int:
    """A bin count from the warehouse; NULL (DuckDB's count_if over only NULLs) is 0."""
    return 0 if pd.isna(value) else int(value)  # type: ignore[arg-type]
