"""The lookalike model: configure once, then render SQL or execute it on a connection."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import __version__
from .connections import Warehouse, first_line, warehouse_for
from .dialects import Dialect, get_dialect
from .errors import EngineError, InputError, NoFeatureSelected
from .render import render
from .seed import Seed, as_seed
from .validate import single_select_column

#: Called with (step name, seconds since the job started) as each step begins and ends.
Progress = Callable[[str, float], None]


@dataclass
class LookalikeResult:
    """What comes back from the warehouse: the audience and the per-feature summary."""

    audience: pd.DataFrame  # <id column>, rank, distance
    features: pd.DataFrame  # every candidate: feature, js_divergence, weight, ...
    statements: dict[str, str]  # step name -> the exact SQL that ran
    n_population: int
    n_seed_ids: int
    n_seed_found: int
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def top_features(self) -> pd.DataFrame:
        """The selected features by weight, descending (the seed's top_features.csv)."""
        chosen = self.features[self.features["weight"].notna()]
        return (
            chosen.sort_values(["weight", "feature"], ascending=[False, True])[["feature", "js_divergence", "weight"]]
            .reset_index(drop=True)
        )


@dataclass
class Lookalike:
    """A lookalike job over one population table.

    >>> model = Lookalike("population", id_column="member_srl", max_features=20)
    >>> print(model.sql(Seed.table("mom_seed"), size=30_000, connection=con))   # paste into a console
    >>> result = model.execute(con, Seed.table("mom_seed"), size=30_000)         # or run it
    >>> result.audience.head()
    """

    population: str | tuple[str, ...]
    id_column: str
    features: Sequence[str] | None = None
    max_features: int = 20
    threshold: float = 0.05
    bins: int = 10
    min_count: int = 30

    def __post_init__(self) -> None:
        _check_int("max_features", self.max_features, 1)
        _check_int("bins", self.bins, 2)
        _check_int("min_count", self.min_count, 1)
        if not isinstance(self.threshold, (int, float)) or not 0 <= self.threshold <= 1:
            raise InputError(f"threshold {self.threshold!r} is outside [0, 1]: JS divergence in base 2 lies in [0, 1]")
        self.threshold = float(self.threshold)
        if self.features is not None:
            self.features = list(self.features)
            if not self.features:
                raise InputError("the feature list is empty: name at least one numeric column, or leave it out")
            if len(set(self.features)) != len(self.features):
                raise InputError("the feature list names a column twice: list each feature once")
            if self.id_column in self.features:
                raise InputError(f"the id column {self.id_column!r} cannot also be a feature: remove it from the features")

    # ----------------------------------------------------------------- rendering
    def sql(
        self,
        seed: Seed | Sequence[object],
        size: int,
        *,
        exclude_seed: bool = False,
        dialect: str | Dialect = "duckdb",
        connection: Any = None,
    ) -> str:
        """The whole job as ONE statement for ``dialect``: running it returns the top
        ``size`` ids with ``rank`` and ``distance``. Features are read from ``connection``
        when the model was not given a feature list."""
        d = get_dialect(dialect)
        warehouse = warehouse_for(connection) if connection is not None else None
        job = self._prepare(d, as_seed(seed), size, exclude_seed, warehouse)
        return render("lookalike.sql.j2", d, purpose="the lookalike audience as one statement", **job)

    def profile_sql(self, seed: Seed | Sequence[object], *, dialect: str | Dialect = "duckdb", connection: Any = None) -> str:
        """The profiling statement alone: one row per candidate feature."""
        d = get_dialect(dialect)
        warehouse = warehouse_for(connection) if connection is not None else None
        job = self._prepare(d, as_seed(seed), 1, False, warehouse)
        return render("profile.sql.j2", d, purpose="profile and select the features", **job)

    # ----------------------------------------------------------------- execution
    def execute(
        self,
        connection: Any,
        seed: Seed | Sequence[object],
        size: int,
        *,
        exclude_seed: bool = False,
        progress: Progress | None = None,
    ) -> LookalikeResult:
        """Run the job in the warehouse in two statements (profile, then a ranking that
        touches only the selected features) and return the audience.

        Gives the same ids as running ``sql()``'s single statement."""
        seed = as_seed(seed)
        with warehouse_for(connection).session() as warehouse:
            if seed.kind == "ids" and len(seed.values) > warehouse.dialect.max_inline_ids:
                # A long id list goes into a temporary table rather than one huge literal.
                with warehouse.temporary_ids(seed.values) as table:
                    return self._execute(warehouse, Seed.table(table, column="seed_id"), len(seed.values), size, exclude_seed, progress)
            return self._execute(warehouse, seed, len(seed.values) if seed.kind == "ids" else None, size, exclude_seed, progress)

    def _execute(
        self, warehouse: Warehouse, seed: Seed, n_ids_given: int | None, size: int, exclude_seed: bool, progress: Progress | None
    ) -> LookalikeResult:
        started = time.perf_counter()
        report = progress or (lambda step, seconds: None)
        d = warehouse.dialect
        job = self._prepare(d, seed, size, exclude_seed, warehouse)
        statements: dict[str, str] = {}
        seconds: dict[str, float] = {}

        def run(step: str, sql: str) -> pd.DataFrame:
            statements[step] = sql
            report(step, time.perf_counter() - started)
            t0 = time.perf_counter()
            try:
                frame = warehouse.fetch(sql)
            except Exception as exc:  # noqa: BLE001 - re-raised with the step and dialect named
                raise EngineError(f"the {step} step failed on {d.name}: {first_line(exc)}") from exc
            seconds[step] = time.perf_counter() - t0
            return frame

        profile = run("profile", render("profile.sql.j2", d, purpose="profile and select the features", **job))
        profile = _normalise_profile(profile)
        n_population = int(profile["n_population"].iloc[0])
        # Python ids are counted as given, so the report shows how many were not found.
        n_seed_ids = n_ids_given if n_ids_given is not None else int(profile["n_seed_ids"].iloc[0])
        n_seed_found = int(profile["n_seed_found"].iloc[0])
        if n_seed_ids == 0:
            raise InputError(f"the seed ({seed.describe()}) returned no ids: check the seed table or query")
        if n_seed_found == 0:
            raise InputError(
                f"none of the {n_seed_ids} seed ids is in the population table {job['population']}: "
                f"check that the seed holds values of {job['id_col']}"
            )
        chosen = profile[profile["weight"].notna()].sort_values("idx")
        if chosen.empty:
            best = profile.sort_values("js_divergence", ascending=False).head(3)
            near = ", ".join(f"{r.feature}={r.js_divergence:.4f}" for r in best.itertuples())
            raise NoFeatureSelected(
                f"No feature reaches the JS-divergence threshold {self.threshold} (highest: {near}): "
                "lower the threshold or use a sharper seed."
            )
        by_idx = {f["idx"]: f for f in job["features"]}
        selected = [
            {**by_idx[int(r.idx)], "weight": r.weight, "mean": r.mean, "std": r.std, "persona": r.persona}
            for r in chosen.itertuples()
        ]
        audience = run("rank", render("rank.sql.j2", d, purpose="rank customers by the selected features", selected=selected, **job))
        report("done", time.perf_counter() - started)
        audience.columns = [self.id_column, "rank", "distance"]
        audience["rank"] = audience["rank"].astype("int64")
        audience["distance"] = audience["distance"].astype("float64")
        return LookalikeResult(
            audience=audience,
            features=profile.drop(columns=["n_population", "n_seed_found", "n_seed_ids"]),
            statements=statements,
            n_population=n_population,
            n_seed_ids=n_seed_ids,
            n_seed_found=n_seed_found,
            seconds=seconds,
        )

    # ----------------------------------------------------------------- preparation
    def _prepare(self, d: Dialect, seed: Seed, size: int, exclude_seed: bool, warehouse: Warehouse | None) -> dict[str, Any]:
        """Validate everything and build the template context for dialect ``d``."""
        _check_int("size", size, 1)
        if warehouse is not None and warehouse.dialect is not d:
            raise InputError(f"the connection runs {warehouse.dialect.name} SQL, not {d.name}: pass dialect={warehouse.dialect.name!r}")
        features = self._resolve_features(warehouse)
        name_order = {name: rank for rank, name in enumerate(sorted(features), start=1)}
        group_size = _group_size(d, self.bins)
        feature_context = [
            {"idx": i, "name": name, "col": d.quote(name), "order": name_order[name], "grp": (i - 1) // group_size + 1}
            for i, name in enumerate(features, start=1)
        ]
        for f in feature_context:
            f["row"] = [str(f["idx"]), str(f["order"]), d.string_literal(f["name"])]  # its row in the features table
        groups = [feature_context[i : i + group_size] for i in range(0, len(feature_context), group_size)]
        return {
            "version": __version__,
            "population": d.quote_table(self.population),
            "id_col": d.quote(self.id_column),
            "id_alias": d.quote(self.id_column),
            "features": feature_context,
            "groups": groups,
            "seed": self._seed_context(d, seed, warehouse),
            "size": int(size),
            "exclude_seed": bool(exclude_seed),
            "max_features": self.max_features,
            "threshold": d.float_literal(self.threshold),
            "threshold_value": self.threshold,
            "bins": self.bins,
            "min_count": self.min_count,
        }

    def _resolve_features(self, warehouse: Warehouse | None) -> list[str]:
        if warehouse is None:
            if self.features is None:
                raise InputError(
                    "the features are unknown without a connection: pass features=[...] (--features) or a connection (--url)"
                )
            return list(self.features)
        columns = {c.name: c for c in warehouse.columns(self.population)}
        table = warehouse.dialect.quote_table(self.population)
        if self.id_column not in columns:
            raise InputError(f"id column {self.id_column!r} is not in table {table}: choose one of {_names(columns)}")
        if self.features is None:
            features = [c.name for c in columns.values() if c.is_numeric and c.name != self.id_column]
            if not features:
                raise InputError(f"table {table} has no numeric column besides {self.id_column!r}: there is nothing to compare")
            return features
        for name in self.features:
            if name not in columns:
                raise InputError(f"feature column {name!r} is not in table {table}: choose from {_names(columns)}")
            if not columns[name].is_numeric:
                raise InputError(
                    f"feature column {name!r} is not numeric ({columns[name].type_name}) in table {table}: "
                    "cast it to a number in a view, or leave it out"
                )
        return list(self.features)

    def _seed_context(self, d: Dialect, seed: Seed, warehouse: Warehouse | None) -> dict[str, Any]:
        if seed.kind == "ids":
            return {"kind": "ids", "ids": [d.id_literal(v) for v in seed.values]}
        if seed.kind == "table":
            column = seed.column or self.id_column
            if warehouse is not None:
                names = {c.name for c in warehouse.columns(seed.table_name)}
                if column not in names:
                    raise InputError(
                        f"seed table {d.quote_table(seed.table_name)} has no column {column!r}: "
                        f"name its id column (--seed-column) among {', '.join(sorted(names))}"
                    )
            return {"kind": "table", "table": d.quote_table(seed.table_name), "column": d.quote(column)}
        column = single_select_column(seed.sql or "", d)
        return {"kind": "query", "query": seed.sql, "column": d.quote(column)}


def _group_size(d: Dialect, bins: int) -> int:
    """Features per group, so that no SELECT or join of the profile exceeds the dialect's
    column limit: the widest, the unpivot's join, holds 2 x bins + 7 columns per feature
    (population and seed histograms, range, count, mean, std, seed count and persona)."""
    if d.max_columns is None:
        return 10**9
    size = (d.max_columns - 8) // (2 * bins + 7)
    if size < 1:
        raise InputError(f"{bins} bins do not fit in the {d.max_columns} columns a {d.name} query may hold: use fewer bins")
    return size


def _normalise_profile(profile: pd.DataFrame) -> pd.DataFrame:
    profile = profile.copy()
    profile.columns = [c.lower() for c in profile.columns]
    for column in ("js_divergence", "weight", "lo", "hi", "mean", "std", "persona"):
        profile[column] = pd.to_numeric(profile[column], errors="coerce").astype("float64")
    for column in ("idx", "js_rank", "pop_count", "seed_count", "n_population", "n_seed_found", "n_seed_ids"):
        profile[column] = pd.to_numeric(profile[column]).astype("int64")
    return profile.sort_values("idx").reset_index(drop=True)


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be a whole number of at least {minimum}, not {value!r}")


def _names(columns: dict[str, Any]) -> str:
    names = list(columns)
    shown = ", ".join(names[:12])
    return shown + (f" ... ({len(names)} columns)" if len(names) > 12 else "")
