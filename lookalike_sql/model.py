"""The lookalike model: configure once, then render SQL or execute it on a connection."""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .connections import Column, Warehouse, temporary_name, warehouse_for
from .dialects import Dialect, get_dialect, split_table_name
from .errors import InputError, NoFeatureSelected
from .population import (
    Long,
    Population,
    Wide,
    as_population,
    parse_sample,
    sample_threshold,
)
from .render import render, statement_names
from .seed import Seed, as_seed

#: Called with (step name, seconds since the job started) as each step begins and ends.
Progress = Callable[[str, float], None]

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


#: An audience size: a count of customers, or a share of the ranked population
#: ("5%", 0.05, Fraction(1, 20)), rounded up.
Size = int | float | str | Fraction


def parse_size(size: object) -> int | Fraction:
    """A size as a count (int) or a share (Fraction in (0, 1])."""
    if isinstance(size, str):
        text = size.strip()
        try:
            if text.endswith("%"):
                size = Fraction(text[:-1].strip()) / 100
            elif text.isdigit():
                size = int(text)
            else:
                size = Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise InputError(f"size {text!r} is not a number: give a count (20000) or a share (5%)") from None
    elif isinstance(size, float) and not isinstance(size, bool):
        if not 0 < size < 1:
            raise InputError(f"size {size!r} must be a whole count of customers, or a share below 1 such as 0.05 or '5%'")
        size = Fraction(str(size))
    if isinstance(size, Fraction):
        if size.denominator == 1 and size > 1:
            return int(size)
        if not 0 < size <= 1:
            raise InputError(f"size share {float(size):g} must lie in (0, 1]: for a count of customers give a whole number")
        return size
    _check_int("size", size, 1)
    return int(size)  # type: ignore[arg-type]


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
        from .report import audience_warnings

        return audience_warnings(self)

    def plot(self, path: str | os.PathLike) -> int:
        """Save the histograms of the top features (population, source, lookalike) as a PNG
        grid; returns the number of panels. Needs ``pip install 'lookalike-sql[plot]'``."""
        from .report import plot_histograms

        return plot_histograms(self, Path(path))

    @property
    def top_features(self) -> pd.DataFrame:
        """The selected features by weight, descending (the seed's top_features.csv), named
        by the catalogue convention (symbol + 3-digit category code) where they follow it,
        with the mean value (NULL as 0) in the population, the seed and the audience."""
        from .catalogue import readable_name

        chosen = self.features[self.features["weight"].notna()].sort_values(["weight", "feature"], ascending=[False, True])
        parts = chosen["feature"].str.extract(r"^([A-Za-z]+)(\d{3})$").fillna("")
        table = pd.DataFrame(
            {
                "feature": chosen["feature"],
                "symbol": parts[0],
                "code": parts[1],
                "category": chosen["feature"].map(lambda name: readable_name(name, self.catalogue)),
                "js_divergence": chosen["js_divergence"],
                "weight": chosen["weight"],
                "seed_mean": chosen["seed_mean"],
                "population_mean": chosen["mean"],
                "lookalike_mean": chosen["lookalike_mean"],
            }
        )
        return table.reset_index(drop=True)


@dataclass
class Lookalike:
    """A lookalike job over one population table.

    >>> model = Lookalike("population", id_column="member_srl", max_features=20)
    >>> print(model.sql(Seed.table("mom_seed"), size=30_000, connection=con))   # paste into a console
    >>> result = model.execute(con, Seed.table("mom_seed"), size=30_000)         # or run it
    >>> result.audience.head()

    ``population`` is a table name (one wide table), ``Wide(...)`` for several tables
    joined on the id, or ``Long(...)`` for (id, feature, value) rows. ``sample`` profiles
    the population's side on a deterministic sample (a count of customers or a fraction;
    see ``reference.sample_mask``); the seed's side and the ranking use everyone.
    """

    population: str | tuple[str, ...] | Population
    id_column: str
    features: Sequence[str] | None = None
    max_features: int = 20
    threshold: float = 0.05
    bins: int = 10
    min_count: int = 30
    sample: int | float | str | None = None
    method: str = "euclidean"

    def __post_init__(self) -> None:
        self.population = as_population(self.population)
        self.sample = parse_sample(self.sample)
        _check_int("max_features", self.max_features, 1)
        _check_int("bins", self.bins, 2)
        _check_int("min_count", self.min_count, 1)
        if self.method not in METHODS:
            raise InputError(f"method {self.method!r} is not available: use one of {', '.join(METHODS)}")
        if not isinstance(self.threshold, (int, float)) or not 0 <= self.threshold <= 1:
            raise InputError(f"threshold {self.threshold!r} is outside [0, 1]: JS divergence in base 2 lies in [0, 1]")
        self.threshold = float(self.threshold)
        if isinstance(self.id_column, str) and self.id_column.lower() in ("rank", "distance"):
            raise InputError(
                f"the id column cannot be called {self.id_column!r}, which names an output column: rename it in a view"
            )
        if self.features is not None:
            self.features = list(self.features)
            if not self.features:
                raise InputError("the feature list is empty: name at least one numeric column, or leave it out")
            if len(set(self.features)) != len(self.features):
                raise InputError("the feature list names a column twice: list each feature once")
            if self.id_column in self.features:
                raise InputError(f"the id column {self.id_column!r} cannot also be a feature: remove it from the features")

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Lookalike:
        """The model of a job file (see ``lookalike_sql.job.Job.from_file`` for the whole
        job: seed, size, dialects)."""
        from .job import Job

        return Job.from_file(path).model

    # ----------------------------------------------------------------- rendering
    def sql(
        self,
        seed: Seed | Sequence[object],
        size: Size,
        *,
        exclude_seed: bool = False,
        exclude: Sequence[Seed | Sequence[object]] = (),
        population_filter: str | None = None,
        dialect: str | Dialect = "duckdb",
        connection: Any = None,
    ) -> str:
        """The whole job as ONE statement for ``dialect``: running it returns the top
        ``size`` ids with ``rank`` and ``distance``. Features are read from ``connection``
        when the model was not given a feature list. See ``execute`` for the audience
        controls (``size`` as a share, ``exclude``, ``population_filter``)."""
        d = get_dialect(dialect)
        if self.method == "mahalanobis":
            raise InputError(
                "method mahalanobis inverts the k x k covariance in Python between two statements, so it has no one-statement "
                "form: run it with execute() (lookalike-sql run), or render euclidean, likelihood or cosine"
            )
        warehouse = warehouse_for(connection) if connection is not None else None
        exclusions = [as_seed(e) for e in exclude]
        job = self._prepare(d, as_seed(seed), size, exclude_seed, warehouse, exclusions=exclusions, population_filter=population_filter)
        return render("lookalike.sql.j2", d, purpose="the lookalike audience as one statement", computes=_computes("lookalike", job), **job)

    def profile_sql(self, seed: Seed | Sequence[object], *, dialect: str | Dialect = "duckdb", connection: Any = None) -> str:
        """The profiling statement alone: one row per candidate feature."""
        d = get_dialect(dialect)
        warehouse = warehouse_for(connection) if connection is not None else None
        job = self._prepare(d, as_seed(seed), 1, False, warehouse)
        return render("profile.sql.j2", d, purpose="profile and select the features", computes=_computes("profile", job), **job)

    # ----------------------------------------------------------------- execution
    def execute(
        self,
        connection: Any,
        seed: Seed | Sequence[object],
        size: Size,
        *,
        exclude_seed: bool = False,
        exclude: Sequence[Seed | Sequence[object]] = (),
        population_filter: str | None = None,
        progress: Progress | None = None,
        timeout: float | None = None,
    ) -> LookalikeResult:
        """Run the job in the warehouse in three statements (profile, a ranking that
        touches only the selected features, the audience's histograms) and return the
        audience. ``timeout`` (seconds) cancels any statement that runs longer.

        Audience controls: ``size`` is a count of customers, or a share of the ranked
        population ("5%", or a float below 1), rounded up; ``exclude`` lists audiences
        (Seed tables, queries or ids) that never enter the audience, like the seed with
        ``exclude_seed``; ``population_filter`` is a condition on the population's
        columns (e.g. "country = 'KR'") restricting who is ranked: the profile still
        compares the seed with the whole population.

        Gives the same ids as running ``sql()``'s single statement."""
        seed = as_seed(seed)
        exclusions = [as_seed(e) for e in exclude]
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0):
            raise InputError(f"timeout must be a positive number of seconds, not {timeout!r}")
        with warehouse_for(connection).session() as warehouse, contextlib.ExitStack() as stack:
            # long lists of Python ids go into temporary tables, removed at the end
            seed_there = stack.enter_context(_ids_in_warehouse(warehouse, seed))
            exclusions_there = [stack.enter_context(_ids_in_warehouse(warehouse, e)) for e in exclusions]
            n_ids = len(seed.values) if seed.kind == "ids" else None
            controls = {"exclusions": exclusions_there, "exclusions_as_given": exclusions, "population_filter": population_filter}
            return self._execute(warehouse, seed_there, n_ids, size, exclude_seed, progress, timeout, seed, controls, stack)

    def _execute(
        self,
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
        started = time.perf_counter()
        report = progress or (lambda step, seconds: None)
        d = warehouse.dialect
        job = self._prepare(d, seed, size, exclude_seed, warehouse, seed_as_given, **controls)
        statements: dict[str, str] = {}
        seconds: dict[str, float] = {}

        def run(step: str, sql: str) -> pd.DataFrame:
            statements[step] = sql
            report(step, time.perf_counter() - started)
            t0 = time.perf_counter()
            frame = warehouse.run_step(f"the {step} step", sql, timeout)
            seconds[step] = time.perf_counter() - t0
            return frame

        facts = _facts(run("facts", render("facts.sql.j2", d, purpose="the population and seed facts checked first", computes=_computes("facts", job), **job)))
        # Python ids are counted as given, so the report shows how many were not found.
        n_seed_ids = n_ids_given if n_ids_given is not None else facts["n_seed_ids"]
        _check_facts(facts, job, seed, n_seed_ids)
        if d.ranges_first and job["shape"] == "one_row":
            if job["sample"]["kind"] != "all":  # drawn once, into a temporary table the next two statements read
                name = temporary_name("lookalike_sample")
                stack.enter_context(warehouse.dropping(name))
                sample = render("sample.sql.j2", d, purpose="draw the profile sample", computes=_computes("sample", job), **job)
                run("sample", f"CREATE TEMPORARY TABLE {d.quote(name)} AS\n{sample}")
                job = {**job, "sample_table": d.quote(name)}
            ranges = run("ranges", render("ranges.sql.j2", d, purpose="the ranges of the features, pass 1 of the profile", computes=_computes("ranges", job), **job))
            job = {**job, "ranges": _literal_ranges(ranges, job, facts["n_population"], d)}
        profile = run("profile", render("profile.sql.j2", d, purpose="profile and select the features", computes=_computes("profile", job), **job))
        profile = _normalise_profile(profile, job["features"])
        _check_profile(profile, job)
        n_population = facts["n_population"]
        n_seed_found = int(profile["n_seed_found"].iloc[0])
        n_profiled = int(profile["n_profiled"].iloc[0])
        if n_seed_found == 0:
            raise InputError(
                f"none of the {n_seed_ids} seed ids is in the population table {job['population_label']}: "
                f"check that the seed holds values of {job['id_col']}"
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
                f"No feature reaches the JS-divergence threshold {self.threshold} (highest: {near}): "
                "lower the threshold or use a sharper seed."
            )
        by_idx = {f["idx"]: f for f in job["features"]}
        selected = [
            {
                **by_idx[int(r.idx)], "weight": r.weight, "mean": r.mean, "std": r.std, "persona": r.persona, "lo": r.lo, "hi": r.hi,
                "width": r.hi - r.lo, **dict(zip(("lrs", "lr_null"), likelihood_ratios(r._asdict(), self.bins))),
            }
            for r in chosen.itertuples()
        ]
        for f in selected:  # the method's constants as literals
            f["terms"] = {k: d.float_literal(f[k]) for k in ("weight", "mean", "std", "persona", "lo", "width", "lr_null")}
            f["terms"]["lrs"] = [d.float_literal(v) for v in f["lrs"]]
        selected_rows = [  # the long layout's selected features, as literal rows
            [d.text_column(f["name"]), f["fill_sql"], *(f["terms"][k] for k in ("weight", "mean", "std", "persona"))]
            + ([f["terms"]["lo"], f["terms"]["width"], *f["terms"]["lrs"], f["terms"]["lr_null"]] if self.method == "likelihood" else [])
            for f in selected
        ] if job["layout"] == "long" else []
        inverse = self._inverse_covariance(run, d, job, selected) if self.method == "mahalanobis" else None
        audience = run(
            "rank",
            render(
                "rank.sql.j2", d, purpose="rank customers by the selected features", computes=_computes("rank", job, len(selected)),
                selected=selected, selected_rows=selected_rows, inverse=inverse, **job,
                persona_norm=sum((f["weight"] * f["persona"]) * (f["weight"] * f["persona"]) for f in selected),
            ),
        )
        if "repeated_pairs" in audience.columns:  # the long ranking's own check
            if (pd.to_numeric(audience["repeated_pairs"]) > 0).any():
                raise InputError(f"{_REPEATED_PAIRS} ({job['population_label']})")
            audience = audience.drop(columns="repeated_pairs")
        audience.columns = [self.id_column, "rank", "distance"]
        audience["rank"] = audience["rank"].astype("int64")
        audience["distance"] = audience["distance"].astype("float64")
        job_columns = ["n_population", "n_null_ids", "n_duplicate_ids", "repeated_pairs", "n_profiled", "n_seed_found", "n_bad_seed_values", "seed_value_total", "seed_effective_size"]
        features = profile.drop(columns=job_columns, errors="ignore")
        features["lookalike_mean"] = float("nan")
        if audience.empty:  # everyone was excluded or filtered out: no histograms step to run
            histograms = self._audience_histograms(run, d, job, None, selected, features)
        else:
            with _ids_in_warehouse(warehouse, Seed.ids(audience[self.id_column].tolist())) as members:
                histograms = self._audience_histograms(run, d, job, members, selected, features)
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
            threshold=self.threshold,
            size=job["size"],
            seconds=seconds,
            seed_value=job["seed"].get("value_name"),
            seed_value_total=float(profile["seed_value_total"].iloc[0]) if "seed_value_total" in profile.columns else None,
            seed_effective_size=float(profile["seed_effective_size"].iloc[0]) if "seed_effective_size" in profile.columns else None,
        )

    def _inverse_covariance(
        self, run: Callable[[str, str], pd.DataFrame], d: Dialect, job: dict[str, Any], selected: list[dict[str, Any]]
    ) -> list[list[float]]:
        """Mahalanobis: the population covariance of the selected standardized features,
        computed in the warehouse (only the k x k matrix comes back), inverted here. A
        singular matrix (a feature the others determine) gets its pseudo-inverse."""
        import numpy as np

        row = run("covariance", render("covariance.sql.j2", d, purpose="the covariance of the selected features", computes=_computes("covariance", job), selected=selected, **job))
        values = {c.lower(): v for c, v in row.iloc[0].items()}
        if values["repeated_pairs"] and int(values["repeated_pairs"]) > 0:
            raise InputError(f"{_REPEATED_PAIRS} ({job['population_label']})")
        k = len(selected)
        covariance = np.zeros((k, k))
        for i in range(k):
            for j in range(i, k):
                covariance[i, j] = covariance[j, i] = float(values[f"c_{i + 1}_{j + 1}"])
        return np.linalg.pinv(covariance, hermitian=True).tolist()

    def _audience_counts(
        self, run: Callable[[str, str], pd.DataFrame], d: Dialect, job: dict[str, Any], members: Seed, selected: list[dict[str, Any]], features: pd.DataFrame
    ) -> dict[int, list[int]]:
        """The audience's count in each bin of each selected feature (by its idx), in the
        warehouse; fills features["lookalike_mean"]."""
        job = {**job, "seed": self._seed_context(d, members, None), "seed_note": f"the audience ({_seed_note(members, members, '')}) in seed_ids, the seed of the job: {job['seed_note']}"}
        computes = _computes("histograms", job)
        counts: dict[int, list[int]] = {}
        if job["layout"] == "long":
            rows = [["1", str(f["idx"]), d.text_column(f["name"]), f["fill_sql"], d.float_literal(f["lo"]), d.float_literal(f["width"])] for f in selected]
            frame = run("histograms", render("histograms.sql.j2", d, purpose="the histograms of the audience", computes=computes, selected=selected, selected_rows=rows, **job))
            frame.columns = [c.lower() for c in frame.columns]
            for r in frame.itertuples(index=False):
                idx = int(r.idx)
                counts[idx] = [_count(getattr(r, f"h_{k}")) for k in range(self.bins)]
                features.loc[features["idx"] == idx, "lookalike_mean"] = float(r.mean)
        else:
            # one-row results, in chunks that fit the dialect's column limit
            per_chunk = len(selected) if d.max_columns is None else max(1, (d.max_columns - 1) // (self.bins + 1))
            for start in range(0, len(selected), per_chunk):
                chunk = selected[start : start + per_chunk]
                frame = run("histograms", render("histograms.sql.j2", d, purpose="the histograms of the audience", computes=computes, selected=chunk, **job))
                row = {c.lower(): v for c, v in frame.iloc[0].items()}
                for f in chunk:
                    counts[f["idx"]] = [_count(row[f"h_{f['idx']}_{k}"]) for k in range(self.bins)]
                    features.loc[features["idx"] == f["idx"], "lookalike_mean"] = float(row[f"mean_{f['idx']}"])
        return counts

    def _audience_histograms(
        self, run: Callable[[str, str], pd.DataFrame], d: Dialect, job: dict[str, Any], members: Seed | None, selected: list[dict[str, Any]], features: pd.DataFrame
    ) -> pd.DataFrame:
        """The histograms step: the audience's counts on the profile's bins, beside the
        population's and the seed's (from the profile), one row per selected feature and
        bin. Fills features["lookalike_mean"]. ``members`` None is an empty audience."""
        weighted = bool(job["seed"]["value"])  # the job's seed: its histogram counts are weighted
        for f in selected:
            f["width"] = f["hi"] - f["lo"]
        counts = {f["idx"]: [0] * self.bins for f in selected} if members is None else self._audience_counts(run, d, job, members, selected, features)
        table = []
        for f in selected:
            profile_row = features[features["idx"] == f["idx"]].iloc[0]
            edges = [f["lo"] + f["width"] * k / self.bins for k in range(self.bins + 1)]
            for k in range(self.bins):
                table.append(
                    {
                        "feature": f["name"], "bin": k, "bin_lo": edges[k], "bin_hi": edges[k + 1],
                        "population": int(profile_row[f"p_{k}"]), "lookalike": counts[f["idx"]][k],
                        # a value-based seed's counts are weighted: members in value terms
                        "seed": float(profile_row[f"q_{k}"]) if weighted else int(profile_row[f"q_{k}"]),
                    }
                )
        return pd.DataFrame(table, columns=["feature", "bin", "bin_lo", "bin_hi", "population", "seed", "lookalike"])

    # ----------------------------------------------------------------- preparation
    def _prepare(
        self,
        d: Dialect,
        seed: Seed,
        size: Size,
        exclude_seed: bool,
        warehouse: Warehouse | None,
        seed_as_given: Seed | None = None,
        exclusions: Sequence[Seed] = (),
        exclusions_as_given: Sequence[Seed] | None = None,
        population_filter: str | None = None,
    ) -> dict[str, Any]:
        """Validate everything and build the template context for dialect ``d``.
        ``seed_as_given`` (``exclusions_as_given``) is the seed (the exclusions) before a
        long id list went into a temporary table (their ids are checked against the id
        column's type)."""
        size = parse_size(size)
        if warehouse is not None and warehouse.dialect is not d:
            raise InputError(f"the connection runs {warehouse.dialect.name} SQL, not {d.name}: pass dialect={warehouse.dialect.name!r}")
        population = self.population
        assert isinstance(population, (Wide, Long))
        if isinstance(population, Long):
            features, id_column = self._resolve_long_features(population, warehouse)
            layout = _long_context(d, population, self.id_column)
            doubles: set[str] = set()  # the long table's values are cast once, not per feature
            group_size = len(features)  # rows, not columns: no column limit applies
        else:
            columns_by_table, doubles, id_column = self._resolve_wide_columns(population, warehouse)
            features = [name for names in columns_by_table.values() for name in names] if columns_by_table else list(self.features or [])
            layout = _wide_context(d, population, self.id_column, columns_by_table)
            group_size = _group_size(d, self.bins)
        name_order = {name: rank for rank, name in enumerate(sorted(features), start=1)}
        feature_context = []
        for i, name in enumerate(features, start=1):
            f = {"idx": i, "name": name, "col": d.quote(name), "order": name_order[name], "name_sql": d.string_literal(name)}
            f["is_double"] = name in doubles  # read without a CAST
            if isinstance(population, Long):
                fill = population.fill_of(name)
                f["fill_sql"] = f"CAST(NULL AS {d.double_type})" if fill is None else d.float_literal(fill)
            feature_context.append(f)
        groups = [feature_context[i : i + group_size] for i in range(0, len(feature_context), group_size)]
        seed_context = self._seed_context(d, seed, warehouse, id_column, seed_as_given)
        exclusion_contexts = [
            self._seed_context(d, e, warehouse, id_column, given, role="exclusion")
            for e, given in zip(exclusions, exclusions_as_given or exclusions)
        ]
        query_ctes = _hoist_query_ctes(d, [("seed", seed_context)] + [("exclusion", e) for e in exclusion_contexts], self._tables_read(seed, exclusions), len(groups))
        return {
            "version": __version__,
            "rendered_on": _rendered_on(),
            "seed_note": _seed_note(seed, seed_as_given or seed, self.id_column),
            "population_note": _population_note(population),
            "id_name": self.id_column,
            **layout,
            "id_col": d.quote(self.id_column),
            "id_alias": d.quote(self.id_column),
            "features": feature_context,
            # the long layout's features table: one_key, idx, name_order, feature, fill
            "feature_rows": [["1", str(f["idx"]), str(f["order"]), d.text_column(f["name"]), f.get("fill_sql", "NULL")] for f in feature_context],
            "groups": groups,
            "seed": seed_context,
            "query_ctes": query_ctes,
            "sample": _sample_context(self.sample),
            **_size_context(size),
            "exclude_seed": bool(exclude_seed),
            "exclusions": exclusion_contexts,
            "excluding": bool(exclude_seed or exclusions),
            "population_filter": self.filter_condition(d, population_filter, warehouse),
            "ranked_relation": _ranked_relation(population, layout, population_filter),
            "max_features": self.max_features,
            "threshold": d.float_literal(self.threshold),
            "threshold_value": self.threshold,
            "bins": self.bins,
            "min_count": self.min_count,
            "method": self.method,
            "method_label": METHOD_LABELS[self.method],
            "n_parts": 2 if self.method == "cosine" else 1,  # the method's sums per customer
            # how the profile and the ranking read the population (see Dialect.wide_profile)
            "shape": "long" if isinstance(population, Long) else d.wide_profile,
            "score_shape": "long" if isinstance(population, Long) else d.wide_profile,
            "ranges": None,  # execute() on a ranges_first dialect: the ranges step's numbers
            "sample_table": None,  # and its temporary table of the sampled rows
            # the checks the one statement makes at the selection: all of them, or (unpivot)
            # those its first pass and its grouped ranking do not make
            "all_facts": _facts_checked(exclude_value=not seed.weighted),
            "selection_facts": ["n_seed_found", "features_selected"] + (["n_bad_seed_values", "seed_value_total"] if seed.weighted else []),
            "likelihood_columns": [f"lr_{k}" for k in range(self.bins)] + ["lr_null"],
        }

    def _resolve_wide_columns(
        self, population: Wide, warehouse: Warehouse | None
    ) -> tuple[dict[TableKey, list[str]], set[str], Column | None]:
        """The feature columns of each table of a wide population (empty when there is no
        connection and one table: the features are then the model's list), those already
        of the 8-byte float type, and the id column (None without a connection)."""
        if warehouse is None:
            if len(population.tables) > 1:
                raise InputError(
                    f"a population split over {len(population.tables)} tables needs a connection to find each "
                    "feature's table: pass connection= (--url)"
                )
            if self.features is None:
                raise InputError(
                    "the features are unknown without a connection: pass features=[...] (--features) or a connection (--url)"
                )
            return {}, set(), None
        wanted = set(self.features) if self.features is not None else None
        found: dict[TableKey, list[str]] = {}
        owner: dict[str, str] = {}
        doubles: set[str] = set()
        id_column: Column | None = None
        for table in population.tables:
            columns = {c.name: c for c in warehouse.columns(table)}
            quoted = warehouse.dialect.quote_table(table)
            if self.id_column not in columns:
                raise InputError(f"id column {self.id_column!r} is not in table {quoted}: choose one of {_names(columns)}")
            id_column = id_column or columns[self.id_column]
            names = []
            for c in columns.values():
                if c.name == self.id_column or (wanted is not None and c.name not in wanted):
                    continue
                if wanted is None and not c.is_numeric:
                    continue
                if c.name in owner:
                    raise InputError(f"column {c.name!r} is in both {owner[c.name]} and {quoted}: list the features to use (--features)")
                if not c.is_numeric:
                    raise InputError(
                        f"feature column {c.name!r} is not numeric ({c.type_name}) in table {quoted}: "
                        "cast it to a number in a view, or leave it out"
                    )
                owner[c.name] = quoted
                names.append(c.name)
                if c.is_double:
                    doubles.add(c.name)
            found[_table_key(table)] = names
        if wanted is not None:
            absent = [name for name in self.features or [] if name not in owner]
            if absent:
                tables = ", ".join(warehouse.dialect.quote_table(t) for t in population.tables)
                raise InputError(f"feature column {absent[0]!r} is not in table {tables}: choose from {_names(columns)}")
            # keep the model's order
            order = {name: i for i, name in enumerate(self.features or [])}
            found = {t: sorted(names, key=order.__getitem__) for t, names in found.items()}
        if not owner:
            tables = ", ".join(warehouse.dialect.quote_table(t) for t in population.tables)
            raise InputError(f"{tables} has no numeric column besides {self.id_column!r}: there is nothing to compare")
        return found, doubles, id_column

    def _resolve_long_features(self, population: Long, warehouse: Warehouse | None) -> tuple[list[str], Column | None]:
        """The candidate features of a long table, and its id column (None without a connection)."""
        unknown = [name for name in population.fills if self.features is not None and name not in self.features]
        if unknown:
            raise InputError(f"fills names {unknown[0]!r}, which is not a candidate feature: remove it or add the feature")
        if warehouse is None:
            if self.features is None:
                raise InputError(
                    "the features of a long table are unknown without a connection: pass features=[...] (--features) or a connection (--url)"
                )
            return list(self.features), None
        d = warehouse.dialect
        table = d.quote_table(population.table)
        columns = {c.name: c for c in warehouse.columns(population.table)}
        for role, name in (("id", self.id_column), ("feature", population.feature_column), ("value", population.value_column)):
            if name not in columns:
                raise InputError(f"the long table {table} has no {role} column {name!r}: choose one of {_names(columns)}")
        if not columns[population.value_column].is_numeric:
            raise InputError(f"the value column {population.value_column!r} of {table} is not numeric: cast it in a view")
        if population.ids is not None and self.id_column not in {c.name for c in warehouse.columns(population.ids)}:
            raise InputError(f"the ids table {d.quote_table(population.ids)} has no column {self.id_column!r}: name the id column")
        if self.features is not None:
            return list(self.features), columns[self.id_column]
        feature = d.quote(population.feature_column)
        sql = f"SELECT DISTINCT {feature} AS feature FROM {table} WHERE {feature} IS NOT NULL"
        names = warehouse.run_step(f"reading the feature names of {table}", sql).iloc[:, 0]
        features = sorted(str(name) for name in names)
        if not features:
            raise InputError(f"the long table {table} has no rows: there is nothing to compare")
        unknown = [name for name in population.fills if name not in features]
        if unknown:
            raise InputError(f"fills names {unknown[0]!r}, which {table} does not hold: check the name")
        return features, columns[self.id_column]

    def _seed_context(
        self,
        d: Dialect,
        seed: Seed,
        warehouse: Warehouse | None,
        id_column: Column | None = None,
        seed_as_given: Seed | None = None,
        role: str = "seed",
    ) -> dict[str, Any]:
        """An audience (the seed, or an exclusion: ``role``) for the templates. With a
        connection, its ids must be of the id column's kind (numbers or text): comparing
        a number with text fails on Redshift and Hive, and on DuckDB would compare as text."""
        given = seed_as_given or seed
        if given.kind == "ids" and id_column is not None:
            check_id_kind(f"the {role}'s ids", "text" if isinstance(given.values[0], str) else "number", id_column)
        # an exclusion's values (a two-column file) mean nothing: only its ids are read
        value_column = seed.value_column if role == "seed" else None
        valued = {"value_name": given.value_column or "value"} if role == "seed" and seed.weighted else {}
        if seed.kind == "ids" and valued:
            if len(seed.values) > d.max_inline_rows:
                raise InputError(
                    f"a value-based seed of {len(seed.values):,} Python ids is more than one {d.name} statement inlines "
                    f"({d.max_inline_rows:,} rows): load it into a table and use Seed.table(name, value=...), or run it "
                    "with execute(), which loads it into a temporary table"
                )
            rows = [[d.id_literal(v), d.float_literal(a)] for v, a in zip(seed.values, seed.member_values or ())]
            return {"kind": "ids", "rows": rows, "value": True, **valued}
        if seed.kind == "ids":
            return {"kind": "ids", "ids": [d.id_literal(v) for v in seed.values], "value": None}
        if seed.kind == "table":
            column = self.id_column if seed.column is None else seed.column
            if warehouse is not None:
                columns = {c.name: c for c in warehouse.columns(seed.table_name)}
                for kind, name in (("id", column), ("value", value_column)):
                    if name is not None and name not in columns:
                        raise InputError(
                            f"{role} table {d.quote_table(seed.table_name)} has no column {name!r}: "
                            f"name its {kind} column among {', '.join(sorted(columns))}"
                        )
                if id_column is not None and given.kind == "table":
                    check_id_kind(f"{role} table {d.quote_table(seed.table_name)}'s column {column!r}", columns[column].kind, id_column)
                if value_column is not None:
                    _check_value_column(f"{role} table {d.quote_table(seed.table_name)}'s value column", columns[value_column])
            value = {"value": d.quote(value_column), **valued} if value_column else {"value": None}
            return {"kind": "table", "table": d.quote_table(seed.table_name), "column": d.quote(column), **value}
        from .validate import query_id_column  # sqlglot, imported when a query needs it

        column = query_id_column(seed.sql or "", d, role=role, value_column=value_column)
        if warehouse is not None and id_column is not None:
            # the engine's names (PostgreSQL lower-cases unquoted ones) in the query's order
            selected = warehouse.query_columns(seed.sql or "")
            id_found, value_found = (selected[0], None) if value_column is None else _id_and_value(selected, value_column)
            check_id_kind(f"the {role} query's column", id_found.kind, id_column)
            if value_found is not None:
                _check_value_column(f"the {role} query's value column", value_found)
        value = {"value": d.quote(value_column), **valued} if value_column else {"value": None}
        return {"kind": "query", "query": seed.sql, "column": d.quote(column), **value}

    def _tables_read(self, seed: Seed, exclusions: Sequence[Seed]) -> set[str]:
        """The tables the statement reads by an unqualified name: a user CTE of that name
        would take their place."""
        population = self.population
        tables = list(population.tables) if isinstance(population, Wide) else [population.table, population.ids]
        tables += [s.table_name for s in (seed, *exclusions) if s.kind == "table"]
        return {split_table_name(t)[0] for t in tables if t is not None and len(split_table_name(t)) == 1}

    def filter_condition(self, d: Dialect, population_filter: str | None, warehouse: Warehouse | None) -> str | None:
        """The population filter as it goes into the SQL, once validated: one boolean
        expression over the population's own columns (the ids table's, when long)."""
        if population_filter is None:
            return None
        population = self.population
        if isinstance(population, Long) and population.ids is None:
            raise InputError("a population filter on a long table needs its ids table (ids=, --ids-table), whose columns it reads")
        columns = None
        if warehouse is not None:
            if isinstance(population, Long):
                columns = [c.name for c in warehouse.columns(population.ids)]
            elif len(population.tables) == 1:
                columns = [c.name for c in warehouse.columns(population.tables[0])]
            else:  # the joined relation holds the id and the features
                columns = [self.id_column, *(self.features or [])] if self.features else None
        from .validate import filter_expression  # sqlglot, imported when a filter needs it

        return filter_expression(population_filter, d, columns)


def _hoist_query_ctes(d: Dialect, sources: list[tuple[str, dict[str, Any]]], tables: set[str], groups: int) -> list[tuple[str, str]]:
    """The leading WITH of every seed or exclusion query, taken off the query (which then
    sits inside the statement's seed or exclusion CTE) for the statement's own WITH:
    neither Redshift nor Hive accepts a WITH inside a CTE. A name the statement already
    uses is an error that says so."""
    taken = statement_names(groups) | tables
    hoisted: list[tuple[str, str]] = []
    for role, source in sources:
        if source["kind"] == "query":
            from .validate import hoist_ctes  # sqlglot, imported when a query needs it

            ctes, source["query"] = hoist_ctes(source["query"], d, taken, role=role)
            hoisted += ctes
    return hoisted


@contextlib.contextmanager
def _ids_in_warehouse(warehouse: Warehouse, seed: Seed) -> Iterator[Seed]:
    """The seed as the SQL reads it: a long list of Python ids goes into a session-scoped
    temporary table (dropped afterwards) rather than one huge IN list."""
    limit = warehouse.dialect.max_inline_rows if seed.weighted else warehouse.dialect.max_inline_ids
    if seed.kind == "ids" and len(seed.values) > limit:
        with warehouse.temporary_ids(seed.values, seed.member_values) as table:
            yield Seed.table(table, column="seed_id", value="seed_value" if seed.weighted else None)
    else:
        yield seed


TableKey = tuple[str, ...]


def _table_key(table: str | tuple[str, ...]) -> TableKey:
    return split_table_name(table)


def _wide_context(d: Dialect, population: Wide, id_column: str, columns_by_table: dict[TableKey, list[str]]) -> dict[str, Any]:
    """``population`` is the relation every stage reads as ``FROM <population> p``: the
    table, or the tables LEFT JOINed on the id into one derived table."""
    if len(population.tables) == 1:
        relation = d.quote_table(population.tables[0])
    else:
        id_col = d.quote(id_column)
        picks, joins = [f"t1.{id_col}"], []
        for n, table in enumerate(population.tables, start=1):
            picks += [f"t{n}.{d.quote(name)}" for name in columns_by_table[_table_key(table)]]
            source = f"{d.quote_table(table)} t{n}"
            joins.append(f"FROM {source}" if n == 1 else f"LEFT JOIN {source} ON t{n}.{id_col} = t1.{id_col}")
        relation = f"(SELECT {', '.join(picks)} {' '.join(joins)})"
    return {"layout": "wide", "population": relation, "id_source": relation, "population_label": population.describe()}


def _long_context(d: Dialect, population: Long, id_column: str) -> dict[str, Any]:
    table = d.quote_table(population.table)
    ids = d.quote_table(population.ids) if population.ids is not None else None
    return {
        "layout": "long",
        "long": {"table": table, "ids": ids, "feature_col": d.quote(population.feature_column), "value_col": d.quote(population.value_column)},
        "id_source": ids or table,
        "population_label": population.describe(),
    }


def _rendered_on() -> datetime.date:
    """The date a statement's header gives as rendered (UTC); tests replace it."""
    return datetime.datetime.now(datetime.timezone.utc).date()


def _population_note(population: Population) -> str:
    """The population in one line for the header: its tables and layout."""
    if isinstance(population, Long):
        ids = f", ids {'.'.join(split_table_name(population.ids))}" if population.ids is not None else ""
        return f"{population.describe()} (long{ids})"
    return f"{population.describe()} (wide)"


def _seed_note(seed: Seed, given: Seed, id_column: str) -> str:
    """The seed in one line for the header: names cannot hold line breaks
    (check_identifier); a query can, so it is collapsed to one line and cut."""
    if given.kind == "ids":
        where = "inlined" if seed.kind == "ids" else "in the temporary table " + ".".join(split_table_name(seed.table_name or ""))
        return f"{len(given.values)} ids{' with values' if given.weighted else ''}, {where}"
    valued = f", value {seed.value_column}" if seed.value_column else ""
    if seed.kind == "table":
        return f"table {'.'.join(split_table_name(seed.table_name or ''))}, column {seed.column or id_column}{valued}"
    query = " ".join((seed.sql or "").split())
    return "query: " + (query if len(query) <= 60 else query[:60].rstrip() + " ...") + valued


def _computes(statement: str, job: dict[str, Any], n_selected: int | None = None) -> str:
    """What a statement computes, in plain words, for its header (no apostrophe: the Hive
    CLI tracks quotes inside comments)."""
    profile = "profiles each feature against the seed (JS divergence of histograms), weighs the most divergent"
    if statement == "facts":
        return "counts the customers, their NULL and repeated ids, and the distinct seed ids, before anything else runs"
    if statement == "profile":
        return f"{profile}, returns one row per candidate feature: divergence, weight, statistics, histogram counts"
    if statement == "ranges":
        return "reads the range, count, mean and sum of squares of every candidate feature over the profiled customers, for the profile statement"
    if statement == "sample":
        return "draws the profiled sample: the rows of the sampled customers and of the seed, flagged, kept in a temporary table for the profile"
    top = f"returns the top {job['size_label']} ids{' not in the seed' if job['exclude_seed'] else ''} with rank and distance"
    if statement == "lookalike":
        return f"{profile}, ranks customers by {job['method_label']} to the seed mean, {top}"
    if statement == "covariance":
        return "the population covariance of the selected features standardized values (NULL as 0), for the Mahalanobis distance"
    if statement == "rank":
        return f"ranks customers by {job['method_label']} to the seed mean over the {n_selected} selected features (weights from the profile), {top}"
    return "counts the audience (the ids in seed_ids) in each bin of the selected features histograms, on the profile bins, and its mean value per feature"


def _size_context(size: int | Fraction) -> dict[str, Any]:
    if isinstance(size, Fraction):
        label = f"{float(size) * 100:g}% of the ranked population"
        return {"size": None, "size_share": {"num": size.numerator, "den": size.denominator}, "size_label": label}
    return {"size": size, "size_share": None, "size_label": str(size)}


def _ranked_relation(population: Population, layout: dict[str, Any], population_filter: str | None) -> str:
    """What a size share counts: the population the filter keeps."""
    if isinstance(population, Long):
        return "ranked_ids" if population_filter else "population_ids"
    return "ranked_population" if population_filter else layout["population"]


def _sample_context(sample: float | None) -> dict[str, Any]:
    if sample is None:
        return {"kind": "all"}
    if isinstance(sample, float):
        return {"kind": "fraction", "fraction": sample, "below": sample_threshold(sample)}
    return {"kind": "count", "n": sample}


def _group_size(d: Dialect, bins: int) -> int:
    """Features per group, so that no SELECT or join of the profile exceeds the dialect's
    column limit: the widest, the unpivot's join, holds 2 x bins + 10 columns per feature
    (population and seed histograms; range, width, count, mean, std; the seed's count,
    weighted count, mean and mean deviation; one spare) and up to 12 carried columns."""
    if d.max_columns is None:
        return 10**9
    size = (d.max_columns - 12) // (2 * bins + 10)
    if size < 1:
        raise InputError(f"{bins} bins do not fit in the {d.max_columns} columns a {d.name} query may hold: use fewer bins")
    return size


def _facts_checked(exclude_value: bool) -> list[str]:
    """The facts of every check, in the checks' order (without a value-based seed's)."""
    from .checks import CHECKS, VALUE_FACTS

    return [c.fact for c in CHECKS if not (exclude_value and c.fact in VALUE_FACTS)]


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


def _check_facts(facts: dict[str, int], job: dict[str, Any], seed: Seed, n_seed_ids: int) -> None:
    """What stops a job before its profile, said with the table and the counts: an empty
    population, NULL or repeated ids, an empty seed, a value-based seed's bad values."""
    where, id_name = job["population_label"], job["id_col"]
    if facts["n_population"] == 0:
        raise InputError(f"the population {where} is empty: check the table")
    if facts["n_null_ids"] > 0:
        raise InputError(f"{facts['n_null_ids']:,} customers of {where} have a NULL id {id_name}: filter them out in a view")
    if facts["n_duplicate_ids"] > 0:
        joined = " (or a table joined on the id repeats it)" if job["layout"] == "wide" and "JOIN" in job["population"] else ""
        raise InputError(
            f"{facts['n_duplicate_ids']:,} ids {id_name} appear more than once in {where}{joined}: "
            "make the id unique (a view with one row per customer)"
        )
    if n_seed_ids == 0:
        raise InputError(f"the seed ({seed.describe()}) returned no ids: check the seed table or query")
    if job["seed"]["value"] and facts["n_bad_seed_values"] > 0:
        raise InputError(
            f"{facts['n_bad_seed_values']:,} seed ids have a value {job['seed']['value_name']!r} that is NULL, negative or not finite: "
            "give every member a value of 0 or more"
        )


def _normalise_profile(profile: pd.DataFrame, features: list[dict[str, Any]]) -> pd.DataFrame:
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
    name_of = {f["idx"]: f["name"] for f in features}
    profile = profile.copy()  # one block again after the column-by-column typing (many bins)
    profile.insert(1, "feature", profile["idx"].map(name_of))
    return profile.sort_values("idx").reset_index(drop=True)


_REPEATED_PAIRS = "an (id, feature) pair appears more than once in the long table: keep one row per customer and feature"


def _literal_ranges(frame: pd.DataFrame, job: dict[str, Any], n_population: int, d: Dialect) -> dict[str, Any]:
    """The ranges step's one row as SQL numbers for the profile statement: per feature its
    lo, hi, width (NULL for a constant feature), count, mean and, where pass 1 gives it
    without cancellation, its standard deviation (else None). A feature with NaN or
    infinite values stops the job here, named."""
    row = {c.lower(): v for c, v in frame.iloc[0].items()}
    n_profiled = int(row["n_profiled"])

    def number(value: Any) -> str:  # NULL (NaN in pandas) where SQL gave NULL
        return f"CAST(NULL AS {d.double_type})" if pd.isna(value) else d.float_literal(value)

    features, bad = {}, []
    for f in job["features"]:
        i = f["idx"]
        lo, hi, mean, count = row[f"lo_{i}"], row[f"hi_{i}"], row[f"mean_{i}"], int(row[f"pop_count_{i}"])
        # NULL only when no value (lo, hi) or no customer (mean); NaN or inf otherwise
        if (count > 0 and not (math.isfinite(lo) and math.isfinite(hi))) or (n_profiled > 0 and not math.isfinite(mean)):
            bad.append(f["name"])
            continue
        features[i] = {"lo": number(lo), "hi": number(hi), "width": number(row[f"width_{i}"]), "pop_count": count, "mean": number(mean),
                       "std": _spread_in_one_pass(row[f"sum_squares_{i}"], mean, n_profiled, d)}
    if bad:
        raise _non_finite_error(bad, job["population_label"])
    one_pass_spread = [i for i, f in features.items() if f["std"] is not None]
    return {"n_population": n_population, "n_profiled": n_profiled, "features": features, "one_pass_spread": one_pass_spread}


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


def _check_profile(profile: pd.DataFrame, job: dict[str, Any]) -> None:
    """What the profile shows that stops the job, with the feature named: repeated (id,
    feature) pairs, a value-based seed worth 0, non-finite values."""
    first = profile.iloc[0]
    where = job["population_label"]
    if profile["repeated_pairs"].max() > 0:
        raise InputError(f"{_REPEATED_PAIRS} ({where})")
    if "seed_value_total" in profile.columns and first["n_seed_found"] > 0 and not first["seed_value_total"] > 0:
        raise InputError(f"the values {job['seed']['value_name']!r} of the seed members found add up to 0: give some members a value above 0")
    bad = profile.loc[profile["non_finite"] > 0, "feature"]  # flagged in SQL, where NaN and NULL differ
    if len(bad):
        raise _non_finite_error(list(bad), where)


def check_id_kind(what: str, kind: str, id_column: Column) -> None:
    """Ids (``kind``: number, text or other) must be of the id column's kind."""
    if kind == "other" or id_column.kind == "other" or kind == id_column.kind:
        return
    wanted = "integers" if id_column.kind == "number" else "text"
    raise InputError(
        f"{what} are {kind} but the id column {id_column.name!r} is {id_column.type_name}: give {wanted}, as the id column holds"
    )


def _count(value: object) -> int:
    """A bin count from the warehouse; NULL (DuckDB's count_if over only NULLs) is 0."""
    return 0 if pd.isna(value) else int(value)  # type: ignore[arg-type]


def _id_and_value(selected: list[Column], value_name: str) -> tuple[Column, Column]:
    """A two-column seed query's id and value columns, as the engine describes them."""
    by_name = {c.name.lower(): c for c in selected}
    value = by_name.get(value_name.lower(), selected[1])
    return next(c for c in selected if c is not value), value


def _check_value_column(what: str, column: Column) -> None:
    """A value-based seed's values must be numbers."""
    if column.kind != "number" and column.kind != "other":
        raise InputError(f"{what} {column.name!r} is {column.type_name}, not a number: cast it to a number in the query or a view")


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be a whole number of at least {minimum}, not {value!r}")


def _names(columns: dict[str, Any]) -> str:
    names = list(columns)
    shown = ", ".join(names[:12])
    return shown + (f" ... ({len(names)} columns)" if len(names) > 12 else "")
