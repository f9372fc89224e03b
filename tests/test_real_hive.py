"""The Hive SQL on REAL Apache Hive 2.3.9, as a console user runs it (tests/hive_cli.py:
the Hive CLI with its default settings, MapReduce in local mode).

Every case's one statement returns the NumPy reference's ids, and every check of the job
stops the statement with its reason on the console. Real Hive costs about 1.5 s per
MapReduce job, so all cases run in one JVM, in one batch: the tables are loaded, then
each statement runs as ``hive -f`` runs a file (one as ``hive -e`` runs its argument,
the hostile names through a whole statement, as JDBC sends it: the CLI would cut a name
holding a quote or a ';'), and the tests below read the batch's results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import datasets
import numpy as np
import pandas as pd
import pytest
from helpers import assert_same_audience, assert_stopped
from hive_batches import hive_batch
from hive_cli import HiveCLI, HiveJob, HiveResult
from test_value_seeds import orders, value_of

from lookalike_sql import Long, Lookalike, Seed
from lookalike_sql.checks import STOP
from lookalike_sql.console import console_problems
from lookalike_sql.reference import reference_lookalike

ID = "customer_id"
BASIC = datasets.basic()
SPARSE = datasets.sparse()
FEATURES = ["age", "spend", "orders", "views", "noise"]
SPARSE_FEATURES = ["age", "spend", "orders", "views", "rare"]


def _hostile() -> tuple[datasets.Dataset, dict[str, str]]:
    """Hostile column names that Hive accepts (it refuses '.' and ':' in column names and
    anything but letters, digits and '_' in table names)."""
    names = {"age": "it's; x -- a", "spend": 'a"b`c', "orders": "/* c */ 日本", "views": "MiXed select", "noise": "100% ?$1 {a}(b),c=d"}
    frame = BASIC.population.rename(columns={**names, ID: '"Customer ID" `k`; -- */'})
    return datasets.Dataset("hostile", frame, BASIC.seed_ids, dict(BASIC.params), '"Customer ID" `k`; -- */'), names


HOSTILE, HOSTILE_NAMES = _hostile()


@dataclass
class Case:
    """One statement for real Hive and the answer it must give: the reference's audience
    (``reference``: keyword arguments of reference_lookalike) or a stop (``stops``: a
    check's code)."""

    model: Lookalike
    seed: Seed
    size: Any
    dataset: datasets.Dataset | None = None
    reference: dict = field(default_factory=dict)
    sql_options: dict = field(default_factory=dict)
    stops: str | None = None
    run_as: str = "file"  # "file" (hive -f), "script" (hive -e) or "statement" (whole, as JDBC)

    def sql(self) -> str:
        return self.model.sql(self.seed, self.size, dialect="hive", **self.sql_options)


def _cases() -> dict[str, Case]:
    basic = dict(features=FEATURES, **BASIC.params)
    sparse = dict(features=SPARSE_FEATURES, **SPARSE.params)
    excluded = BASIC.population[ID].iloc[::7].tolist()
    return {
        # the reference's audience, through the one statement
        "wide": Case(Lookalike("rh_basic", ID, **basic), Seed.table("rh_basic_seed"), 200, BASIC),
        "long": Case(
            Lookalike(Long("rh_sparse_long", ids="rh_sparse_ids", fills=datasets.SPARSE_FILLS), ID, **sparse),
            Seed.table("rh_sparse_seed"), 200, SPARSE,
        ),
        "sampled": Case(Lookalike("rh_basic", ID, sample=1_000, **basic), Seed.table("rh_basic_seed"), 150, BASIC, {"sample": 1_000}),
        "exclusions and filter": Case(
            Lookalike("rh_basic", ID, **basic), Seed.table("rh_basic_seed"), Fraction(1, 20), BASIC,
            {"exclude_seed": True, "exclude": excluded, "rank_mask": (BASIC.population["age"] >= 30).to_numpy()},
            {"exclude_seed": True, "exclude": [Seed.table("rh_excluded")], "population_filter": "age >= 30"},
        ),
        "value-based seed": Case(
            Lookalike("rh_sparse", ID, **sparse), Seed.table("rh_orders", value="spend"), 150, SPARSE,
            {"seed_values": value_of(orders(SPARSE))},
        ),
        "likelihood": Case(Lookalike("rh_basic", ID, method="likelihood", **basic), Seed.table("rh_basic_seed"), 120, BASIC, {"method": "likelihood"}),
        "cosine (hive -e)": Case(
            Lookalike("rh_basic", ID, method="cosine", **basic), Seed.table("rh_basic_seed"), 120, BASIC, {"method": "cosine"}, run_as="script",
        ),
        "hostile names": Case(
            Lookalike("rh_hostile", HOSTILE.id_column, features=list(HOSTILE_NAMES.values()), **BASIC.params),
            Seed.table("rh_basic_seed", column=ID), 100, HOSTILE, run_as="statement",
        ),
        # every check stops the statement, its reason on the console
        "E empty population": Case(Lookalike("rh_empty", ID, **basic), Seed.table("rh_basic_seed"), 10, stops="E"),
        "N NULL ids": Case(Lookalike("rh_null_ids", ID, **basic), Seed.table("rh_basic_seed"), 10, stops="N"),
        "D repeated ids": Case(Lookalike("rh_repeated_ids", ID, **basic), Seed.table("rh_basic_seed"), 10, stops="D"),
        "R repeated (id, feature) rows": Case(
            Lookalike(Long("rh_repeated_rows", ids="rh_sparse_ids", fills=datasets.SPARSE_FILLS), ID, **sparse),
            Seed.table("rh_sparse_seed"), 10, stops="R",
        ),
        "F a NaN value": Case(Lookalike("rh_nan", ID, **basic), Seed.table("rh_basic_seed"), 10, stops="F"),
        "V a negative seed value": Case(Lookalike("rh_sparse", ID, **sparse), Seed.table("rh_negative", value="spend"), 10, stops="V"),
        "Z seed values worth 0": Case(Lookalike("rh_sparse", ID, **sparse), Seed.table("rh_zero", value="spend"), 10, stops="Z"),
        "S an empty seed": Case(Lookalike("rh_basic", ID, **basic), Seed.table("rh_empty_seed"), 10, stops="S"),
        "T no feature reaches the threshold": Case(
            Lookalike("rh_basic", ID, **{**basic, "threshold": 0.99}), Seed.table("rh_basic_seed"), 10, stops="T",
        ),
    }


CASES = _cases()


def _tables() -> dict[str, pd.DataFrame]:
    purchases = orders(SPARSE)
    repeated = BASIC.population.iloc[:50]
    nulls = BASIC.population.astype({ID: "Int64"})
    nulls.loc[nulls.index[:3], ID] = pd.NA
    long = datasets.to_long(SPARSE, datasets.SPARSE_FILLS)
    seed_frame = pd.DataFrame({ID: pd.Series(BASIC.seed_ids, dtype="int64")})
    return {
        "rh_basic": BASIC.population,
        "rh_basic_seed": seed_frame,
        "rh_excluded": pd.DataFrame({ID: pd.Series(BASIC.population[ID].iloc[::7], dtype="int64")}),
        "rh_sparse": SPARSE.population,
        "rh_sparse_long": long,
        "rh_sparse_ids": SPARSE.population[[ID]],
        "rh_sparse_seed": pd.DataFrame({ID: pd.Series(SPARSE.seed_ids, dtype="int64")}),
        "rh_orders": purchases,
        "rh_hostile": HOSTILE.population,
        "rh_empty": BASIC.population.iloc[:0],
        "rh_null_ids": nulls,
        "rh_repeated_ids": pd.concat([BASIC.population, repeated]),
        "rh_repeated_rows": pd.concat([long, long.iloc[:5]]),
        "rh_negative": purchases.assign(spend=np.where(purchases.index == 30, -1.0, purchases["spend"])),
        "rh_zero": purchases.assign(spend=0.0),
        "rh_empty_seed": seed_frame.iloc[:0],
    }


#: Statements the batch runs after loading the tables: a table with a NaN value (the
#: loader writes NaN as NULL, so it is made in SQL).
SETUP = [
    "DROP TABLE IF EXISTS rh_nan",
    "CREATE TABLE rh_nan AS SELECT customer_id, age, "
    "CASE WHEN customer_id = 10010 THEN CAST('NaN' AS DOUBLE) ELSE spend END AS spend, orders, views, noise FROM rh_basic",
]


def _job(case: Case, sql: str) -> HiveJob:
    if case.run_as == "script":
        return HiveJob.script(sql + ";")
    if case.run_as == "file":
        return HiveJob.file(text=sql + ";\n")
    return HiveJob.statement(sql)


@hive_batch
def real_hive(cli: HiveCLI) -> dict[str, tuple[str, HiveResult]]:
    """Every case's statement and its result on real Hive: the tables loaded in one JVM,
    then the answers in one and the stops in another (each well within the timeout of a
    JVM, on a machine that runs the other tests beside it)."""
    statements = {name: case.sql() for name, case in CASES.items()}
    for setup in cli.load_tables(_tables(), then=SETUP):
        setup.check()
    results: dict[str, HiveResult] = {}
    for part in (ANSWERS, STOPS):
        results.update(zip(part, cli.run_batch([_job(CASES[n], statements[n]) for n in part])))
    return {name: (statements[name], results[name]) for name in CASES}


@hive_batch
def pasted_e(cli: HiveCLI) -> HiveResult:
    """The genuine `hive -e "<statement>"` of a statement that stops (its own JVM)."""
    return cli.run_e(CASES["S an empty seed"].sql() + ";")


ANSWERS = [name for name, case in CASES.items() if case.stops is None]
STOPS = [name for name, case in CASES.items() if case.stops is not None]


@pytest.mark.parametrize("name", ANSWERS)
def test_real_hive_gives_the_reference_audience(real_hive, name):
    case = CASES[name]
    sql, result = real_hive[name]
    assert result.ok, f"{name}: {result.failed_lines or result.console[-2000:]}"
    dataset = case.dataset
    options = {**dataset.params, **case.reference}
    seed = options.pop("seed_values", dataset.seed_ids)
    ref = reference_lookalike(dataset.population, dataset.id_column, seed, case.size, **options)
    everyone = reference_lookalike(dataset.population, dataset.id_column, seed, len(dataset.population), **options)
    got = pd.DataFrame(result.rows, columns=[dataset.id_column, "rank", "distance"])
    got = got.astype({dataset.id_column: "int64", "rank": "int64", "distance": "float64"})
    assert_same_audience(got, ref, everyone.audience.set_index(dataset.id_column)["distance"], dataset.id_column)


def test_the_wide_statement_stays_within_ten_mapreduce_jobs(real_hive):
    """The wide statement's cost on Hive does not grow with the features: 10 MapReduce
    jobs (the seed, two passes of the profile, the selection, the ranking, the top n)."""
    assert real_hive["wide"][1].mr_jobs <= 10
    assert real_hive["likelihood"][1].mr_jobs <= 10


@pytest.mark.parametrize("name", STOPS)
def test_every_check_stops_real_hive_with_its_reason_on_the_console(real_hive, name):
    """Inside a MapReduce task Hive's own errors reach the console only as "return code 2
    from ...MapRedTask"; the guard's reflect() call prints the check's message there."""
    case = CASES[name]
    _, result = real_hive[name]
    assert not result.ok
    assert any("FAILED" in line for line in result.failed_lines)
    assert STOP in result.console
    assert_stopped(result.console, case.stops)


def test_the_real_cli_runs_a_pasted_statement_with_e(pasted_e):
    """The genuine `hive -e "<statement>"`, as an analyst pastes it: one statement, no
    comment that the CLI misreads, and its stop message on the console."""
    assert console_problems(CASES["S an empty seed"].sql()) == []
    assert pasted_e.exit_code != 0
    assert_stopped(pasted_e.console, "S")


def test_every_statement_without_hostile_names_is_console_safe():
    for name, case in CASES.items():
        if case.run_as != "statement":
            assert console_problems(case.sql()) == [], name
    assert console_problems(CASES["hostile names"].sql())  # quotes in names: the CLI would cut it
