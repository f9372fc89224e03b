"""Start real SQL engines for the tests, once per test session.

* DuckDB       -- in-process, nothing to start.
* PostgreSQL   -- a throwaway server (initdb into a temp dir, pg_ctl start on
                  a free loopback port); stands in for Redshift.
* Spark SQL    -- pyspark in local mode; stands in for Hive.

This module must not import the ``lookalike_sql`` package, and has no pytest
imports: the fixtures live in ``conftest.py``.

sqlalchemy-redshift on plain PostgreSQL 15 (checked with sqlalchemy-redshift
1.0.0, SQLAlchemy 2.1.9, psycopg2 2.9.13, pandas 3.1):

* Connecting: its psycopg2 dialect defaults to ``sslmode=verify-full`` with the
  Redshift CA bundle (``Psycopg2RedshiftDialectMixin.create_connect_args``).
  The throwaway server has no SSL, so a bare ``redshift+psycopg2://...`` URL
  fails on the first connect with "server does not support SSL, but SSL was
  required". Fix: ``sslmode=disable``. ``PostgresServer.url_redshift`` carries
  it as a URL query parameter (URL parameters override the dialect's
  defaults), so ``create_engine(server.url_redshift)`` works as it is; the same
  as ``create_engine(url, connect_args={"sslmode": "disable"})``. Nothing
  Redshift-only runs on connect: ``SELECT 1``, ``conn.exec_driver_sql(...)``,
  ``conn.execute(text(...))`` and ``pd.read_sql(text(sql), engine)`` work.
* Reflection does NOT work and cannot be stubbed: ``has_table``,
  ``get_table_names``, ``get_columns`` ... query Redshift-only catalogs
  (``svv_external_tables``/``_schemas``/``_columns``, ``pg_class.reldiststyle``)
  and use ``WHERE 1``, all errors on PostgreSQL. Hence, on the redshift engine:
  - ``sqlalchemy.inspect(engine)`` and ``df.to_sql(..., engine)`` fail (to_sql
    calls has_table). Load with :func:`load_table` (psycopg2 COPY through
    ``engine.raw_connection()``, no reflection), or use ``url_postgres``.
  - ``pd.read_sql("SELECT ...", engine)`` with a *plain string* fails: pandas
    first calls has_table(sql) to see whether the string is a table name; that
    fails, pandas swallows the error, but the transaction is now aborted and
    the query itself fails with InFailedSqlTransaction. Use
    ``pd.read_sql_query(...)`` or ``pd.read_sql(sqlalchemy.text(sql), engine)``
    (or :func:`run_query`), which never reflect.
* Not Redshift-specific but bites here too (SQLAlchemy 2.1 + psycopg2, both
  the postgresql and the redshift dialects): ``conn.exec_driver_sql(sql)`` and
  ``pd.read_sql_query(sql_string, engine)`` fail with "TypeError:
  immutabledict is not a sequence" when the SQL contains a ``%`` (modulo,
  ``LIKE 'a%'``): psycopg2 treats ``%`` as a parameter marker. Wrap the SQL in
  ``sqlalchemy.text()`` (which escapes ``%``, but treats ``:name`` as a bind
  parameter), write ``%%``, or use a raw DBAPI cursor with no parameters, as
  :func:`run_query` does -- it passes generated SQL through untouched.
"""

from __future__ import annotations

import atexit
import csv
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

PG_USER = "lookalike_pg"  # unprivileged system user that runs postgres when we are root
PG_DATABASE = "lookalike"

# Wall-clock start-up times of the engines started in this process, in seconds
# (keys "postgres", "spark"); conftest prints them in the terminal summary.
startup_seconds: dict[str, float] = {}


class EngineUnavailable(Exception):
    """An engine cannot be started here (binaries, Java or a module missing)."""


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------


def _version_key(path: str) -> tuple[int, ...]:
    m = re.search(r"/postgresql/([\d.]+)/bin", path)
    return tuple(int(p) for p in m.group(1).split(".") if p) if m else (0,)


def find_pg_bin() -> Path:
    """Directory holding initdb/pg_ctl: $PG_BIN, else the highest
    /usr/lib/postgresql/*/bin, else ``pg_config --bindir``."""
    candidates: list[str] = []
    if os.environ.get("PG_BIN"):
        candidates.append(os.environ["PG_BIN"])
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=30)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    for c in candidates:
        d = Path(c)
        if all(os.access(d / b, os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
            return d
    raise EngineUnavailable(
        "PostgreSQL binaries (initdb, pg_ctl, postgres) not found: set PG_BIN, install "
        "Debian's 'postgresql' package, or put pg_config on PATH "
        f"(looked in: {', '.join(candidates) or 'nothing'})"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_pg_user() -> str | None:
    """The user to run postgres as: None (= ourselves) unless we are root, in
    which case an unprivileged system user, created if missing."""
    if os.geteuid() != 0:
        return None
    exists = subprocess.run(["id", "-u", PG_USER], capture_output=True).returncode == 0
    if not exists:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        r = subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            capture_output=True,
            text=True,
        )
        # A concurrent useradd (another pytest process) may have won the race.
        if r.returncode != 0 and subprocess.run(["id", "-u", PG_USER], capture_output=True).returncode != 0:
            raise EngineUnavailable(f"cannot create system user {PG_USER}: {r.stderr.strip()}")
    return PG_USER


def _pg_parent_dir(run_as: str | None) -> str | None:
    """Where to make the server's temp dir: $TMPDIR as usual, but /tmp when
    the postgres user could not reach it (TMPDIR under /root, say) or when
    the unix socket path would pass its ~107-byte limit."""
    parent = Path(tempfile.gettempdir()).resolve()
    too_long = len(str(parent)) > 60
    unreachable = run_as is not None and any(
        not (p.stat().st_mode & 0o001) for p in [parent, *parent.parents]
    )
    return "/tmp" if too_long or unreachable else None


def _pg_env() -> dict[str, str]:
    # Drop libpq/server variables of the caller's environment (PGDATA, PGPORT, ...).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C")
    return env


@dataclass
class PostgresServer:
    """A running throwaway PostgreSQL server (superuser ``postgres``, trust auth)."""

    bin_dir: Path
    base_dir: Path  # temp dir: data/ (cluster), postgres.log, unix socket
    port: int
    run_as: str | None  # system user running the server, None = current user
    startup_seconds: float = 0.0
    _stopped: bool = field(default=False, repr=False)

    host = "127.0.0.1"
    database = PG_DATABASE

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    @property
    def url_postgres(self) -> str:
        return f"postgresql+psycopg2://postgres@{self.host}:{self.port}/{self.database}"

    @property
    def url_redshift(self) -> str:
        # sslmode=disable: sqlalchemy-redshift defaults to sslmode=verify-full
        # (see the module docstring); the throwaway server has no SSL.
        return f"redshift+psycopg2://postgres@{self.host}:{self.port}/{self.database}?sslmode=disable"

    @property
    def dsn(self) -> str:
        """libpq DSN, e.g. for ``psycopg2.connect``."""
        return f"host={self.host} port={self.port} user=postgres dbname={self.database} sslmode=disable"

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server at once (-m immediate) and remove its directory. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if (self.data_dir / "postmaster.pid").exists():
            _run_pg(self, ["pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"], check=False)
        shutil.rmtree(self.base_dir, ignore_errors=True)


def _cmd(run_as: str | None, argv: list[str]) -> list[str]:
    if run_as is None:
        return argv
    runuser = shutil.which("runuser") or ("/usr/sbin/runuser" if os.path.exists("/usr/sbin/runuser") else None)
    if runuser:
        return [runuser, "-u", run_as, "--", *argv]
    # su fallback: one shell-quoted command line, nologin shell overridden.
    import shlex

    return ["su", "-s", "/bin/sh", run_as, "-c", shlex.join(argv)]


def _run_pg(server: PostgresServer, argv: list[str], check: bool = True, timeout: float = 120):
    argv = [str(server.bin_dir / argv[0]), *argv[1:]]
    r = subprocess.run(
        _cmd(server.run_as, argv),
        cwd=server.base_dir if server.base_dir.exists() else "/",  # a dir the user may enter
        env=_pg_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and r.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n"
            f"--- postgres.log ---\n{server.log_tail()}"
        )
    return r


def start_postgres(timeout: float = 60.0) -> PostgresServer:
    """initdb + pg_ctl start a fresh server on a free 127.0.0.1 port and create
    database ``lookalike``. Raises EngineUnavailable when the binaries are missing."""
    t0 = time.perf_counter()
    bin_dir = find_pg_bin()
    run_as = _ensure_pg_user()
    base = Path(tempfile.mkdtemp(prefix="lookalike-pg-", dir=_pg_parent_dir(run_as)))
    if run_as is not None:
        shutil.chown(base, user=run_as, group=None)
    os.chmod(base, 0o700)
    server = PostgresServer(bin_dir=bin_dir, base_dir=base, port=0, run_as=run_as)
    try:
        _run_pg(
            server,
            ["initdb", "-D", str(server.data_dir), "-A", "trust", "-U", "postgres",
             "--no-sync", "--locale=C", "-E", "UTF8"],
        )
        # The port is free when picked but could be taken before postgres binds:
        # retry with another one.
        for attempt in range(5):
            server.port = _free_port()
            opts = " ".join([
                f"-p {server.port}",
                f"-k {base}",  # unix socket in the temp dir, not /var/run/postgresql
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                # PostgreSQL's JIT spends seconds compiling the long generated
                # expressions of a one-row profile; Redshift compiles (and caches)
                # its own way, so the stand-in runs without JIT.
                "-c jit=off",
            ])
            r = _run_pg(
                server,
                ["pg_ctl", "-D", str(server.data_dir), "-l", str(server.log_file),
                 "-o", opts, "-w", "-t", str(int(timeout)), "start"],
                check=False,
                timeout=timeout + 30,
            )
            if r.returncode == 0:
                break
            if "already in use" not in server.log_tail() or attempt == 4:
                raise RuntimeError(
                    f"pg_ctl start failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n"
                    f"--- postgres.log ---\n{server.log_tail()}"
                )
        _create_database(server)
    except BaseException:
        server.stop()
        raise
    atexit.register(server.stop)  # safety net if the fixture's teardown never runs
    server.startup_seconds = time.perf_counter() - t0
    startup_seconds["postgres"] = server.startup_seconds
    return server


def _create_database(server: PostgresServer) -> None:
    try:
        import psycopg2
    except ImportError:  # fall back to the createdb binary
        _run_pg(server, ["createdb", "-h", server.host, "-p", str(server.port), "-U", "postgres", server.database])
        return
    conn = psycopg2.connect(host=server.host, port=server.port, user="postgres", dbname="postgres",
                            sslmode="disable", connect_timeout=10)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{server.database}"')
    finally:
        conn.close()


# --------------------------------------------------------------------------
# Spark
# --------------------------------------------------------------------------


def _java_available() -> str | None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(os.path.join(java_home, "bin", "java"), os.X_OK):
        return os.path.join(java_home, "bin", "java")
    return shutil.which("java")


def start_spark(app_name: str = "lookalike-sql-tests"):
    """A local[2] SparkSession (UTC, 4 shuffle partitions, no UI, temp warehouse).
    Raises EngineUnavailable when pyspark or Java is missing."""
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError as e:
        raise EngineUnavailable(f"pyspark is not installed: {e}") from e
    if not _java_available():
        raise EngineUnavailable("Java not found (no java on PATH, JAVA_HOME unset): Spark needs a JRE (17+)")

    # Python workers (if any UDF runs) must use this interpreter, not the system one.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    tmp = Path(tempfile.mkdtemp(prefix="lookalike-spark-"))
    atexit.register(shutil.rmtree, tmp, True)
    # ERROR-level logging from the JVM's first line on (setLogLevel below only
    # takes effect once the context is up, after the start-up warnings).
    log4j = tmp / "log4j2.properties"
    log4j.write_text(
        "rootLogger.level = error\n"
        "rootLogger.appenderRef.console.ref = console\n"
        "appender.console.type = Console\n"
        "appender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\n"
        "appender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex\n"
    )
    try:
        import pyarrow  # noqa: F401

        arrow = "true"
    except ImportError:  # Spark 4 defaults to Arrow for toPandas and warns on every fallback
        arrow = "false"
    t0 = time.perf_counter()
    spark = (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", os.environ.get("LOOKALIKE_SPARK_MEMORY", "2g"))
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.warehouse.dir", str(tmp / "warehouse"))
        .config("spark.driver.extraJavaOptions",
                f"-Dderby.system.home={tmp} -Dlog4j2.configurationFile=file:{log4j}")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", arrow)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    startup_seconds["spark"] = time.perf_counter() - t0
    return spark


# --------------------------------------------------------------------------
# Loading pandas frames
# --------------------------------------------------------------------------

def _kind(s: pd.Series) -> str:
    t = pd.api.types
    if t.is_bool_dtype(s.dtype):
        return "bool"
    if t.is_integer_dtype(s.dtype):
        return "int"
    if t.is_float_dtype(s.dtype):
        return "float"
    if t.is_datetime64_any_dtype(s.dtype):
        return "timestamp"
    return "string"  # object / str / category: stored as text


def _name_parts(ident: str | tuple[str, ...]) -> tuple[str, ...]:
    """A table name's parts: 'schema.table' is split on dots; a tuple is taken as its
    parts, so ('odd.name',) names one table whose name holds a dot."""
    return tuple(ident) if isinstance(ident, (tuple, list)) else tuple(str(ident).split("."))


def _quote(ident: str | tuple[str, ...]) -> str:
    """Double-quote a (possibly schema-qualified, dotted) table name; see _name_parts."""
    return ".".join(_quote_column(part) for part in _name_parts(ident))


def _quote_column(name: str) -> str:
    """Double-quote one column name as it is (a dot in it stays part of the name)."""
    return '"' + str(name).replace('"', '""') + '"'


def _spark_view_name(ident: str | tuple[str, ...]) -> str:
    """The name to give createOrReplaceTempView: Spark parses it as SQL, so every part is
    backtick-quoted (backticks doubled); unquoted, a name with a space, a quote or a
    non-ASCII letter is refused, and one with '--' is cut at the comment."""
    return ".".join("`" + part.replace("`", "``") + "`" for part in _name_parts(ident))


_PG_TYPES = {"int": "BIGINT", "float": "DOUBLE PRECISION", "bool": "BOOLEAN",
             "timestamp": "TIMESTAMP", "string": "TEXT"}
_DUCK_TYPES = {"int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN",
               "timestamp": "TIMESTAMP", "string": "VARCHAR"}


def load_table(engine_name: str, connection, table_name: str, df: pd.DataFrame) -> None:
    """Load ``df`` as table ``table_name`` (replacing it) on one engine.

    engine_name: "duckdb" (a duckdb connection), "postgres" (a SQLAlchemy
    engine, postgresql+psycopg2 or redshift+psycopg2; "redshift" accepted as
    an alias; DROP/CREATE + COPY) or "spark" (a SparkSession; "hive" accepted
    as an alias; a temp view over Python rows with an explicit schema, or over
    a Parquet file for frames of SPARK_PARQUET_MIN_ROWS rows or more).

    Column types: integer (incl. nullable Int64) -> BIGINT/LongType, float ->
    DOUBLE, bool -> BOOLEAN, datetime -> TIMESTAMP, anything else -> text.
    NaN/None/pd.NA become SQL NULL on every engine. Column names are kept as
    they are and quoted, so prefer lower-case names (PostgreSQL folds unquoted
    identifiers to lower case). ``table_name`` is 'table' or 'schema.table'
    (split on dots), or a tuple of parts, which keeps a dot inside one part;
    every part is quoted (on Spark with backticks, also for the temp view).
    """
    name = {"redshift": "postgres", "hive": "spark"}.get(engine_name, engine_name)
    if name == "duckdb":
        _load_duckdb(connection, table_name, df)
    elif name == "postgres":
        _load_postgres(connection, table_name, df)
    elif name == "spark":
        _load_spark(connection, table_name, df)
    else:
        raise ValueError(f"unknown engine {engine_name!r}: expected duckdb, postgres or spark")


def _duckdb_select(df: pd.DataFrame, view: str) -> str:
    """SELECT over a registered frame with every column cast to its table type."""
    cols = []
    for c in df.columns:
        k = _kind(df[c])
        q = _quote_column(c)
        expr = f"CAST({q} AS {_DUCK_TYPES[k]})"
        if k == "float":
            # DuckDB (2.x) already reads NaN in pandas float columns as NULL; the
            # isnan() guard keeps that true whatever the DuckDB version does.
            expr = f"CASE WHEN isnan({q}) THEN NULL ELSE {expr} END"
        cols.append(f"{expr} AS {q}")
    return f"SELECT {', '.join(cols)} FROM {view}"


def _load_duckdb(con, table_name: str, df: pd.DataFrame) -> None:
    view = "__lookalike_load_df"
    con.register(view, df)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {_quote(table_name)} AS {_duckdb_select(df, view)}")
    finally:
        con.unregister(view)


def _write_copy_csv(df: pd.DataFrame, kinds: dict, path: Path) -> None:
    """CSV for PostgreSQL's COPY (FORMAT csv, NULL '\\N'): NULL as an unquoted
    \\N, so empty strings stay empty strings and a literal '\\N' is quoted.

    DuckDB writes it (200,000 x 30 in about 0.5 s, doubles in shortest
    round-trip form); pandas.to_csv is the fallback (about 10x slower: it
    formats every float in Python)."""
    try:
        import duckdb

        con = duckdb.connect()
        try:
            con.register("__lookalike_copy_df", df)
            path_sql = str(path).replace("'", "''")
            con.execute(
                f"COPY ({_duckdb_select(df, '__lookalike_copy_df')}) TO '{path_sql}' "
                "(FORMAT csv, HEADER false, DELIMITER ',', QUOTE '\"', NULLSTR '\\N')"
            )
            return
        finally:
            con.close()
    except Exception:  # duckdb missing, or a column it cannot scan: pandas does it
        pass
    out = df
    if any(k == "bool" for k in kinds.values()):
        out = df.copy()
        for c, k in kinds.items():
            if k == "bool":
                out[c] = out[c].map(lambda v: None if pd.isna(v) else ("t" if v else "f"))
    # pandas writes floats with repr(), which round-trips; QUOTE_NONNUMERIC
    # would also quote the NULL marker, so minimal quoting and \\N as na_rep
    # (a literal "\\N" string would then be read as NULL: fallback only).
    out.to_csv(path, index=False, header=False, na_rep="\\N", quoting=csv.QUOTE_MINIMAL,
               lineterminator="\n", encoding="utf-8")


def _load_postgres(engine, table_name: str, df: pd.DataFrame) -> None:
    """DROP + CREATE + COPY (CSV) through psycopg2; no SQLAlchemy reflection,
    so it works on the redshift+psycopg2 dialect too."""
    kinds = {c: _kind(df[c]) for c in df.columns}
    ddl_cols = ", ".join(f"{_quote_column(c)} {_PG_TYPES[k]}" for c, k in kinds.items())
    with tempfile.TemporaryDirectory(prefix="lookalike-copy-") as tmp:
        path = Path(tmp) / "data.csv"
        _write_copy_csv(df, kinds, path)
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cur, open(path, encoding="utf-8") as fh:
                cur.execute(f"DROP TABLE IF EXISTS {_quote(table_name)} CASCADE")
                cur.execute(f"CREATE TABLE {_quote(table_name)} ({ddl_cols})")
                cur.copy_expert(
                    f"COPY {_quote(table_name)} FROM STDIN WITH (FORMAT csv, NULL '\\N', ENCODING 'UTF8')", fh
                )
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()


# Frames with at least this many rows go to Spark through a Parquet file
# written by DuckDB (200,000 x 30: ~1 s to load, first query ~1 s) instead of
# Python rows (~5 s to load, ~7 s for the first query, since Spark unpickles
# every row). Both paths give the same schema and the same NULLs.
SPARK_PARQUET_MIN_ROWS = 10_000
_spark_files_dir: Path | None = None


def _spark_schema(kinds: dict):
    from pyspark.sql import types as T

    spark_types = {"int": T.LongType(), "float": T.DoubleType(), "bool": T.BooleanType(),
                   "timestamp": T.TimestampType(), "string": T.StringType()}
    return T.StructType([T.StructField(str(c), spark_types[k], nullable=True) for c, k in kinds.items()])


def _load_spark(spark, table_name: str, df: pd.DataFrame) -> None:
    kinds = {c: _kind(df[c]) for c in df.columns}
    schema = _spark_schema(kinds)
    if len(df) >= SPARK_PARQUET_MIN_ROWS and len(df.columns) > 0:
        sdf = _spark_frame_via_parquet(spark, table_name, df, schema)
        if sdf is not None:
            sdf.createOrReplaceTempView(_spark_view_name(table_name))
            return
    # Plain Python rows with None for every missing value: pandas NaN would
    # otherwise stay NaN in a DoubleType column (Spark keeps NaN as a value).
    columns = []
    for c, k in kinds.items():
        s = df[c]
        mask = s.isna().to_numpy()
        if k == "int":
            vals = [int(v) for v in s.to_numpy(dtype="int64", na_value=0)]
        elif k == "float":
            vals = s.to_numpy(dtype="float64", na_value=float("nan")).tolist()
        elif k == "bool":
            vals = [bool(v) for v in s.to_numpy(dtype=bool, na_value=False)]
        elif k == "timestamp":
            vals = [None if m else v.to_pydatetime() for v, m in zip(s, mask)]
        else:
            vals = [None if m else str(v) for v, m in zip(s.astype(object), mask)]
        columns.append([None if m else v for v, m in zip(vals, mask)])
    rows = list(zip(*columns)) if columns else [()] * len(df)
    sdf = spark.createDataFrame(rows, schema=schema, verifySchema=False)
    sdf.createOrReplaceTempView(_spark_view_name(table_name))


def _spark_frame_via_parquet(spark, table_name: str, df: pd.DataFrame, schema):
    """DuckDB writes the frame (typed, NaN -> NULL) to Parquet; Spark reads it
    with the explicit schema. The file must outlive the temp view, so it lives
    in a per-process dir removed at exit. None if DuckDB cannot do it."""
    global _spark_files_dir
    try:
        import duckdb
    except ImportError:
        return None
    if _spark_files_dir is None:
        _spark_files_dir = Path(tempfile.mkdtemp(prefix="lookalike-spark-views-"))
        atexit.register(shutil.rmtree, _spark_files_dir, True)
    safe = re.sub(r"[^A-Za-z0-9_]", "_", ".".join(_name_parts(table_name)))
    path = _spark_files_dir / f"{safe}-{time.time_ns()}.parquet"
    con = duckdb.connect()
    try:
        con.register("__lookalike_spark_df", df)
        path_sql = str(path).replace("'", "''")
        con.execute(f"COPY ({_duckdb_select(df, '__lookalike_spark_df')}) TO '{path_sql}' (FORMAT parquet)")
    except duckdb.Error:
        return None
    finally:
        con.close()
    return spark.read.schema(schema).parquet(str(path))


# --------------------------------------------------------------------------
# Running SQL
# --------------------------------------------------------------------------


def run_query(engine_name: str, connection, sql: str) -> pd.DataFrame:
    """Run one SELECT and return its rows as a pandas frame (column names as
    the engine reports them). The SQL is passed through untouched: on
    postgres/redshift it goes to a raw psycopg2 cursor without parameters, so
    ``%`` and ``:name`` need no escaping. Value types are the driver's: e.g.
    PostgreSQL NUMERIC comes back as ``decimal.Decimal`` (``LN(2.0)`` is
    NUMERIC there), Spark NULLs in integer columns as NaN (via toPandas)."""
    name = {"redshift": "postgres", "hive": "spark"}.get(engine_name, engine_name)
    if name == "duckdb":
        return connection.execute(sql).df()
    if name == "postgres":
        raw = connection.raw_connection()
        try:
            with raw.cursor() as cur:
                cur.execute(sql)
                cols = [d[0] for d in cur.description]
                rows = cur.fetchall()
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()
        return pd.DataFrame.from_records(rows, columns=cols)
    if name == "spark":
        return connection.sql(sql).toPandas()
    raise ValueError(f"unknown engine {engine_name!r}: expected duckdb, postgres or spark")


def run_statement(engine_name: str, connection, sql: str) -> None:
    """Run one statement that returns no rows (DDL, INSERT ...), committed."""
    name = {"redshift": "postgres", "hive": "spark"}.get(engine_name, engine_name)
    if name == "duckdb":
        connection.execute(sql)
    elif name == "postgres":
        raw = connection.raw_connection()
        try:
            with raw.cursor() as cur:
                cur.execute(sql)
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()
    elif name == "spark":
        connection.sql(sql).collect()
    else:
        raise ValueError(f"unknown engine {engine_name!r}: expected duckdb, postgres or spark")
