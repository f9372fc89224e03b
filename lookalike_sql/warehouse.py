"""The warehouse as the job sees it: a connection able to list a relation's columns, run
one statement into a pandas DataFrame (with a timeout and cancellation, its errors named
by step) and hold a temporary table of ids. One adapter per kind of connection:
``connections`` (DuckDB, SQLAlchemy for Redshift/PostgreSQL) and ``spark``."""

from __future__ import annotations

import abc
import contextlib
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .checks import stop_error, stop_in
from .dialects import Dialect
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
            raise EngineError(f"{step} failed on {self.dialect.name}: {first_line(exc)}{engine_hint(exc)}") from exc

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
        with cleanup_on_exit(lambda: self._write(f"DROP TABLE IF EXISTS {self.dialect.quote(table)}")):
            yield

    def _write(self, sql: str) -> None:
        """Run a statement that returns no rows (the job's own temporary tables)."""
        self._fetch(sql)

    @abc.abstractmethod
    def temporary_ids(self, ids: Sequence[object], values: Sequence[float] | None = None) -> contextlib.AbstractContextManager[str]:
        """A session-scoped temporary table holding ``ids`` in column ``seed_id`` (and
        ``values``, when given, in ``seed_value``); yields its name and drops it
        afterwards. User tables are never touched."""


def engine_hint(exc: BaseException) -> str:
    """What to do about an engine error the job's data can cause."""
    if "underflow" in str(exc):  # PostgreSQL: a square of a value below ~1e-154
        return " (a feature or a seed value holds values so close to 0 that their squares underflow: round them to 0 in a view)"
    return ""


def id_columns(ids: Sequence[object], values: Sequence[float] | None) -> dict[str, list[object]]:
    """A temporary table's columns: the ids, and the values when given."""
    return {"seed_id": list(ids)} if values is None else {"seed_id": list(ids), "seed_value": [float(a) for a in values]}


def temporary_name(prefix: str = "lookalike_seed") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def cleanup_on_exit(remove: Any) -> Iterator[None]:
    """Run ``remove()`` when the block ends. After a failure its own error (the connection
    is gone, and the temporary object with its session) must not hide the first one."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            remove()
        raise
    remove()
