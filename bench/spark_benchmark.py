"""Benchmark of the Hive SQL on Spark 4.x and Spark 3.5 (local[2], 2 GB driver), wide
populations of 20-800 features and the seed's 1,805-feature long layout, against a
one-pass floor measured in the same session; and the one statement on real Hive 2.3.9.

    python bench/spark_benchmark.py                  # everything: about an hour on 2 busy cores
    python bench/spark_benchmark.py --quick          # 20,000 customers, K up to 100: 13 minutes
    python bench/spark_benchmark.py --quick --spark 4 --only wide --ks 20   # a minute or two
    python bench/spark_benchmark.py --only wide --ks 800 --kinds statement --timeout 1800
    python bench/spark_benchmark.py --conf spark.sql.shuffle.partitions=4   # any Spark setting

Runs (GitHub issue "Spark 4 and big populations"), each in a FRESH Python process (its
own SparkSession and driver JVM, so memory and JIT warm-up belong to one run):

* layouts: wide, 200,000 customers x K = 20, 50, 100, 200, 800 numeric features (about
  30% non-zero; the seed is every 20th customer, 5%, and differs on the first min(40, K/2)
  features), and long, 200,000 customers with the seed model's 1,805 features (17 metrics x
  106 categories + age, sex, account age; customers active in a few categories, fill 0)
  plus an ids table. Data is generated once with DuckDB as Parquet under bench/data/
  (spark_wide_<n>x<k>/, spark_long_<n>/) and registered in Spark as temporary views:
  ``spark.read.parquet(path).createOrReplaceTempView("pop")`` (``seed``; long:
  ``feature_values``, ``customers``, ``seed``);
* kinds: ``statement``: ``Lookalike(...).sql(Seed.table("seed"), 1000, dialect="hive")``
  run with ``spark.sql(sql).collect()``; ``execute``: ``Lookalike(...).execute(spark,
  Seed.table("seed"), 1000)`` (its facts, profile, rank and histogram statements);
* in every run, before the job, the floor: one aggregate reading every value once
  (wide: ``SELECT SUM(f000), ..., SUM(fK) FROM pop``; long: ``SELECT feature,
  SUM(value) FROM feature_values GROUP BY feature``), run twice: the first (cold, JVM
  warm-up) is kept in the JSON, the second is the "floor" the ratio divides by;
* real Hive 2.3.9 (tests/hive_cli.py: local MapReduce, one JVM): the one statement at
  K = 20 on 20,000 customers, after the floor in the same JVM; MapReduce jobs counted.

Reported per run: job seconds (statement: spark.sql() to the end of collect(), rendering
excluded and reported apart; execute: the whole call), floor seconds, their ratio,
planning seconds (statement only: spark.sql() parses and analyses, then
``queryExecution().executedPlan()`` optimises and plans, timed before collect()), the
FileScan nodes over the population's Parquet file in the final executed plan (adaptive
execution's final plan, read after collect()), and the driver JVM's peak resident memory
(VmHWM of the java process pyspark starts as the run's child, read at the end of the run,
or by the parent before it kills a run that timed out), and the seconds the driver JVM
spent in garbage collection during the job (its MXBeans, sampled every 10 s as well). A
run that does not finish within --timeout seconds (600) is killed with its process group
and reported as such. Each run also records a digest of lookalike_sql/, templates/ and
dialects/ as it found them: the report says so when the code changed between runs.

Which Spark: Spark 4 is ``$LOOKALIKE_SPARK4_PYTHON`` or else the Python running this script
(a fresh clone's .venv, with the current pyspark); Spark 3.5 is that same Python with
``$LOOKALIKE_SPARK35_PATH`` (default <repo>/.venv/spark35, where ``pip install --target
.venv/spark35 --no-deps pyspark==3.5.9`` put pyspark 3.5.9) prepended to PYTHONPATH, which
shadows the venv's pyspark. Each is checked by importing pyspark in a child first; a
missing one is reported and skipped. SPARK_HOME is removed from the children's environment
so that each pyspark uses its own jars. Spark's settings are its defaults except
local[2], spark.driver.memory=2g, no UI, UTC, quiet logging and a longer plan-metadata
string (spark.sql.maxMetadataStringLength, so that a scan's file path is printed whole);
--conf adds more.

The markdown table is printed at the end and written with the raw numbers as JSON to
bench/results/spark_<date>.json (spark_<date>_quick.json with --quick; a later run of the
same day adds its time, _<HHMMSS>, rather than overwrite). The machine has
2 cores shared with other work: read the ratios measured within one run, not absolute times.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmark import CATEGORIES, METRICS, long_tables_sql  # the same long layout (bench/ is on sys.path)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / "data"
RESULTS = HERE / "results"

SEED_EVERY = 20  # every 20th customer is in the seed: 5%
AUDIENCE_SIZE = 1_000
MAX_INFORMATIVE = 40  # features whose distribution differs for the seed: min(40, K // 2)
EVENT = "@@spark-bench "  # prefix of the child's JSON lines on stdout

FULL = {"customers": 200_000, "ks": (20, 50, 100, 200, 800), "hive_customers": 20_000, "hive_k": 20}
QUICK = {"customers": 20_000, "ks": (20, 50, 100), "hive_customers": 20_000, "hive_k": 20}


def wide_features(k: int) -> list[str]:
    return [f"f{j:03d}" for j in range(k)]


def long_features() -> list[str]:
    """The seed model's 1,805 features: 17 metrics x 106 categories + age, sex, account age."""
    return [f"m{i:02d}{c:03d}" for i in range(METRICS) for c in range(CATEGORIES)] + ["age000", "sex000", "aay000"]


# ----------------------------------------------------------------------------- data
@contextlib.contextmanager
def building(path: Path) -> Iterator[tuple[Any, Path]]:
    """An in-memory DuckDB connection and `path`.partial/, renamed to `path` once the
    block succeeds (an interrupted build leaves no half-made folder behind)."""
    import duckdb

    DATA.mkdir(exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")
    yield con, partial
    con.close()
    partial.rename(path)


def _copy(con: Any, query: str, path: Path, row_group: int) -> None:
    """COPY a query to one Parquet file. Row groups of at most `row_group` rows, so that
    Spark's two cores split even a small file (it splits a file on row groups)."""
    con.execute(f"COPY ({query}) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE {row_group})")


def wide_data(n: int, k: int) -> Path:
    """spark_wide_<n>x<k>/: pop.parquet (id + k features f000.., about 30% non-zero) and
    seed.parquet (id: every 20th customer)."""
    path = DATA / f"spark_wide_{n}x{k}"
    if path.is_dir():
        return path
    print(f"  generating {path.name} ...", file=sys.stderr, flush=True)
    informative = min(MAX_INFORMATIVE, k // 2)
    normal = "(sqrt(-2 * ln(random() + 1e-12)) * cos(2 * pi() * random()))"
    columns = []
    for j in range(k):
        share = "CASE WHEN is_seed THEN 0.6 ELSE 0.3 END" if j < informative else "0.3"
        scale = f"CASE WHEN is_seed THEN {2 + j % 3} ELSE 1 END" if j < informative else "1"
        columns.append(f"CASE WHEN random() < {share} THEN round(abs({normal} * {1 + j % 7}) * 10 * {scale}, 2) ELSE 0.0 END AS f{j:03d}")
    with building(path) as (con, out):
        _copy(con, f"SELECT id, {', '.join(columns)} FROM (SELECT range AS id, range % {SEED_EVERY} = 0 AS is_seed FROM range({n}))",
              out / "pop.parquet", max(n // 8, 1_000))
        _copy(con, f"SELECT range * {SEED_EVERY} AS id FROM range({n // SEED_EVERY})", out / "seed.parquet", 1_000_000)
    return path


def long_data(n: int) -> Path:
    """spark_long_<n>/: feature_values.parquet (id, feature, value) with the 1,805 features
    shaped as bench/benchmark.py's long_file (each customer active in a few categories,
    geometric with mean 2.5, seed members leaning to categories 0-4, the 17 metrics there;
    age, sex and account age for everyone; no row = fill 0), customers.parquet (id) and
    seed.parquet (id: every 20th customer)."""
    path = DATA / f"spark_long_{n}"
    if path.is_dir():
        return path
    print(f"  generating {path.name} ...", file=sys.stderr, flush=True)
    active, values = long_tables_sql()
    with building(path) as (con, out):
        con.execute(f"CREATE TABLE customers AS SELECT range AS id, range % {SEED_EVERY} = 0 AS is_seed FROM range({n})")
        con.execute(f"CREATE TABLE active AS {active}")
        _copy(con, values, out / "feature_values.parquet", 122_880)
        _copy(con, "SELECT id FROM customers ORDER BY id", out / "customers.parquet", max(n // 8, 1_000))
        _copy(con, f"SELECT range * {SEED_EVERY} AS id FROM range({n // SEED_EVERY})", out / "seed.parquet", 1_000_000)
    return path


def dataset(layout: str, n: int, k: int | None) -> dict:
    """What a run needs to know about its data: the views and their files, the features,
    the population's own file (whose scans are counted) and the floor."""
    if layout == "wide":
        assert k is not None
        path = wide_data(n, k)
        features = wide_features(k)
        return {"layout": "wide", "customers": n, "k": k, "dir": str(path),
                "tables": {"pop": str(path / "pop.parquet"), "seed": str(path / "seed.parquet")},
                "population_table": "pop",
                "floor_sql": "SELECT " + ", ".join(f"SUM(`{c}`)" for c in features) + " FROM `pop`"}
    path = long_data(n)
    return {"layout": "long", "customers": n, "k": len(long_features()), "dir": str(path),
            "tables": {"feature_values": str(path / "feature_values.parquet"), "customers": str(path / "customers.parquet"),
                       "seed": str(path / "seed.parquet")},
            "population_table": "feature_values",
            "floor_sql": "SELECT `feature`, SUM(`value`) FROM `feature_values` GROUP BY `feature`"}


def model_for(spec: dict) -> Any:
    sys.path.insert(0, str(REPO))
    from lookalike_sql import Long, Lookalike

    if spec["layout"] == "wide":
        return Lookalike("pop", id_column="id", features=wide_features(spec["k"]))
    return Lookalike(Long("feature_values", ids="customers"), id_column="id", features=long_features())


# ----------------------------------------------------------------------------- processes
def _children() -> dict[int, list[int]]:
    """ppid -> [pid] over /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])  # after "(comm) state"
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def vm_hwm_mb(pid: int | str = "self") -> float | None:
    """A process's peak resident memory (VmHWM), MB; None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def java_peak_mb(root: int) -> float | None:
    """The largest VmHWM among the java processes below `root` (the driver JVM)."""
    peaks = []
    for pid in descendants(root):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() != "java":
                continue
        except OSError:
            continue
        peak = vm_hwm_mb(pid)
        if peak is not None:
            peaks.append(peak)
    return max(peaks) if peaks else None


class JavaPeakWatcher:
    """Polls the java processes below this one every `every` seconds (Hive's JVM exits
    before its Python caller could read its VmHWM)."""

    def __init__(self, every: float = 0.5) -> None:
        self.peak: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            peak = java_peak_mb(os.getpid())
            if peak is not None:
                self.peak = max(self.peak or 0.0, peak)

    def stop(self) -> float | None:
        self._stop.set()
        self._thread.join()
        return self.peak


# ----------------------------------------------------------------------------- child: one run
_emit_lock = threading.Lock()


def emit(**event: Any) -> None:
    """One JSON line for the parent (which keeps the last value of every key, so a run
    killed on timeout still reports what it had measured)."""
    with _emit_lock:
        print(EVENT + json.dumps(event, default=str), flush=True)


def code_fingerprint() -> str:
    """A digest of the package's code and templates as this run found them (other people
    edit them while the benchmark runs: runs with different digests ran different SQL)."""
    digest = hashlib.md5()
    for folder, pattern in (("lookalike_sql", "*.py"), ("templates", "*"), ("dialects", "*")):
        for path in sorted((REPO / folder).glob(pattern)):
            if path.is_file():
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


class JvmWatcher:
    """Reports the driver JVM's garbage-collection time and heap in use every `every`
    seconds (through its MXBeans), so that a run killed on timeout still shows them."""

    def __init__(self, jvm: Any, every: float = 10.0) -> None:
        self.jvm = jvm
        self.heap_peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def sample(self) -> dict:
        beans = self.jvm.java.lang.management.ManagementFactory
        gc_ms = sum(b.getCollectionTime() for b in beans.getGarbageCollectorMXBeans())
        heap = beans.getMemoryMXBean().getHeapMemoryUsage().getUsed() / 2**20
        self.heap_peak = max(self.heap_peak, heap)
        return {"gc_seconds": round(gc_ms / 1000, 3), "heap_sampled_peak_mb": round(self.heap_peak)}

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            with contextlib.suppress(Exception):  # the JVM may be stopping
                emit(**self.sample())

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return self.sample()


def error_head(exc: BaseException, lines: int = 8) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    kept = [ln for ln in text.splitlines() if ln.strip()][:lines]
    return "\n".join(kept)[:3000]


def start_spark(spec: dict, tmp: Path) -> Any:
    from pyspark.sql import SparkSession

    log4j = tmp / "log4j2.properties"
    log4j.write_text(
        "rootLogger.level = error\nrootLogger.appenderRef.console.ref = console\n"
        "appender.console.type = Console\nappender.console.name = console\nappender.console.target = SYSTEM_ERR\n"
        "appender.console.layout.type = PatternLayout\nappender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex\n"
    )
    builder = (
        SparkSession.builder.master("local[2]")
        .appName(f"lookalike-bench-{spec['layout']}-{spec['kind']}")
        .config("spark.driver.memory", "2g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.maxMetadataStringLength", "100000")
        .config("spark.sql.warehouse.dir", str(tmp / "warehouse"))
        .config("spark.local.dir", str(tmp / "local"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={tmp} -Dlog4j2.configurationFile=file:{log4j}")
    )
    for key, value in spec.get("conf", {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def final_plan_lines(plan: str) -> Iterator[str]:
    """The lines of an executed plan's text without adaptive execution's "== Initial Plan =="
    sections (printed after each final plan, the top one's and every subquery's): such a
    section is the lines below its header indented deeper than the header's "+-"."""
    skip_below: int | None = None
    for line in plan.splitlines():
        depth = len(line) - len(line.lstrip(" :|"))
        if skip_below is not None:
            if depth > skip_below:
                continue
            skip_below = None
        if line.lstrip(" :|").startswith("+- == Initial Plan =="):
            skip_below = depth
            continue
        yield line


def count_scans(plan: str, tables: dict[str, str]) -> dict[str, int]:
    """FileScan nodes per registered table (matched by its file's path) in the final plan
    (a reused exchange or subquery is not a scan, and is not counted)."""
    counts = {name: 0 for name in tables}
    for line in final_plan_lines(plan):
        if "FileScan parquet" not in line:
            continue
        for name, path in tables.items():
            if path in line:
                counts[name] += 1
    return counts


def audience_digest(ids: list[Any]) -> str:
    return hashlib.md5(",".join(str(v) for v in sorted(ids)).encode()).hexdigest()[:12]


def run_spark_child(spec: dict) -> None:
    started = time.perf_counter()
    emit(code=code_fingerprint())
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    model = model_for(spec)
    with tempfile.TemporaryDirectory(prefix="lookalike-spark-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        spark = start_spark(spec, tmp)
        try:
            jvm = spark.sparkContext._jvm
            emit(spark_version=spark.version, python=sys.executable, startup_seconds=round(time.perf_counter() - started, 3),
                 driver_max_heap_mb=round(jvm.java.lang.Runtime.getRuntime().maxMemory() / 2**20),
                 ansi=spark.conf.get("spark.sql.ansi.enabled"), adaptive=spark.conf.get("spark.sql.adaptive.enabled"),
                 shuffle_partitions=spark.conf.get("spark.sql.shuffle.partitions"))
            for name, path in spec["tables"].items():
                spark.read.parquet(path).createOrReplaceTempView(name)

            def timed(sql: str) -> float:
                t0 = time.perf_counter()
                spark.sql(sql).collect()
                return time.perf_counter() - t0

            emit(floor_cold=round(timed(spec["floor_sql"]), 3))
            emit(floor=round(timed(spec["floor_sql"]), 3))
            watcher = JvmWatcher(jvm)
            emit(gc_before_job=watcher.sample()["gc_seconds"])
            from lookalike_sql import Seed

            status = "ok"
            try:
                if spec["kind"] == "statement":
                    t0 = time.perf_counter()
                    sql = model.sql(Seed.table("seed"), AUDIENCE_SIZE, dialect="hive")
                    emit(render_seconds=round(time.perf_counter() - t0, 3), sql_chars=len(sql),
                         sql_md5=hashlib.md5(sql.encode()).hexdigest()[:12])
                    t0 = time.perf_counter()
                    frame = spark.sql(sql)  # parse + analyse (eager)
                    t1 = time.perf_counter()
                    query = frame._jdf.queryExecution()
                    query.executedPlan()  # optimise + physical plan (adaptive: the initial plan)
                    t2 = time.perf_counter()
                    emit(analysis_seconds=round(t1 - t0, 3), planning_seconds=round(t2 - t0, 3))
                    rows = frame.collect()
                    t3 = time.perf_counter()
                    emit(seconds=round(t3 - t0, 3), execution_seconds=round(t3 - t2, 3), rows=len(rows),
                         audience=audience_digest([r["id"] for r in rows]))
                    plan = query.executedPlan().toString()
                    scans = count_scans(plan, spec["tables"])
                    emit(population_scans=scans[spec["population_table"]], scans=scans,
                         final_plan="isFinalPlan=true" in plan, plan_chars=len(plan),
                         reused_exchanges=plan.count("ReusedExchange"), reused_subqueries=plan.count("ReusedSubquery"))
                    if len(rows) != AUDIENCE_SIZE:
                        status = f"{len(rows)} rows"
                else:
                    t0 = time.perf_counter()
                    result = model.execute(spark, Seed.table("seed"), AUDIENCE_SIZE)
                    seconds = time.perf_counter() - t0
                    audience = result.audience
                    emit(seconds=round(seconds, 3), rows=len(audience), steps={k: round(v, 3) for k, v in result.seconds.items()},
                         statements=len(result.statements), audience=audience_digest(audience["id"].tolist()),
                         selected=int(result.features["weight"].notna().sum()))
                    if len(audience) != AUDIENCE_SIZE:
                        status = f"{len(audience)} rows"
            except Exception as exc:  # the generated SQL failed on this engine: report it
                status = "failed"
                emit(error=error_head(exc))
            emit(**watcher.stop())
            emit(status=status, driver_peak_mb=java_peak_mb(os.getpid()), python_peak_mb=vm_hwm_mb(),
                 total_seconds=round(time.perf_counter() - started, 3))
        finally:
            spark.stop()


def run_hive_child(spec: dict) -> None:
    """Real Hive 2.3.9 in local MapReduce mode, in one JVM: load the tables, the floor,
    then the one statement."""
    import duckdb

    sys.path.insert(0, str(REPO / "tests"))
    from hive_cli import HiveCLI, HiveJob

    emit(code=code_fingerprint())
    model = model_for(spec)
    from lookalike_sql import Seed

    started = time.perf_counter()
    sql = model.sql(Seed.table("seed"), AUDIENCE_SIZE, dialect="hive")
    emit(render_seconds=round(time.perf_counter() - started, 3), sql_chars=len(sql), sql_md5=hashlib.md5(sql.encode()).hexdigest()[:12])
    frames = {name: duckdb.sql(f"SELECT * FROM read_parquet('{path}') ORDER BY id").df() for name, path in spec["tables"].items()}
    cli = HiveCLI(timeout=spec["timeout"])
    watcher = JavaPeakWatcher()
    try:
        floor, job = cli.load_tables(frames, then=[HiveJob.file(text=spec["floor_sql"] + ";\n"), HiveJob.file(text=sql + ";\n")],
                                     timeout=spec["timeout"])
    finally:
        peak = watcher.stop()
        cli.close()
    jvm = cli.history[-1] if cli.history else None
    emit(spark_version="Hive 2.3.9 (local MapReduce)", floor=round(floor.seconds, 3), floor_mr_jobs=floor.mr_jobs,
         floor_ok=floor.ok, seconds=round(job.seconds, 3), mr_jobs=job.mr_jobs, rows=len(job.rows),
         audience=audience_digest([int(r[0]) for r in job.rows]) if job.ok else None,
         jvm_seconds=round(jvm.seconds, 3) if jvm else None, jvm_startup_seconds=jvm.startup_seconds if jvm else None)
    status = "ok" if job.ok and len(job.rows) == AUDIENCE_SIZE else ("timeout" if jvm and jvm.timed_out else "failed")
    if not job.ok:
        failed = job.failed_lines or [ln for ln in job.console.splitlines() if ln.strip()][-8:]
        emit(error=f"exit code {job.exit_code}{': ' + job.note if job.note else ''}\n" + "\n".join(failed[:8]))
    elif len(job.rows) != AUDIENCE_SIZE:
        status = f"{len(job.rows)} rows"
    emit(status=status, driver_peak_mb=peak, python_peak_mb=vm_hwm_mb(), total_seconds=round(time.perf_counter() - started, 3))


def run_child(spec: dict) -> None:
    try:
        if spec["engine"] == "hive":
            run_hive_child(spec)
        else:
            run_spark_child(spec)
    except Exception as exc:
        emit(status="failed", error=error_head(exc), traceback=traceback.format_exc()[-3000:])
        sys.exit(1)


# ----------------------------------------------------------------------------- parent
def child_env(engine: dict) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_HOME", "PYSPARK_SUBMIT_ARGS", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    if engine.get("pythonpath"):
        env["PYTHONPATH"] = engine["pythonpath"] + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYSPARK_PYTHON"] = engine["python"]
    return env


def find_engines(which: str) -> tuple[list[dict], list[str]]:
    """The Spark engines asked for, each {name, python, pythonpath, version}; and why any is missing."""
    wanted = {"4": ["4"], "3.5": ["3.5"], "both": ["4", "3.5"]}[which]
    candidates = {
        "4": {"name": "Spark 4", "python": os.environ.get("LOOKALIKE_SPARK4_PYTHON") or sys.executable, "pythonpath": None},
        "3.5": {"name": "Spark 3.5", "python": sys.executable,
                "pythonpath": os.environ.get("LOOKALIKE_SPARK35_PATH") or str(REPO / ".venv" / "spark35")},
    }
    found, missing = [], []
    for key in wanted:
        engine = candidates[key]
        if engine["pythonpath"] and not Path(engine["pythonpath"], "pyspark").is_dir():
            missing.append(f"{engine['name']}: no pyspark in {engine['pythonpath']} (pip install --target {engine['pythonpath']} --no-deps pyspark==3.5.9, or set LOOKALIKE_SPARK35_PATH)")
            continue
        done = subprocess.run([engine["python"], "-c", "import pyspark; print(pyspark.__version__)"], capture_output=True, text=True,
                              env=child_env(engine), check=False)
        version = done.stdout.strip()
        if done.returncode != 0 or not version:
            missing.append(f"{engine['name']}: {engine['python']} cannot import pyspark: {done.stderr.strip()[-300:]}")
        elif not version.startswith("4." if key == "4" else "3.5."):
            hint = "set LOOKALIKE_SPARK4_PYTHON to a Python with pyspark 4" if key == "4" else "set LOOKALIKE_SPARK35_PATH"
            missing.append(f"{engine['name']}: {engine['python']}{' + ' + engine['pythonpath'] if engine['pythonpath'] else ''} has pyspark {version}: {hint}")
        else:
            found.append({**engine, "version": version})
    return found, missing


def measure(spec: dict, engine: dict, timeout: float) -> dict:
    """One run in a fresh process (own process group), killed after `timeout` seconds."""
    label = f"{engine['name']} {spec['layout']} {spec['customers']:,} x {spec['k']} {spec['kind']}"
    print(f"  {label} ...", file=sys.stderr, flush=True)
    result: dict = {"engine": engine["name"], "engine_version": engine.get("version"), "layout": spec["layout"],
                    "customers": spec["customers"], "k": spec["k"], "kind": spec["kind"]}
    with tempfile.TemporaryDirectory(prefix="spark-bench-run-") as tmp:
        out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        t0 = time.perf_counter()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen([engine["python"], str(Path(__file__).resolve()), "--one", json.dumps(spec)],
                                    stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=REPO, env=child_env(engine),
                                    start_new_session=True)
            timed_out, java_peak = False, None
            try:
                while True:
                    try:
                        proc.wait(timeout=2)
                        break
                    except subprocess.TimeoutExpired:
                        peak = java_peak_mb(proc.pid)  # kept in case the run must be killed
                        if peak is not None:
                            java_peak = max(java_peak or 0.0, peak)
                        if time.perf_counter() - t0 > timeout:
                            timed_out = True
                            kill_tree(proc)
                            break
            except BaseException:
                kill_tree(proc)
                raise
        result["wall_seconds"] = round(time.perf_counter() - t0, 3)
        for line in out_path.read_text(errors="replace").splitlines():
            if line.startswith(EVENT):
                result.update(json.loads(line[len(EVENT):]))
        stderr = err_path.read_text(errors="replace")
    if timed_out:
        result["status"] = f"timeout ({timeout:.0f} s)"
        if result.get("driver_peak_mb") is None:
            result["driver_peak_mb"] = java_peak
    elif "status" not in result:
        result["status"] = "failed"
        result["error"] = f"the run ended with exit code {proc.returncode} before reporting:\n" + stderr[-1500:]
    if result["status"] not in ("ok",) and stderr.strip():
        result["stderr_tail"] = stderr[-1500:]
    if result.get("seconds") and result.get("floor"):
        result["ratio"] = round(result["seconds"] / result["floor"], 2)
    if result.get("gc_seconds") is not None and result.get("gc_before_job") is not None:
        result["job_gc_seconds"] = round(result["gc_seconds"] - result["gc_before_job"], 3)
    note = f" {result['status']}" if result["status"] != "ok" else ""
    print(f"    {result.get('seconds', '-')} s, floor {result.get('floor', '-')} s{note}", file=sys.stderr, flush=True)
    if result.get("error"):
        print("    " + result["error"].replace("\n", "\n    ")[:1500], file=sys.stderr, flush=True)
    return result


def kill_tree(proc: subprocess.Popen) -> None:
    """Kill the run's process group, and any process below it that left the group (Hive's
    JVM runs in a session of its own)."""
    below = descendants(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in below:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()


# ----------------------------------------------------------------------------- report
def _num(value: Any, digits: int = 2) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}"
    return str(value)


def table(runs: list[dict]) -> str:
    lines = ["| engine | layout | customers | K | kind | seconds | floor | ratio | planning s | population scans | driver peak MB | job GC s | status |",
             "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in runs:
        status = r.get("status", "?")
        if r.get("mr_jobs") is not None:
            status += f"; {r['mr_jobs']} MapReduce jobs (floor {r.get('floor_mr_jobs')})"
        if r.get("error"):
            status += ": " + r["error"].splitlines()[0][:160].replace("|", "\\|")
        engine = f"{r['engine']} ({r['engine_version']})" if r.get("engine_version") else r["engine"]
        lines.append(
            f"| {engine} | {r['layout']} | {r['customers']:,} | {r['k']:,} | {r['kind']} | {_num(r.get('seconds'))} | {_num(r.get('floor'))} "
            f"| {_num(r.get('ratio'), 1)} | {_num(r.get('planning_seconds'))} | {_num(r.get('population_scans'), 0)} "
            f"| {_num(r.get('driver_peak_mb'), 0)} | {_num(r.get('job_gc_seconds'), 1)} | {status} |"
        )
    return "\n".join(lines)


def remarks(runs: list[dict]) -> list[str]:
    """Same audience from the statement and execute(), and from every engine; Spark 4 / 3.5."""
    out = []
    codes = sorted({r["code"] for r in runs if r.get("code")})
    if len(codes) > 1:
        out.append("- THE CODE CHANGED during the benchmark (someone edited lookalike_sql/, templates/ or dialects/): "
                   + "; ".join(f"{c}: " + ", ".join(f"{r['engine']} {r['layout']} {r['k']} {r['kind']}" for r in runs if r.get("code") == c)
                               for c in codes))
    groups: dict[tuple, dict[tuple, str]] = {}
    for r in runs:
        if r.get("audience"):
            groups.setdefault((r["layout"], r["customers"], r["k"]), {})[(r["engine"], r["kind"])] = r["audience"]
    for (layout, n, k), digests in groups.items():
        if len(set(digests.values())) > 1:
            out.append(f"- DIFFERENT audiences for {layout} {n:,} x {k}: " + ", ".join(f"{e} {kind} {d}" for (e, kind), d in digests.items()))
        elif len(digests) > 1:
            out.append(f"- {layout} {n:,} x {k}: the same 1,000 ids from " + ", ".join(f"{e} {kind}" for e, kind in digests))
    by = {(r["engine"], r["layout"], r["customers"], r["k"], r["kind"]): r for r in runs}
    for (engine, layout, n, k, kind), r in by.items():
        if engine != "Spark 4":
            continue
        other = by.get(("Spark 3.5", layout, n, k, kind))
        if other and r.get("seconds") and other.get("seconds") and r.get("status") == other.get("status") == "ok":
            out.append(f"- {layout} {n:,} x {k} {kind}: Spark 4 / Spark 3.5 = {r['seconds'] / other['seconds']:.2f} (job), "
                       f"{r['floor'] / other['floor']:.2f} (floor)")
    return out


def git_state() -> dict:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    return {"head": git("rev-parse", "--short", "HEAD"),
            "modified": git("status", "--porcelain", "--", "templates", "dialects", "lookalike_sql").splitlines()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20,000 customers and K up to 100, to try the script")
    parser.add_argument("--spark", choices=("4", "3.5", "both"), default="both", help="which Spark (default both)")
    parser.add_argument("--only", default="wide,long,hive", help="comma list of wide, long, hive (default all)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run before it is killed (default 600)")
    parser.add_argument("--ks", help="comma list of wide feature counts instead of 20,50,100,200,800 (--quick: 20,50,100)")
    parser.add_argument("--kinds", default="statement,execute", help="comma list of statement, execute (default both)")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting for every run (repeatable)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_child(json.loads(args.one))
        return

    only = {part.strip() for part in args.only.split(",") if part.strip()}
    if only - {"wide", "long", "hive"}:
        parser.error(f"--only: unknown {', '.join(sorted(only - {'wide', 'long', 'hive'}))} (use wide, long, hive)")
    conf = {}
    for item in args.conf:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--conf {item!r}: give KEY=VALUE")
        conf[key.strip()] = value.strip()
    sizes = dict(QUICK if args.quick else FULL)
    if args.ks:
        sizes["ks"] = tuple(int(k) for k in args.ks.split(","))
    kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    if not kinds or set(kinds) - {"statement", "execute"}:
        parser.error("--kinds: statement, execute or both")
    engines, missing = find_engines(args.spark) if only & {"wide", "long"} else ([], [])
    for why in missing:
        print(f"skipped: {why}", file=sys.stderr)
    for engine in engines:
        print(f"{engine['name']}: pyspark {engine['version']} ({engine['python']}{', PYTHONPATH ' + engine['pythonpath'] if engine['pythonpath'] else ''})",
              file=sys.stderr)

    print(f"generating data in {DATA} (kept for reruns) ...", file=sys.stderr, flush=True)
    datasets = []
    if "wide" in only:
        datasets += [dataset("wide", sizes["customers"], k) for k in sizes["ks"]]
    if "long" in only:
        datasets.append(dataset("long", sizes["customers"], None))
    hive_data = dataset("wide", sizes["hive_customers"], sizes["hive_k"]) if "hive" in only else None

    started = datetime.datetime.now(datetime.timezone.utc)
    git_at_start = git_state()
    runs = []
    for data in datasets:
        for engine in engines:
            for kind in kinds:
                spec = {**data, "engine": "spark", "kind": kind, "conf": conf}
                runs.append(measure(spec, engine, args.timeout))
    if hive_data is not None:
        spec = {**hive_data, "engine": "hive", "kind": "statement", "timeout": args.timeout}
        runs.append(measure(spec, {"name": "Hive 2.3.9", "python": sys.executable, "pythonpath": None, "version": None}, args.timeout + 60))

    if not runs:
        raise SystemExit("nothing ran: " + ("; ".join(missing) if missing else "no layout selected"))
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
               f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB; Python {platform.python_version()}")
    print()
    print(f"Machine: {machine}; " + "; ".join(f"{e['name']} = pyspark {e['version']}" for e in engines))
    print(f"local[2], spark.driver.memory=2g, audience {AUDIENCE_SIZE:,}, seed every {SEED_EVERY}th customer (5%)"
          + (f", --conf {conf}" if conf else ""))
    print()
    print(table(runs))
    notes = remarks(runs)
    if missing:
        notes = [f"- skipped {why}" for why in missing] + notes
    if notes:
        print()
        print("\n".join(notes))
    failures = [r for r in runs if r.get("error")]
    for r in failures:
        print(f"\n{r['engine']} {r['layout']} {r['customers']:,} x {r['k']} {r['kind']}: {r['status']}\n    "
              + r["error"].replace("\n", "\n    "))

    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"spark_{started:%Y-%m-%d}{'_quick' if args.quick else ''}.json"
    if path.exists():  # never overwrite an earlier run of the day
        path = path.with_name(f"{path.stem}_{started:%H%M%S}.json")
    path.write_text(json.dumps({
        "started": started.isoformat(timespec="seconds"), "machine": machine, "git_at_start": git_at_start, "git_at_end": git_state(),
        "args": {"quick": args.quick, "spark": args.spark, "only": sorted(only), "ks": args.ks, "kinds": kinds,
                 "timeout": args.timeout, "conf": conf},
        "sizes": {**sizes, "seed_share": 1 / SEED_EVERY, "audience": AUDIENCE_SIZE},
        "engines": engines, "skipped": missing, "runs": runs, "table": table(runs), "remarks": notes,
    }, indent=2, default=str) + "\n")
    print(f"\nwritten: {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
