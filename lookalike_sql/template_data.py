"""The data the templates read, as typed, frozen records: what ``context.prepare()``
builds for a statement (``StatementContext``), and what ``execution`` adds between the
steps (``Ranges``, ``SelectedFeature``). SQL text in them is ready to paste: names are
quoted by ``Dialect.quote`` and numbers are literals of ``Dialect.float_literal``."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .methods import Method


@dataclass(frozen=True)
class FeatureContext:
    """A candidate feature."""

    idx: int  # its number in the statement (1, 2, ...): columns are named after it
    name: str
    col: str  # its quoted column name
    order: int  # its rank among the names sorted: ties of divergence go to the first name
    name_sql: str  # its name as a string literal
    is_double: bool = False  # read without a CAST (already a double)
    fill_sql: str | None = None  # the long layout: a missing value, as SQL


@dataclass(frozen=True, kw_only=True)
class SelectedFeature(FeatureContext):
    """A feature the profile selected, with the numbers the ranking reads."""

    weight: float
    mean: float
    std: float
    persona: float  # the seed's mean, standardized
    lo: float
    hi: float
    lrs: tuple[float, ...]  # the likelihood ratio of each bin (methods.likelihood_ratios) ...
    lr_null: float  # ... and of a NULL value
    terms: Mapping[str, Any]  # the numbers above as SQL literals ("lrs": one per bin)

    @property
    def width(self) -> float:
        return self.hi - self.lo


@dataclass(frozen=True)
class AudienceContext:
    """The seed, or an exclusion: where its ids come from."""

    kind: str  # "ids" (inlined), "table" or "query"
    ids: tuple[str, ...] = ()  # kind ids: the id literals
    rows: tuple[tuple[str, str], ...] = ()  # kind ids, value-based: (id, value) literals
    table: str | None = None  # kind table: the quoted table
    column: str | None = None  # kind table or query: the quoted id column
    query: str | None = None  # kind query: the SELECT (its WITH hoisted into the statement's)
    value: str | bool | None = None  # a value-based seed: its quoted value column (True: inlined rows); else None
    value_name: str | None = None  # a value-based seed: the value's name, for messages


@dataclass(frozen=True)
class LongTable:
    """The long layout's table, quoted."""

    table: str
    ids: str | None  # the table listing every customer, if given
    feature_col: str
    value_col: str


@dataclass(frozen=True)
class SampleContext:
    kind: str  # "all", "fraction" or "count"
    fraction: float | None = None
    below: str | None = None  # kind fraction: the hash threshold (population.sample_threshold)
    n: int | None = None  # kind count


@dataclass(frozen=True)
class SizeShare:
    num: int
    den: int


@dataclass(frozen=True)
class FeatureRange:
    """One feature's pass-1 numbers, as SQL literals (NULL where SQL gave NULL)."""

    lo: str
    hi: str
    width: str
    pop_count: int
    mean: str
    std: str | None  # None: the profile computes it around the mean (pass 2)


@dataclass(frozen=True)
class Ranges:
    """The ranges step's row (execute() on a ranges_first dialect), for the profile."""

    n_population: int
    n_profiled: int
    features: Mapping[int, FeatureRange]  # by the feature's idx
    one_pass_spread: tuple[int, ...]  # the idx of the features whose std is given


@dataclass(frozen=True)
class StatementContext:
    """Everything a statement's template reads about the job, for one dialect."""

    # the header
    version: str
    rendered_on: datetime.date
    seed_note: str
    population_note: str
    # the population
    id_name: str
    id_col: str  # quoted
    id_alias: str  # quoted, as the output names it
    layout: str  # "wide" or "long"
    id_source: str  # the relation listing every customer
    population_label: str  # for messages
    population: str | None  # wide: the relation read as FROM <population> p
    long: LongTable | None  # long: its table
    shape: str  # how the profile and the ranking read it: "one_row", "unpivot" or "long"
    score_shape: str
    features: tuple[FeatureContext, ...]
    feature_rows: tuple[list[str], ...]  # long: (one_key, idx, name_order, feature, fill) literals
    groups: tuple[tuple[FeatureContext, ...], ...]  # features per group (the dialect's column limit)
    sample: SampleContext
    # the seed and the audience
    seed: AudienceContext
    query_ctes: tuple[tuple[str, str], ...]  # the seed's and exclusions' hoisted WITH
    size: int | None  # a count, or None for a share
    size_share: SizeShare | None
    size_label: str
    exclude_seed: bool
    exclusions: tuple[AudienceContext, ...]
    excluding: bool
    population_filter: str | None  # the condition, checked
    ranked_relation: str  # what a size share counts
    # the model
    max_features: int
    threshold: str  # literal
    threshold_value: float
    bins: int
    min_count: int
    method: str
    method_spec: Method
    method_label: str
    n_parts: int  # the method's sums per customer
    likelihood_columns: list[str]  # (a list: the templates add it to lists)
    # the checks the one statement makes at the selection: all of them, or (unpivot)
    # those its first pass and its grouped ranking do not make
    all_facts: tuple[str, ...]
    selection_facts: tuple[str, ...]
    # execute() on a ranges_first dialect: the ranges step's numbers, and the temporary
    # table of the profiled sample
    ranges: Ranges | None = None
    sample_table: str | None = None

    def variables(self) -> dict[str, Any]:
        """The template's variables (shallow: the records stay records)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def replace(self, **changes: Any) -> StatementContext:
        return dataclasses.replace(self, **changes)
