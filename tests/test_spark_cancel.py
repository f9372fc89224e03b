"""A statement's timeout (and Ctrl-C) also stops Spark while it PLANS the statement.

Spark analyses, optimises and plans a query on the driver before any job exists, and
none of that checks for interrupts: cancelling the job group leaves it planning to the
end. Here the queries take a minute or more to optimise (on Spark 3.5 and 4.x alike), so
only stopping the planning thread (SparkWarehouse) ends them within the bounds below;
then the driver is idle and the session works."""

from __future__ import annotations

import _thread
import os
import threading
import time

import pytest

from lookalike_sql import StatementTimeout
from lookalike_sql.spark import SparkWarehouse, _SparkStatement

pytestmark = pytest.mark.engine

TABLE = "sc_numbers"


def _numbers(spark) -> None:
    # deterministic columns: rand() would keep the optimizer from most of its work
    spark.range(1000).selectExpr("id", *[f"CAST((id * {j + 7}) % 101 AS DOUBLE) + 0.5 AS x{j}" for j in range(4)]).createOrReplaceTempView(TABLE)


def _constraints_sql(n: int = 100) -> str:
    """A join on n equalities between n aliases of one column, with a filter on each alias:
    constraint propagation (InferFiltersFromConstraints) grows much faster than n; n=100
    optimises for 1-2 minutes on a 2-core machine, on Spark 3.5 and 4.x."""
    aliases = ", ".join(f"x0 AS a{j}" for j in range(n))
    on = " AND ".join(f"s.a{j} = t.x{j % 4}" for j in range(n))
    where = " AND ".join(f"s.a{j} > {j}" for j in range(n))
    return f"SELECT * FROM (SELECT {aliases} FROM {TABLE}) s JOIN {TABLE} t ON {on} WHERE {where}"


def _merged_aggregates_sql(k: int = 16) -> str:
    """One-row aggregates of one table, two more of the same CROSS JOIN with the first, and a
    query that references every column: Spark 4's MergeSubplans merges each level into a CTE
    and turns every column reference into a scalar subquery with a copy of that CTE's plan,
    so planning grows with k x k (k=16: ~15 s of physical planning on Spark 4.3; Spark 3.5
    has no such rule and mostly runs jobs)."""
    xs = [f"x{i % 4}" for i in range(k)]
    ranges = ", ".join(f"MIN({x}) AS lo_{i}, MAX({x}) AS hi_{i}, AVG({x}) AS mu_{i}" for i, x in enumerate(xs))
    devs = ", ".join(f"{x} - r.mu_{i} AS dev_{i}, FLOOR(({x} - r.lo_{i}) / (r.hi_{i} - r.lo_{i}) * 10) AS raw_{i}" for i, x in enumerate(xs))
    spread = ", ".join(f"SQRT(SUM(dev_{i} * dev_{i}) / COUNT(*)) AS sd_{i}, SUM(CASE WHEN raw_{i} < 5 THEN 1 ELSE 0 END) AS p_{i}" for i in range(k))
    other = ", ".join(f"AVG(dev_{i}) AS sm_{i}, SUM(CASE WHEN raw_{i} < 3 THEN 1 ELSE 0 END) AS sp_{i}" for i in range(k))
    out = ", ".join(f"(t.{x} - g.sm_{i}) / h.sd_{i} + (h.p_{i} - g.sp_{i}) / s.n AS z_{i}" for i, x in enumerate(xs))
    inner = f"(SELECT {devs} FROM {TABLE} CROSS JOIN (SELECT {ranges} FROM {TABLE}) r)"
    return (
        f"WITH s AS (SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS nd FROM {TABLE}), "
        f"h AS (SELECT {spread} FROM {inner} d), g AS (SELECT {other} FROM {inner} d) "
        f"SELECT {out} FROM {TABLE} t CROSS JOIN s CROSS JOIN h CROSS JOIN g"
    )


SLOW_TO_PLAN = {"constraints": _constraints_sql, "merged_aggregates": _merged_aggregates_sql}


def _cpu_seconds(pid: int) -> float | None:
    """The process's CPU time so far (Linux /proc), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _driver_cores(spark, seconds: float = 2.0) -> float | None:
    """How many cores the driver JVM used over the next ``seconds``: about 1 while a
    thread plans, a few hundredths when idle. None where it cannot be read."""
    pid = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    before = _cpu_seconds(pid)
    time.sleep(seconds)
    after = _cpu_seconds(pid)
    return None if before is None or after is None else (after - before) / seconds


def _assert_driver_idle(spark) -> None:
    # The quieter of two 2 s windows: right after a cancel the JVM may collect the dropped
    # plan's garbage for a moment (measured 0.53 cores once, on a busy machine), while a
    # planning thread left running (15 s to minutes more here) keeps about 1 core in both.
    first = _driver_cores(spark)
    cores = first if first is None or first < 0.5 else _driver_cores(spark)
    if cores is not None:
        assert cores < 0.5, f"the driver still works ({cores:.2f} cores) after the statement was stopped"
    # the session is usable, and nothing holds it up
    started = time.perf_counter()
    assert SparkWarehouse(spark).fetch("SELECT 1 AS one", timeout=60)["one"].tolist() == [1]
    assert time.perf_counter() - started < 20


@pytest.mark.parametrize("shape", sorted(SLOW_TO_PLAN))
def test_timeout_stops_spark_while_it_plans(spark, shape):
    _numbers(spark)
    warehouse = SparkWarehouse(spark)
    started = time.perf_counter()
    with pytest.raises(StatementTimeout, match="ran past the 2 s timeout and was cancelled"):
        warehouse.fetch(SLOW_TO_PLAN[shape](), timeout=2)
    assert time.perf_counter() - started < 2 + 3, "not stopped within 3 s of the deadline"
    _assert_driver_idle(spark)
    count = warehouse.fetch(f"SELECT COUNT(*) AS n FROM {TABLE}", timeout=60)
    assert count["n"].tolist() == [1000]


def test_ctrl_c_stops_spark_while_it_plans(spark):
    _numbers(spark)
    warehouse = SparkWarehouse(spark)
    # Ctrl-C: SIGINT in the main thread (pyspark's own handler, when it set one, cancels
    # all jobs and raises KeyboardInterrupt)
    ctrl_c = threading.Timer(2.0, _thread.interrupt_main)
    started = time.perf_counter()
    ctrl_c.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            warehouse.fetch(_constraints_sql())
    finally:
        ctrl_c.cancel()
    assert time.perf_counter() - started < 2 + 3
    _assert_driver_idle(spark)


def test_timeout_is_kept_where_spark_cannot_stop_the_thread(spark, monkeypatch):
    """Java 20+ refuses Thread.stop(): the caller still gets StatementTimeout soon after the
    deadline, and the planning ends in the background (its jobs are cancelled)."""
    _numbers(spark)
    real_init = _SparkStatement.__init__

    def without_stop(self, *args):
        real_init(self, *args)
        self.can_stop = False  # as after an UnsupportedOperationException

    monkeypatch.setattr(_SparkStatement, "__init__", without_stop)
    started = time.perf_counter()
    with pytest.raises(StatementTimeout) as exc:
        SparkWarehouse(spark).fetch(_constraints_sql(60), timeout=2)  # 60: ~10-20 s of planning
    assert time.perf_counter() - started < 2 + _SparkStatement.GRACE_SECONDS + 3
    assert "did not stop the cancelled statement" in str(exc.value.__cause__)
    # let the background planning end before the next test
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (_driver_cores(spark, 1.0) or 0) > 0.5:
        pass
