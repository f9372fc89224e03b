"""Session fixtures for the real engines (see tests/engines.py).

Fixtures:
  duckdb_con       in-memory duckdb connection
  postgres_server  engines.PostgresServer (url_postgres, url_redshift, dsn, stop())
  redshift_engine  SQLAlchemy engine on postgres_server.url_redshift (sqlalchemy-redshift)
  spark            SparkSession, local[2]
  engine           parametrized over "duckdb", "redshift", "hive": an EngineHandle
                   (.name, .connection, .load(table, df), .query(sql), .execute(sql));
                   only the engine a test actually uses gets started.
  hive_cli         hive_cli.HiveCLI: REAL Apache Hive 2.3.9 (its CLI, Derby metastore,
                   MapReduce in local mode) on a fresh home for the session; a JVM
                   per batch of statements, none before a test runs SQL. A test that
                   uses it is marked engine and hive_cli automatically. Module
                   fixtures declared with hive_batches.hive_batch run ahead, on a
                   background thread, from the start of the session.

An engine that cannot start is skipped locally, but fails the tests when
CI=true: a missing engine under CI is a failure, never a skip.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import engines
import hive_batches
from engines import EngineUnavailable
from hive_cli import HiveCLI


def pytest_configure(config):
    # pyspark 4.x's own warnings about pandas 3 (FutureWarning on every
    # pandas conversion, Pandas4Warning from its astype(copy=False)): noise
    # from inside pyspark, not from this project's code.
    config.addinivalue_line("filterwarnings", "ignore:PySpark does not yet fully support pandas:FutureWarning")
    config.addinivalue_line("filterwarnings", "ignore:The copy keyword is deprecated::pyspark")


def pytest_collection_modifyitems(items):
    # Whatever its module says, a test that uses real Hive runs an engine:
    # `-m "not engine"` (or "not hive_cli") deselects it, so no JVM starts.
    for item in items:
        if "hive_cli" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.engine)
            item.add_marker(pytest.mark.hive_cli)


def _unavailable(reason: str):
    """Skip, or under CI=true fail. Call it outside an ``except`` block, so the
    report shows the reason only, not a chained traceback."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"engine unavailable under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def duckdb_con():
    try:
        import duckdb
    except ImportError as e:
        missing = f"duckdb is not installed: {e}"
    else:
        missing = None
    if missing:
        _unavailable(missing)
    con = duckdb.connect()  # in-memory
    yield con
    con.close()


@pytest.fixture(scope="session")
def postgres_server():
    server, missing = None, None
    try:
        server = engines.start_postgres()
    except EngineUnavailable as e:
        missing = str(e)
    if missing:
        _unavailable(missing)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redshift_engine(postgres_server):
    missing = None
    try:
        import psycopg2  # noqa: F401
        import sqlalchemy
        import sqlalchemy_redshift  # noqa: F401
    except ImportError as e:
        missing = f"sqlalchemy-redshift / psycopg2 not installed: {e}"
    if missing:
        _unavailable(missing)
    # url_redshift carries sslmode=disable (sqlalchemy-redshift defaults to verify-full).
    eng = sqlalchemy.create_engine(postgres_server.url_redshift)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def spark():
    session, missing = None, None
    try:
        session = engines.start_spark()
    except EngineUnavailable as e:
        missing = str(e)
    if missing:
        _unavailable(missing)
    yield session
    session.stop()


_hive_clis: list[HiveCLI] = []  # for the terminal summary
_hive_missing: list[str] = []  # why real Hive cannot run, once known


def _session_hive_cli() -> HiveCLI | None:
    """The session's one HiveCLI (finds the jars, java and javac, builds the extras jar;
    no JVM yet), or None with the reason in _hive_missing."""
    if not _hive_clis and not _hive_missing:
        try:
            _hive_clis.append(HiveCLI())
        except EngineUnavailable as e:
            _hive_missing.append(str(e))
    return _hive_clis[0] if _hive_clis else None


def pytest_collection_finish(session):
    # Start the Hive batches the selected tests need, beside the other tests
    # (tests/hive_batches.py).
    if session.config.option.collectonly:
        return
    names = hive_batches.needed(getattr(item, "fixturenames", ()) for item in session.items)
    if names and (cli := _session_hive_cli()) is not None:
        hive_batches.start_ahead(cli, names)


def pytest_sessionfinish(session):
    hive_batches.stop(_hive_clis[0] if _hive_clis else None)


@pytest.fixture(scope="session")
def hive_cli():
    cli = _session_hive_cli()
    if cli is None:
        _unavailable(_hive_missing[0])
    yield cli
    hive_batches.stop(cli)
    cli.close()


# engine fixture: dialect name -> (fixture providing the connection, loader kind)
_ENGINES = {
    "duckdb": ("duckdb_con", "duckdb"),
    "redshift": ("redshift_engine", "postgres"),
    "hive": ("spark", "spark"),
}


@dataclass(frozen=True)
class EngineFacts:
    """What differs between the engines in the tests, declared once (in the manner of
    Ibis's per-backend markers): a test reads ``engine.facts`` instead of testing the
    engine's name."""

    double_type: str  # the 8-byte float type, for the tests' own SQL
    text_type: str
    identifier_quote: str  # for the tests' own quoting, independent of the library's
    #: features of the wide dataset of test_pipeline's widest case (Spark plans the wide
    #: one-row profile slowly: minutes and over 2 GB of driver memory at 300)
    widest_profile: int = 300
    #: a statement timeout that the slow population's profile surely passes
    timeout: float = 0.05
    #: the profile names every feature with NaN or infinite values (Hive's first pass
    #: stops on the first one it finds and names it)
    names_every_non_finite_feature: bool = True
    #: execute() with a long list of Python ids runs in the hostile-names wide test too
    #: (Spark profiles slowly: there only in the long test)
    python_ids_in_every_hostile_test: bool = True
    #: the wide one-row profile is split in groups of features (a 1,600-column limit)
    groups_wide_profile: bool = False


ENGINE_FACTS = {
    "duckdb": EngineFacts("DOUBLE", "VARCHAR", '"'),
    "redshift": EngineFacts("DOUBLE PRECISION", "VARCHAR", '"', groups_wide_profile=True),
    "hive": EngineFacts("DOUBLE", "STRING", "`", widest_profile=100, timeout=2.0, names_every_non_finite_feature=False,
                        python_ids_in_every_hostile_test=False),
}


@dataclass
class EngineHandle:
    name: str  # dialect name: "duckdb", "redshift" or "hive"
    connection: Any  # duckdb connection / SQLAlchemy engine / SparkSession
    kind: str  # what actually runs it: "duckdb", "postgres" or "spark"

    @property
    def facts(self) -> EngineFacts:
        return ENGINE_FACTS[self.name]

    def quoted(self, name: str) -> str:
        """The tests' own quoting of a one-part name."""
        q = self.facts.identifier_quote
        return q + name.replace(q, q + q) + q

    def create_from(self, table: str, select: str) -> None:
        """``table`` (replaced) holding the rows of ``select``: a table, or on Spark a
        temporary view."""
        if self.kind == "spark":
            self.execute(f"CREATE OR REPLACE TEMPORARY VIEW {table} AS {select}")
        else:
            self.execute(f"DROP TABLE IF EXISTS {table}")
            self.execute(f"CREATE TABLE {table} AS {select}")

    def drop(self, table: str) -> None:
        self.execute(f"DROP {'VIEW' if self.kind == 'spark' else 'TABLE'} {table}")

    def table_names(self) -> set[str]:
        if self.kind == "spark":
            return set(self.query("SHOW TABLES")["tableName"])
        frame = self.query("SELECT table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")
        return set(frame["table_name"])

    def load(self, table_name: str, df: pd.DataFrame) -> None:
        """Load df as table (spark: temp view) table_name, replacing it; NaN -> NULL."""
        engines.load_table(self.kind, self.connection, table_name, df)

    def query(self, sql: str) -> pd.DataFrame:
        """Run one SELECT, untouched, and return a pandas frame."""
        return engines.run_query(self.kind, self.connection, sql)

    def execute(self, sql: str) -> None:
        """Run one statement returning no rows (committed)."""
        engines.run_statement(self.kind, self.connection, sql)


@pytest.fixture(
    params=[pytest.param(name, id=name, marks=pytest.mark.engine) for name in _ENGINES]
)
def engine(request) -> EngineHandle:
    fixture_name, kind = _ENGINES[request.param]
    return EngineHandle(request.param, request.getfixturevalue(fixture_name), kind)


def pytest_terminal_summary(terminalreporter):
    if engines.startup_seconds:
        times = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(engines.startup_seconds.items()))
        terminalreporter.write_line(f"engine start-up: {times}")
    runs = [r for cli in _hive_clis for r in cli.history]
    if runs:
        starts = [r.startup_seconds for r in runs if r.startup_seconds is not None]
        terminalreporter.write_line(
            f"hive-cli: {len(runs)} JVMs, {sum(r.jobs for r in runs)} jobs, {sum(r.seconds for r in runs):.1f}s"
            + (f" (JVM start to first job {min(starts):.1f}-{max(starts):.1f}s)" if starts else "")
        )
