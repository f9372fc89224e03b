"""Rendered SQL: parses with sqlglot in its own dialect, passes the lint, reads well."""

from __future__ import annotations

import pytest

from lookalike_sql import Lookalike, Seed
from lookalike_sql.dialects import DIALECTS
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


def test_header_and_stage_comments():
    sql = Lookalike("population", "member_srl", features=FEATURES).sql(Seed.table("s"), 10, dialect="redshift")
    first = sql.splitlines()[0]
    assert first.startswith("-- lookalike-sql ") and "(redshift)" in first
    for stage in ("stage: seed", "stage: profile", "stage: select", "stage: rank", "stage: top-n"):
        assert f"-- {stage}" in sql


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
    a change to it shows in review. Refresh with UPDATE_SNAPSHOTS=1 pytest tests/test_render.py."""
    import os

    model = Lookalike("mart.population", "member_srl", features=["age000", "sex000", "gpo015"])
    sql = model.sql(Seed.table("mart.mom_seed"), 30_000, dialect=dialect, exclude_seed=True)
    sql = sql.replace(f"lookalike-sql {__import__('lookalike_sql').__version__} ", "lookalike-sql VERSION ")
    path = SNAPSHOTS / "lookalike" / f"{dialect}.sql"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)
    assert path.read_text() == sql
