"""The data the templates read: a model, a seed and the audience controls validated
and turned into one context per dialect (names quoted, numbers as literals), with the
notes of each statement's header."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from . import __version__
from .audiences import audience_context, hoist_query_ctes, seed_note
from .dialects import Dialect, split_table_name
from .errors import InputError
from .methods import REGISTRY
from .population import Long, Population, Wide, sample_threshold
from .render import render
from .schema import (
    TableKey,
    filter_condition,
    resolve_long_features,
    resolve_wide_columns,
    table_key,
    tables_read,
)
from .seed import Seed
from .settings import check_int
from .template_data import (
    FeatureContext,
    LongTable,
    SampleContext,
    SizeShare,
    StatementContext,
)
from .warehouse import Warehouse

if TYPE_CHECKING:
    from .model import Lookalike


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
    check_int("size", size, 1)
    return int(size)  # type: ignore[arg-type]


def prepare(
    model: Lookalike,
    d: Dialect,
    seed: Seed,
    size: Size,
    exclude_seed: bool,
    warehouse: Warehouse | None,
    seed_as_given: Seed | None = None,
    exclusions: Sequence[Seed] = (),
    exclusions_as_given: Sequence[Seed] | None = None,
    population_filter: str | None = None,
) -> StatementContext:
    """Validate everything and build the template context for dialect ``d``.
    ``seed_as_given`` (``exclusions_as_given``) is the seed (the exclusions) before a
    long id list went into a temporary table (their ids are checked against the id
    column's type)."""
    size = parse_size(size)
    if warehouse is not None and warehouse.dialect is not d:
        raise InputError(f"the connection runs {warehouse.dialect.name} SQL, not {d.name}: pass dialect={warehouse.dialect.name!r}")
    population = model.population
    assert isinstance(population, (Wide, Long))
    if isinstance(population, Long):
        features, id_column = resolve_long_features(model, population, warehouse)
        layout = _long_context(d, population, model.id_column)
        doubles: set[str] = set()  # the long table's values are cast once, not per feature
        group_size = len(features)  # rows, not columns: no column limit applies
    else:
        columns_by_table, doubles, id_column = resolve_wide_columns(model, population, warehouse)
        features = [name for names in columns_by_table.values() for name in names] if columns_by_table else list(model.features or [])
        layout = _wide_context(d, population, model.id_column, columns_by_table)
        group_size = _group_size(d, model.bins)
    name_order = {name: rank for rank, name in enumerate(sorted(features), start=1)}
    feature_context = tuple(
        FeatureContext(
            idx=i, name=name, col=d.quote(name), order=name_order[name], name_sql=d.string_literal(name), is_double=name in doubles,
            fill_sql=d.nullable_float_literal(population.fill_of(name)) if isinstance(population, Long) else None,
        )
        for i, name in enumerate(features, start=1)
    )
    groups = tuple(feature_context[i : i + group_size] for i in range(0, len(feature_context), group_size))
    seed_context = audience_context(d, seed, warehouse, model.id_column, id_column, seed_as_given)
    exclusion_contexts = [
        audience_context(d, e, warehouse, model.id_column, id_column, given, role="exclusion")
        for e, given in zip(exclusions, exclusions_as_given or exclusions)
    ]
    (seed_context, *exclusion_contexts), query_ctes = hoist_query_ctes(
        d, [("seed", seed_context)] + [("exclusion", e) for e in exclusion_contexts], tables_read(model, seed, exclusions), len(groups)
    )
    method = REGISTRY[model.method]
    return StatementContext(
        version=__version__,
        rendered_on=_rendered_on(),
        seed_note=seed_note(seed, seed_as_given or seed, model.id_column),
        population_note=_population_note(population),
        id_name=model.id_column,
        id_col=d.quote(model.id_column),
        id_alias=d.quote(model.id_column),
        **layout,
        # how the profile and the ranking read the population (see Dialect.wide_profile)
        shape="long" if isinstance(population, Long) else d.wide_profile,
        score_shape="long" if isinstance(population, Long) else d.wide_profile,
        features=feature_context,
        feature_rows=tuple(["1", str(f.idx), str(f.order), d.text_column(f.name), f.fill_sql or "NULL"] for f in feature_context),
        groups=groups,
        sample=_sample_context(model.sample),
        seed=seed_context,
        query_ctes=query_ctes,
        **_size_context(size),
        exclude_seed=bool(exclude_seed),
        exclusions=tuple(exclusion_contexts),
        excluding=bool(exclude_seed or exclusions),
        population_filter=filter_condition(model, d, population_filter, warehouse),
        ranked_relation=_ranked_relation(population, layout, population_filter),
        max_features=model.max_features,
        threshold=d.float_literal(model.threshold),
        threshold_value=model.threshold,
        bins=model.bins,
        min_count=model.min_count,
        method=model.method,
        method_spec=method,
        method_label=method.label,
        n_parts=method.sums,
        likelihood_columns=[f"lr_{k}" for k in range(model.bins)] + ["lr_null"],
        all_facts=_facts_checked(exclude_value=not seed.weighted),
        selection_facts=("n_seed_found", "features_selected") + (("n_bad_seed_values", "seed_value_total") if seed.weighted else ()),
    )


def _wide_context(d: Dialect, population: Wide, id_column: str, columns_by_table: dict[TableKey, list[str]]) -> dict[str, Any]:
    """``population`` is the relation every stage reads as ``FROM <population> p``: the
    table, or the tables LEFT JOINed on the id into one derived table."""
    if len(population.tables) == 1:
        relation = d.quote_table(population.tables[0])
    else:
        tables = [(d.quote_table(t), [d.quote(name) for name in columns_by_table[table_key(t)]]) for t in population.tables]
        relation = render("wide_population.sql.j2", d, tables=tables, id_col=d.quote(id_column)).strip()
    return {"layout": "wide", "population": relation, "long": None, "id_source": relation, "population_label": population.describe()}


def _long_context(d: Dialect, population: Long, id_column: str) -> dict[str, Any]:
    table = d.quote_table(population.table)
    ids = d.quote_table(population.ids) if population.ids is not None else None
    return {
        "layout": "long",
        "population": None,
        "long": LongTable(table, ids, feature_col=d.quote(population.feature_column), value_col=d.quote(population.value_column)),
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


def computes_text(statement: str, job: StatementContext, n_selected: int | None = None) -> str:
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
    top = f"returns the top {job.size_label} ids{' not in the seed' if job.exclude_seed else ''} with rank and distance"
    if statement == "lookalike":
        return f"{profile}, ranks customers by {job.method_label} to the seed mean, {top}"
    if statement == "covariance":
        return "the population covariance of the selected features standardized values (NULL as 0), for the Mahalanobis distance"
    if statement == "rank":
        return f"ranks customers by {job.method_label} to the seed mean over the {n_selected} selected features (weights from the profile), {top}"
    return "counts the audience (the ids in seed_ids) in each bin of the selected features histograms, on the profile bins, and its mean value per feature"


def _size_context(size: int | Fraction) -> dict[str, Any]:
    if isinstance(size, Fraction):
        label = f"{float(size) * 100:g}% of the ranked population"
        return {"size": None, "size_share": SizeShare(size.numerator, size.denominator), "size_label": label}
    return {"size": size, "size_share": None, "size_label": str(size)}


def _ranked_relation(population: Population, layout: dict[str, Any], population_filter: str | None) -> str:
    """What a size share counts: the population the filter keeps."""
    if isinstance(population, Long):
        return "ranked_ids" if population_filter else "population_ids"
    return "ranked_population" if population_filter else layout["population"]


def _sample_context(sample: int | float | None) -> SampleContext:
    if sample is None:
        return SampleContext("all")
    if isinstance(sample, float):
        return SampleContext("fraction", fraction=sample, below=sample_threshold(sample))
    return SampleContext("count", n=sample)


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


def _facts_checked(exclude_value: bool) -> tuple[str, ...]:
    """The facts of every check, in the checks' order (without a value-based seed's)."""
    from .checks import CHECKS, VALUE_FACTS

    return tuple(c.fact for c in CHECKS if not (exclude_value and c.fact in VALUE_FACTS))
