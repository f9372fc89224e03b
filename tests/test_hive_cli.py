"""The real-Hive harness itself (tests/hive_cli.py), on Apache Hive 2.3.9.

A JVM costs 8-10 s, so everything batch-mode below runs in ONE JVM (the
``batch`` fixture: a load, then every job the tests look at), and the genuine
CLI runs twice (``hive -e`` and ``hive -f`` of the same script): three JVMs.
"""

from __future__ import annotations

import base64
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hive_batches import hive_batch
from hive_cli import HiveCLI, HiveJob, HiveResult, check_names, table_jobs

pytestmark = [pytest.mark.engine, pytest.mark.hive_cli]

# Awkward column names Hive 2.3.9 accepts within backticks (it lower-cases them).
COL_INT = "Upper Case"
COL_FLOAT = "it's"
COL_BOOL = "back`tick"
COL_TEXT = "naïve 日本"
COL_MISC = "x--y; z,w"

FRAME = pd.DataFrame(
    {
        "id": np.arange(1, 6, dtype="int64"),
        COL_INT: pd.array([10, None, -30, 2**63 - 1, None], dtype="Int64"),
        COL_FLOAT: [0.5, np.nan, math.inf, -math.inf, 1e-300],
        COL_BOOL: pd.array([True, None, False, True, None], dtype="boolean"),
        COL_TEXT: pd.Series(["a", None, "", 'it\'s "quoted", \\N', np.nan], dtype=object),
        COL_MISC: pd.Series(["tab\there\nnew line\r\\", "NULL", "\\N", "é", "${x}"], dtype=object),
        "ts": pd.to_datetime(["2024-02-29 23:59:59.123456", None, "1970-01-01", "2038-01-19 03:14:08", "2024-01-01"],
                             format="ISO8601"),
    }
)

# Run by both `hive -e` and `hive -f` (and as batch jobs of the same kinds). The
# apostrophe in the comment opens a "quote" for the CLI's ';' splitter, which
# does not know comments: -e then sends the rest as one command, with its ';'.
SCRIPT = "SELECT 'x;y' AS a, 1 AS n;\nSELECT 2 AS b;\n-- the seed's mean\nSELECT 3 AS c;\n"


def q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


# name -> job; run in one JVM after loading t_awkward.
JOBS: dict[str, HiveJob | str] = {
    "describe": "DESCRIBE t_awkward",
    # No ORDER BY: a fetch task reads the one file in order, without MapReduce.
    "select": f"SELECT id, {q(COL_INT)}, {q(COL_FLOAT)}, {q(COL_BOOL)}, {q(COL_TEXT)}, ts FROM t_awkward",
    "text": f"SELECT id, {q(COL_TEXT)} IS NULL, {q(COL_MISC)} IS NULL, length({q(COL_MISC)}), "
            f"base64(CAST({q(COL_MISC)} AS BINARY)) FROM t_awkward",
    "null_string": f"SELECT {q(COL_MISC)}, {q(COL_MISC)} IS NULL FROM t_awkward WHERE id IN (2, 3)",
    "counts": f"SELECT COUNT(*), COUNT({q(COL_INT)}), COUNT({q(COL_FLOAT)}), COUNT({q(COL_BOOL)}), "
              f"COUNT({q(COL_TEXT)}), SUM({q(COL_INT)} + 0) FROM t_awkward WHERE id <> 4",
    "missing_table": "SELECT * FROM no_such_table",
    "after_failure": "SELECT id FROM t_awkward WHERE id = 3",
    "group_by": f"SELECT {q(COL_BOOL)}, COUNT(*) FROM t_awkward GROUP BY {q(COL_BOOL)}",
    "cross_join": "SELECT a.id, b.id FROM t_awkward a CROSS JOIN t_awkward b",
    "on_1_eq_1": "SELECT a.id FROM t_awkward a JOIN t_awkward b ON 1 = 1",
    "strict_setting": "SET hive.strict.checks.cartesian.product",
    "errors_ignore_setting": "SET hive.cli.errors.ignore",
    "table_name_space": "CREATE TABLE `with space` (a INT)",
    "table_name_unicode": "CREATE TABLE `naïve` (a INT)",
    "table_name_dotted": "CREATE TABLE `no_such_db.t` (a INT)",
    "column_name_dot": "CREATE TABLE t_dot (`a.b` INT)",
    "table_name_mixed_case": "CREATE TABLE Mixed_Case_9 (a INT)",
    "show_mixed_case": "SHOW TABLES 'mixed*'",
    "script": HiveJob.script(SCRIPT),
    "file": HiveJob.file(SCRIPT),
    "statement_with_comment": HiveJob.statement("-- the seed's mean; a ';' in a comment\nSELECT 4 AS d"),
    "statement_trailing_semicolon": HiveJob.statement("SELECT 5;"),
}


@hive_batch
def batch(cli: HiveCLI) -> dict[str, HiveResult]:
    """Every batch-mode result the tests look at, from ONE JVM."""
    with tempfile.TemporaryDirectory(prefix="hive-data-") as data:
        # A table loaded twice in the same JVM, the second time with another schema:
        # loading replaces it.
        reload = [*table_jobs({"t_reloaded": FRAME}, Path(data)), *table_jobs({"t_reloaded": FRAME[["id"]].head(2)}, Path(data))]
        names = ["reload_describe", "reload_select", *JOBS]
        jobs = [*reload, "DESCRIBE t_reloaded", "SELECT * FROM t_reloaded", *JOBS.values()]
        results = cli.load_tables({"t_awkward": FRAME}, then=jobs)
    for r in results[: len(reload)]:
        r.check()
    return dict(zip(names, results[len(reload):]))


@hive_batch
def e_run(cli: HiveCLI) -> HiveResult:
    """The genuine CliDriver: hive -e SCRIPT."""
    return cli.run_e(SCRIPT)


@hive_batch
def f_run(cli: HiveCLI) -> HiveResult:
    """The genuine CliDriver: hive -f (a file holding SCRIPT)."""
    return cli.run_f(SCRIPT)


def _by_id(rows: list[list[str | None]]) -> dict[int, list[str | None]]:
    return {int(r[0]): r[1:] for r in rows}  # type: ignore[arg-type]


# ---- loading ----------------------------------------------------------------


def test_load_types_and_lowercased_awkward_names(batch):
    r = batch["describe"].check()
    assert r.mr_jobs == 0
    described = [(row[0].strip(), row[1].strip()) for row in r.rows]
    assert described == [
        ("id", "bigint"),
        ("upper case", "bigint"),  # Hive lower-cases column names
        ("it's", "double"),
        ("back`tick", "boolean"),
        ("naïve 日本", "string"),
        ("x--y; z,w", "string"),
        ("ts", "timestamp"),
    ]


def test_load_values_and_nulls_read_back(batch):
    r = batch["select"].check()
    assert r.mr_jobs == 0  # a fetch task, no MapReduce
    rows = _by_id(r.rows)
    assert sorted(rows) == [1, 2, 3, 4, 5]
    assert [rows[i][0] for i in range(1, 6)] == ["10", None, "-30", str(2**63 - 1), None]
    doubles = [None if rows[i][1] is None else float(rows[i][1]) for i in range(1, 6)]
    assert doubles == [0.5, None, math.inf, -math.inf, 1e-300]  # NaN -> NULL; inf and 1e-300 exact
    assert [rows[i][2] for i in range(1, 6)] == ["true", None, "false", "true", None]
    assert [rows[i][3] for i in range(1, 6)] == ["a", None, "", 'it\'s "quoted", \\N', None]
    assert [rows[i][4] for i in range(1, 6)] == [
        "2024-02-29 23:59:59.123456", None, "1970-01-01 00:00:00", "2038-01-19 03:14:08", "2024-01-01 00:00:00"
    ]

    counts = batch["counts"].check()
    # id 4 (the BIGINT maximum) left out of the SUM, which would overflow.
    assert counts.rows == [["4", "2", "3", "2", "2", str(10 - 30)]]


def test_load_text_survives_exactly(batch):
    """Tabs, newlines, CR, backslashes, a literal \\N and 'NULL' are stored as
    they are; the CLI prints them raw (a tab or newline splits its lines, and
    the STRING 'NULL' prints as NULL), so look through length() and base64()."""
    rows = _by_id(batch["text"].check().rows)
    stored = {i: (rows[i][1] == "true", None if rows[i][3] is None else base64.b64decode(rows[i][3]).decode())
              for i in rows}
    assert stored == {i + 1: (False, v) for i, v in enumerate(FRAME[COL_MISC])}
    assert [rows[i][0] for i in range(1, 6)] == ["false", "true", "false", "false", "true"]  # COL_TEXT IS NULL
    assert [int(rows[i][2]) for i in range(1, 6)] == [len(v) for v in FRAME[COL_MISC]]
    # The CLI prints the STRING 'NULL' as it prints a NULL; '\N' prints as itself.
    assert batch["null_string"].check().rows == [[None, "false"], ["\\N", "false"]]


def test_load_replaces_a_table(batch):
    assert [row[0].strip() for row in batch["reload_describe"].check().rows] == ["id"]
    assert batch["reload_select"].check().rows == [["1"], ["2"]]


def test_table_and_column_names_hive_refuses(batch):
    assert "[with space]: is not a valid table name" in batch["table_name_space"].console
    assert "[naïve]: is not a valid table name" in batch["table_name_unicode"].console
    # A dot inside backticks still separates database and table.
    assert "Database does not exist: no_such_db" in batch["table_name_dotted"].console
    assert "[., :] can not be used in column name" in batch["column_name_dot"].console
    for name in ("table_name_space", "table_name_unicode", "table_name_dotted", "column_name_dot"):
        assert batch[name].exit_code != 0 and batch[name].failed_lines, name
    batch["table_name_mixed_case"].check()
    assert batch["show_mixed_case"].check().rows == [["mixed_case_9"]]
    # The harness refuses the same names before spending a JVM on them.
    for table, cols in [("with space", ["a"]), ("naïve", ["a"]), ("t", ["a.b"]), ("t", ["A", "a"]), ("t", [])]:
        with pytest.raises(ValueError):
            check_names(table, cols)
    check_names("db_1.t_2", [COL_INT, COL_FLOAT, COL_BOOL, COL_TEXT, COL_MISC])


# ---- batch behaviour ----------------------------------------------------------


def test_failure_then_success_in_one_batch(batch):
    failed, after = batch["missing_table"], batch["after_failure"]
    assert failed.exit_code == 10001 and failed.rows == []
    assert failed.failed_lines == ["FAILED: SemanticException [Error 10001]: Line 1:14 Table not found 'no_such_table'"]
    assert after.exit_code == 0 and after.rows == [["3"]]
    assert "FAILED" not in after.console and "Table not found" not in after.console


def test_group_by_launches_one_mapreduce_job(batch):
    r = batch["group_by"].check()
    assert r.mr_jobs == 1
    assert "Launching Job 1 out of 1" in r.console
    assert sorted(r.rows, key=str) == sorted([[None, "2"], ["false", "1"], ["true", "2"]], key=str)


def test_cartesian_products_refused_by_default(batch):
    assert batch["strict_setting"].check().rows == [["hive.strict.checks.cartesian.product=true"]]
    assert batch["errors_ignore_setting"].check().rows == [["hive.cli.errors.ignore=false"]]
    for name in ("cross_join", "on_1_eq_1"):
        r = batch[name]
        assert r.exit_code != 0 and r.rows == [] and r.mr_jobs == 0
        assert any("Cartesian products are disabled" in line for line in r.failed_lines), r.console


def test_statement_jobs_are_never_split(batch):
    # processCmd gets the text whole: a ';' or an apostrophe in a comment is harmless ...
    assert batch["statement_with_comment"].check().rows == [["4"]]
    # ... and a trailing ';' reaches Hive's parser, which refuses it.
    r = batch["statement_trailing_semicolon"]
    assert r.exit_code == 40000 and r.failed_lines and "ParseException" in r.failed_lines[0]


def test_harness_refuses_to_relax_strict_checks(hive_cli):
    for key in ("hive.strict.checks.cartesian.product", "hive.mapred.mode", "hive.cli.errors.ignore"):
        with pytest.raises(ValueError):
            hive_cli.run_batch(["SELECT 1"], hiveconf={key: "false"})


# ---- the CLI's -e and -f --------------------------------------------------------


def test_e_runs_each_statement_and_breaks_on_apostrophe_in_comment(e_run, batch):
    assert e_run.via == "CliDriver.main"
    # The two statements before the comment both return their rows (the ';'
    # inside 'x;y' is quoted, so it does not split) ...
    assert e_run.rows == [["x;y", "1"], ["2"]]
    # ... then "-- the seed's mean" opens a quote: the rest, ';' included, is one
    # command, which Hive's parser refuses.
    assert e_run.failed_lines == ["FAILED: ParseException line 3:13 extraneous input ';' expecting EOF near '<EOF>'"]
    assert e_run.exit_code == 40000 % 256  # Hive's 40000 through System.exit: the OS keeps the low byte
    # A batch "script" job is the same processLine call, with Hive's full code.
    script = batch["script"]
    assert (script.rows, script.failed_lines, script.exit_code) == (e_run.rows, e_run.failed_lines, 40000)


def test_f_drops_comment_lines(f_run, batch):
    assert f_run.exit_code == 0 and f_run.failed_lines == []
    assert f_run.rows == [["x;y", "1"], ["2"], ["3"]]
    assert batch["file"].check().rows == f_run.rows
