"""The command line: run, sql and demo, on a DuckDB file."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lookalike_sql.cli import main
from lookalike_sql.demo_data import build_demo_database

JOB = ["--population", "population", "--id-column", "member_srl", "--size", "500"]


def _installed_script() -> str:
    """The `lookalike-sql` command pip installed beside this Python."""
    return shutil.which("lookalike-sql") or str(Path(sys.executable).with_name("lookalike-sql"))


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    path = folder / "demo.duckdb"
    build_demo_database(path, n_customers=30_000)
    con = duckdb.connect(str(path), read_only=True)
    seed = con.execute("SELECT member_srl FROM mom_seed ORDER BY member_srl").fetchdf()
    con.close()
    seed_file = folder / "seed.csv"
    seed.to_csv(seed_file, index=False)
    return path, seed_file


def test_run_writes_the_three_files(demo_db, tmp_path, capsys):
    path, seed_file = demo_db
    out = tmp_path / "out"
    assert main(["run", "--url", str(path), *JOB, "--seed-file", str(seed_file), "--out", str(out)]) == 0
    audience = pd.read_csv(out / "lookalike.csv")
    assert list(audience.columns) == ["member_srl", "rank", "distance"]
    assert len(audience) == 500 and audience["rank"].tolist() == list(range(1, 501))
    assert audience["distance"].is_monotonic_increasing
    features = pd.read_csv(out / "top_features.csv", dtype={"code": str}, keep_default_na=False, na_values={"lookalike_mean": [""]})
    assert list(features.columns) == [
        "feature", "symbol", "code", "measure", "category", "js_divergence", "weight", "seed_mean", "population_mean", "lookalike_mean",
    ]
    named = features.set_index("feature")
    assert named.loc["gpo015", ["symbol", "code", "measure", "category"]].tolist() == ["gpo", "015", "GMV per order", "Baby Core - Diapering"]
    assert features["lookalike_mean"].notna().all()
    assert 1 <= len(features) <= 20 and features["weight"].is_monotonic_decreasing
    assert abs(features["weight"].sum() - 1) < 1e-9
    query = (out / "query.sql").read_text()
    # on DuckDB the profile's ranges come first, in a statement of their own
    steps = ["facts", "ranges", "profile", "rank", "histograms"]
    assert all(f"-- step {i} of 5: {step}\n" in query for i, step in enumerate(steps, 1))
    printed = capsys.readouterr()
    assert "top features" in printed.out and "ranking every customer" in printed.err
    assert "GMV per order in Baby Core - Diapering" in printed.out  # what each feature measures
    assert "| gpo015 | GMV per order | Baby Core - Diapering |" in (out / "report.md").read_text()
    assert not list(out.glob(".*.tmp"))  # no half-written files


def test_sql_prints_one_statement_that_gives_the_same_ids(demo_db, tmp_path, capsys):
    path, seed_file = demo_db
    out = tmp_path / "out"
    main(["run", "--url", str(path), *JOB, "--seed-table", "mom_seed", "--out", str(out)])
    capsys.readouterr()
    assert main(["sql", "--dialect", "duckdb", "--url", str(path), *JOB, "--seed-table", "mom_seed"]) == 0
    statement = capsys.readouterr().out
    assert statement.startswith("-- lookalike-sql")
    con = duckdb.connect(str(path), read_only=True)
    got = con.execute(statement).fetchdf()
    con.close()
    assert list(got.columns) == ["member_srl", "rank", "distance"]
    expected = pd.read_csv(out / "lookalike.csv")
    assert got["member_srl"].tolist() == expected["member_srl"].tolist()


def test_seed_query_and_features_flags(demo_db, tmp_path):
    path, _ = demo_db
    out = tmp_path / "out"
    query = "SELECT member_srl FROM population WHERE cto015 > 0 AND sex000 = 1"
    features = "cto015,cto016,cto017,gpo015,sex000,age000"
    code = main(["run", "--url", str(path), *JOB, "--seed-query", query, "--features", features, "--out", str(out), "--exclude-seed", "--max-features", "3"])
    assert code == 0
    top = pd.read_csv(out / "top_features.csv")
    assert len(top) <= 3 and set(top["feature"]) <= set(features.split(","))


def test_sql_for_other_dialects_without_a_connection(capsys):
    for dialect, quote in (("redshift", '"'), ("hive", "`")):
        code = main(["sql", "--dialect", dialect, *JOB, "--features", "a,b", "--seed-table", "s"])
        assert code == 0
        assert f"{quote}member_srl{quote}" in capsys.readouterr().out


def test_errors_are_one_line_with_exit_code_2(demo_db, tmp_path, capsys):
    path, _ = demo_db
    code = main(["run", "--url", str(path), *JOB, "--seed-table", "mom_seed", "--threshold", "2", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lookalike-sql: error: threshold 2.0 is outside [0, 1]") and "\n" not in err
    code = main(["run", "--url", str(path), *JOB, "--seed-table", "nope", "--out", str(tmp_path)])
    assert code == 2 and "nope" in capsys.readouterr().err


def test_installed_script_runs_demo(tmp_path):
    script = _installed_script()
    result = subprocess.run(
        [script, "demo", "--dir", str(tmp_path), "--customers", "20000", "--size", "300"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "gpo015" in result.stdout  # the diapering features lead, as in the seed's README
    assert (tmp_path / "out" / "lookalike.csv").is_file()
    assert "profiling" in result.stderr
    # the picture and the report (the test extras include matplotlib)
    assert (tmp_path / "out" / "lookalike.png").stat().st_size > 10_000
    assert "## Top features" in (tmp_path / "out" / "report.md").read_text()


def test_long_table_and_sample_flags_give_the_wide_tables_audience(demo_db, tmp_path, capsys):
    """The demo population as (id, feature, value) rows without its zeros (NULLs stay as
    NULL rows), profiled on a half sample: the wide table's audience with the same sample."""
    path, seed_file = demo_db
    copy = tmp_path / "long.duckdb"
    shutil.copy(path, copy)
    con = duckdb.connect(str(copy))
    rows = con.execute("SELECT * FROM population").fetchdf().melt(id_vars="member_srl", var_name="feature", value_name="value")
    rows = rows[rows["value"].isna() | (rows["value"] != 0)]
    con.execute("CREATE TABLE population_long AS SELECT * FROM rows")
    con.execute("CREATE TABLE customers AS SELECT member_srl FROM population")
    con.close()
    common = ["--url", str(copy), "--id-column", "member_srl", "--size", "500", "--seed-file", str(seed_file), "--sample", "50%"]
    assert main(["run", *common, "--population", "population", "--out", str(tmp_path / "wide")]) == 0
    long_flags = ["--long-table", "population_long", "--ids-table", "customers", "--fill", "0"]
    assert main(["run", *common, *long_flags, "--out", str(tmp_path / "long")]) == 0
    wide = pd.read_csv(tmp_path / "wide" / "lookalike.csv")
    long = pd.read_csv(tmp_path / "long" / "lookalike.csv")
    assert long["member_srl"].tolist() == wide["member_srl"].tolist()
    assert "profiled on a sample of" in capsys.readouterr().out
    pd.testing.assert_frame_equal(long, wide, check_exact=False, rtol=1e-9)


def test_picture_report_and_warnings(demo_db, tmp_path, capsys):
    """run writes lookalike.png (one panel per top feature) and report.md with the sizes,
    the warnings and the table; the small demo seed gets the seed-size warning."""
    import matplotlib.image

    path, seed_file = demo_db
    out = tmp_path / "out"
    assert main(["run", "--url", str(path), *JOB, "--seed-file", str(seed_file), "--out", str(out), "--max-features", "7"]) == 0
    printed = capsys.readouterr()
    picture = matplotlib.image.imread(out / "lookalike.png")
    assert picture.shape[0] > 300 and picture.shape[1] > 300 and picture.std() > 0  # drawn, not blank
    report = (out / "report.md").read_text()
    top = pd.read_csv(out / "top_features.csv")
    assert len(top) == 7 and all(f"| {f} |" in report for f in top["feature"])
    assert "fewer than the recommended 5,000" in report and "warning: the seed has" in printed.out
    assert "![population, source and lookalike per top feature](lookalike.png)" in report
    for step in ("counting the audience's histograms", "drawing the histograms", "writing the report"):
        assert step in printed.err
    assert (out / "report.md").stat().st_mode & 0o044  # readable by others, as any file the user writes


def test_plot_has_one_panel_per_top_feature(demo_db, tmp_path):
    import duckdb as db

    from lookalike_sql import Lookalike, Seed

    path, _ = demo_db
    con = db.connect(str(path), read_only=True)
    result = Lookalike("population", "member_srl", max_features=5).execute(con, Seed.table("mom_seed"), 300)
    con.close()
    assert result.plot(tmp_path / "grid.png") == 5 == len(result.top_features)
    assert (tmp_path / "grid.png").stat().st_size > 10_000


def test_catalogue_flag_names_the_categories(demo_db, tmp_path, capsys):
    path, seed_file = demo_db
    catalogue = tmp_path / "names.csv"
    catalogue.write_text("feature,category\ngpo015,Nappies\n")
    out = tmp_path / "out"
    args = ["run", "--url", str(path), *JOB, "--seed-file", str(seed_file), "--out", str(out)]
    assert main([*args, "--catalogue", str(catalogue)]) == 0
    top = pd.read_csv(out / "top_features.csv", keep_default_na=False).set_index("feature")
    assert top.loc["gpo015", "category"] == "Nappies" and top.loc["gpo015", "symbol"] == "gpo"
    capsys.readouterr()
    catalogue.write_text("name,label\nx,y\n")
    assert main([*args, "--catalogue", str(catalogue)]) == 2
    assert "needs the columns feature and category" in capsys.readouterr().err


def test_installed_script_says_the_error_and_exits_2(demo_db, tmp_path, capsys):
    """The installed command ends its process without the interpreter's teardown: its
    output and exit code must still arrive whole."""
    path, _ = demo_db
    script = _installed_script()
    bad = subprocess.run([script, "run", "--url", str(path), *JOB, "--seed-table", "mom_seed", "--threshold", "2", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("lookalike-sql: error: threshold 2.0 is outside [0, 1]") and "\n" not in bad.stderr.strip()
    flags = ["sql", "--url", str(path), *JOB, "--seed-table", "mom_seed"]
    printed = subprocess.run([script, *flags], capture_output=True, text=True, timeout=300)
    assert printed.returncode == 0, printed.stderr
    assert main(flags) == 0
    assert printed.stdout == capsys.readouterr().out  # the whole statement, as main() prints it


def test_progress_runs_its_first_step_hook_once_as_the_first_step_starts(capsys):
    from lookalike_sql.cli import _Progress

    calls = []
    progress = _Progress(on_first_step=lambda: calls.append(capsys.readouterr().err))
    assert calls == []
    progress("facts")
    progress("profile")
    progress("done")
    assert len(calls) == 1 and "facts" in calls[0]  # called after the first step's line


def test_close_closes_a_duckdb_connection_and_disposes_an_engine():
    import sqlalchemy

    from lookalike_sql.connections import close

    con = duckdb.connect()
    close(con)
    with pytest.raises(duckdb.ConnectionException):
        con.execute("SELECT 1")
    disposed = []
    engine = sqlalchemy.create_engine("sqlite://")
    sqlalchemy.event.listen(engine.pool, "close", lambda *args: disposed.append(args))
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    close(engine)
    assert disposed  # the pooled connection was closed
