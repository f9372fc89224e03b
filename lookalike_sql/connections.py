"""Run SQL on a warehouse connection: DuckDB, SQLAlchemy (Redshift/PostgreSQL) or Spark.

One small adapter per kind of connection (the base is ``warehouse.Warehouse``), each able
to list a table's columns, run a query into a pandas DataFrame, and hold a temporary table
of ids. Heavy client modules (sqlalchemy, pyspark) are imported only when such a
connection is used.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from .dialects import get_dialect
from .errors import EngineError, InputError
from .spark import SparkWarehouse
from .warehouse import (
    Column,
    Warehouse,
    cleanup_on_exit,
    first_line,
    id_columns,
    temporary_name,
)


class DuckDBWarehouse(Warehouse):
    def __init__(self, con: Any) -> None:
        self.con = con
        self.dialect = get_dialect("duckdb")

    def _fetch(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).fetchdf()

    def _write(self, sql: str) -> None:
        self.con.execute(sql)

    def _cancel(self) -> None:
        self.con.interrupt()

    def _columns(self, relation: str) -> list[Column]:
        rows = self.con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        return [Column(name, type_name) for name, type_name, *_ in rows]

    @contextlib.contextmanager
    def temporary_ids(self, ids: Sequence[object], values: Sequence[float] | None = None) -> Iterator[str]:
        name, frame = temporary_name(), temporary_name()
        self.con.register(frame, pd.DataFrame(id_columns(ids, values)))
        with cleanup_on_exit(lambda: self.con.unregister(frame)), self.dropping(name):
            self._write(f"CREATE TEMP TABLE {self.dialect.quote(name)} AS SELECT * FROM {self.dialect.quote(frame)}")
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
        table = self.dialect.quote(name)
        statements = [f"CREATE TEMP TABLE {table} ({columns})"] + [
            f"INSERT INTO {table} ({names}) VALUES " + ", ".join(f"({row})" for row in rows[i : i + 1000])
            for i in range(0, len(rows), 1000)
        ]
        with self.dropping(name):
            self._cursor_write(statements)
            yield name

    def _write(self, sql: str) -> None:
        self._cursor_write([sql])

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


def close(connection: Any) -> None:
    """Close what ``connect`` opened: a DuckDB connection, or a SQLAlchemy engine's pool."""
    if hasattr(connection, "dispose"):
        connection.dispose()
    else:
        connection.close()


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
