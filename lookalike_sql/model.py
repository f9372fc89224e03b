"""The lookalike model: configure once, then render SQL (``sql()``) or run it on a
connection (``execute()``). What the templates read is built in ``context``, the steps
of ``execute()`` are in ``execution``, and what comes back is a ``result.LookalikeResult``."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .audiences import ids_in_warehouse
from .connections import warehouse_for
from .context import Size, computes_text, prepare
from .dialects import Dialect, get_dialect
from .errors import InputError
from .execution import Progress, execute_job
from .methods import METHODS, REGISTRY
from .population import Population, as_population, parse_sample
from .render import render
from .result import LookalikeResult
from .seed import Seed, as_seed
from .settings import checked, model_setting, model_settings, one_of, share_of_one, whole_number


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
    # The model's settings: each is also a job file key and a flag (settings.model_setting).
    max_features: int = model_setting(20, "model", "most features to weigh", check=whole_number(1), example="20")
    threshold: float = model_setting(
        0.05, "model", "least JS divergence of a weighed feature", types=(int, float), check=share_of_one, example="0.05"
    )
    bins: int = model_setting(10, "model", "histogram bins per feature", check=whole_number(2), example="10")
    min_count: int = model_setting(30, "model", "least non-NULL seed values to judge a feature", check=whole_number(1), example="30")
    sample: int | float | str | None = model_setting(
        None, "population", "profile the population on a deterministic sample: a count (200000) or a share (10%)",
        types=(int, float, str), check=lambda name, value: parse_sample(value), example='"10%"', commented=True,
    )
    method: str = model_setting(
        "euclidean", "model", f"scoring method: {', '.join(METHODS)}", check=one_of(METHODS, "method"), example='"euclidean"'
    )

    def __post_init__(self) -> None:
        self.population = as_population(self.population)
        checked(self, model_settings(Lookalike))
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
        """The model of a job file (``Job.from_file(path)`` gives the whole job: seed,
        size, dialects). Imported here, not at the top: job builds models, so it imports
        this module (the package's only import cycle, broken at call time)."""
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
        if REGISTRY[self.method].covariance:
            *others, last = [name for name, spec in REGISTRY.items() if not spec.covariance]
            raise InputError(
                f"method {self.method} inverts the k x k covariance in Python between two statements, so it has no one-statement "
                f"form: run it with execute() (lookalike-sql run), or render {', '.join(others)} or {last}"
            )
        warehouse = warehouse_for(connection) if connection is not None else None
        exclusions = [as_seed(e) for e in exclude]
        job = prepare(self, d, as_seed(seed), size, exclude_seed, warehouse, exclusions=exclusions, population_filter=population_filter)
        return render("lookalike.sql.j2", d, purpose="the lookalike audience as one statement", computes=computes_text("lookalike", job), job=job)

    def profile_sql(self, seed: Seed | Sequence[object], *, dialect: str | Dialect = "duckdb", connection: Any = None) -> str:
        """The profiling statement alone: one row per candidate feature."""
        d = get_dialect(dialect)
        warehouse = warehouse_for(connection) if connection is not None else None
        job = prepare(self, d, as_seed(seed), 1, False, warehouse)
        return render("profile.sql.j2", d, purpose="profile and select the features", computes=computes_text("profile", job), job=job)

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
            seed_there = stack.enter_context(ids_in_warehouse(warehouse, seed))
            exclusions_there = [stack.enter_context(ids_in_warehouse(warehouse, e)) for e in exclusions]
            n_ids = len(seed.values) if seed.kind == "ids" else None
            controls = {"exclusions": exclusions_there, "exclusions_as_given": exclusions, "population_filter": population_filter}
            return execute_job(self, warehouse, seed_there, n_ids, size, exclude_seed, progress, timeout, seed, controls, stack)
