"""Spark SQL (it runs the Hive SQL) as a warehouse: each statement runs on a thread of
its own, so that a timeout or Ctrl-C stops Spark while it plans as well as while it runs.
pyspark is imported only when a SparkSession is given."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from .dialects import get_dialect
from .errors import EngineError
from .warehouse import Column, Warehouse, cleanup_on_exit, temporary_name


class SparkWarehouse(Warehouse):
    """Spark SQL runs the Hive SQL: local mode here, or a cluster."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self.dialect = get_dialect("hive")

    def _fetch(self, sql: str) -> pd.DataFrame:
        statement = _SparkStatement(self.spark, sql)
        self._statement = statement
        try:
            rows, columns = statement.run()
        finally:
            self._statement = None
        return pd.DataFrame([row.asDict() for row in rows], columns=columns)

    def _cancel(self) -> None:
        statement = getattr(self, "_statement", None)
        if statement is not None:
            statement.cancel()

    def _columns(self, relation: str) -> list[Column]:
        return [Column(name, type_name) for name, type_name in self.spark.sql(f"SELECT * FROM {relation} LIMIT 0").dtypes]

    @contextlib.contextmanager
    def temporary_ids(self, ids: Sequence[object], values: Sequence[float] | None = None) -> Iterator[str]:
        # A session-scoped temporary view (Spark refuses CREATE TEMPORARY TABLE).
        name = temporary_name()
        schema = f"seed_id {'bigint' if all(isinstance(v, int) for v in ids) else 'string'}"
        rows = [(v,) for v in ids] if values is None else list(zip(ids, (float(a) for a in values)))
        with cleanup_on_exit(lambda: self.spark.catalog.dropTempView(name)):
            self.spark.createDataFrame(rows, schema=schema + ("" if values is None else ", seed_value double")).createOrReplaceTempView(name)
            yield name


class _SparkStatement:
    """One Spark statement that can be stopped while Spark plans it, not only while its jobs run.

    Spark analyses, optimises and plans a query on the driver thread that calls it, before
    any job exists, and none of that code checks for interrupts: cancelling job groups or
    tags (SparkContext.cancelJobGroup, SparkSession.interruptAll/interruptTag on Spark 4)
    and Thread.interrupt() leave a plan that takes minutes to optimise running to its end.
    The one thing that stops it is java.lang.Thread.stop() on that thread. So the statement
    runs on a Python thread of its own, which pyspark's pinned thread mode (the default
    since 3.2) serves with a JVM thread of its own: stopping that thread ends the statement
    and nothing else, and the caller only waits on an Event, which Ctrl-C interrupts.
    Thread.stop() works up to Java 19 (Spark 3.5 and 4 on Java 17); Java 20+ refuses it
    (UnsupportedOperationException, JDK-8289610), and there the caller still gets its error
    after GRACE_SECONDS while the planning ends in the background, its jobs cancelled.

    Spark sources (apache/spark, branch-4.0 and branch-3.5):
    sql/catalyst/src/main/scala/org/apache/spark/sql/catalyst/rules/RuleExecutor.scala (the
    rule loop: no interrupt check), core/src/main/scala/org/apache/spark/SparkContext.scala
    (cancelJobGroupAndFutureJobs, 4.0+), sql/core/.../sql/classic/SparkSession.scala
    (interruptAll/interruptTag: cancel jobs only), python/pyspark/util.py (InheritableThread:
    the caller's local properties in the new thread). Thread.stop: https://docs.oracle.com/
    en/java/javase/17/docs/api/java.base/java/lang/Thread.html#stop()"""

    # How long a cancelled statement may take to end before the caller stops waiting.
    GRACE_SECONDS = 2.0

    def __init__(self, spark: Any, sql: str) -> None:
        self.spark, self.sql = spark, sql
        self.group = f"lookalike-sql-{uuid.uuid4().hex[:12]}"
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.java_thread: Any = None  # the JVM thread that runs the statement
        self.cancelled_at: float | None = None
        self.can_stop = True
        self.outcome: tuple[list[Any], list[str]] | None = None
        self.error: BaseException | None = None

    def run(self) -> tuple[list[Any], list[str]]:
        """The statement's rows and column names. Raises its error; after cancel(), an
        error once it has ended (or GRACE_SECONDS have passed); Ctrl-C cancels it first."""
        from pyspark import (
            InheritableThread,  # copies the caller's local properties (scheduler pool ...)
        )

        InheritableThread(target=self._work, name="lookalike-sql-spark", daemon=True).start()
        try:
            while not self.done.wait(0.1):
                if self.cancelled_at is not None and time.monotonic() - self.cancelled_at > self.GRACE_SECONDS:
                    self._cancel_in_background()
                    raise EngineError("Spark did not stop the cancelled statement (Java 20+ cannot stop a thread): it ends in the background")
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):  # the KeyboardInterrupt is what the caller sees
                self.cancel()
            if not self.done.wait(self.GRACE_SECONDS):
                self._cancel_in_background()
            raise
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome

    def _cancel_in_background(self) -> None:
        """Keep cancelling the jobs of a statement that could not be stopped until it ends
        (Spark 3.5 cannot cancel the jobs a group starts later)."""

        def cancel_until_done() -> None:
            while not self.done.wait(0.5):
                with contextlib.suppress(Exception):
                    self.cancel()

        threading.Thread(target=cancel_until_done, name="lookalike-sql-cancel", daemon=True).start()

    def _work(self) -> None:
        try:
            sc = self.spark.sparkContext
            with self.lock:
                if self.cancelled_at is not None:
                    raise EngineError("the statement was cancelled before it started")
                self.java_thread = sc._jvm.java.lang.Thread.currentThread()
            sc.setJobGroup(self.group, "lookalike-sql statement", interruptOnCancel=True)
            frame = self.spark.sql(self.sql)
            columns = frame.columns
            self.outcome = (frame.collect(), columns)
        except BaseException as exc:  # handed to run(), on the caller's thread
            self.error = exc
        finally:
            self.done.set()

    def cancel(self) -> None:
        """Cancel the statement's jobs and stop its JVM thread if it is still in a call
        (planning, or waiting for jobs). Called from another thread, possibly repeatedly."""
        from py4j.clientserver import ClientServer

        with self.lock:
            if self.cancelled_at is None:
                self.cancelled_at = time.monotonic()
            java_thread = self.java_thread
        sc = self.spark.sparkContext
        # Its jobs, its subqueries' and broadcasts' included; on Spark 4 also those it
        # would start later (3.5 has no such call: fetch() cancels again every 0.5 s).
        if int(self.spark.version.split(".")[0]) >= 4:
            sc._jsc.sc().cancelJobGroupAndFutureJobs(self.group)
        else:
            sc.cancelJobGroup(self.group)
        # Without pinned threads (PYSPARK_PIN_THREAD=false) a JVM thread serves any Python
        # thread, so it is not ours to stop.
        if java_thread is None or self.done.is_set() or not isinstance(sc._gateway, ClientServer):
            return
        # Only while the thread runs a call from py4j (py4j's frames are the bottom ones):
        # idle, it would take the ThreadDeath with the next command, and py4j would resend
        # that command on a new connection.
        frames = java_thread.getStackTrace()
        if not any("py4j.reflection.MethodInvoker.invoke" in str(frames[i]) for i in range(max(0, len(frames) - 12), len(frames))):
            return
        if self.can_stop:
            try:
                java_thread.stop()  # ThreadDeath, wherever the thread is
                return
            except Exception:  # Java 20+: UnsupportedOperationException
                self.can_stop = False
        java_thread.interrupt()  # ends waits (for jobs, broadcasts), not the planning
