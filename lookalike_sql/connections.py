"""Run SQL on a warehouse connection: DuckDB, SQLAlchemy (Redshift/PostgreSQL) or Spark.

One small adapter per kind of connection, each able to list a table's columns, run a
query into a pandas DataFrame, and hold a temporary table of ids. Heavy client modules
(sqlalchemy, pyspark) are imported only when such a connection is used.
"""

from __future__ import annotations

import abc
import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .checks import stop_error, stop_in
from .dialects import Dialect, get_dialect
from .errors import EngineError, InputError, StatementTimeout

# Base type names (lower case, before any "(precision)") of numeric feature columns,
# as DuckDB, PostgreSQL/Redshift (via psycopg2) and Spark name them.
_NUMERIC_TYPES = {
    "tinyint", "smallint", "integer", "int", "bigint", "hugeint", "int2", "int4", "int8",
    "utinyint", "usmallint", "uinteger", "ubigint", "uhugeint",
    "float", "float4", "float8", "real", "double", "double precision", "decimal", "numeric", "number",
}


# ... and of text columns (ids may be text).
_TEXT_TYPES = {"varchar", "text", "string", "char", "character", "character varying", "bpchar", "nvarchar", "nchar"}


def _base_type(type_name: str) -> str:
    return type_name.strip().lower().split("(")[0].strip()


def is_numeric_type(type_name: str) -> bool:
    return _base_type(type_name) in _NUMERIC_TYPES


@dataclass(frozen=True)
class Column:
    name: str
    type_name: str

    @property
    def is_numeric(self) -> bool:
        return is_numeric_type(self.type_name)

    @property
    def kind(self) -> str:
        """'number', 'text' or 'other': what kind of id values the column can match."""
        if self.is_numeric:
            return "number"
        return "text" if _base_type(self.type_name) in _TEXT_TYPES else "other"

    @property
    def is_double(self) -> bool:
        """Already the 8-byte float, so the SQL can read it without a CAST."""
        return self.type_name.strip().lower() in {"double", "double precision", "float8"}


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


class Warehouse(abc.ABC):
    """The adapter interface. ``dialect`` is the SQL this connection runs."""

    dialect: Dialect

    def fetch(self, sql: str, timeout: float | None = None) -> pd.DataFrame:
        """Run one statement and return its rows. With ``timeout`` (seconds), a watchdog
        cancels the statement once it has run that long (and again every half second, as
        Spark can only cancel the jobs it has started) and StatementTimeout is raised."""
        if timeout is None:
            return self._fetch(sql)
        finished, fired = threading.Event(), threading.Event()

        def watchdog() -> None:
            if finished.wait(timeout):
                return
            fired.set()
            while not finished.is_set():
                with contextlib.suppress(Exception):
                    self._cancel()
                finished.wait(0.5)

        thread = threading.Thread(target=watchdog, name="lookalike-sql-timeout", daemon=True)
        thread.start()
        try:
            return self._fetch(sql)
        except Exception as exc:
            if fired.is_set():
                raise StatementTimeout(f"the statement ran past the {timeout:g} s timeout and was cancelled") from exc
            raise
        finally:
            finished.set()
            thread.join()

    def run_step(self, step: str, sql: str, timeout: float | None = None) -> pd.DataFrame:
        """fetch(), its failure named by the step and the dialect in one line: a
        StatementTimeout, or an EngineError (with a hint where the data can cause it)."""
        try:
            return self.fetch(sql, timeout)
        except StatementTimeout as exc:
            raise StatementTimeout(
                f"{step} on {self.dialect.name} ran past the {timeout:g} s timeout and was cancelled: "
                "allow more time (timeout=, --timeout) or profile on a sample (sample=, --sample)"
            ) from exc
        except Exception as exc:  # any driver's error
            stop = stop_in(str(exc))  # a check of the job stopped the statement: its message says what to do
            if stop is not None:
                raise stop_error(f"{stop} ({step} on {self.dialect.name})") from exc
            raise EngineError(f"{step} failed on {self.dialect.name}: {first_line(exc)}{_hint(exc)}") from exc

    @abc.abstractmethod
    def _fetch(self, sql: str) -> pd.DataFrame:
        """Run one statement and return its rows."""

    @abc.abstractmethod
    def _cancel(self) -> None:
        """Cancel the statement running on this connection (called from another thread)."""

    def columns(self, table: str | tuple[str, ...]) -> list[Column]:
        """The table's columns, or an InputError naming the table when it cannot be read."""
        quoted = self.dialect.quote_table(table)
        try:
            return self._columns(quoted)
        except Exception as exc:  # noqa: BLE001 - the engine's own message is passed on
            raise InputError(
                f"table {quoted} cannot be read on {self.dialect.name} ({first_line(exc)}): check its name and schema"
            ) from None

    def query_columns(self, query: str) -> list[Column]:
        """The output columns of a (validated) SELECT, without reading its rows."""
        try:
            return self._columns(f"(\n{query}\n) lookalike_query")
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"the seed query fails on {self.dialect.name} ({first_line(exc)}): check it in a console") from None

    @abc.abstractmethod
    def _columns(self, relation: str) -> list[Column]:
        """Columns of an already quoted table name, or of a parenthesised, aliased query."""

    @contextlib.contextmanager
    def session(self) -> Iterator[Warehouse]:
        """This warehouse pinned to one connection for a whole job (temporary tables live
        in one session). Most connections are one session already."""
        yield self

    @contextlib.contextmanager
    def dropping(self, table: str) -> Iterator[None]:
        """Drop the job's own temporary table ``table`` (a name from temporary_name())
        when the block ends, however it ends."""
        with _cleanup(lambda: self._fetch(f"DROP TABLE IF EXISTS {self.dialect.quote(table)}")):
            yield

    @abc.abstractmethod
    def temporary_ids(self, ids: Sequence[object], values: Sequence[float] | None = None) -> contextlib.AbstractContextManager[str]:
        """A session-scoped temporary table holding ``ids`` in column ``seed_id`` (and
        ``values``, when given, in ``seed_value``); yields its name and drops it
        afterwards. User tables are never touched."""


def _hint(exc: BaseException) -> str:
    """What to do about an engine error the job's data can cause."""
    if "underflow" in str(exc):  # PostgreSQL: a square of a value below ~1e-154
        return " (a feature holds values so close to 0 that their squares underflow: round them to 0 in a view)"
    return ""


def _id_columns(ids: Sequence[object], values: Sequence[float] | None) -> dict[str, list[object]]:
    """A temporary table's columns: the ids, and the values when given."""
    return {"seed_id": list(ids)} if values is None else {"seed_id": list(ids), "seed_value": [float(a) for a in values]}


def temporary_name(prefix: str = "lookalike_seed") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def _cleanup(remove: Any) -> Iterator[None]:
    """Run ``remove()`` when the block ends. After a failure its own error (the connection
    is gone, and the temporary object with its session) must not hide the first one."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            remove()
        raise
    remove()


class DuckDBWarehouse(Warehouse):
    def __init__(self, con: Any) -> None:
        self.con = con
        self.dialect = get_dialect("duckdb")

    def _fetch(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).fetchdf()

    def _cancel(self) -> None:
        self.con.interrupt()

    def _columns(self, relation: str) -> list[Column]:
        rows = self.con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        return [Column(name, type_name) for name, type_name, *_ in rows]

    @contextlib.contextmanager
    def temporary_ids(self, ids: Sequence[object], values: Sequence[float] | None = None) -> Iterator[str]:
        name = temporary_name()
        self.con.register(f"{name}_frame", pd.DataFrame(_id_columns(ids, values)))

        def drop() -> None:
            self.con.unregister(f"{name}_frame")
            self.con.execute(f'DROP TABLE IF EXISTS "{name}"')

        with _cleanup(drop):
            self.con.execute(f'CREATE TEMP TABLE "{name}" AS SELECT * FROM "{name}_frame"')
            yield name


class SQLAlchemyWarehouse(Warehouse):
    """Redshift through sqlalchemy-redshift (or PostgreSQL, which runs the Redshift SQL).

    A local PostgreSQL needs ``?sslmode=disable`` on a ``redshift+psycopg2://`` URL
    (sqlalchemy-redshift asks for verify-full SSL by default)."""

    def __init__(self, connectable: Any) -> None:
        self.connectable = connectable
        self.dialect = get_dialect("redshift")

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        from sqlalchemy.engine import Engine

        if isinstance(self.connectable, Engine):
            with self.connectable.connect() as conn:
                yield conn
        else:
            yield self.connectable

    def _cursor_run(self, sql: str) -> tuple[list[Any], list[tuple]]:
        """Run SQL on the DBAPI cursor as it is: no bind parameters are passed, so neither
        SQLAlchemy (":name") nor psycopg2 ("%") reads anything into the text. We only
        read, so the transaction is rolled back afterwards, also after an error."""
        with self._connection() as conn:
            self._running = conn.connection.dbapi_connection
            try:
                with _closing_transaction(conn, commit=False) as cursor:
                    cursor.execute(sql)
                    return list(cursor.description or []), cursor.fetchall() if cursor.description else []
            finally:
                self._running = None

    def _cancel(self) -> None:
        running = getattr(self, "_running", None)
        if running is not None:
            running.cancel()  # psycopg2: asks the server to cancel the running statement

    @contextlib.contextmanager
    def session(self) -> Iterator[Warehouse]:
        with self._connection() as conn:
            yield SQLAlchemyWarehouse(conn)

    @contextlib.contextmanager
    def temporary_ids(self, ids: Sequence[object], values: Sequence[float] | None = None) -> Iterator[str]:
        name = temporary_name()
        rows = [self.dialect.id_literal(v) for v in ids]
        column_type = "BIGINT" if all(isinstance(v, int) for v in ids) else f"VARCHAR({max(len(str(v)) for v in ids) * 4})"
        columns = f"seed_id {column_type}"
        if values is not None:
            rows = [f"{row}, {self.dialect.float_literal(value)}" for row, value in zip(rows, values)]
            columns += f", seed_value {self.dialect.double_type}"
        names = "seed_id, seed_value" if values is not None else "seed_id"
        # Multi-row INSERTs of literals (Redshift has no COPY from a client): 1,000 rows each.
        statements = [f'CREATE TEMP TABLE "{name}" ({columns})'] + [
            f'INSERT INTO "{name}" ({names}) VALUES ' + ", ".join(f"({row})" for row in rows[i : i + 1000])
            for i in range(0, len(rows), 1000)
        ]
        with _cleanup(lambda: self._cursor_write([f'DROP TABLE IF EXISTS "{name}"'])):
            self._cursor_write(statements)
            yield name

    def _cursor_write(self, statements: list[str]) -> None:
        """Statements on the job's own temporary table, committed together."""
        with self._connection() as conn, _closing_transaction(conn, commit=True) as cursor:
            for statement in statements:
                cursor.execute(statement)

    def _fetch(self, sql: str) -> pd.DataFrame:
        description, rows = self._cursor_run(sql)
        return pd.DataFrame(rows, columns=[col[0] for col in description])

    def _columns(self, relation: str) -> list[Column]:
        description, _ = self._cursor_run(f"SELECT * FROM {relation} WHERE 1 = 0")
        return [Column(col[0], _postgres_type_name(col[1])) for col in description]


@contextlib.contextmanager
def _closing_transaction(conn: Any, commit: bool) -> Iterator[Any]:
    """A DBAPI cursor on a SQLAlchemy connection, closed afterwards; the transaction is
    committed (``commit``) or rolled back on the DBAPI connection itself (SQLAlchemy's
    Connection.rollback() does nothing for a transaction it did not begin, which would
    leave reads holding their locks for the whole job). After an error the rollback's own
    error (a dropped connection) does not hide the first one, and a connection the server
    closed is invalidated, so the pool hands out a fresh one to the next job."""
    dbapi = conn.connection.dbapi_connection
    cursor = dbapi.cursor()
    try:
        yield cursor
    except BaseException:
        with contextlib.suppress(Exception):
            cursor.close()
            dbapi.rollback()
        if getattr(dbapi, "closed", 0):
            with contextlib.suppress(Exception):
                conn.invalidate()
        raise
    cursor.close()
    if commit:
        dbapi.commit()
    else:
        dbapi.rollback()


# psycopg2 describes result columns by PostgreSQL type OID.
_PG_TYPES = {16: "boolean", 20: "bigint", 21: "smallint", 23: "integer", 700: "real", 701: "double precision",
             1700: "numeric", 25: "text", 1043: "varchar", 1042: "char", 1082: "date", 1114: "timestamp"}


def _postgres_type_name(type_code: object) -> str:
    return _PG_TYPES.get(type_code, str(type_code)) if isinstance(type_code, int) else str(type_code)


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
        with _cleanup(lambda: self.spark.catalog.dropTempView(name)):
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
        from pyspark import InheritableThread  # copies the caller's local properties (scheduler pool ...)

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


def warehouse_for(connection: Any) -> Warehouse:
    """Wrap a DuckDB connection, a SQLAlchemy engine/connection or a SparkSession."""
    if isinstance(connection, Warehouse):
        return connection
    module = type(connection).__module__
    if module.startswith("duckdb") or module == "_duckdb":
        return DuckDBWarehouse(connection)
    if module.startswith("sqlalchemy"):
        return SQLAlchemyWarehouse(connection)
    if module.startswith("pyspark"):
        return SparkWarehouse(connection)
    raise InputError(
        f"cannot run SQL on a {module}.{type(connection).__name__}: give a DuckDB connection, "
        "a SQLAlchemy engine or connection, or a SparkSession"
    )


def connect(url: str) -> Any:
    """Open a connection from the command line's --url: a path ending in .duckdb (or
    ':memory:') is a DuckDB database; anything else is a SQLAlchemy URL."""
    if url == ":memory:" or url.endswith(".duckdb") or url.startswith("duckdb:///"):
        import duckdb

        path = url.removeprefix("duckdb:///")
        # a path that does not exist would be a new, empty database: say so instead
        if path != ":memory:" and not os.path.isfile(path):
            raise InputError(f"there is no DuckDB database at {path!r}: check the path (duckdb:///relative/path or duckdb:////absolute/path)")
        try:
            return duckdb.connect(path)
        except duckdb.Error as exc:
            raise InputError(f"cannot open the DuckDB database {path!r} ({first_line(exc)}): close the program that holds it, or copy the file") from None
    try:
        import sqlalchemy
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise EngineError(f"sqlalchemy is missing ({exc}): pip install lookalike-sql[redshift]") from None
    try:
        return sqlalchemy.create_engine(url)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"cannot use the URL {url!r} ({first_line(exc)}): give a .duckdb path or a SQLAlchemy URL") from None
