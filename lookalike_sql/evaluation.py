"""How good is an audience? Hide part of the seed, build the audience from the rest, and
count how many of the hidden members come back near the top of the ranking.

>>> from lookalike_sql import evaluate
>>> evaluation = evaluate(model, con, Seed.table("mom_seed"))      # holdout 50%
>>> print(evaluation.to_text())     # recall and lift at 1%, 5%, 10%, 20%, 50% of the population
>>> evaluation.table                # method, share, audience_size, hidden_found, recall, lift
>>> evaluation.plot("evaluation.png")

The split is deterministic and independent of the seed's order: a member is hidden when
the first 8 hex digits of ``md5(str(id))`` fall below ``holdout`` of their range, the
rule a fraction ``sample`` uses (``population.sample_threshold``,
``reference.sample_mask``). The kept members are the training seed; each method ranks the
population once with them excluded (``exclude_seed=True``), and

- recall at share x = hidden members among the first ceil(x * population) ranked ids /
  hidden members in the population (the population and the members the job's filter
  keeps, less its exclusions: those who can be ranked);
- lift at x = recall / x: how many times better than picking customers at random;
- for a value-based seed, value recall at x = the hidden members' value among the first
  ceil(x * population) ranked ids / the hidden members' value in the population: how
  much of the seed's worth the audience finds. The training seed keeps its values, and
  each method also runs with every member counted once ("<method> (unweighted)"), so
  that the table shows what the values add.

Each method named (``model.METHODS``) runs as a copy of the model with that method.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .audiences import check_id_kind
from .connections import warehouse_for
from .errors import InputError
from .holdout import holdout_mask, parse_holdout, parse_methods, parse_shares
from .model import Lookalike
from .pictures import plot_recall
from .population import Long, Wide
from .render import render
from .result import LookalikeResult
from .schema import filter_condition
from .seed import Seed, as_seed, python_id
from .warehouse import Warehouse

__all__ = ["SHARES", "Evaluation", "evaluate", "holdout_mask", "parse_holdout", "parse_shares", "write_evaluation"]

#: The shares of the population at which recall is reported by default.
SHARES = (0.01, 0.05, 0.1, 0.2, 0.5)
#: Below this many hidden members in the population, recall moves by whole points from
#: one member more or less: the evaluation says so.
FEW_HIDDEN = 100

#: Called with (step, seconds since the evaluation started): "seed", "population", then
#: "<method>/<step>" for each method's run (its profile, rank, histograms, done), "done".
Progress = Callable[[str, float], None]

COLUMNS = ["method", "share", "audience_size", "hidden_found", "recall", "lift"]
#: The column a value-based seed adds, and the label of a method's run without the values.
VALUE_RECALL = "value_recall"
UNWEIGHTED = " (unweighted)"


@dataclass
class Evaluation:
    """The evaluation of one or more methods on one split of the seed."""

    table: pd.DataFrame  # method, share, audience_size, hidden_found, recall, lift (and value_recall)
    holdout: float  # the share of the seed hidden
    n_population: int  # the ranked population (the customers the job's filter keeps): the shares are of it
    n_seed_ids: int  # the seed's distinct non-NULL ids
    n_training: int  # ids kept to build the audience (the training seed)
    n_training_found: int  # of them, in the population
    n_hidden: int  # ids hidden
    n_hidden_found: int  # of them, in the ranked population and not excluded: recall's denominator
    #: hidden ids in the population that the job's filter or exclusions keep out of the
    #: ranking, so out of recall too
    n_hidden_out: int = 0
    results: dict[str, LookalikeResult] = field(default_factory=dict)  # each method's run
    seconds: dict[str, float] = field(default_factory=dict)  # seed, population, each method

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(self.table["method"]))

    @property
    def warnings(self) -> list[str]:
        """What limits the figures, each with what to do."""
        notes = []
        missing = self.n_hidden - self.n_hidden_found - self.n_hidden_out
        if self.n_hidden_out:
            notes.append(
                f"{self.n_hidden_out:,} of the {self.n_hidden:,} hidden ids are outside the ranked audience (the job's filter "
                "or exclusions) and were left out of recall"
            )
        if missing:
            notes.append(
                f"{missing:,} of the {self.n_hidden:,} hidden ids are not in the population and were left out of recall: "
                "check that the seed holds the population's ids"
            )
        if self.n_hidden_found < FEW_HIDDEN:
            notes.append(
                f"recall rests on {self.n_hidden_found:,} hidden members, so one member moves it by "
                f"{1 / self.n_hidden_found:.1%}: use a larger seed or holdout before comparing methods"
            )
        return notes

    def summary(self) -> str:
        """The sizes in one line."""
        missing_training = self.n_training - self.n_training_found
        return (
            f"population {self.n_population:,}; seed {self.n_seed_ids:,} ids, {_percent(self.holdout)} hidden: "
            f"training {self.n_training:,}"
            + (f" ({self.n_training_found:,} in the population)" if missing_training else "")
            + f", hidden {self.n_hidden:,}"
            + (f" ({self.n_hidden_found:,} in the population)" if self.n_hidden_found != self.n_hidden else "")
        )

    def to_text(self) -> str:
        """The sizes, an aligned table and the warnings, as the command line prints them."""
        valued = VALUE_RECALL in self.table.columns
        rows = [["method", "share", "audience", "hidden found", "recall", "lift"] + (["value recall"] if valued else [])]
        for r in self.table.itertuples(index=False):
            rows.append([r.method, _percent(r.share), f"{r.audience_size:,}", f"{r.hidden_found:,} / {self.n_hidden_found:,}",
                         f"{r.recall:.1%}", f"{r.lift:.2f}"] + ([f"{r.value_recall:.1%}"] if valued else []))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = [self.summary()]
        for row in rows:
            cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
            lines.append("  ".join(cells).rstrip())
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        """The table in Markdown (for a README or a report)."""
        lines = ["| method | share | audience | hidden found | recall | lift |", "|---|---:|---:|---:|---:|---:|"]
        for r in self.table.itertuples(index=False):
            lines.append(
                f"| {r.method} | {_percent(r.share)} | {r.audience_size:,} | {r.hidden_found:,} of {self.n_hidden_found:,} | "
                f"{r.recall:.1%} | {r.lift:.2f} |"
            )
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_text()

    def plot(self, path: str | os.PathLike) -> Path:
        """Save recall against the share of the population for each method, with the
        random baseline (recall = share), as a PNG (beside it, for a value-based seed, value
        recall). Needs ``pip install 'lookalike-sql[plot]'``."""
        panels = [("recall", "recall: hidden seed members found")]
        if VALUE_RECALL in self.table.columns:
            panels.append((VALUE_RECALL, "value recall: the hidden members' value found"))
        title = (f"Hidden seed members found (lift over random marked)\n{_percent(self.holdout)} of the seed hidden, "
                 f"{self.n_hidden_found:,} members; population {self.n_population:,}")
        plot_recall(self.table, self.methods, panels, title, Path(path), unweighted=UNWEIGHTED, share_text=_percent)
        return Path(path)


def evaluate(
    model: Lookalike,
    connection: Any,
    seed: Seed | Sequence[object],
    *,
    holdout: float | str = 0.5,
    shares: Iterable[float | str] | str = SHARES,
    methods: Iterable[str] | str = ("euclidean",),
    exclude: Sequence[Seed | Sequence[object]] = (),
    population_filter: str | None = None,
    progress: Progress | None = None,
    timeout: float | None = None,
) -> Evaluation:
    """Hide ``holdout`` of the seed (the md5 rule: reproducible, independent of order),
    rank the population for each method with the rest as the seed (one ``execute()``
    each, the training seed excluded), and report recall and lift at each share of the
    population. ``shares`` are fractions in (0, 1] or texts such as "5%"; ``timeout``
    (seconds) cancels any statement that runs longer.

    The job's audience controls apply as in ``execute()``: ``population_filter``
    restricts who is ranked (the shares are of the customers it keeps) and ``exclude``
    keeps audiences out; hidden members they leave out are not counted in recall."""
    holdout = parse_holdout(holdout)
    shares = parse_shares(shares)
    if not isinstance(model, Lookalike):
        raise InputError(f"evaluate needs a Lookalike model, not a {type(model).__name__}")
    models = {method: dataclasses.replace(model, method=method) for method in parse_methods(methods)}
    seed = as_seed(seed)
    started = time.perf_counter()
    report = progress or (lambda step, seconds: None)
    seconds: dict[str, float] = {}

    with warehouse_for(connection).session() as warehouse:
        report("seed", time.perf_counter() - started)
        t0 = time.perf_counter()
        members = seed.resolve(warehouse, model.id_column, timeout)
        ids = list(members.values)
        value_of = dict(zip(ids, members.member_values)) if members.member_values is not None else None
        hidden_mask = holdout_mask(ids, holdout)
        hidden = [v for v, h in zip(ids, hidden_mask) if h]
        kept = [v for v, h in zip(ids, hidden_mask) if not h]
        seconds["seed"] = time.perf_counter() - t0
        if not hidden or not kept:
            empty = "hides none" if not hidden else "hides all"
            raise InputError(
                f"a {_percent(holdout)} holdout {empty} of the seed's {len(ids):,} ids: "
                f"{'raise' if not hidden else 'lower'} the holdout or use a larger seed"
            )

        report("population", time.perf_counter() - started)
        t0 = time.perf_counter()
        n_population, hidden_in_population, hidden_found = _count_population(model, warehouse, hidden, population_filter, timeout)
        exclusions = [as_seed(e) for e in exclude]
        for exclusion in exclusions:
            hidden_found -= set(exclusion.resolve(warehouse, model.id_column, timeout).values)
        n_hidden_found = len(hidden_found)
        seconds["population"] = time.perf_counter() - t0
        if n_population == 0 and population_filter:
            raise InputError(f"the filter keeps no customer of the population {model.population.describe()}: check the condition")
        if n_population == 0:
            raise InputError(f"the population {model.population.describe()} is empty: check the table")
        if n_hidden_found == 0 and hidden_in_population:
            raise InputError(
                f"the job's filter or exclusions leave out all {hidden_in_population:,} hidden seed members the population holds: "
                "evaluate without them, or with a larger seed"
            )
        if n_hidden_found == 0:
            raise InputError(
                f"none of the {len(hidden):,} hidden seed ids is in the population {model.population.describe()}: "
                f"check that the seed holds values of {model.id_column}"
            )
        size = _cutoff(max(shares), n_population)

        rows = []
        results: dict[str, LookalikeResult] = {}
        hidden_value = None if value_of is None else {v: value_of[v] for v in hidden_found}
        plain = Seed.ids(kept)
        runs = [(method, method_model, plain) for method, method_model in models.items()]
        if value_of is not None:  # each method with the values, then with every member once
            valued = Seed.ids(kept, [value_of[v] for v in kept])
            runs = [(method, m, valued) for method, m in models.items()] + [(method + UNWEIGHTED, m, plain) for method, m in models.items()]
        for method, method_model, training in runs:
            t0 = time.perf_counter()

            def forward(step: str, _: float, method: str = method) -> None:
                report(f"{method}/{step}", time.perf_counter() - started)

            result = method_model.execute(
                warehouse, training, size, exclude_seed=True, exclude=exclusions, population_filter=population_filter,
                progress=forward, timeout=timeout,
            )
            seconds[method] = time.perf_counter() - t0
            results[method] = result
            rows += _recall_rows(method, result, n_population, hidden_found, shares, hidden_value)
    report("done", time.perf_counter() - started)
    first = next(iter(results.values()))
    return Evaluation(
        table=pd.DataFrame(rows, columns=COLUMNS + ([VALUE_RECALL] if value_of is not None else [])),
        holdout=holdout,
        n_population=n_population,
        n_seed_ids=len(ids),
        n_training=len(kept),
        n_training_found=first.n_seed_found,
        n_hidden=len(hidden),
        n_hidden_found=n_hidden_found,
        n_hidden_out=hidden_in_population - n_hidden_found,
        results=results,
        seconds=seconds,
    )


def write_evaluation(out: str | os.PathLike, evaluation: Evaluation) -> dict[str, Path]:
    """evaluation.csv (the table) and evaluation.png (when matplotlib is installed) in
    ``out``: both, or, when writing fails, neither."""
    import importlib.util

    from .output import staged_folder, write_csv

    out = Path(out)
    names = ["evaluation.csv"]
    with staged_folder(out) as staging:
        write_csv(staging / "evaluation.csv", evaluation.table)
        if importlib.util.find_spec("matplotlib") is not None:
            evaluation.plot(staging / "evaluation.png")
            names.append("evaluation.png")
    return {name: out / name for name in names}


def _percent(share: float) -> str:
    """1%, 12.5%, 0.1%: a share as short as it is exact."""
    return f"{share * 100:.4g}%"


def _cutoff(share: float, n_population: int) -> int:
    """ceil(share x population), at least 1 (rounded first, so that 0.07 x 100 is 7)."""
    return max(1, math.ceil(round(share * n_population, 6)))


# --------------------------------------------------------------------------- warehouse
def _count_population(
    model: Lookalike, warehouse: Warehouse, hidden: list[object], population_filter: str | None, timeout: float | None
) -> tuple[int, int, set[object]]:
    """The ranked population's size (the customers the filter keeps), how many hidden ids
    the population holds, and those of them the filter keeps."""
    d = warehouse.dialect
    population = model.population
    if isinstance(population, Long):
        table = population.ids if population.ids is not None else population.table
    else:
        assert isinstance(population, Wide)
        table = population.tables[0]  # lists the customers; the others are joined to it
    quoted = d.quote_table(table)
    columns = {c.name: c for c in warehouse.columns(table)}
    if model.id_column not in columns:
        raise InputError(f"id column {model.id_column!r} is not in table {quoted}: name the population's id column")
    check_id_kind("the seed's ids", "text" if isinstance(hidden[0], str) else "number", columns[model.id_column])
    id_col = d.quote(model.id_column)
    if isinstance(population, Long) and population.ids is None:
        relation = f"(SELECT DISTINCT v.{id_col} FROM {quoted} v) p"  # the ids its rows hold
    else:
        relation = f"{quoted} p"
    # the validated filter, placed as the templates place it: inside its own parentheses
    condition = filter_condition(model, d, population_filter, warehouse)

    def holdout_sql(part: str, **ids: Any) -> str:
        return render("holdout.sql.j2", d, part=part, relation=relation, id_col=id_col, condition=condition, **ids)

    n_population = warehouse.run_step("counting the population", holdout_sql("count"), timeout).iloc[0, 0]
    if len(hidden) <= d.max_inline_ids:
        frame = warehouse.run_step("finding the hidden ids", holdout_sql("hidden", ids=[d.id_literal(v) for v in hidden], ids_table=None), timeout)
    else:
        with warehouse.temporary_ids(hidden) as name:
            frame = warehouse.run_step("finding the hidden ids", holdout_sql("hidden", ids_table=d.quote_table(name)), timeout)
    found = {python_id(v) for v, k in zip(frame.iloc[:, 0], frame.iloc[:, 1]) if int(k) == 1}
    return 0 if pd.isna(n_population) else int(n_population), len(frame), found


def _recall_rows(
    method: str, result: LookalikeResult, n_population: int, hidden: set[object], shares: tuple[float, ...],
    hidden_value: dict[object, float] | None,
) -> list[dict[str, Any]]:
    """Recall and lift at each share (``hidden``: the hidden ids in the population), and
    value recall when the hidden members have values."""
    ranked = [python_id(v) for v in result.audience.iloc[:, 0].tolist()]  # rank order
    found_by = np.cumsum([v in hidden for v in ranked]) if ranked else np.zeros(0, dtype=int)
    if hidden_value is not None:
        value_by = np.cumsum([hidden_value.get(v, 0.0) for v in ranked]) if ranked else np.zeros(0)
        total_value = sum(hidden_value.values())
    rows = []
    for share in shares:
        top = min(_cutoff(share, n_population), len(ranked))
        found = int(found_by[top - 1]) if top else 0
        recall = found / len(hidden)
        row = {"method": method, "share": share, "audience_size": top, "hidden_found": found, "recall": recall, "lift": recall / share}
        if hidden_value is not None:
            row[VALUE_RECALL] = (float(value_by[top - 1]) if top else 0.0) / total_value if total_value > 0 else float("nan")
        rows.append(row)
    return rows
