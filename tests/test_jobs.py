"""Job files (`--job`, `Job.from_file`, `init`) and `lookalike-sql check` (render, parse,
lint per dialect; the DuckDB sample against the reference; JUnit XML)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import datasets
import duckdb
import pandas as pd
import pytest

from lookalike_sql import InputError, Job, Long, Lookalike, Seed
from lookalike_sql.cli import main
from lookalike_sql.demo_data import build_demo_database

JOB = """\
[population]
table = "pop"
id_column = "customer_id"

[seed]
table = "seed"

[audience]
size = 200

[model]
min_count = 10

[run]
dialects = ["duckdb", "redshift", "hive"]
url = "data.duckdb"
out = "out"

[check]
data = "data.duckdb"
rows = 2000
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A DuckDB file with a population, a seed table, and the job file beside it."""
    path = tmp_path_factory.mktemp("jobs")
    dataset = datasets.basic()
    con = duckdb.connect(str(path / "data.duckdb"))
    con.register("frame", dataset.population)
    con.execute("CREATE TABLE pop AS SELECT * FROM frame")
    con.register("seed_frame", pd.DataFrame({"customer_id": dataset.seed_ids}))
    con.execute("CREATE TABLE seed AS SELECT * FROM seed_frame")
    con.execute("COPY pop TO '" + str(path / "pop.parquet") + "' (FORMAT parquet)")
    con.close()
    (path / "job.toml").write_text(JOB)
    (path / "seed.csv").write_text("customer_id\n" + "\n".join(str(i) for i in dataset.seed_ids) + "\n")
    return path


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- job files

def test_job_file_gives_the_same_job_as_python(folder):
    job = Job.from_file(folder / "job.toml")
    assert (job.size, job.dialects, job.model.min_count) == (200, ["duckdb", "redshift", "hive"], 10)
    assert job.url == str(folder / "data.duckdb")  # relative to the job file
    con = duckdb.connect(str(folder / "data.duckdb"), read_only=True)
    direct = Lookalike("pop", "customer_id", min_count=10).execute(con, Seed.table("seed"), 200)
    assert job.execute(con).audience.equals(direct.audience)
    assert Lookalike.from_file(folder / "job.toml") == job.model


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ('[population]\ntable = "pop"\ncolour = "blue"\n', r"job\.toml:3: unknown key 'colour' in \[population\]: use one of table, "),
        ('[population]\ntable = "pop"\n\n[audience]\nsize = "many"\n', r"job\.toml:5: \[audience\] size 'many' is not a number: give a count \(20000\) or a share \(5%\)"),
        ('[audience]\nexclude_seed = "yes"\n', r"job\.toml:2: \[audience\] exclude_seed must be true or false"),
        ('[audience]\nsize = true\n', r"job\.toml:2: \[audience\] size must be an integer or a string, not true or false True"),
        ('[target]\nsize = 3\n', r"job\.toml:1: unknown section \[target\]: use \[population\], \[seed\]"),
        ('[population]\ntable = "pop\n', r"job\.toml: not valid TOML \(.*line 2"),
        ('size = 3\n', r"job\.toml:1: 'size' must be a \[section\]"),
        ('[run]\ndialects = ["duckdb", 3]\n', r"job\.toml:2: \[run\] dialects must be a list of strings"),
    ],
)
def test_bad_job_files_name_the_key_and_the_line(tmp_path, text, pattern):
    path = write(tmp_path, "job.toml", text)
    with pytest.raises(InputError, match=pattern) as exc:
        Job.from_file(path)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("settings", "pattern"),
    [
        ({"size": 10}, r"the job has no id_column: give --id-column / \[population\] id_column"),
        ({"id_column": "c", "population": "pop", "seed_table": "s"}, r"the job has no size"),
        ({"id_column": "c", "size": 5, "seed_table": "s"}, r"the job has no population"),
        ({"id_column": "c", "size": 5, "population": "pop"}, r"the job has no seed"),
        ({"id_column": "c", "size": 5, "population": "pop", "seed_table": "s", "seed_query": "SELECT c FROM pop"}, r"the job has 2 seeds"),
        ({"id_column": "c", "size": 5, "population": "pop", "seed_table": "s", "method": "jaccard"}, r"method 'jaccard' is not available"),
        ({"id_column": "c", "size": 5, "population": "pop", "seed_table": "s", "dialects": ["oracle"]}, r"unknown dialect 'oracle'"),
    ],
)
def test_incomplete_jobs(settings, pattern):
    with pytest.raises(InputError, match=pattern):
        Job.from_settings(settings)


def test_flags_override_the_file(folder, capsys):
    assert main(["sql", "--job", str(folder / "job.toml"), "--dialect", "redshift", "--size", "77", "--features", "age,spend"]) == 0
    sql = capsys.readouterr().out
    assert "size 77" in sql.splitlines()[1] + sql.splitlines()[2] + sql  # the header states the overridden size
    assert '"mart"' not in sql and 'FROM "seed"' in sql and "LIMIT 77" in sql
    # a seed flag replaces the file's seed
    assert main(["sql", "--job", str(folder / "job.toml"), "--features", "age", "--seed-query", "SELECT customer_id FROM pop WHERE age < 30"]) == 0
    sql = capsys.readouterr().out
    assert "WHERE age < 30" in sql and 'FROM "seed"' not in sql


def test_run_with_a_job_file(folder, capsys):
    assert main(["run", "--job", str(folder / "job.toml"), "--size", "50"]) == 0
    out = folder / "out"
    assert len(pd.read_csv(out / "lookalike.csv")) == 50
    assert "wrote" in capsys.readouterr().out


def test_init_writes_a_commented_job_that_reads(tmp_path, capsys):
    path = tmp_path / "job.toml"
    assert main(["init", str(path)]) == 0
    text = path.read_text()
    assert text.count("#") > 20 and "[population]" in text and "[check]" in text
    job = Job.from_file(path)
    assert job.dialects == ["duckdb", "redshift", "hive"] and job.size == 20000
    assert main(["init", str(path)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["init", str(path), "--force"]) == 0


# ----------------------------------------------------------------------------- check

def test_check_passes_on_a_good_job_and_writes_sql_and_junit(folder, capsys, tmp_path):
    junit, sql_dir = tmp_path / "check.xml", tmp_path / "sql"
    code = main(["check", "--job", str(folder / "job.toml"), "--junit", str(junit), "--write-sql", str(sql_dir)])
    report = capsys.readouterr().out
    assert code == 0, report
    assert "FAIL" not in report and "duckdb sample: execute() and the one statement give the reference's ids" in report
    assert sorted(p.name for p in sql_dir.iterdir()) == ["duckdb.sql", "hive.sql", "redshift.sql"]
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and suite.get("failures") == "0"
    names = [case.get("name") for case in suite.iter("testcase")]
    assert "hive: parse and lint" in names and "hive: console" in names and len(names) == int(suite.get("tests")) == 9


def test_check_fails_on_sql_that_breaks_the_hive_lint(folder, capsys, tmp_path):
    bad = write(folder, "qualify.toml", JOB.replace('table = "seed"', (
        'query = "SELECT customer_id FROM pop QUALIFY ROW_NUMBER() OVER (PARTITION BY orders ORDER BY spend DESC) <= 40"')))
    junit = tmp_path / "check.xml"
    assert main(["check", "--job", str(bad), "--junit", str(junit)]) == 1
    report = capsys.readouterr().out
    assert "FAIL  hive: parse and lint" in report and "QUALIFY is not in Hive before 4.0" in report
    assert "PASS  duckdb: parse and lint" in report
    failures = [case for case in ET.parse(junit).getroot().iter("testcase") if case.find("failure") is not None]
    assert [case.get("name") for case in failures] == ["hive: parse and lint"]


def test_check_fails_on_a_statement_the_hive_cli_would_cut(folder, capsys):
    """A seed query carrying a comment with an apostrophe parses everywhere, but the Hive
    CLI and beeline would read the apostrophe as a quote: the console step says so."""
    bad = write(folder, "comment.toml", JOB.replace('table = "seed"', "query = \"SELECT customer_id FROM seed -- the mothers' list\""))
    assert main(["check", "--job", str(bad)]) == 1
    report = capsys.readouterr().out
    assert "PASS  hive: parse and lint" in report and "FAIL  hive: console" in report
    assert "the Hive CLI reads as a quote" in report


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT customer_id FROM pop; DROP TABLE pop", "expected one SQL statement, found 2"),
        ("DELETE FROM pop", "must be a SELECT, not DELETE"),
        ("WITH d AS (DELETE FROM pop RETURNING customer_id) SELECT customer_id FROM d", "contains DELETE"),
    ],
)
def test_check_fails_on_a_seed_query_that_is_not_one_select(folder, capsys, query, message):
    bad = write(folder, "notselect.toml", JOB.replace('table = "seed"', f'query = "{query}"'))
    assert main(["check", "--job", str(bad)]) == 1
    report = capsys.readouterr().out
    assert "FAIL  seed: one read-only SELECT in every dialect" in report and message in report
    con = duckdb.connect(str(folder / "data.duckdb"), read_only=True)
    assert con.execute("SELECT COUNT(*) FROM pop").fetchone()[0] == 3000  # nothing ran it


def test_check_on_a_parquet_extract_and_on_synthetic_data(folder, capsys):
    extract = JOB.replace('data = "data.duckdb"', 'data = "pop.parquet"').replace('table = "seed"', 'file = "seed.csv"')
    assert main(["check", "--job", str(write(folder, "parquet.toml", extract))]) == 0, capsys.readouterr().out
    synthetic = JOB.replace('data = "data.duckdb"\n', "").replace('id_column = "customer_id"', 'id_column = "customer_id"\nfeatures = ["a", "b", "c", "d"]')
    assert main(["check", "--job", str(write(folder, "synthetic.toml", synthetic))]) == 0
    report = capsys.readouterr().out
    assert "synthetic data built from the job's features" in report and "FAIL" not in report


def test_check_long_table_on_synthetic_data(tmp_path, capsys):
    text = """\
[population]
long_table = "mart.feature_values"
ids_table = "mart.customers"
fill = "NULL"
id_column = "member_srl"
features = ["f1", "f2", "f3", "f4", "f5"]
[seed]
table = "mart.seed"
[audience]
size = 300
[model]
min_count = 10
[run]
dialects = ["duckdb", "redshift", "hive"]
"""
    assert main(["check", "--job", str(write(tmp_path, "long.toml", text)), "--rows", "3000"]) == 0, capsys.readouterr().out


def test_check_the_demo_job(tmp_path, capsys):
    """The demo ships its job as a file; check passes on it."""
    build_demo_database(tmp_path / "demo.duckdb", n_customers=30_000)
    from lookalike_sql.demo_data import DEMO_JOB

    job = write(tmp_path, "job.toml", DEMO_JOB.format(size=3000))
    code = main(["check", "--job", str(job), "--rows", "10000"])
    report = capsys.readouterr().out
    assert code == 0, report
    assert report.count("PASS") == 9


def test_check_long_table_from_a_duckdb_file(tmp_path, capsys):
    """The sample takes customers (not rows) of a long table, with and without an ids table."""
    dataset = datasets.sparse()
    con = duckdb.connect(str(tmp_path / "long.duckdb"))
    con.register("long_frame", datasets.to_long(dataset, datasets.SPARSE_FILLS))
    con.execute("CREATE TABLE feature_values AS SELECT * FROM long_frame")
    con.register("ids_frame", dataset.population[[dataset.id_column]])
    con.execute("CREATE TABLE customers AS SELECT * FROM ids_frame")
    con.register("seed_frame", pd.DataFrame({dataset.id_column: dataset.seed_ids}))
    con.execute("CREATE TABLE seed AS SELECT * FROM seed_frame")
    con.close()
    for ids_line in ('ids_table = "customers"\n', ""):
        text = (
            f'[population]\nlong_table = "feature_values"\n{ids_line}id_column = "{dataset.id_column}"\n'
            '[seed]\ntable = "seed"\n[audience]\nsize = 100\n[model]\nmin_count = 10\n'
            '[check]\ndata = "long.duckdb"\nrows = 1500\n'
        )
        code = main(["check", "--job", str(write(tmp_path, "long.toml", text))])
        report = capsys.readouterr().out
        assert code == 0, report
        assert re.search(r"PASS  sample: 1,500 customers from .*: 1,500 customers\n", report), report
        assert "top 100 of 1,500 customers" in report


@pytest.mark.parametrize("method", ["likelihood", "cosine", "mahalanobis"])
def test_check_each_method(folder, capsys, method):
    """Each scoring method checks: mahalanobis (no one statement) lints its profile."""
    job = write(folder, f"{method}.toml", JOB.replace("[model]\n", f'[model]\nmethod = "{method}"\n'))
    code = main(["check", "--job", str(job)])
    report = capsys.readouterr().out
    assert code == 0, report
    assert ("the profile statement (mahalanobis ranks in later statements)" in report) == (method == "mahalanobis")


def test_a_null_feature_name_is_no_candidate_in_a_job_or_a_model(tmp_path):
    """Rows of a long table whose feature name is NULL belong to no feature: the job file's
    feature_pattern and the model list the same candidates (never "None"), and the
    audience is the one without those rows."""
    dataset = datasets.basic()
    long = datasets.to_long(dataset, {})
    path = tmp_path / "long.duckdb"
    con = duckdb.connect(str(path))
    con.register("long_frame", long)
    con.execute("CREATE TABLE fv AS SELECT * FROM long_frame")
    con.execute("CREATE TABLE fv_null AS SELECT * FROM fv UNION ALL SELECT customer_id, NULL, 1.0 FROM fv WHERE feature = 'spend'")
    con.register("seed_frame", pd.DataFrame({"customer_id": dataset.seed_ids}))
    con.execute("CREATE TABLE seed AS SELECT * FROM seed_frame")
    con.close()
    jobs = {}
    for table in ("fv", "fv_null"):
        (tmp_path / f"{table}.toml").write_text(
            f'[population]\nlong_table = "{table}"\nid_column = "customer_id"\nfeature_pattern = "*"\n'
            f'[seed]\ntable = "seed"\n[audience]\nsize = 50\n[model]\nmin_count = 10\n[run]\nurl = "{path}"\n'
        )
        jobs[table] = Job.from_file(tmp_path / f"{table}.toml")
    con = duckdb.connect(str(path), read_only=True)
    listed = {table: job.model_for(con).features for table, job in jobs.items()}
    assert listed["fv_null"] == listed["fv"] == sorted(long["feature"].unique())
    audiences = {table: job.execute(con).audience for table, job in jobs.items()}
    assert audiences["fv_null"]["customer_id"].tolist() == audiences["fv"]["customer_id"].tolist()
    assert (audiences["fv_null"]["distance"] - audiences["fv"]["distance"]).abs().max() < 1e-12
    direct = Lookalike(Long("fv_null"), "customer_id", min_count=10).execute(con, Seed.table("seed"), 50)
    assert direct.features["feature"].tolist() == listed["fv"]


# ----------------------------------------------------------------------------- the settings registry

def test_every_setting_is_a_flag_a_file_key_and_a_line_of_the_example(tmp_path):
    """job.SETTINGS is the one declaration: each setting's flag exists on its commands,
    each example line (uncommented) reads back as that setting, and a model setting's
    default is the Lookalike field's."""
    from lookalike_sql.cli import _parser
    from lookalike_sql.job import DEFAULTS, SETTINGS, example_file, read_job_file

    commands = _parser()._subparsers._group_actions[0].choices
    for s in SETTINGS:
        for command in s.commands if s.flag_name else ():
            assert s.flag_name in commands[command]._option_string_actions, (s.name, command)
    text = "\n".join(line[2:] if line.startswith("# ") and " = " in line else line for line in example_file("job.toml").splitlines())
    settings = read_job_file(write(tmp_path, "job.toml", text))
    assert {s.name for s in SETTINGS if s.example is not None} == set(settings)
    model = Lookalike("pop", "customer_id")
    for s in SETTINGS:
        if hasattr(model, s.name) and s.name not in ("population", "id_column", "features"):
            assert getattr(model, s.name) == DEFAULTS.get(s.name), s.name


def test_a_model_setting_given_as_a_flag_reaches_the_model(folder):
    from lookalike_sql.cli import _job, _parser

    args = _parser().parse_args(["sql", "--job", str(folder / "job.toml"), "--bins", "7", "--threshold", "0.2", "--method", "cosine", "--sample", "10%"])
    model = _job(args).model
    assert (model.bins, model.threshold, model.method, model.sample) == (7, 0.2, "cosine", 0.1)
    with pytest.raises(InputError, match=r"bins must be a whole number of at least 2, not 1"):
        _job(_parser().parse_args(["sql", "--job", str(folder / "job.toml"), "--bins", "1"]))
