"""`evaluate`: hide part of the seed by the md5 rule, rank with the rest, report recall and
lift. Checked against the NumPy reference on every engine, for reproducibility, on the
command line, and for bad input."""

from __future__ import annotations

import hashlib
import math
import random

import datasets
import numpy as np
import pandas as pd
import pytest
from helpers import assert_same_audience

from lookalike_sql import InputError, Lookalike, Seed
from lookalike_sql.cli import main
from lookalike_sql.demo_data import DEMO_JOB, build_demo_database
from lookalike_sql.evaluation import (
    SHARES,
    Evaluation,
    evaluate,
    holdout_mask,
    parse_shares,
)
from lookalike_sql.reference import reference_lookalike, sample_mask

COLUMNS = ["method", "share", "audience_size", "hidden_found", "recall", "lift"]


def md5_hidden(ids, holdout: float) -> set:
    """The rule, written out: the id as text, md5 in lower-case hex, its first 8 digits as
    a number below holdout x 16^8."""
    return {v for v in ids if int(hashlib.md5(str(v).encode()).hexdigest()[:8], 16) < int(holdout * 16**8)}


def expected_table(dataset, seed_ids, holdout: float, shares, method: str = "euclidean") -> tuple[pd.DataFrame, object, set]:
    """recall and lift from the reference: the kept members as the seed, excluded from the
    ranking; the hidden ones the population holds are recall's denominator."""
    hidden = md5_hidden(set(seed_ids), holdout)
    kept = sorted(set(seed_ids) - hidden)
    population_ids = set(dataset.population[dataset.id_column])
    hidden_found = hidden & population_ids
    n = len(dataset.population)
    size = math.ceil(max(shares) * n)
    ref = reference_lookalike(dataset.population, dataset.id_column, kept, size, exclude_seed=True, method=method, **dataset.params)
    ranked = ref.audience[dataset.id_column].tolist()
    rows = []
    for share in shares:
        top = min(math.ceil(round(share * n, 6)), len(ranked))
        found = sum(1 for v in ranked[:top] if v in hidden_found)
        recall = found / len(hidden_found)
        rows.append([method, share, top, found, recall, recall / share])
    return pd.DataFrame(rows, columns=COLUMNS), ref, hidden


def test_recall_and_lift_equal_the_reference_on_every_engine(engine):
    """A seed table with duplicates, a NULL, and ids outside the population (1,100 of them
    hidden: more than Hive inlines, so the count goes through a temporary view there)."""
    dataset = datasets.seed_partly_outside()
    seed = [*dataset.seed_ids, *range(950_000, 952_200)]
    engine.load("eval_population", dataset.population)
    engine.load("eval_seed", pd.DataFrame({"customer_id": pd.array([*seed, None], dtype="Int64")}))
    model = Lookalike("eval_population", id_column="customer_id", **dataset.params)
    shares = (0.01, 0.05, 0.1, 0.2, 0.5)

    got = evaluate(model, engine.connection, Seed.table("eval_seed"), holdout=0.5, shares=shares)

    expected, ref, hidden = expected_table(dataset, seed, 0.5, shares)
    distinct = set(seed)
    assert isinstance(got, Evaluation)
    assert (got.n_seed_ids, got.n_hidden, got.n_training) == (len(distinct), len(hidden), len(distinct - hidden))
    in_population = set(dataset.population["customer_id"])
    assert got.n_hidden_found == len(hidden & in_population) < got.n_hidden
    assert got.n_hidden > 1_000  # Hive inlines at most 1,000 ids
    assert got.n_training_found == len((distinct - hidden) & in_population)
    assert got.n_population == len(dataset.population)
    # the ranking behind it is the reference's (ids in order, up to genuine ties)
    everyone = reference_lookalike(
        dataset.population, "customer_id", sorted(distinct - hidden), len(dataset.population), exclude_seed=True, **dataset.params
    )
    assert_same_audience(got.results["euclidean"].audience, ref, everyone.audience.set_index("customer_id")["distance"], "customer_id")
    pd.testing.assert_frame_equal(got.table, expected, check_dtype=False)
    assert "hidden ids are not in the population" in got.to_text()


def test_the_jobs_filter_and_exclusions_apply(engine):
    """The shares are of the customers the filter keeps; the exclusions never enter the
    ranking; hidden members either leaves out are not counted in recall."""
    dataset = datasets.basic()
    frame = dataset.population
    engine.load("evf_population", frame)
    engine.load("evf_seed", pd.DataFrame({"customer_id": pd.Series(dataset.seed_ids, dtype="int64")}))
    excluded = frame["customer_id"].iloc[::9].astype("int64")
    engine.load("evf_existing", pd.DataFrame({"customer_id": excluded}))
    model = Lookalike("evf_population", id_column="customer_id", **dataset.params)
    shares = (0.05, 0.2)

    got = evaluate(model, engine.connection, Seed.table("evf_seed"), shares=shares, exclude=[Seed.table("evf_existing")],
                   population_filter="age >= 30")

    mask = (frame["age"] >= 30).to_numpy()
    hidden = md5_hidden(set(dataset.seed_ids), 0.5)
    kept = sorted(set(dataset.seed_ids) - hidden)
    counted = (hidden & set(frame["customer_id"][mask])) - set(excluded)
    n = int(mask.sum())
    ref = reference_lookalike(frame, "customer_id", kept, math.ceil(0.2 * n), exclude_seed=True, exclude=list(excluded),
                              rank_mask=mask, **dataset.params)
    ranked = ref.audience["customer_id"].tolist()
    assert got.n_population == n and got.n_hidden_found == len(counted)
    assert got.n_hidden_out == len(hidden) - len(counted) > 0
    assert "outside the ranked audience (the job's filter or exclusions)" in got.to_text()
    for row in got.table.itertuples():
        top = ranked[: math.ceil(round(row.share * n, 6))]
        assert row.audience_size == len(top)
        assert row.recall == pytest.approx(sum(v in counted for v in top) / len(counted))


def test_the_split_follows_the_md5_rule_and_repeats(duckdb_con):
    ints = list(range(-50, 3_000)) + [2**62, 10**15]
    texts = [f"cust-{i:05d}" for i in range(2_000)] + ["it's", "ünï", ""]
    for ids in (ints, texts):
        for holdout in (0.01, 0.3, 0.5, 0.9):
            mask = holdout_mask(ids, holdout)
            assert {v for v, h in zip(ids, mask) if h} == md5_hidden(ids, holdout)
            assert mask.tolist() == sample_mask(ids, holdout).tolist()  # a fraction sample's rule
            shuffled = random.Random(0).sample(ids, len(ids))
            assert {v for v, h in zip(shuffled, holdout_mask(shuffled, holdout)) if h} == md5_hidden(ids, holdout)
        assert abs(holdout_mask(ids, 0.3).mean() - 0.3) < 0.05

    # the same evaluation from the seed in another order and another form
    dataset = datasets.basic()
    duckdb_con.register("eval_basic_frame", dataset.population)
    duckdb_con.execute("CREATE OR REPLACE TABLE eval_basic AS SELECT * FROM eval_basic_frame")
    duckdb_con.register("eval_basic_seed_frame", pd.DataFrame({"customer_id": dataset.seed_ids}))
    duckdb_con.execute("CREATE OR REPLACE TABLE eval_basic_seed AS SELECT * FROM eval_basic_seed_frame")
    model = Lookalike("eval_basic", id_column="customer_id", **dataset.params)
    first = evaluate(model, duckdb_con, dataset.seed_ids, holdout="30%", shares="1%,10%")
    again = evaluate(model, duckdb_con, Seed.ids(reversed(dataset.seed_ids)), holdout=0.3, shares=[0.1, "1%"])
    from_table = evaluate(model, duckdb_con, Seed.table("eval_basic_seed"), holdout=0.3, shares=(0.01, 0.1))
    from_query = evaluate(model, duckdb_con, Seed.query("SELECT customer_id FROM eval_basic_seed"), holdout=0.3, shares=(0.01, 0.1))
    for other in (again, from_table, from_query):
        pd.testing.assert_frame_equal(other.table, first.table)
        assert other.n_hidden == first.n_hidden == len(md5_hidden(dataset.seed_ids, 0.3))
    assert first.table["share"].tolist() == [0.01, 0.1]
    assert (first.table["lift"] > 1).all()  # the basic dataset's seed differs clearly


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evaldemo")
    build_demo_database(folder / "demo.duckdb", n_customers=20_000)
    (folder / "job.toml").write_text(DEMO_JOB.format(size=500))
    return folder


def test_cli_writes_the_table_and_the_plot(demo_folder, tmp_path, capsys):
    import matplotlib.image

    out = tmp_path / "eval"
    assert main(["evaluate", "--job", str(demo_folder / "job.toml"), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    table = pd.read_csv(out / "evaluation.csv")
    assert list(table.columns) == COLUMNS
    assert table["share"].tolist() == list(SHARES) and table["method"].eq("euclidean").all()
    assert table["audience_size"].tolist() == [200, 1_000, 2_000, 4_000, 10_000]
    assert table["recall"].is_monotonic_increasing and (table["recall"] <= 1).all()
    np.testing.assert_allclose(table["lift"], table["recall"] / table["share"])
    assert table["lift"].iloc[0] > 5  # the demo's moms come back near the top
    lines = printed.out.splitlines()
    assert lines[0].startswith("population 20,000; seed ") and "50% hidden: training " in lines[0]
    assert lines[1].split() == ["method", "share", "audience", "hidden", "found", "recall", "lift"]
    assert lines[2].split()[:3] == ["euclidean", "1%", "200"]
    assert f"{table['recall'].iloc[0]:.1%}" in lines[2]
    assert "profiling the features" in printed.err and f"wrote {out / 'evaluation.png'}" in printed.out
    picture = matplotlib.image.imread(out / "evaluation.png")
    assert picture.shape[0] > 300 and picture.std() > 0
    assert not list(out.glob(".*"))  # no staging folder or half-written file left

    # flags without a job file (no --size needed), another holdout and shares, no --out
    args = ["evaluate", "--url", str(demo_folder / "demo.duckdb"), "--population", "population", "--id-column", "member_srl",
            "--seed-query", "SELECT member_srl FROM mom_seed", "--holdout", "30%", "--shares", "2%,0.1", "--methods", "euclidean"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "30% hidden" in printed and "euclidean     2%" in printed and "euclidean    10%" in printed and "wrote" not in printed


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"holdout": 0}, "holdout 0 must lie strictly between 0 and 1"),
        ({"holdout": 1}, "holdout 1 must lie strictly between 0 and 1"),
        ({"holdout": "100%"}, "holdout '100%' must lie strictly between 0 and 1"),
        ({"holdout": -0.2}, "holdout -0.2 must lie strictly between 0 and 1"),
        ({"holdout": "half"}, "holdout 'half' is not a number"),
        ({"methods": ("jaccard",)}, "method 'jaccard' is not available: use one of euclidean"),
        ({"methods": "euclidean,jaccard"}, "method 'jaccard' is not available: use one of euclidean"),
        ({"methods": ()}, "methods is empty: name at least one of euclidean"),
        ({"shares": ()}, "shares is empty"),
        ({"shares": ""}, "shares is empty"),
        ({"shares": (0.1, 0)}, "share 0 must lie in (0, 1]"),
        ({"shares": "5%,150%"}, "share '150%' must lie in (0, 1]"),
        ({"shares": [5]}, "share 5 must lie in (0, 1]"),
    ],
)
def test_bad_input_is_one_line(arguments, message):
    model = Lookalike("population", id_column="member_srl")
    with pytest.raises(InputError) as error:
        evaluate(model, object(), [1, 2, 3], **arguments)  # checked before any connection is used
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_bad_input_on_the_command_line_and_a_split_with_an_empty_side(demo_folder, duckdb_con, capsys):
    job = ["evaluate", "--job", str(demo_folder / "job.toml")]
    for flags, message in ((["--holdout", "150%"], "holdout '150%'"), (["--methods", "jaccard"], "method 'jaccard' is not available"),
                           (["--shares", ","], "shares is empty")):
        assert main([*job, *flags]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("lookalike-sql: error: ") and message in err and "\n" not in err
    assert parse_shares("10%, 1%,10%") == (0.01, 0.1)

    duckdb_con.execute("CREATE OR REPLACE TABLE eval_tiny AS SELECT range AS id, range * 1.5 AS x FROM range(100)")
    model = Lookalike("eval_tiny", id_column="id", min_count=1)
    kept_only = next(v for v in range(100) if not md5_hidden([v], 0.5))
    with pytest.raises(InputError, match=r"^a 50% holdout hides none of the seed's 1 ids: raise the holdout"):
        evaluate(model, duckdb_con, [kept_only])
    with pytest.raises(InputError, match=r"^none of the \d+ hidden seed ids is in the population"):
        evaluate(model, duckdb_con, [kept_only, *range(1_000, 1_010)])


def test_each_method_equals_the_reference(duckdb_con):
    """euclidean and likelihood, one ranking each, each table the reference's."""
    dataset = datasets.basic()
    duckdb_con.register("eval_methods_frame", dataset.population)
    duckdb_con.execute("CREATE OR REPLACE TABLE eval_methods AS SELECT * FROM eval_methods_frame")
    model = Lookalike("eval_methods", id_column="customer_id", **dataset.params)
    shares = (0.01, 0.05, 0.1, 0.2)
    got = evaluate(model, duckdb_con, Seed.ids(dataset.seed_ids), shares=shares, methods=("euclidean", "likelihood"))
    expected = pd.concat(
        [expected_table(dataset, dataset.seed_ids, 0.5, shares, method)[0] for method in ("euclidean", "likelihood")], ignore_index=True
    )
    pd.testing.assert_frame_equal(got.table, expected, check_dtype=False)
    assert set(got.results) == {"euclidean", "likelihood"}
