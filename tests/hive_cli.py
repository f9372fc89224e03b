"""Run SQL on REAL Apache Hive 2.3.9 (its CLI), offline, for the tests.

Spark SQL stands in for Hive in most of the suite (``engines.start_spark``),
but Spark accepts things Hive refuses (Hive 2.x's default strict checks, for
one). This module runs the real Hive compiler and runtime instead:

* the jars of Apache Hive 2.3.9 that the pyspark 3.5 wheel ships
  (hive-cli, hive-exec-2.3.9-core, hive-metastore, hive-serde, hive-shims,
  Derby, DataNucleus, the Hadoop 3.3.4 client), no Hive installation;
* ``org.apache.hadoop.hive.cli.CliDriver`` -- the ``hive`` command -- with an
  embedded Derby metastore and MapReduce in local mode, all in one JVM;
* Java 17 with ``--add-opens`` flags (:data:`ADD_OPENS`), and a two-class
  stand-in for hive-llap-client's ``LlapProxy``/``LlapIo`` (absent from
  pyspark's jars; MapReduce execution fails with "return code -101 from
  MapRedTask" without it), compiled once with ``javac --release 8`` into a
  cached "extras" jar together with this module's batch runner.

Like ``engines.py`` this module has no pytest imports and does not import the
``lookalike_sql`` package; the ``hive_cli`` fixture lives in ``conftest.py``.

Finding things (:func:`find_hive_jars`, :func:`find_java_tools`): pyspark's
``jars`` dir from ``$LOOKALIKE_HIVE_JARS``, else ``<repo>/.venv/spark35/pyspark/jars``
(where ``.ci/run`` installs pyspark 3.5.9 with ``pip install --target``), else
the importable pyspark if its jars dir holds ``hive-exec-2.3.9-core.jar``;
java and javac from ``$JAVA_HOME/bin``, else ``PATH``. Anything missing raises
``engines.EngineUnavailable`` naming it.

Configuration (``<home>/conf/hive-site.xml``): ONLY what this jar set needs --
the Derby metastore under the home (schema verification off, autoCreateAll),
warehouse and scratch dirs on ``file://`` under the home, execution engine
``mr``, ``mapreduce.framework.name=local``, ``hive.exec.mode.local.auto=true``,
and three settings forced by the missing jars: ``hive.cbo.enable=false`` (no
Calcite: Hive 2.3's legacy, non-CBO planner), ``hive.async.log.enabled=false``
(no LMAX disruptor), ``hive.exec.submit.local.task.via.child=false`` (else
map joins fork ``$HADOOP_HOME/bin/hadoop``). Everything else is Hive's
default: ``hive.strict.checks.cartesian.product`` stays true (a CROSS JOIN is
refused), ``hive.cli.errors.ignore`` stays false. :meth:`HiveCLI.run_batch`
refuses ``hiveconf`` overrides of those two families (a test that wants to
relax them must say so in SQL, visibly). The JVM runs with ``TZ=UTC`` and a
UTF-8 locale (``LC_ALL=C.UTF-8``: Java 17 reads ``-f`` files and ``-e``
arguments in the locale's charset), with ``HIVE_*``/``HADOOP_*`` variables
removed and ``user.home`` set inside the home (so no ``~/.hiverc`` runs).

Three ways to run SQL (every JVM holds a file lock on its home: embedded Derby
admits one JVM at a time; a second JVM would retry ~50 s, then fail with
"Unable to instantiate ...SessionHiveMetaStoreClient"):

* :meth:`HiveCLI.run_batch` -- MANY jobs in ONE JVM, through this module's
  Java runner (:data:`BATCH_RUNNER_JAVA`), which starts a ``CliSessionState``
  exactly as ``CliDriver.run`` does, then for each job
  - ``HiveJob.statement(sql)``: ``CliDriver.processCmd(sql)``, the text whole
    (no split on ';' -- so a ';' or an apostrophe in a ``--`` comment is
    harmless; a trailing ';' is NOT stripped and is a ParseException, as in Hive);
  - ``HiveJob.script(text)``: ``CliDriver.processLine(text)``, which is what
    ``hive -e text`` does (split on ';' outside quotes; the splitter does not
    know comments, so an apostrophe in a ``--`` comment opens a "quote");
  - ``HiveJob.file(text=... | path=...)``: ``CliDriver.processFile``, what
    ``hive -f`` does (drops lines starting with ``--`` in column 0, then
    processLine).
  A failing job does not stop the batch (``hive.cli.errors.ignore`` is NOT
  set: within a script job, a failure still ends that script, as in Hive).
  Each job is framed by marker lines (with a per-batch random tag) on BOTH
  stdout and stderr, so each :class:`HiveResult` gets its own rows (stdout,
  tab-separated, ``NULL`` -> None), console text (stderr: "FAILED: ...",
  "Launching Job 1 out of 1", "OK", "Time taken", anything tasks print),
  exit code, MapReduce job count and seconds.
* :meth:`HiveCLI.load_tables` -- pandas frames as Hive tables, in one JVM.
* :meth:`HiveCLI.run_e` / :meth:`HiveCLI.run_f` / :meth:`HiveCLI.run_cli` --
  the genuine, unmodified ``CliDriver.main`` (``hive -e``/``hive -f``), one
  JVM per call: a console user's exact experience.

Loading frames (:meth:`HiveCLI.load_tables`): per table ``DROP TABLE IF
EXISTS``, ``CREATE TABLE`` (BIGINT / DOUBLE / BOOLEAN / TIMESTAMP / STRING from
the dtype, as ``engines`` does), and ``LOAD DATA LOCAL INPATH ... OVERWRITE``
of a tab-delimited text file written here: NULL (None, NaN, NA, NaT) as
``\\N``, strings escaped with ``ESCAPED BY '\\\\'`` (backslash, tab, newline
and CR), doubles in shortest round-trip form (+-inf as Java's ``Infinity``).
LOAD DATA only copies the file: no MapReduce job.

Names Hive 2.3.9 accepts (measured with this harness; quote every name with
backticks, a backtick doubled -- :func:`quote_identifier`; :func:`check_names`
refuses the rest before a JVM is spent):

* Table and database names: only ``[A-Za-z0-9_]`` (a leading digit is fine),
  backticks or not: the metastore's ``validateName`` refuses a space, a quote,
  a backtick, a hyphen, ``$``, ';', a non-ASCII letter ("[naïve]: is not a
  valid table name", "odd db is not a valid database name"). A dot inside
  backticks STILL separates database and table (a backticked ``a.b`` is table
  b of database a). Hive lower-cases them (``Mixed_Case`` is ``mixed_case``).
  ``load_tables`` takes ``'db.table'`` or a tuple of parts.
* Column names: anything within backticks -- spaces, quotes, backticks, tabs,
  ``--``, ';', ',', ``$``, non-ASCII letters -- except an empty name
  ("StringIndexOutOfBoundsException") and a '.' or ':' ("ParseException ...
  [., :] can not be used in column name in create table statement"). Stored
  LOWER-CASED (``Upper Case`` comes back as ``upper case``), so two names
  equal but for case clash. ``${name}`` in any statement is Hive variable
  substitution (hive.variable.substitute): replaced when the variable is
  defined, left as it is when not.
* The CLI's own framing: a value holding a tab or a newline cannot be told
  apart in ``rows`` (the CLI prints values raw), and the STRING ``'NULL'``
  reads back as None, as from the real CLI (``'\\N'`` reads back as itself).
  Query ``length(s)``, ``s IS NULL`` or ``base64(CAST(s AS BINARY))`` when a
  test needs certainty.

Exit codes: a batch job's ``exit_code`` is Hive's own (0; 10001 "Table not
found"; 40000 a ParseException or a refused plan; 1, 2 execution errors...). The
genuine CLI returns Hive's code through ``System.exit``, so the process status
keeps only its low byte: 40000 becomes 64.

Cost, measured on a 2-core machine with the default -Xmx2g (replace the JVM
flags with ``$LOOKALIKE_HIVE_JAVA_OPTS`` or ``java_opts=``):

* JVM start to the first job: 2-3.5 s; the FIRST statement of every JVM then
  takes 5-9 s more (metastore connection through DataNucleus, function
  registry; about the same on a fresh home, where Derby's schema is created):
  a JVM that runs ``SELECT 1`` costs 9-11 s wall clock, 260 MB resident.
* Later statements: DDL and LOAD DATA 0.04-0.1 s; a SELECT that Hive answers
  with a fetch task (no aggregate, join or ORDER BY) 0.1 s; each local
  MapReduce job 1.4-1.7 s (the first of a JVM ~3.5 s); 320 MB resident after
  ten GROUP BYs. Hence: batch many statements per JVM.
* ``timeout`` (default 900 s per JVM) kills the JVM's process group; the jobs
  it had finished keep their results. :attr:`HiveCLI.history` holds the
  timings of every JVM run (conftest prints a summary).
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import itertools
import math
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping, Sequence
from xml.sax.saxutils import escape as xml_escape

import numpy as np
import pandas as pd

import engines  # tests/ is on sys.path (conftest.py puts it there)
from engines import EngineUnavailable

REPO = Path(__file__).resolve().parent.parent
HIVE_EXEC_JAR = "hive-exec-2.3.9-core.jar"
JARS_ENV = "LOOKALIKE_HIVE_JARS"
JAVA_OPTS_ENV = "LOOKALIKE_HIVE_JAVA_OPTS"
CACHE_ENV = "LOOKALIKE_HIVE_CACHE"
DEFAULT_JAVA_OPTS = ("-Xmx2g",)
DEFAULT_TIMEOUT = 900.0  # seconds per JVM

CLI_MAIN = "org.apache.hadoop.hive.cli.CliDriver"
BATCH_MAIN = "lookalikehive.BatchRunner"

# Java 17: Hive 2.3, Hadoop and Kryo reflect into the JDK. java.net is the one
# a plain SELECT needs: without it the first compile fails silently and then
# hangs in Hive.registerAllFunctionsOnce. The rest serve MapReduce and Kryo.
ADD_OPENS = tuple(
    f"--add-opens={p}=ALL-UNNAMED"
    for p in (
        "java.base/java.lang", "java.base/java.lang.invoke", "java.base/java.lang.reflect",
        "java.base/java.io", "java.base/java.net", "java.base/java.nio", "java.base/java.util",
        "java.base/java.util.concurrent", "java.base/java.util.concurrent.atomic",
        "java.base/sun.nio.ch", "java.base/sun.nio.cs", "java.base/sun.security.action",
        "java.base/sun.util.calendar", "java.sql/java.sql",
    )
)

# Settings a batch must not override (see the module docstring): Hive's strict
# checks and the CLI's error handling are part of what the tests check.
_PROTECTED_SETTINGS = re.compile(r"^(hive\.strict\.checks\.|hive\.mapred\.mode$|hive\.cli\.errors\.ignore$)")

# "Launching Job 2 out of 5": one line per MapReduce job (HadoopJobExecHelper).
_LAUNCHING_JOB = re.compile(r"^Launching Job \d+ out of \d+", re.MULTILINE)

# Exit code the batch runner gives a job whose Java exception escaped CliDriver
# (Hive's own codes are small non-negative numbers or -101 and the like).
JAVA_EXCEPTION_EXIT = -1000


# --------------------------------------------------------------------------
# Java sources (compiled once into the cached extras jar)
# --------------------------------------------------------------------------

LLAP_PROXY_JAVA = """\
package org.apache.hadoop.hive.llap.io.api;

/** Stand-in for hive-llap-client's LlapProxy (absent from pyspark's jars):
 *  never an LLAP daemon, no LLAP IO. MapReduce execution only asks these. */
public class LlapProxy {
  public static void setDaemon(boolean isDaemon) { }
  public static boolean isDaemon() { return false; }
  public static LlapIo<?> getIo() { return null; }
  public static void initializeLlapIo(org.apache.hadoop.conf.Configuration conf) { }
  public static void close() { }
}
"""

LLAP_IO_JAVA = """\
package org.apache.hadoop.hive.llap.io.api;

public interface LlapIo<T> {
  org.apache.hadoop.mapred.InputFormat<org.apache.hadoop.io.NullWritable, T> getInputFormat(
      org.apache.hadoop.mapred.InputFormat sourceInputFormat,
      org.apache.hadoop.hive.serde2.Deserializer serde);
  void close();
  String getMemoryInfo();
}
"""

BATCH_RUNNER_JAVA = """\
package lookalikehive;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.apache.hadoop.hive.cli.CliDriver;
import org.apache.hadoop.hive.cli.CliSessionState;
import org.apache.hadoop.hive.cli.OptionsProcessor;
import org.apache.hadoop.hive.common.LogUtils;
import org.apache.hadoop.hive.common.io.CachingPrintStream;
import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.ql.processors.CommandProcessorFactory;
import org.apache.hadoop.hive.ql.session.SessionState;

/**
 * The Hive 2.3.9 CLI running a list of jobs in one JVM.
 *
 *   BatchRunner MANIFEST TAG [hive CLI options: --hiveconf k=v, -S, -v, -i f, ...]
 *
 * MANIFEST (UTF-8) has one line per job, "KIND<TAB>PATH":
 *   statement  the file's text goes whole to CliDriver.processCmd (no ';' split)
 *   script     the file's text goes to CliDriver.processLine, as "hive -e" does
 *   file       CliDriver.processFile(PATH), as "hive -f" does
 * A failing job does not stop the batch. Around job I, on stdout AND stderr:
 *   "\\n@@lookalike-hive TAG BEGIN I <JVM uptime ms>\\n" ... "\\n@@lookalike-hive TAG END I <exit code> <ms>\\n"
 * Exit code 0 when every job ran (whatever their codes).
 */
public final class BatchRunner {
  static final int JAVA_EXCEPTION = -1000;

  public static void main(String[] argv) throws Exception {
    if (argv.length < 2) {
      System.err.println("usage: BatchRunner MANIFEST TAG [hive CLI options]");
      System.exit(64);
    }
    String manifest = argv[0];
    String tag = "@@lookalike-hive " + argv[1];
    String[] args = Arrays.copyOfRange(argv, 2, argv.length);

    // From here to SessionState.start: what CliDriver.run does in Hive 2.3.9.
    OptionsProcessor oproc = new OptionsProcessor();
    if (!oproc.process_stage1(args)) {
      System.exit(1);
    }
    boolean logInitFailed = false;
    String logInitDetailMessage;
    try {
      logInitDetailMessage = LogUtils.initHiveLog4j();
    } catch (LogUtils.LogInitializationException e) {
      logInitFailed = true;
      logInitDetailMessage = e.getMessage();
    }
    CliSessionState ss = new CliSessionState(new HiveConf(SessionState.class));
    ss.in = System.in;
    ss.out = new PrintStream(System.out, true, "UTF-8");
    ss.info = new PrintStream(System.err, true, "UTF-8");
    ss.err = new CachingPrintStream(System.err, true, "UTF-8");
    if (!oproc.process_stage2(ss)) {
      System.exit(2);
    }
    if (!ss.getIsSilent()) {
      if (logInitFailed) {
        System.err.println(logInitDetailMessage);
      } else {
        SessionState.getConsole().printInfo(logInitDetailMessage);
      }
    }
    HiveConf conf = ss.getConf();
    for (Map.Entry<Object, Object> item : ss.cmdProperties.entrySet()) {
      conf.set((String) item.getKey(), (String) item.getValue());
      ss.getOverriddenConfigurations().put((String) item.getKey(), (String) item.getValue());
    }
    SessionState.start(ss);
    ss.updateThreadName();

    // CliDriver.executeDriver, with the jobs in place of -e/-f.
    try {
      CliDriver cli = new CliDriver();
      cli.setHiveVariables(oproc.getHiveVariables());
      cli.processSelectDatabase(ss);
      cli.processInitFiles(ss);
      List<String> entries = Files.readAllLines(Paths.get(manifest), StandardCharsets.UTF_8);
      int index = 0;
      for (String entry : entries) {
        if (entry.isEmpty()) {
          continue;
        }
        int tab = entry.indexOf('\\t');
        String kind = entry.substring(0, tab);
        String path = entry.substring(tab + 1);
        marker(ss, tag + " BEGIN " + index + " " + ManagementFactory.getRuntimeMXBean().getUptime());
        long t0 = System.nanoTime();
        int rc;
        try {
          if (kind.equals("statement")) {
            rc = cli.processCmd(read(path));
            // processLine does this after every line (it drops cached Drivers).
            CommandProcessorFactory.clean(conf);
          } else if (kind.equals("script")) {
            rc = cli.processLine(read(path));
          } else if (kind.equals("file")) {
            rc = cli.processFile(path);
          } else {
            throw new IllegalArgumentException("unknown job kind: " + kind);
          }
        } catch (Throwable t) {
          ss.err.println("lookalike-hive batch runner: uncaught " + t);
          t.printStackTrace(ss.err);
          rc = JAVA_EXCEPTION;
        }
        long ms = (System.nanoTime() - t0) / 1000000L;
        marker(ss, tag + " END " + index + " " + rc + " " + ms);
        index++;
      }
    } finally {
      ss.resetThreadName();
      ss.close();
    }
    System.exit(0);
  }

  private static String read(String path) throws java.io.IOException {
    return new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.UTF_8);
  }

  /** The marker on its own line on stdout and on stderr, after all that came before. */
  private static void marker(CliSessionState ss, String text) {
    ss.out.flush();
    ss.info.flush();
    ss.err.flush();
    System.out.print("\\n" + text + "\\n");
    System.out.flush();
    System.err.print("\\n" + text + "\\n");
    System.err.flush();
  }
}
"""

_JAVA_SOURCES = {
    "org/apache/hadoop/hive/llap/io/api/LlapProxy.java": LLAP_PROXY_JAVA,
    "org/apache/hadoop/hive/llap/io/api/LlapIo.java": LLAP_IO_JAVA,
    "lookalikehive/BatchRunner.java": BATCH_RUNNER_JAVA,
}


# --------------------------------------------------------------------------
# Finding jars and Java
# --------------------------------------------------------------------------


def _pyspark_jars_dir() -> Path | None:
    """The importable pyspark's jars dir, without importing pyspark (its
    import is slow and may be a different pyspark than the Hive one)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("pyspark")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "jars"


def find_hive_jars() -> Path:
    """pyspark's ``jars`` dir holding Hive 2.3.9: ``$LOOKALIKE_HIVE_JARS``, else
    ``<repo>/.venv/spark35/pyspark/jars``, else the importable pyspark's."""
    tried: list[str] = []
    env = os.environ.get(JARS_ENV)
    if env:
        d = Path(env)
        if (d / HIVE_EXEC_JAR).is_file():
            return d.resolve()
        # An explicit setting that is wrong is an error, not a reason to look elsewhere.
        raise EngineUnavailable(f"${JARS_ENV}={env} has no {HIVE_EXEC_JAR}")
    candidates = [REPO / ".venv" / "spark35" / "pyspark" / "jars"]
    importable = _pyspark_jars_dir()
    if importable is not None:
        candidates.append(importable)
    for d in candidates:
        if (d / HIVE_EXEC_JAR).is_file():
            return d.resolve()
        tried.append(str(d))
    raise EngineUnavailable(
        f"Hive 2.3.9 jars not found (no {HIVE_EXEC_JAR} in: {', '.join(tried)}): set ${JARS_ENV} to "
        "a pyspark 3.5 jars dir, or run: pip install --target .venv/spark35 --no-deps pyspark==3.5.9"
    )


def _java_major(java: str) -> int | None:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major  # "1.8.0_x" is Java 8


def find_java_tools() -> tuple[str, str]:
    """(java, javac), Java 17 or later: ``$JAVA_HOME/bin`` first, then PATH."""
    found: dict[str, str | None] = {}
    for tool in ("java", "javac"):
        path = None
        java_home = os.environ.get("JAVA_HOME")
        if java_home and os.access(os.path.join(java_home, "bin", tool), os.X_OK):
            path = os.path.join(java_home, "bin", tool)
        found[tool] = path or shutil.which(tool)
    missing = [t for t, p in found.items() if p is None]
    if missing:
        raise EngineUnavailable(
            f"{' and '.join(missing)} not found (JAVA_HOME unset or without them, not on PATH): "
            "real Hive needs a JDK 17, e.g. Debian's openjdk-17-jdk-headless"
        )
    major = _java_major(found["java"])  # type: ignore[arg-type]
    if major is None or major < 17:
        raise EngineUnavailable(f"{found['java']} is not Java 17 or later (version {major}): real Hive needs a JDK 17")
    return found["java"], found["javac"]  # type: ignore[return-value]


def _cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lookalike-sql"


def build_extras_jar(jars: Path, javac: str, cache_dir: Path | None = None) -> Path:
    """The LlapProxy/LlapIo stand-in and the batch runner, compiled once with
    ``javac --release 8`` into ``<cache>/hive-extras-<hash>.jar`` (hash of the
    sources, the javac version and the Hive jar). Reused while they match."""
    cache = Path(cache_dir) if cache_dir else _cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        probe = cache / ".write-test"
        probe.touch()
        probe.unlink()
    except OSError:  # a read-only home: a per-user temp dir
        cache = Path(tempfile.gettempdir()) / f"lookalike-sql-cache-{os.getuid()}"
        cache.mkdir(parents=True, exist_ok=True)
    javac_version = subprocess.run([javac, "-version"], capture_output=True, text=True, timeout=60)
    exec_jar = jars / HIVE_EXEC_JAR
    h = hashlib.sha256()
    for name, src in sorted(_JAVA_SOURCES.items()):
        h.update(name.encode() + b"\0" + src.encode() + b"\0")
    h.update((javac_version.stdout + javac_version.stderr).encode())
    h.update(f"{exec_jar.name}:{exec_jar.stat().st_size}".encode())
    jar = cache / f"hive-extras-{h.hexdigest()[:16]}.jar"
    if jar.is_file():
        return jar
    with open(cache / ".hive-extras.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a parallel session may be compiling it
        if jar.is_file():
            return jar
        with tempfile.TemporaryDirectory(prefix="hive-extras-", dir=cache) as tmp:
            src_dir, cls_dir = Path(tmp) / "src", Path(tmp) / "classes"
            files = []
            for name, src in _JAVA_SOURCES.items():
                p = src_dir / name
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(src, encoding="utf-8")
                files.append(str(p))
            cls_dir.mkdir()
            r = subprocess.run(
                [javac, "--release", "8", "-nowarn", "-Xlint:none", "-encoding", "UTF-8",
                 "-cp", f"{jars}/*", "-d", str(cls_dir), *files],
                capture_output=True, text=True, timeout=300,
            )
            if r.returncode != 0:
                raise HiveCLIError(f"javac failed ({r.returncode}) on the Hive extras:\n{r.stdout}\n{r.stderr}")
            # A jar is a zip; no manifest needed on a classpath.
            tmp_jar = Path(tmp) / "extras.jar"
            with zipfile.ZipFile(tmp_jar, "w", zipfile.ZIP_DEFLATED) as z:
                for f in sorted(cls_dir.rglob("*.class")):
                    z.write(f, f.relative_to(cls_dir).as_posix())
            os.replace(tmp_jar, jar)
    return jar


# --------------------------------------------------------------------------
# Jobs and results
# --------------------------------------------------------------------------


class HiveCLIError(RuntimeError):
    """The harness itself failed (a JVM that could not start, a failed load),
    or :meth:`HiveResult.check` on a failed job."""


JobKind = Literal["statement", "script", "file"]


@dataclass(frozen=True)
class HiveJob:
    """One unit of a batch; build it with :meth:`statement`, :meth:`script` or :meth:`file`."""

    kind: JobKind
    text: str | None = None  # the SQL (for "file": written to a temp file when path is None)
    path: str | None = None  # "file" only: an existing file to process as hive -f does

    @classmethod
    def statement(cls, sql: str) -> HiveJob:
        """One statement, passed whole to ``CliDriver.processCmd`` (never split on ';')."""
        return cls("statement", sql)

    @classmethod
    def script(cls, text: str) -> HiveJob:
        """A script as ``hive -e text`` runs it (``processLine``: split on ';')."""
        return cls("script", text)

    @classmethod
    def file(cls, text: str | None = None, *, path: str | os.PathLike | None = None) -> HiveJob:
        """A file as ``hive -f`` runs it (``processFile``: drops lines starting
        with ``--``, then splits on ';'). Give its text, or the path of a file."""
        if (text is None) == (path is None):
            raise ValueError("HiveJob.file: give exactly one of text= or path=")
        return cls("file", text, None if path is None else str(Path(path).resolve()))


def _as_job(job: HiveJob | str) -> HiveJob:
    return job if isinstance(job, HiveJob) else HiveJob.statement(job)


def parse_rows(stdout: str) -> list[list[str | None]]:
    """The CLI's result lines: one row a line, columns tab-separated, ``NULL`` -> None."""
    if not stdout:
        return []
    body = stdout[:-1] if stdout.endswith("\n") else stdout
    return [[None if v == "NULL" else v for v in line.split("\t")] for line in body.split("\n")]


def count_mr_jobs(console: str) -> int:
    """MapReduce jobs launched: the "Launching Job N out of M" lines."""
    return len(_LAUNCHING_JOB.findall(console))


@dataclass
class HiveResult:
    """What one job (or one genuine CLI run) did."""

    job: HiveJob
    # Hive's code, 0 = ok (genuine CLI: the process status, Hive's code & 0xFF);
    # None: the job did not finish (JVM died, timeout, not reached).
    exit_code: int | None
    stdout: str  # exactly what the job printed on stdout (its result rows)
    console: str  # what it printed on stderr: "OK", "FAILED: ...", "Launching Job ...", ...
    seconds: float  # the job's time inside the JVM (genuine CLI: the whole JVM, start-up included)
    note: str = ""  # the harness's word when exit_code is None
    via: str = "batch"  # "batch" (BatchRunner) or "CliDriver.main" (the genuine CLI)
    rows: list[list[str | None]] = field(init=False)
    mr_jobs: int = field(init=False)  # number of MapReduce jobs launched

    def __post_init__(self) -> None:
        self.rows = parse_rows(self.stdout)
        self.mr_jobs = count_mr_jobs(self.console)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def failed_lines(self) -> list[str]:
        """Hive's "FAILED: ..." lines."""
        return [ln for ln in self.console.splitlines() if ln.startswith("FAILED:")]

    def check(self) -> HiveResult:
        """self if the job succeeded, else HiveCLIError with its console text."""
        if not self.ok:
            what = self.job.text if self.job.text is not None else self.job.path
            raise HiveCLIError(
                f"Hive {self.job.kind} failed (exit code {self.exit_code}){': ' + self.note if self.note else ''}\n"
                f"--- SQL ---\n{(what or '')[:2000]}\n--- console ---\n{self.console[-6000:]}"
            )
        return self


@dataclass
class JvmRun:
    """Timing of one JVM (see HiveCLI.history)."""

    main: str  # BATCH_MAIN or CLI_MAIN
    jobs: int
    exit_code: int | None  # the JVM's; None when killed on timeout
    seconds: float  # wall clock, lock wait excluded
    startup_seconds: float | None  # JVM start to the first job (batch runs only)
    lock_wait_seconds: float
    timed_out: bool = False


# --------------------------------------------------------------------------
# Identifiers and loading
# --------------------------------------------------------------------------


def quote_identifier(name: str) -> str:
    """Backtick-quote one Hive identifier (a backtick inside is doubled)."""
    return "`" + str(name).replace("`", "``") + "`"


def quote_table(name: str | tuple[str, ...]) -> str:
    """'db.table' (split on dots) or a tuple of parts, each backtick-quoted."""
    return ".".join(quote_identifier(p) for p in engines._name_parts(name))


def hive_string_literal(text: str) -> str:
    """A single-quoted Hive string literal (backslash escapes, as Hive reads them)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


_HIVE_TYPES = {"int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN", "timestamp": "TIMESTAMP", "string": "STRING"}

# ESCAPED BY '\\': LazySimpleSerDe reads "\\" as a backslash, "\<tab>" as a tab
# (not a field break), and "\n" / "\r" as newline / CR (unescaped whenever an
# escape char is set). A raw newline would end the row.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"  # LazySimpleSerDe's default serialization.null.format


def _double_text(v: float) -> str:
    """repr() is the shortest round-trip form, which Java's Double.parseDouble
    reads back to the same double; Java spells infinity "Infinity". NaN is NULL.
    (LazySimpleSerDe reads what it cannot parse as NULL, silently.)"""
    if math.isnan(v):
        return _NULL
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(v)


def _text_column(s: pd.Series, kind: str) -> list[str]:
    """One column as the text LazySimpleSerDe parses back to the same value."""
    mask = s.isna().to_numpy()
    if kind == "int":
        vals = [str(v) for v in s.to_numpy(dtype="int64", na_value=0).tolist()]
    elif kind == "float":
        vals = [_double_text(v) for v in s.to_numpy(dtype="float64", na_value=np.nan).tolist()]
    elif kind == "bool":
        vals = ["true" if v else "false" for v in s.to_numpy(dtype=bool, na_value=False).tolist()]
    elif kind == "timestamp":
        t = s if getattr(s.dt, "tz", None) is None else s.dt.tz_convert("UTC").dt.tz_localize(None)
        vals = [_NULL if m else str(v) for v, m in zip(t, mask)]  # 'YYYY-MM-DD HH:MM:SS[.fffffffff]'
    else:
        vals = [_NULL if m else str(v).translate(_ESCAPES) for v, m in zip(s.astype(object), mask)]
    return [_NULL if m else v for v, m in zip(vals, mask)]


def write_hive_text(df: pd.DataFrame, path: Path) -> dict[str, str]:
    """Write ``df`` as a Hive text file (tab-delimited, ``\\N`` = NULL, escaped);
    return {column: Hive type}."""
    kinds = {str(c): engines._kind(df[c]) for c in df.columns}
    columns = [_text_column(df[c], k) for c, k in zip(df.columns, kinds.values())]
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for row in zip(*columns):
            fh.write("\t".join(row))
            fh.write("\n")
    return {c: _HIVE_TYPES[k] for c, k in kinds.items()}


_TABLE_NAME_PART = re.compile(r"[A-Za-z0-9_]+")


def check_names(table: str | tuple[str, ...], columns: Sequence[object]) -> None:
    """ValueError for names Hive 2.3.9 refuses (see the module docstring),
    before a JVM is spent on them."""
    for part in engines._name_parts(table):
        if not _TABLE_NAME_PART.fullmatch(part):
            raise ValueError(f"table name {table!r}: Hive 2.3.9 accepts only [A-Za-z0-9_] in "
                             "table and database names ('db.table' or a tuple of parts)")
    if not columns:
        raise ValueError(f"table {table!r}: a Hive table needs at least one column")
    seen: dict[str, str] = {}
    for c in map(str, columns):
        if c == "" or "." in c or ":" in c:
            raise ValueError(f"column name {c!r} in {table!r}: Hive 2.3.9 refuses empty names and '.', ':' in them")
        if c.lower() in seen:
            raise ValueError(f"columns {seen[c.lower()]!r} and {c!r} in {table!r}: Hive lower-cases column names")
        seen[c.lower()] = c


_data_file_numbers = itertools.count(1)  # unique data file names within this process


def table_jobs(frames: Mapping[str | tuple[str, ...], pd.DataFrame], data_dir: Path) -> list[HiveJob]:
    """The statements that create or replace each table and load its frame,
    the data written now as text files into ``data_dir`` (which must outlive
    the batch that runs the jobs). Compose them into any batch, e.g. to
    reload a table between queries of one JVM.

    Per table: ``DROP TABLE IF EXISTS``, ``CREATE TABLE`` (integers, incl.
    nullable Int64, BIGINT; floats DOUBLE; bool BOOLEAN; datetimes TIMESTAMP
    in UTC; the rest STRING), ``LOAD DATA LOCAL INPATH ... OVERWRITE`` (no
    MapReduce job). NaN/None/NA/NaT -> NULL. Names are backtick-quoted as they
    are; :func:`check_names` refuses what Hive would."""
    jobs: list[HiveJob] = []
    for name, df in frames.items():
        check_names(name, list(df.columns))
        data = Path(data_dir) / f"table-{os.getpid()}-{next(_data_file_numbers):06d}.txt"
        types = write_hive_text(df, data)
        table = quote_table(name)
        cols = ", ".join(f"{quote_identifier(c)} {t}" for c, t in types.items())
        jobs += [
            HiveJob.statement(f"DROP TABLE IF EXISTS {table}"),
            HiveJob.statement(
                f"CREATE TABLE {table} ({cols})\n"
                "ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'\n"
                "STORED AS TEXTFILE"
            ),
        ]
        if len(df):  # an empty frame: the empty table
            jobs.append(HiveJob.statement(
                f"LOAD DATA LOCAL INPATH {hive_string_literal(str(data))} OVERWRITE INTO TABLE {table}"
            ))
    return jobs


# --------------------------------------------------------------------------
# The harness
# --------------------------------------------------------------------------


class HiveCLI:
    """Real Hive 2.3.9 on a metastore home (Derby DB, warehouse, conf, logs).

    ``home``: where the metastore and warehouse live (kept; reuse it to keep
    the tables). None: a fresh temp dir, removed by :meth:`close` or at exit.
    Raises EngineUnavailable when the jars, java or javac are missing. No JVM
    starts before the first call that runs SQL.
    """

    def __init__(
        self,
        home: str | os.PathLike | None = None,
        *,
        jars: str | os.PathLike | None = None,
        java_opts: Sequence[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        cache_dir: str | os.PathLike | None = None,
    ) -> None:
        self.jars = Path(jars).resolve() if jars else find_hive_jars()
        if not (self.jars / HIVE_EXEC_JAR).is_file():
            raise EngineUnavailable(f"no {HIVE_EXEC_JAR} in {self.jars}")
        self.java, self.javac = find_java_tools()
        if java_opts is None:
            env_opts = os.environ.get(JAVA_OPTS_ENV)
            java_opts = shlex.split(env_opts) if env_opts else DEFAULT_JAVA_OPTS
        self.java_opts = list(java_opts)
        self.timeout = timeout
        self._owns_home = home is None
        self.home = Path(tempfile.mkdtemp(prefix="lookalike-hive-") if home is None else home).resolve()
        if self._owns_home:
            atexit.register(shutil.rmtree, self.home, True)
        self.history: list[JvmRun] = []
        self._running: subprocess.Popen | None = None  # the JVM now running, if any
        self._prepare_home()
        self.extras_jar = build_extras_jar(self.jars, self.javac, Path(cache_dir) if cache_dir else None)

    # ---- paths and configuration ------------------------------------------

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def log_file(self) -> Path:
        """Hive's log (INFO): runtime errors of MapReduce tasks are only here."""
        return self.home / "logs" / "hive.log"

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def _prepare_home(self) -> None:
        h = self.home
        for d in ("conf", "logs", "scratch", "localscratch", "resources", "querylog", "batches", "user"):
            (h / d).mkdir(parents=True, exist_ok=True)
        os.chmod(h / "scratch", 0o777)  # Hive insists that its root scratch dir be writable by all (733)

        def prop(name: str, value: str, comment: str = "") -> str:
            c = f"  <!-- {comment} -->\n" if comment else ""
            return f"{c}  <property><name>{name}</name><value>{xml_escape(value)}</value></property>\n"

        site = (
            '<?xml version="1.0"?>\n<configuration>\n'
            + prop("javax.jdo.option.ConnectionURL", f"jdbc:derby:;databaseName={h}/metastore_db;create=true",
                   "embedded Derby metastore in the home (one JVM at a time)")
            + prop("javax.jdo.option.ConnectionDriverName", "org.apache.derby.jdbc.EmbeddedDriver")
            + prop("hive.metastore.schema.verification", "false")
            + prop("datanucleus.schema.autoCreateAll", "true")
            + prop("hive.metastore.warehouse.dir", f"file://{h}/warehouse", "where files go: all under the home")
            + prop("hive.exec.scratchdir", f"file://{h}/scratch")
            + prop("hive.exec.local.scratchdir", f"{h}/localscratch")
            + prop("hive.downloaded.resources.dir", f"{h}/resources")
            + prop("hive.querylog.location", f"{h}/querylog")
            + prop("hive.execution.engine", "mr", "MapReduce in local mode, in this JVM")
            + prop("mapreduce.framework.name", "local")
            + prop("hive.exec.mode.local.auto", "true")
            + prop("hive.cbo.enable", "false", "Calcite is not among pyspark's jars: the legacy planner")
            + prop("hive.async.log.enabled", "false", "async logging needs the LMAX disruptor, absent")
            + prop("hive.exec.submit.local.task.via.child", "false",
                   "map-join hash tables built in this JVM, not by forking $HADOOP_HOME/bin/hadoop")
            + "</configuration>\n"
        )
        log4j = (
            "status = ERROR\nname = LookalikeHive\nappenders = DRFA\n"
            "appender.DRFA.type = File\nappender.DRFA.name = DRFA\n"
            f"appender.DRFA.fileName = {self.log_file}\n"
            "appender.DRFA.layout.type = PatternLayout\n"
            "appender.DRFA.layout.pattern = %d{ISO8601} %5p [%t] %c{2}: %m%n\n"
            "loggers = DataNucleus, Datastore, JPOX\n"
            "logger.DataNucleus.name = DataNucleus\nlogger.DataNucleus.level = ERROR\n"
            "logger.Datastore.name = Datastore\nlogger.Datastore.level = ERROR\n"
            "logger.JPOX.name = JPOX\nlogger.JPOX.level = ERROR\n"
            "rootLogger.level = INFO\nrootLogger.appenderRefs = root\nrootLogger.appenderRef.root.ref = DRFA\n"
        )
        for name, text in (("hive-site.xml", site), ("hive-log4j2.properties", log4j)):
            p = self.conf_dir / name
            if not p.is_file() or p.read_text() != text:
                p.write_text(text)

    def _env(self) -> dict[str, str]:
        # No HIVE_CONF_DIR, HADOOP_CONF_DIR, CLASSPATH ... of the caller: only the home's conf.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("HIVE_", "HADOOP_", "YARN_", "MAPRED_")) and k != "CLASSPATH"}
        env.update(LC_ALL="C.UTF-8", LANG="C.UTF-8", TZ="UTC")
        return env

    def _java_cmd(self, main: str, args: Sequence[str]) -> list[str]:
        return [
            self.java, *self.java_opts, *ADD_OPENS,
            f"-Dderby.stream.error.file={self.home}/derby.log",
            f"-Duser.home={self.home}/user",  # no ~/.hiverc of the caller
            "-cp", f"{self.conf_dir}:{self.extras_jar}:{self.jars}/*",
            main, *args,
        ]

    # ---- running a JVM ----------------------------------------------------

    def _run_jvm(self, main: str, args: Sequence[str], out_dir: Path, timeout: float | None,
                 jobs: int) -> tuple[str, str, int | None, JvmRun]:
        """Run one JVM under the home's lock; stdout/stderr go to files (no pipe
        to fill). On timeout the whole process group is killed."""
        timeout = self.timeout if timeout is None else timeout
        t_lock = time.perf_counter()
        with open(self.home / ".lock", "w") as lock:
            # Derby admits one JVM per metastore: wait for the home, within the timeout.
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.perf_counter() - t_lock > timeout:
                        raise HiveCLIError(f"timed out after {timeout:.0f} s waiting for the lock on {self.home}")
                    time.sleep(0.2)
            lock_wait = time.perf_counter() - t_lock
            out_path, err_path = out_dir / "stdout", out_dir / "stderr"
            t0 = time.perf_counter()
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                proc = subprocess.Popen(
                    self._java_cmd(main, args), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                    cwd=self.home, env=self._env(), start_new_session=True,  # own process group
                )
                self._running = proc
                timed_out = False
                try:
                    code: int | None = proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    code = None
                except BaseException:  # KeyboardInterrupt: leave no JVM behind
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    raise
                finally:
                    self._running = None
            seconds = time.perf_counter() - t0
        stdout = out_path.read_bytes().decode("utf-8", errors="replace")
        stderr = err_path.read_bytes().decode("utf-8", errors="replace")
        run = JvmRun(main=main, jobs=jobs, exit_code=code, seconds=seconds, startup_seconds=None,
                     lock_wait_seconds=lock_wait, timed_out=timed_out)
        self.history.append(run)
        return stdout, stderr, code, run

    @staticmethod
    def _check_hiveconf(hiveconf: Mapping[str, str] | None) -> list[str]:
        args: list[str] = []
        for k, v in (hiveconf or {}).items():
            if _PROTECTED_SETTINGS.match(k):
                raise ValueError(f"hiveconf {k}: the harness keeps Hive's default strict checks and error handling")
            args += ["--hiveconf", f"{k}={v}"]
        return args

    def run_batch(
        self,
        jobs: Sequence[HiveJob | str],
        *,
        hiveconf: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> list[HiveResult]:
        """Run the jobs (a plain string is a statement) in ONE JVM, in order,
        each after the other whatever their outcome; one HiveResult per job.

        ``hiveconf``: ``--hiveconf`` settings for the whole session (strict
        checks and hive.cli.errors.ignore are refused). Raises HiveCLIError if
        the JVM fails before the first job (its console and log in the message).
        A job during which the JVM died or was killed (``timeout`` seconds for
        the whole JVM) has exit_code None, and the jobs after it too."""
        jobs = [_as_job(j) for j in jobs]
        if not jobs:
            return []
        cli_args = self._check_hiveconf(hiveconf)
        tag = secrets.token_hex(8)
        with tempfile.TemporaryDirectory(prefix="batch-", dir=self.home / "batches") as tmp:
            d = Path(tmp)
            manifest = []
            for i, job in enumerate(jobs):
                if job.kind == "file" and job.path is not None:
                    path = job.path
                else:
                    p = d / f"job-{i:05d}.sql"
                    # newline="": the text exactly as given (no newline translation).
                    with open(p, "w", encoding="utf-8", newline="") as fh:
                        fh.write(job.text or "")
                    path = str(p)
                if "\n" in path or "\t" in path:  # the manifest is one "KIND<TAB>PATH" a line
                    raise ValueError(f"a job's file path may not hold a tab or a newline: {path!r}")
                manifest.append(f"{job.kind}\t{path}\n")
            (d / "manifest").write_text("".join(manifest), encoding="utf-8")
            stdout, stderr, code, run = self._run_jvm(
                BATCH_MAIN, [str(d / "manifest"), tag, *cli_args], d, timeout, len(jobs)
            )
        return self._split_batch(jobs, tag, stdout, stderr, code, run)

    def _split_batch(self, jobs: list[HiveJob], tag: str, stdout: str, stderr: str,
                     code: int | None, run: JvmRun) -> list[HiveResult]:
        marker = re.compile(r"\n@@lookalike-hive " + tag + r" (BEGIN|END) (\d+) (-?\d+)(?: (\d+))?\n")

        def frames(text: str) -> dict[int, tuple[str, int | None, int | None, int]]:
            """job index -> (text between its markers, exit code, ms, uptime at BEGIN)"""
            found: dict[int, tuple[str, int | None, int | None, int]] = {}
            begin: tuple[int, int, int] | None = None  # (index, end of BEGIN marker, uptime)
            for m in marker.finditer(text):
                i = int(m.group(2))
                if m.group(1) == "BEGIN":
                    begin = (i, m.end(), int(m.group(3)))
                elif begin is not None and begin[0] == i:
                    found[i] = (text[begin[1]:m.start()], int(m.group(3)), int(m.group(4)), begin[2])
                    begin = None
            if begin is not None:  # the JVM ended inside this job
                found[begin[0]] = (text[begin[1]:], None, None, begin[2])
            return found

        out_frames, err_frames = frames(stdout), frames(stderr)
        if not err_frames:
            raise HiveCLIError(
                f"the Hive JVM ended before the first job (exit code {code}"
                f"{', timed out' if run.timed_out else ''}):\n{stderr[-6000:]}\n{stdout[-2000:]}\n"
                f"--- {self.log_file} ---\n{self.log_tail()}"
            )
        run.startup_seconds = err_frames[min(err_frames)][3] / 1000.0
        results = []
        why = (f"timed out: the JVM was killed after {run.seconds:.0f} s" if run.timed_out
               else f"the JVM ended (exit code {code}) before this job finished")
        for i, job in enumerate(jobs):
            out_text, _, _, _ = out_frames.get(i, ("", None, None, 0))
            if i in err_frames:
                err_text, rc, ms, _ = err_frames[i]
                seconds = (ms / 1000.0) if ms is not None else float("nan")
                note = "" if rc is not None else why
            else:
                err_text, rc, seconds, note = "", None, 0.0, f"not run: {why}"
            results.append(HiveResult(job=job, exit_code=rc, stdout=out_text, console=err_text,
                                      seconds=seconds, note=note))
        return results

    def query(self, sql: str, *, timeout: float | None = None) -> list[list[str | None]]:
        """One statement in its own JVM; its rows, or HiveCLIError."""
        return self.run_batch([HiveJob.statement(sql)], timeout=timeout)[0].check().rows

    # ---- the genuine CLI --------------------------------------------------

    def run_cli(self, args: Sequence[str], *, timeout: float | None = None, job: HiveJob | None = None) -> HiveResult:
        """The genuine ``CliDriver.main(args)`` in its own JVM, e.g.
        ``["-e", "SELECT 1; SELECT 2"]`` or ``["-f", path]`` (``--hiveconf``,
        ``-S``, ``-v``, ``--hivevar`` pass through). stdout, console and exit
        code are the whole run's; ``seconds`` includes the JVM start."""
        with tempfile.TemporaryDirectory(prefix="cli-", dir=self.home / "batches") as tmp:
            stdout, stderr, code, run = self._run_jvm(CLI_MAIN, list(args), Path(tmp), timeout, 1)
        note = f"timed out: the JVM was killed after {run.seconds:.0f} s" if run.timed_out else ""
        return HiveResult(
            job=job or HiveJob.script(" ".join(args)), exit_code=code, stdout=stdout, console=stderr,
            seconds=run.seconds, note=note, via="CliDriver.main",
        )

    def run_e(self, script: str, *, hiveconf: Mapping[str, str] | None = None,
              timeout: float | None = None) -> HiveResult:
        """``hive -e script``, genuinely (one JVM)."""
        return self.run_cli([*self._check_hiveconf(hiveconf), "-e", script], timeout=timeout,
                            job=HiveJob.script(script))

    def run_f(self, text: str | None = None, *, path: str | os.PathLike | None = None,
              hiveconf: Mapping[str, str] | None = None, timeout: float | None = None) -> HiveResult:
        """``hive -f file``, genuinely (one JVM): the file at ``path``, or ``text`` written to one."""
        job = HiveJob.file(text, path=path)
        if job.path is not None:
            return self.run_cli([*self._check_hiveconf(hiveconf), "-f", job.path], timeout=timeout, job=job)
        with tempfile.TemporaryDirectory(prefix="f-", dir=self.home / "batches") as tmp:
            p = Path(tmp) / "script.sql"
            with open(p, "w", encoding="utf-8", newline="") as fh:
                fh.write(text or "")
            return self.run_cli([*self._check_hiveconf(hiveconf), "-f", str(p)], timeout=timeout, job=job)

    # ---- tables -----------------------------------------------------------

    def load_tables(
        self,
        frames: Mapping[str | tuple[str, ...], pd.DataFrame],
        *,
        then: Sequence[HiveJob | str] = (),
        timeout: float | None = None,
    ) -> list[HiveResult]:
        """Create or replace one Hive table per frame and load it, all in ONE
        JVM; then run the ``then`` jobs in the same JVM and return their results
        (see :func:`table_jobs` for types, NULLs and names). Raises HiveCLIError
        if any table fails to load."""
        with tempfile.TemporaryDirectory(prefix="load-", dir=self.home / "batches") as tmp:
            load_jobs = table_jobs(frames, Path(tmp))
            results = self.run_batch([*load_jobs, *then], timeout=timeout)
        for r in results[: len(load_jobs)]:
            r.check()
        return results[len(load_jobs):]

    # ---- housekeeping -----------------------------------------------------

    def reset(self) -> None:
        """Forget every table: remove the metastore and the warehouse."""
        with open(self.home / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for d in ("metastore_db", "warehouse"):
                shutil.rmtree(self.home / d, ignore_errors=True)

    def kill_running(self) -> None:
        """Kill the JVM now running, if any (from another thread): its jobs end with
        exit_code None."""
        proc = self._running
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        """Remove the home if this object created it."""
        if self._owns_home:
            shutil.rmtree(self.home, ignore_errors=True)
