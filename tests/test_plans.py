"""How often each statement reads the population, from the engine's own plan.

On a distributed engine a statement's cost is the number of times it reads the
population, and an engine that recomputes a CTE at each reference (Spark, Hive) reads it
as often as the SQL's shape says. The README states the number for every statement; these
tests count the scans of the population in Spark's physical plan (a Parquet table, so
each scan is a ``FileScan parquet`` of its path) and in DuckDB's (``SEQ_SCAN``), and fail
when a statement reads it more often, or more often with more features.
"""

from __future__ import annotations

import json
import math
import tempfile
import uuid

import datasets
import numpy as np
import pandas as pd
import pytest

from lookalike_sql import Lookalike, Seed

ID = "customer_id"

#: The stated reads of the population per statement (the README's table): the one
#: statement, and execute()'s steps. Long populations: reads of the long table.
SPARK_READS = {
    ("wide", "one statement"): 3,  # pass 1, pass 2 (with the seed's rows), the ranking
    ("wide", "facts"): 1,  # the id column only
    ("wide", "profile"): 2,
    ("wide", "rank"): 1,
    ("wide", "histograms"): 1,  # the audience's rows only
}
DUCKDB_READS = {
    ("wide", "one statement"): 5,  # size and ids, range, histograms, the seed's rows, the ranking
    ("wide", "facts"): 1,
    # pass 1 of the profile: the sums (and sums of squares) read the table; the range and
    # count come from the stored table's statistics, or read it once more where DuckDB has
    # none (rows not yet checkpointed, a DataFrame)
    ("wide", "ranges"): 1,
    ("wide unstored", "ranges"): 2,
    # pass 2: the seed's rows, and the bin counts by packed keys, one scan of three
    # features' columns per key: each column is read once, the table 1 + K/3 times (one
    # more when a feature's spread is computed around its mean: not with these features)
    ("wide", "profile"): lambda k: 1 + math.ceil(k / 3),
    # with a sample: one read draws it into a temporary table, which the rest reads
    ("wide", "sample"): 1,
    ("wide sampled", "ranges"): 0,
    ("wide sampled", "profile"): 0,
    ("wide", "rank"): 1,
    ("wide", "histograms"): 1,
}


def _wide(n_features: int) -> datasets.Dataset:
    rng = np.random.default_rng(3)
    base = datasets.basic()
    frame = base.population[[ID]].copy()
    for i in range(n_features):
        frame[f"f{i:02d}"] = base.population["spend"] * rng.uniform(0.5, 2) + rng.normal(0, 1, len(frame))
    return datasets.Dataset(f"plans_{n_features}", frame, base.seed_ids, {"min_count": 10})


# ----------------------------------------------------------------------------- Spark

def _spark_population(spark, tmp_path, frame: pd.DataFrame) -> tuple[str, str]:
    """The frame as a Parquet table read through a temporary view; (view, path). The path
    is short: Spark cuts a plan's file locations at 100 characters."""
    path = tempfile.mkdtemp(prefix="lkp_") + "/population"
    spark.createDataFrame(frame).write.parquet(path)
    view = f"plans_pop_{uuid.uuid4().hex[:8]}"
    spark.read.parquet(path).createOrReplaceTempView(view)
    return view, path


def spark_reads(spark, sql: str, path: str) -> int:
    """Scans of the Parquet table at ``path`` in the physical plan Spark executes (a
    reused exchange reads nothing again)."""
    plan = spark.sql(sql)._jdf.queryExecution().executedPlan().toString()
    return sum(1 for line in plan.splitlines() if "FileScan parquet" in line and path.rsplit("/", 1)[-1] in line)


@pytest.mark.engine
@pytest.mark.parametrize("n_features", [3, 30])
def test_spark_reads_the_population_a_stated_number_of_times(spark, tmp_path, n_features):
    dataset = _wide(n_features)
    view, path = _spark_population(spark, tmp_path, dataset.population)
    seed_view = f"plans_seed_{uuid.uuid4().hex[:8]}"
    spark.createDataFrame(pd.DataFrame({ID: pd.Series(dataset.seed_ids, dtype="int64")})).createOrReplaceTempView(seed_view)
    model = Lookalike(view, ID, **dataset.params)
    one = model.sql(Seed.table(seed_view), 100, dialect="hive", connection=spark)
    assert spark_reads(spark, one, path) == SPARK_READS[("wide", "one statement")]
    result = model.execute(spark, Seed.table(seed_view), 100)
    for step, sql in result.statements.items():
        assert spark_reads(spark, sql, path) == SPARK_READS[("wide", step)], step


# ----------------------------------------------------------------------------- DuckDB

def duckdb_reads(con, sql: str, table: str) -> int:
    """Sequential scans of ``table`` in DuckDB's physical plan."""
    tree = json.loads(con.execute("EXPLAIN (FORMAT JSON) " + sql).fetchall()[0][1])
    found = 0
    stack = list(tree) if isinstance(tree, list) else [tree]
    while stack:
        node = stack.pop()
        extra = node.get("extra_info", {})
        if node.get("name") == "SEQ_SCAN" and isinstance(extra, dict) and str(extra.get("Table", "")).endswith(f".{table}"):
            found += 1
        stack.extend(node.get("children", []))
    return found


@pytest.mark.engine
@pytest.mark.parametrize("n_features", [3, 30])
def test_duckdb_reads_the_population_a_stated_number_of_times(duckdb_con, n_features):
    dataset = _wide(n_features)
    table = f"plans_{n_features}"
    duckdb_con.register(f"{table}_frame", dataset.population)
    duckdb_con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table}_frame")
    duckdb_con.execute(f"CREATE OR REPLACE TABLE {table}_seed AS SELECT {ID} FROM {table} WHERE {ID} IN ({', '.join(map(str, dataset.seed_ids))})")
    model = Lookalike(table, ID, **dataset.params)
    unstored = model.execute(duckdb_con, Seed.table(f"{table}_seed"), 100).statements["ranges"]
    assert duckdb_reads(duckdb_con, unstored, table) == DUCKDB_READS[("wide unstored", "ranges")]
    duckdb_con.execute("CHECKPOINT")  # the table stored, with its statistics, as a user's table is
    one = model.sql(Seed.table(f"{table}_seed"), 100, dialect="duckdb", connection=duckdb_con)
    assert duckdb_reads(duckdb_con, one, table) == DUCKDB_READS[("wide", "one statement")]
    result = model.execute(duckdb_con, Seed.table(f"{table}_seed"), 100)
    for step, sql in result.statements.items():
        stated = DUCKDB_READS[("wide", step)]
        assert duckdb_reads(duckdb_con, sql, table) == (stated(n_features) if callable(stated) else stated), step
    sampled = Lookalike(table, ID, sample=0.5, **dataset.params).execute(duckdb_con, Seed.table(f"{table}_seed"), 100)
    assert list(sampled.statements) == ["facts", "sample", "ranges", "profile", "rank", "histograms"]
    duckdb_con.execute(sampled.statements["sample"])  # the temporary table again (execute() dropped it)
    for step, sql in sampled.statements.items():
        stated = DUCKDB_READS.get(("wide sampled", step), DUCKDB_READS[("wide", step)])
        if step == "sample":  # EXPLAIN the SELECT, not the CREATE TEMPORARY TABLE
            sql = sql.split(" AS\n", 1)[1]
        assert duckdb_reads(duckdb_con, sql, table) == (stated(n_features) if callable(stated) else stated), f"{step} (sampled)"
