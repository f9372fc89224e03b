"""Rendered SQL: parses with sqlglot in its own dialect, passes the lint, reads well."""

from __future__ import annotations

import datetime
import re

import pytest
import sqlglot
from sqlglot import exp

import lookalike_sql
from lookalike_sql import Long, Lookalike, Seed
from lookalike_sql.dialects import DIALECTS, get_dialect
from lookalike_sql.console import comment_problems
from lookalike_sql.lint import lint
from lookalike_sql.render import sql_sum

FEATURES = ["age000", "sex000", "cto015", "gpo015", "dsl015"]


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize(
    "seed",
    [Seed.table("mom_seed"), Seed.ids([1, 2, 3]), Seed.query("SELECT member_srl FROM population WHERE cto015 > 0")],
    ids=["table", "ids", "query"],
)
def test_statements_parse_and_lint_clean(dialect, seed):
    model = Lookalike("mart.population", "member_srl", features=FEATURES)
    for sql in (model.sql(seed, 100, dialect=dialect), model.sql(seed, 100, dialect=dialect, exclude_seed=True), model.profile_sql(seed, dialect=dialect)):
        assert lint(sql, dialect) == []
        assert "{{" not in sql and "{%" not in sql


def test_lint_catches_what_the_real_warehouse_lacks():
    assert any("UNPIVOT" in p for p in lint("SELECT * FROM t UNPIVOT (v FOR k IN (a, b))", "hive", parse=False))
    assert any("VALUES" in p for p in lint("SELECT * FROM (VALUES (1)) AS t(a)", "hive", parse=False))
    assert any("WIDTH_BUCKET" in p for p in lint("SELECT WIDTH_BUCKET(x, 0, 1, 10) FROM t", "redshift"))
    assert any("CORR" in p for p in lint("SELECT CORR(a, b) FROM t", "redshift"))
    assert lint("SELECT 'UNPIVOT VALUES (' AS note FROM t -- QUALIFY", "hive") == []  # literals and comments are fine
    assert any("generic command" in p for p in lint("VACUUM t", "duckdb"))
    assert any("found 2" in p for p in lint("SELECT 1; SELECT 2", "hive"))


def header(sql: str) -> list[str]:
    """The leading comment block."""
    lines = sql.split("\n")
    return lines[: next(i for i, line in enumerate(lines) if not line.startswith("--"))]


def stage_names(sql: str) -> list[str]:
    """The stages named by the statement's `-- stage: <name>,` comments, in order."""
    return list(dict.fromkeys(re.findall(r"^ *-- stage: ([a-z-]+),", sql, re.MULTILINE)))


def on_date(monkeypatch, day: datetime.date) -> None:
    monkeypatch.setattr("lookalike_sql.context._rendered_on", lambda: day)


def test_header_and_stage_comments():
    sql = Lookalike("population", "member_srl", features=FEATURES).sql(Seed.table("s"), 10, dialect="redshift")
    first = sql.splitlines()[0]
    assert first.startswith("-- lookalike-sql ") and "(redshift)" in first
    for stage in ("stage: seed", "stage: profile", "stage: select", "stage: rank", "stage: top-n"):
        assert f"-- {stage}" in sql
    assert "-- Stages: seed -> population -> profile -> select -> rank -> top-n" in header(sql)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_header_states_version_parameters_and_date(monkeypatch, dialect):
    on_date(monkeypatch, datetime.date(2026, 11, 28))
    model = Lookalike("mart.population", "member_srl", features=FEATURES, max_features=7, threshold=0.125, bins=12, min_count=41, sample=5000)
    lines = header(model.sql(Seed.table("mart.mom_seed"), 30_000, dialect=dialect, exclude_seed=True))
    assert lines[0] == f"-- lookalike-sql {lookalike_sql.__version__} ({dialect}): the lookalike audience as one statement"
    assert lines[1].startswith("-- What it computes: profiles each feature against the seed") and lines[2].startswith("--   ")
    assert "returns the top 30000 ids not in the seed with rank and distance" in " ".join(line[3:].strip() for line in lines[1:3])
    assert "-- Rendered: 2026-11-28 (UTC)" in lines
    assert "-- Population: mart.population (wide), id member_srl, 5 candidate features" in lines
    assert "-- Seed: table mart.mom_seed, column member_srl" in lines
    assert (
        "-- Parameters: size 30000, max_features 7, threshold 0.125, bins 12, min_count 41, exclude_seed true, "
        "profile sample 5000 customers by md5(id)"
    ) in lines
    assert lines[-1] == "-- Stages: seed -> sample -> population -> profile -> select -> rank -> top-n"
    # the profile alone: no size, no exclude_seed (it uses neither); a fraction of the population
    profile = header(Lookalike("mart.population", "member_srl", features=FEATURES, sample="10%").profile_sql(Seed.ids([1, 2, 3]), dialect=dialect))
    assert "-- Seed: 3 ids, inlined" in profile
    assert "-- Parameters: max_features 20, threshold 0.05, bins 10, min_count 30, profile sample 10% of customers by md5(id)" in profile
    # (Hive profiles a fraction inside its two passes: no stage of its own)
    sampling = "" if dialect == "hive" else "sample -> "
    assert profile[-1] == f"-- Stages: seed -> {sampling}population -> profile -> select"


def test_header_keeps_every_value_on_its_line(monkeypatch):
    """A seed query may span lines: the header folds it into one and cuts it. A name may
    hold comment markers, quotes and non-ASCII; none of it leaves the comment, and the
    comment holds no character that the Hive CLI reads as a quote, a statement end or an
    escape (quotes, ';' and backslashes become look-alikes)."""
    on_date(monkeypatch, datetime.date(2026, 11, 28))
    query = "SELECT member_srl\n  FROM population\r\n\tWHERE cto015 > 0 -- mothers\n  AND age000 BETWEEN 25 AND 35 AND sex000 = 2"
    long = Long(("odd */ -- 'x' 日本\\",), ids="mart.customers")
    sql = Lookalike(long, "id -- */", features=["a", "b"]).sql(Seed.query(query), 10, dialect="hive")
    lines = header(sql)
    assert "-- Seed: query: SELECT member_srl FROM population WHERE cto015 > 0 -- mother ..." in lines
    assert "-- Population: odd */ -- \u2019x\u2019 日本/ (long, ids mart.customers), id id -- */, 2 candidate features" in lines
    assert all(line.startswith("-- ") for line in lines) and len(lines) == 8
    assert comment_problems("\n".join(lines)) == []
    assert lint(sql, "hive") == []


def test_renderings_on_two_dates_differ_only_in_the_rendered_line(monkeypatch):
    model = Lookalike("mart.population", "member_srl", features=FEATURES)
    rendered = []
    for day in (datetime.date(2026, 11, 28), datetime.date(2027, 2, 1)):
        on_date(monkeypatch, day)
        rendered.append(model.sql(Seed.table("mart.mom_seed"), 30_000, dialect="redshift").split("\n"))
    first, second = rendered
    assert len(first) == len(second)
    differing = [(a, b) for a, b in zip(first, second) if a != b]
    assert differing == [("-- Rendered: 2026-11-28 (UTC)", "-- Rendered: 2027-02-01 (UTC)")]


def test_the_rendered_date_is_today_in_utc():
    sql = Lookalike("pop", "id", features=["a"]).sql(Seed.ids([1]), 5)
    today = datetime.datetime.now(datetime.timezone.utc).date()
    assert any(f"-- Rendered: {day.isoformat()} (UTC)" in header(sql) for day in (today, today - datetime.timedelta(days=1)))


def bind_placeholders(sql: str, dialect: str) -> list[str]:
    """The bind parameters sqlglot finds in a statement (`?`, `:name`, `%s`, `$1`, `@x`)."""
    tree = sqlglot.parse_one(sql, read=get_dialect(dialect).sqlglot_name)
    return [node.sql() for node in tree.find_all(exp.Placeholder, exp.Parameter)]


PLACEHOLDER_LOOKALIKE_QUERY = "SELECT id FROM t WHERE name = ':x' AND y = '%s'"


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_the_check_finds_bind_placeholders(dialect):
    assert bind_placeholders("SELECT a FROM t WHERE b = ? AND c = :name", dialect)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("layout", ["wide", "long"])
@pytest.mark.parametrize(
    "seed",
    [Seed.table("mart.mom_seed"), Seed.ids([1, 2, 3]), Seed.ids(["o'brien", "a:b", "?"]), Seed.query(PLACEHOLDER_LOOKALIKE_QUERY)],
    ids=["table", "ids", "text-ids", "query"],
)
def test_statements_have_no_bind_placeholders(dialect, layout, seed):
    """Every value is an inlined literal, so a statement runs as pasted: no `?`, `:x`,
    `%s` or `$1` for a driver to fill, and a seed query's ':x' and '%s' stay literals."""
    population = "mart.population" if layout == "wide" else Long("mart.values", ids="mart.customers", fills={"sex000": None})
    model = Lookalike(population, "id", features=FEATURES, sample=1000 if layout == "long" else None)
    statements = [
        model.sql(seed, 100, dialect=dialect),
        model.sql(seed, 100, dialect=dialect, exclude_seed=True),
        model.profile_sql(seed, dialect=dialect),
    ]
    for sql in statements:
        assert bind_placeholders(sql, dialect) == []
        if seed.kind == "query":
            tree = sqlglot.parse_one(sql, read=get_dialect(dialect).sqlglot_name)
            strings = {node.this for node in tree.find_all(exp.Literal) if node.is_string}
            assert {":x", "%s"} <= strings


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_executed_statements_have_headers_and_no_bind_placeholders(duckdb_con, monkeypatch, layout):
    """The statements execute() runs carry the same header and inline every value."""
    import datasets

    on_date(monkeypatch, datetime.date(2026, 11, 28))
    data = datasets.basic()
    table = f"render_{layout}"
    if layout == "wide":
        duckdb_con.register("render_frame", data.population)
        population = table
    else:
        duckdb_con.register("render_frame", datasets.to_long(data, {}))
        duckdb_con.register("render_ids", data.population[["customer_id"]])
        duckdb_con.execute(f"CREATE OR REPLACE TABLE {table}_ids AS SELECT * FROM render_ids")
        population = Long(table, ids=f"{table}_ids")
    duckdb_con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM render_frame")
    result = Lookalike(population, "customer_id", min_count=10).execute(duckdb_con, Seed.ids(data.seed_ids[:100]), 50)
    ranges = ["ranges"] if layout == "wide" else []  # DuckDB reads a wide population's ranges first
    assert list(result.statements) == ["facts", *ranges, "profile", "rank", "histograms"]
    for step, sql in result.statements.items():
        lines = header(sql)
        assert lines[0].startswith(f"-- lookalike-sql {lookalike_sql.__version__} (duckdb): "), step
        assert "-- Rendered: 2026-11-28 (UTC)" in lines
        assert lines[-1] == "-- Stages: " + " -> ".join(stage_names(sql)), step
        assert bind_placeholders(sql, "duckdb") == [], step
    assert "-- Seed: 100 ids, inlined" in header(result.statements["profile"])
    assert "-- Seed: the audience (50 ids, inlined) in seed_ids, the seed of the job: 100 ids, inlined" in header(result.statements["histograms"])
    # (a wide population: the audience's ids filter it directly, one read)
    assert header(result.statements["histograms"])[-1] == "-- Stages: " + ("seed -> population -> " if layout == "long" else "") + "histograms"


def test_balanced_sum_nests_logarithmically():
    terms = [f"t{i}" for i in range(1805)]
    text = sql_sum(terms)
    depth = max_depth = 0
    for ch in text:
        depth += ch == "("
        max_depth = max(max_depth, depth)
        depth -= ch == ")"
    assert max_depth <= 11
    assert all(t in text for t in ("t0 ", "t1804"))
    assert sql_sum(["a"]) == "a" and sql_sum([]) == "0"


@pytest.mark.slow
@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_the_full_1805_feature_model_renders_under_16_mb_and_parses(dialect):
    """The seed's full model (17 metrics x 106 categories + age, sex, account age)."""
    import csv

    from lookalike_sql.resources import _PACKAGE_DIR

    with open(_PACKAGE_DIR / "data" / "feature_code.csv", newline="") as handle:
        features = [row["feature"] for row in csv.DictReader(handle)]
    assert len(features) == 1805
    sql = Lookalike("mart.features", "member_srl", features=features).sql(Seed.table("mart.mom_seed"), 30_000, dialect=dialect)
    size = len(sql.encode("utf-8"))
    assert size < 16 * 2**20  # Redshift's statement limit
    assert size < 7 * 2**20  # about 3 KB per feature: see the README's "Statement size"
    assert lint(sql, dialect) == []


SNAPSHOTS = __import__("pathlib").Path(__file__).parent / "snapshots"


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_rendered_statement_matches_its_snapshot(dialect):
    """tests/snapshots/lookalike/<dialect>.sql is what an analyst pastes for a small job;
    a change to it shows in review (the "-- Rendered:" date aside). Refresh with
    UPDATE_SNAPSHOTS=1 pytest tests/test_render.py."""
    import os

    model = Lookalike("mart.population", "member_srl", features=["age000", "sex000", "gpo015"])
    sql = model.sql(Seed.table("mart.mom_seed"), 30_000, dialect=dialect, exclude_seed=True)
    sql = sql.replace(f"lookalike-sql {lookalike_sql.__version__} ", "lookalike-sql VERSION ")
    sql = re.sub(r"^-- Rendered: \d{4}-\d{2}-\d{2} \(UTC\)$", "-- Rendered: YYYY-MM-DD (UTC)", sql, count=1, flags=re.MULTILINE)
    path = SNAPSHOTS / "lookalike" / f"{dialect}.sql"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)
    assert path.read_text() == sql


def test_a_statement_over_redshifts_16_mb_is_refused_at_render_time():
    """Redshift refuses a statement over 16 MB: rendering one stops with a one-line error
    that says what to do, instead of SQL the warehouse would refuse."""
    from lookalike_sql import InputError

    features = [f"f{i:04d}" for i in range(1500)]
    model = Lookalike("mart.features", "member_srl", features=features, bins=60)
    with pytest.raises(InputError, match=r"^the redshift statement is \d+\.\d MiB, over redshift's limit of 16 MiB per statement: use fewer bins, a long table") as exc:
        model.sql(Seed.table("mart.mom_seed"), 100, dialect="redshift")
    assert "\n" not in str(exc.value)
    # the same job fits in a long table: its statement grows with the feature list only
    long = Lookalike(Long("mart.feature_values", ids="mart.customers"), "member_srl", features=features, bins=60)
    assert len(long.sql(Seed.table("mart.mom_seed"), 100, dialect="redshift").encode()) < 16 * 2**20


_RENDER_IN_A_PROCESS = """
from lookalike_sql import Lookalike, Seed
from lookalike_sql.resources import template_cache_dir
model = Lookalike("population", id_column="member_srl", features=["cto015", "gpo015"])
print(template_cache_dir())
print(model.sql(Seed.table("mom_seed"), 10, dialect="duckdb"), end="")
"""


def test_compiled_templates_are_kept_between_processes_and_optional(tmp_path):
    """Jinja's bytecode of the templates is kept under $XDG_CACHE_HOME/lookalike-sql (a
    later process skips compiling them); an unusable cache folder only means compiling."""
    import subprocess
    import sys

    def render(cache_home):
        env = {**__import__("os").environ, "XDG_CACHE_HOME": str(cache_home)}
        out = subprocess.run([sys.executable, "-c", _RENDER_IN_A_PROCESS], capture_output=True, text=True, env=env, check=True).stdout
        folder, sql = out.split("\n", 1)
        return folder, sql

    folder, first = render(tmp_path / "cache")
    assert folder == str(tmp_path / "cache" / "lookalike-sql" / "templates")
    kept = sorted(p.name for p in (tmp_path / "cache" / "lookalike-sql" / "templates").iterdir())
    assert kept and all(name.endswith(".cache") for name in kept)
    assert oct((tmp_path / "cache" / "lookalike-sql" / "templates").stat().st_mode & 0o777) == "0o700"
    folder, second = render(tmp_path / "cache")  # read from the cache
    assert sorted(p.name for p in (tmp_path / "cache" / "lookalike-sql" / "templates").iterdir()) == kept
    (tmp_path / "cache" / "lookalike-sql" / "templates").chmod(0o755)  # made by someone else's umask
    assert render(tmp_path / "cache")[0] == folder
    assert oct((tmp_path / "cache" / "lookalike-sql" / "templates").stat().st_mode & 0o777) == "0o700"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "linked" / "lookalike-sql").mkdir(parents=True)
    (tmp_path / "linked" / "lookalike-sql" / "templates").symlink_to(elsewhere)
    assert render(tmp_path / "linked")[0] == "None"  # a link may lead anywhere: not used
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    folder, uncached = render(blocked)
    assert folder == "None"
    drop_date = re.compile(r"^-- Rendered: .*$", re.MULTILINE)
    assert drop_date.sub("", first) == drop_date.sub("", second) == drop_date.sub("", uncached)
    assert "SELECT" in first
