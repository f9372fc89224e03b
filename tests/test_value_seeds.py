"""Value-based seeds: a value per seed member (its spend, say) weights the seed's
histograms, persona and likelihood counts (a member's weight is its value * members /
total value). On every engine, against the reference: each scoring method, wide and
long, sampled, seeds from a table of several rows per member (values add up), a query,
Python ids inlined and through a temporary table; bad values stop the job with a
one-line error and the one statement with its guard. Then the inputs' own errors, the
job file and command line, evaluate's value recall, and check."""

from __future__ import annotations

import datasets
import numpy as np
import pandas as pd
import pytest
from helpers import TOLERANCE, assert_both_paths, assert_same_audience, assert_stopped

from lookalike_sql import InputError, Long, Lookalike, Seed, evaluate
from lookalike_sql.cli import main
from lookalike_sql.dialects import Dialect, get_dialect
from lookalike_sql.reference import reference_lookalike

ID = "customer_id"
_loaded: set[tuple] = set()


def orders(dataset: datasets.Dataset) -> pd.DataFrame:
    """One to three purchases per seed member; 20 members bought for nothing in all."""
    rng = np.random.default_rng(11)
    rows = []
    for n, member in enumerate(dataset.seed_ids):
        for _ in range(1 + n % 3):
            rows.append((member, 0.0 if n < 20 else round(float(rng.gamma(0.8, 60.0)), 2)))
    return pd.DataFrame(rows, columns=[ID, "spend"]).astype({ID: "int64"})


def value_of(purchases: pd.DataFrame) -> dict[int, float]:
    """The reference's seed: each member's total spend."""
    return {int(k): float(v) for k, v in purchases.groupby(ID)["spend"].sum().items()}


def load(engine) -> tuple[datasets.Dataset, pd.DataFrame]:
    dataset = datasets.sparse()
    purchases = orders(dataset)
    key = (engine.name, id(engine.connection))
    if key not in _loaded:
        engine.load("vs_wide", dataset.population)
        engine.load("vs_long", datasets.to_long(dataset, datasets.SPARSE_FILLS))
        engine.load("vs_ids", dataset.population[[ID]])
        engine.load("vs_orders", purchases)
        engine.load("vs_seed", pd.DataFrame({ID: pd.Series(dataset.seed_ids, dtype="int64")}))
        bad = purchases.copy()
        bad["spend"] = bad["spend"].astype("float64")
        engine.load("vs_negative", bad.assign(spend=np.where(bad.index == 30, -1.0, bad["spend"])))
        engine.load("vs_null", bad.assign(spend=np.where(bad.index == 30, np.nan, bad["spend"])))  # NaN loads as NULL
        engine.load("vs_zero", bad.assign(spend=0.0))
        engine.load("vs_text", bad.assign(spend=bad["spend"].astype(str)))
        _loaded.add(key)
    return dataset, purchases


def population_of(layout: str) -> str | Long:
    return "vs_wide" if layout == "wide" else Long("vs_long", ids="vs_ids", fills=datasets.SPARSE_FILLS)


def reference(dataset, seed, size, **options):
    ref = reference_lookalike(dataset.population, ID, seed, size, **{**dataset.params, **options})
    everyone = reference_lookalike(dataset.population, ID, seed, len(dataset.population), **{**dataset.params, **options})
    return ref, everyone.audience.set_index(ID)["distance"]


def both_paths(engine, model: Lookalike, seed: Seed, ref, distance_of, size: int):
    """execute() and (but for mahalanobis) the one statement give the reference's ids."""
    return assert_both_paths(engine, model, seed, size, ref, distance_of, ID, exclude_seed=True)


@pytest.mark.engine
@pytest.mark.parametrize(
    ("layout", "method", "sample"),
    [
        ("wide", "euclidean", None),
        ("long", "likelihood", None),
        ("wide", "cosine", None),
        ("long", "mahalanobis", None),
        ("wide", "likelihood", 500),
        ("long", "euclidean", 0.5),
    ],
)
def test_value_based_seed_equals_the_reference(engine, layout, method, sample):
    dataset, purchases = load(engine)
    values = value_of(purchases)
    model = Lookalike(population_of(layout), ID, method=method, sample=sample, **dataset.params)
    ref, distance_of = reference(dataset, values, 200, method=method, sample=sample, exclude_seed=True)
    result = both_paths(engine, model, Seed.table("vs_orders", value="spend"), ref, distance_of, 200)

    assert result.seed_value == "spend"
    assert result.seed_value_total == pytest.approx(sum(values.values()), rel=1e-12)
    squares = sum(v * v for v in values.values())
    assert result.seed_effective_size == pytest.approx(sum(values.values()) ** 2 / squares, rel=1e-9)
    # the seed's histogram counts are weighted members: they add up to the weighted count
    chosen = result.features[result.features["weight"].notna()]
    seed_bins = result.histograms.groupby("feature")["seed"].sum()
    np.testing.assert_allclose(seed_bins[chosen["feature"]].to_numpy(), chosen["seed_weight"].to_numpy(), rtol=1e-9)
    # the values matter: every member counting once gives another audience
    unweighted, _ = reference(dataset, list(values), 200, method=method, sample=sample, exclude_seed=True)
    assert unweighted.audience[ID].tolist() != ref.audience[ID].tolist()


@pytest.mark.engine
def test_query_and_python_values_inlined_and_in_a_temporary_table(engine, monkeypatch):
    dataset, purchases = load(engine)
    values = value_of(purchases)
    model = Lookalike("vs_wide", ID, method="likelihood", **dataset.params)
    ref, distance_of = reference(dataset, values, 150, method="likelihood", exclude_seed=True)
    both_paths(engine, model, Seed.query(f"SELECT spend, {ID} FROM vs_orders", value="spend"), ref, distance_of, 150)
    both_paths(engine, model, Seed.ids(values), ref, distance_of, 150)  # inlined rows of (id, value)

    monkeypatch.setattr(Dialect, "max_inline_rows", property(lambda self: 50), raising=False)  # above it: a temporary table
    result = model.execute(engine.connection, Seed.ids(list(values), list(values.values())), 150, exclude_seed=True)
    assert "-- Seed: 300 ids with values, in the temporary table lookalike_seed_" in result.statements["profile"]
    assert "seed_value" in result.statements["profile"]
    assert result.n_seed_ids == len(values)
    assert_same_audience(result.audience, ref, distance_of, ID)


@pytest.mark.engine
def test_equal_values_give_the_unweighted_audience(engine):
    dataset, _ = load(engine)
    model = Lookalike(population_of("long"), ID, **dataset.params)
    plain = model.execute(engine.connection, Seed.table("vs_seed"), 150)
    same = model.execute(engine.connection, Seed.ids({member: 2.5 for member in dataset.seed_ids}), 150)
    assert same.audience[ID].tolist() == plain.audience[ID].tolist()
    np.testing.assert_allclose(same.audience["distance"], plain.audience["distance"], rtol=1e-9, atol=TOLERANCE)
    assert plain.seed_value is None and same.seed_value == "value"


@pytest.mark.engine
@pytest.mark.parametrize(
    ("table", "message", "code"),
    [
        ("vs_negative", "1 seed ids have a value 'spend' that is NULL, negative or not finite", "V"),
        ("vs_null", "1 seed ids have a value 'spend' that is NULL, negative or not finite", "V"),
        ("vs_zero", "the values 'spend' of the seed members found add up to 0", "Z"),
    ],
)
def test_bad_values_stop_the_job(engine, table, message, code):
    dataset, _ = load(engine)
    model = Lookalike("vs_wide", ID, **dataset.params)
    seed = Seed.table(table, value="spend")
    with pytest.raises(InputError, match=message) as exc:
        model.execute(engine.connection, seed, 100)
    assert "\n" not in str(exc.value)
    with pytest.raises(Exception) as stopped:  # the one statement stops on its guard
        engine.query(model.sql(seed, 100, dialect=engine.name, connection=engine.connection))
    assert_stopped(str(stopped.value), code)


@pytest.mark.engine
def test_nan_values_and_a_text_value_column_are_refused(engine):
    dataset, _ = load(engine)
    model = Lookalike("vs_wide", ID, **dataset.params)
    nan = f"CAST('NaN' AS {get_dialect(engine.name).double_type})"
    seed = Seed.query(f"SELECT {ID}, CASE WHEN spend > 100 THEN {nan} ELSE spend END AS spend FROM vs_orders", value="spend")
    with pytest.raises(InputError, match=r"seed ids have a value 'spend' that is NULL, negative or not finite"):
        model.execute(engine.connection, seed, 100)
    with pytest.raises(InputError, match=r"value column 'spend' is .*, not a number: cast it to a number"):
        model.execute(engine.connection, Seed.table("vs_text", value="spend"), 100)
    with pytest.raises(InputError, match=r"has no column 'amount': name its value column"):
        model.execute(engine.connection, Seed.table("vs_orders", value="amount"), 100)


# ------------------------------------------------------------------------ inputs


def test_python_values_are_checked_and_added_up():
    seed = Seed.ids([3, 1, 3, None, 2], values=[1.0, 2, 3.5, 9, np.float64(0)])
    assert seed.values == (3, 1, 2) and seed.member_values == (4.5, 2.0, 0.0) and seed.weighted
    assert Seed.ids({7: 1, 8: 2}).member_values == (1.0, 2.0)
    assert not Seed.ids([1, 2]).weighted
    for values, message in [
        ([1, None], r"seed member 2 has no value: give every member a value of 0 or more"),
        ([1, -2], r"seed member 2 has the value -2: give every member a finite value of 0 or more"),
        ([1, float("nan")], r"seed member 2 has the value nan"),
        ([1, float("inf")], r"seed member 2 has the value inf"),
        ([1, True], r"seed member 2 has the value True, which is not a number"),
        ([1, "12"], r"seed member 2 has the value '12', which is not a number"),
        ([0, 0.0], r"the seed's values add up to 0: give some members a value above 0"),
        ([1], r"the seed has 2 ids but 1 values: give one value per id"),
    ]:
        with pytest.raises(InputError, match=message):
            Seed.ids([1, 2], values=values)


def test_one_statement_refuses_more_python_values_than_it_inlines():
    model = Lookalike("pop", "member_srl", features=["a"])
    values = {member: 1.0 for member in range(1_001)}
    with pytest.raises(InputError, match=r"a value-based seed of 1,001 Python ids is more than one redshift statement inlines "
                       r"\(1,000 rows\): load it into a table and use Seed.table\(name, value=...\), or run it with execute\(\)"):
        model.sql(Seed.ids(values), 10, dialect="redshift")
    assert "SELECT * FROM (VALUES" in model.sql(Seed.ids(values), 10, dialect="duckdb")  # DuckDB inlines 10,000


def test_seed_files_with_a_value_column(tmp_path):
    good = tmp_path / "seed.csv"
    good.write_text("member_srl,spend\n3,10.5\n1,2\n3,1.5\n")
    seed = Seed.csv(good)
    assert seed.values == (3, 1) and seed.member_values == (12.0, 2.0)
    bad = tmp_path / "bad.csv"
    bad.write_text("member_srl,spend\n3,10.5\n1,lots\n")
    with pytest.raises(InputError, match=r"bad.csv' line 3: the value 'lots' is not a number"):
        Seed.csv(bad)
    empty_value = tmp_path / "empty.csv"
    empty_value.write_text("member_srl,spend\n3,10.5\n1,\n")
    with pytest.raises(InputError, match=r"line 3: the value nan is not a number|seed member 1 has the value nan"):
        Seed.csv(empty_value)


def test_value_columns_of_tables_and_queries_are_validated():
    model = Lookalike("pop", "member_srl", features=["a", "b"])
    with pytest.raises(InputError, match="the seed's value column is empty"):
        Seed.table("buyers", value="")
    with pytest.raises(InputError, match=r"must select exactly two named columns, the ids and 'spend'"):
        model.sql(Seed.query("SELECT member_srl FROM orders", value="spend"), 10)
    with pytest.raises(InputError, match=r"selects 'member_srl' and 'amount': one of them must be the value column 'spend'"):
        model.sql(Seed.query("SELECT member_srl, amount FROM orders", value="spend"), 10)
    sql = model.sql(Seed.query("SELECT member_srl, spend FROM orders", value="spend"), 10, dialect="hive")
    assert "SUM(seed_source.seed_value) AS seed_value" in sql and "value spend" in sql.split("\n\n")[0]


def test_job_file_and_command_line_take_the_value_column(tmp_path):
    from lookalike_sql.job import Job

    job = tmp_path / "job.toml"
    job.write_text('[population]\ntable = "pop"\nid_column = "member_srl"\nfeatures = ["a"]\n[seed]\ntable = "buyers"\nvalue = "spend"\n[audience]\nsize = 10\n')
    assert Job.from_file(job).seed == Seed.table("buyers", value="spend")
    file_seed = tmp_path / "file.toml"
    file_seed.write_text('[population]\ntable = "pop"\nid_column = "member_srl"\n[seed]\nfile = "seed.csv"\nvalue = "spend"\n[audience]\nsize = 10\n')
    (tmp_path / "seed.csv").write_text("member_srl\n1\n")
    with pytest.raises(InputError, match=r"a seed file holds its values in a second column: leave out --seed-value"):
        Job.from_file(file_seed)


# ------------------------------------------------------------------------ evaluate, check, run


def test_evaluate_reports_value_recall(duckdb_con, tmp_path):
    from conftest import EngineHandle

    from lookalike_sql.evaluation import holdout_mask

    dataset, purchases = load(EngineHandle("duckdb", duckdb_con, "duckdb"))
    values = value_of(purchases)
    model = Lookalike("vs_wide", ID, **dataset.params)
    evaluation = evaluate(model, duckdb_con, Seed.table("vs_orders", value="spend"), shares="10%,50%")
    members = sorted(values)
    hidden = {m for m, h in zip(members, holdout_mask(members, 0.5)) if h}
    kept = {m: values[m] for m in members if m not in hidden}
    # with the values, and (the comparison evaluate adds) every member once
    for method, seed in (("euclidean", kept), ("euclidean (unweighted)", list(kept))):
        ranked = reference_lookalike(dataset.population, ID, seed, 1250, exclude_seed=True, **dataset.params).audience[ID].tolist()
        rows = evaluation.table[evaluation.table["method"] == method]
        assert len(rows) == 2
        for row in rows.itertuples():
            top = ranked[: int(np.ceil(row.share * len(dataset.population)))]
            assert row.value_recall == pytest.approx(sum(values[m] for m in top if m in hidden) / sum(values[m] for m in hidden))
            assert row.recall == pytest.approx(sum(m in hidden for m in top) / len(hidden))
    assert "value recall" in evaluation.to_text()
    evaluation.plot(tmp_path / "evaluation.png")  # recall and value recall side by side
    assert (tmp_path / "evaluation.png").stat().st_size > 10_000


def test_check_and_run_with_a_value_based_seed(tmp_path, capsys):
    job = tmp_path / "job.toml"
    job.write_text(
        '[population]\ntable = "mart.pop"\nid_column = "member_srl"\nfeatures = ["f1", "f2", "f3", "f4"]\n'
        '[seed]\ntable = "mart.buyers"\nvalue = "spend"\n[audience]\nsize = 200\n[model]\nmin_count = 10\n'
        '[run]\ndialects = ["duckdb", "redshift", "hive"]\n'
    )
    code = main(["check", "--job", str(job), "--rows", "3000"])
    report = capsys.readouterr().out
    assert code == 0, report
    assert "same ids and weights as the reference" in report

    import duckdb

    database = tmp_path / "shop.duckdb"
    dataset = datasets.sparse()
    with duckdb.connect(str(database)) as con:
        con.register("frame", dataset.population)
        con.execute("CREATE TABLE pop AS SELECT * FROM frame")
        con.register("buyers_frame", orders(dataset))
        con.execute("CREATE TABLE buyers AS SELECT * FROM buyers_frame")
    out = tmp_path / "out"
    args = ["run", "--url", str(database), "--population", "pop", "--id-column", ID, "--seed-table", "buyers",
            "--seed-value", "spend", "--size", "100", "--min-count", "10", "--threshold", "0.01", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "weighted by 'spend'" in printed and "members of equal value" in printed
    assert "weighted by 'spend'" in (out / "report.md").read_text()


def test_a_seed_whose_values_rest_on_few_members_is_warned_about():
    from lookalike_sql.result import LookalikeResult

    def result(effective):
        return LookalikeResult(
            audience=pd.DataFrame({ID: [1], "rank": [1], "distance": [0.0]}), features=pd.DataFrame(
                {"feature": ["a"], "js_divergence": [0.5], "weight": [1.0], "seed_mean": [1.0], "mean": [0.0], "lookalike_mean": [1.0]}),
            histograms=pd.DataFrame(), statements={}, n_population=100_000, n_seed_ids=8_000, n_seed_found=8_000, n_profiled=100_000,
            threshold=0.05, seed_value="spend", seed_value_total=1e6, seed_effective_size=effective,
        )

    warned = [w for w in result(900.0).warnings if "rest on few members" in w]
    assert warned == [
        "the seed's values 'spend' rest on few members: its 8,000 members weigh as much as 900 of equal value, so its "
        "histograms are as noisy as a seed that small; cap the largest values, or check with evaluate that the values help"
    ]
    assert not [w for w in result(6_000.0).warnings if "rest on few members" in w]
