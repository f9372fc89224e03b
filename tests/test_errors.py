"""Bad input gets a one-line error that names the problem (and nothing runs)."""

from __future__ import annotations

import datasets
import duckdb
import pandas as pd
import pytest

from lookalike_sql import InputError, Long, Lookalike, Seed, Wide
from lookalike_sql.dialects import get_dialect


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    data = datasets.basic()
    connection.register("frame", data.population)
    connection.execute("CREATE TABLE pop AS SELECT * FROM frame")
    connection.execute("ALTER TABLE pop ADD COLUMN label VARCHAR DEFAULT 'x'")
    connection.execute("CREATE TABLE seed AS SELECT customer_id FROM pop LIMIT 100")
    connection.execute("CREATE TABLE empty_seed AS SELECT customer_id FROM pop WHERE false")
    connection.execute("CREATE TABLE stranger_seed AS SELECT customer_id + 1000000 AS customer_id FROM pop LIMIT 50")
    yield connection
    connection.close()


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"threshold": 1.5}, r"threshold 1.5 is outside \[0, 1\]"),
        ({"threshold": -0.1}, r"outside \[0, 1\]"),
        ({"bins": 1}, r"bins must be a whole number of at least 2"),
        ({"max_features": 0}, r"max_features must be a whole number of at least 1"),
        ({"min_count": 0}, r"min_count must be a whole number of at least 1"),
        ({"features": []}, r"feature list is empty"),
        ({"features": ["age", "age"]}, r"names a column twice"),
        ({"features": ["customer_id"]}, r"id column 'customer_id' cannot also be a feature"),
    ],
)
def test_bad_parameters(kwargs, pattern):
    with pytest.raises(InputError, match=pattern) as exc:
        Lookalike("pop", "customer_id", **kwargs)
    one_line(exc)


def test_size_below_one(con):
    with pytest.raises(InputError, match="size must be a whole number of at least 1") as exc:
        Lookalike("pop", "customer_id").execute(con, Seed.table("seed"), 0)
    one_line(exc)


@pytest.mark.parametrize(
    ("model", "seed", "pattern"),
    [
        (Lookalike("no_such_table", "customer_id"), Seed.table("seed"), r'table "no_such_table" cannot be read on duckdb'),
        (Lookalike("pop", "id"), Seed.table("seed"), r"id column 'id' is not in table \"pop\""),
        (Lookalike("pop", "customer_id", features=["age", "nope"]), Seed.table("seed"), r"feature column 'nope' is not in table"),
        (Lookalike("pop", "customer_id", features=["age", "label"]), Seed.table("seed"), r"feature column 'label' is not numeric \(VARCHAR\)"),
        (Lookalike("pop", "customer_id"), Seed.table("no_seed"), r'table "no_seed" cannot be read'),
        (Lookalike("pop", "customer_id"), Seed.table("seed", column="member"), r"seed table \"seed\" has no column 'member'"),
        (Lookalike("pop", "customer_id"), Seed.table("empty_seed"), r"the seed \(table empty_seed\) returned no ids"),
        (Lookalike("pop", "customer_id"), Seed.table("stranger_seed"), r"none of the 50 seed ids is in the population table"),
        (Lookalike("pop", "customer_id"), Seed.ids([-1, -2]), r"none of the 2 seed ids is in the population table"),
        (Lookalike("pop", "customer_id"), Seed.query("DELETE FROM pop"), r"the seed query must be a SELECT"),
        (Lookalike("pop", "customer_id"), Seed.query("SELECT customer_id, age FROM pop"), r"exactly one named column"),
        (Lookalike("pop", "customer_id"), Seed.query("SELECT 1 FROM pop; DROP TABLE pop"), r"expected one SQL statement, found 2"),
    ],
)
def test_bad_tables_columns_and_seeds(con, model, seed, pattern):
    with pytest.raises(InputError, match=pattern) as exc:
        model.execute(con, seed, 10)
    one_line(exc)
    assert con.execute("SELECT COUNT(*) FROM pop").fetchone()[0] == 3000  # nothing was modified


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: Seed.ids([]), "the seed is empty"),
        (lambda: Seed.ids([None, float("nan")]), "the seed is empty"),
        (lambda: Seed.ids([1, "a"]), "mixes id types"),
        (lambda: Seed.query("  "), "seed query is empty"),
    ],
)
def test_bad_seed_values(make, pattern):
    with pytest.raises(InputError, match=pattern):
        make()


def test_seed_csv(tmp_path):
    good = tmp_path / "seed.csv"
    good.write_text("member_srl\n3\n1\n3\n\n2\n")
    assert Seed.csv(good).values == (3, 1, 2)
    wide = tmp_path / "wide.csv"
    wide.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match="has 3 columns: give the ids, headed by the id column's name, and optionally a second column of values"):
        Seed.csv(wide)
    with pytest.raises(InputError, match="does not exist"):
        Seed.csv(tmp_path / "missing.csv")
    header_only = tmp_path / "empty.csv"
    header_only.write_text("member_srl\n")
    with pytest.raises(InputError, match="has no ids"):
        Seed.csv(header_only)


def test_text_seed_is_ambiguous():
    with pytest.raises(InputError, match="ambiguous"):
        Lookalike("pop", "customer_id", features=["age"]).sql("seed", 10)


def test_unknown_dialect_suggests():
    with pytest.raises(InputError, match="Did you mean redshift"):
        get_dialect("redshfit")


def test_sql_without_features_or_connection():
    with pytest.raises(InputError, match=r"pass features=\[...\] \(--features\) or a connection \(--url\)"):
        Lookalike("pop", "customer_id").sql(Seed.table("seed"), 10)


def test_identifiers_are_quoted_not_pasted():
    model = Lookalike('we"ird', "id", features=['a"b', "c d"])
    for dialect, quoted in (("duckdb", '"we""ird"'), ("redshift", '"we""ird"'), ("hive", "`we\"ird`")):
        sql = model.sql(Seed.ids([1]), 5, dialect=dialect)
        assert quoted in sql
    with pytest.raises(InputError, match="control character"):
        Lookalike("pop\n; DROP TABLE x", "id", features=["a"]).sql(Seed.ids([1]), 5)


def test_string_ids_are_quoted_per_dialect():
    model = Lookalike("pop", "id", features=["a"])
    assert "'o''brien'" in model.sql(Seed.ids(["o'brien"]), 5, dialect="duckdb")
    assert "'o\\'brien'" in model.sql(Seed.ids(["o'brien"]), 5, dialect="hive")


def test_population_of_strings_only(con):
    con.execute("CREATE OR REPLACE TABLE only_text AS SELECT CAST(customer_id AS BIGINT) AS customer_id, 'x' AS label FROM pop")
    with pytest.raises(InputError, match="has no numeric column besides 'customer_id'"):
        Lookalike("only_text", "customer_id").execute(con, Seed.table("seed"), 5)


def test_wrong_dialect_for_connection(con):
    with pytest.raises(InputError, match="runs duckdb SQL, not hive"):
        Lookalike("pop", "customer_id").sql(Seed.table("seed"), 5, dialect="hive", connection=con)


def test_population_frame_is_unchanged(con):
    before = con.execute("SELECT * FROM pop ORDER BY customer_id").fetchdf()
    Lookalike("pop", "customer_id", min_count=10, threshold=0.001).execute(con, Seed.table("seed"), 50)
    after = con.execute("SELECT * FROM pop ORDER BY customer_id").fetchdf()
    pd.testing.assert_frame_equal(before, after)


@pytest.mark.parametrize(
    "make, pattern",
    [
        (lambda: Lookalike("pop", "customer_id", sample=0), "sample 0 must be at least 1 customer"),
        (lambda: Lookalike("pop", "customer_id", sample=1.5), r"sample fraction 1.5 must lie in \(0, 1\]"),
        (lambda: Lookalike("pop", "customer_id", sample="ten"), "sample 'ten' is not a number"),
        (lambda: Lookalike(["a", "b"], "customer_id"), r"pass 'table', Wide\('a', 'b'\)"),
        (lambda: Long("values", fill=float("nan")), "fill must be a finite number or None"),
        (lambda: Long("values", fills={"age": "zero"}), r"fills\['age'\] must be a finite number"),
        (lambda: Long("values", feature_column="v", value_column="v"), "feature and value columns must differ"),
        (lambda: Wide(), "needs at least one table name"),
        (lambda: Lookalike(Long("values", fills={"x": 1.0}), "id", features=["age"]).sql(Seed.ids([1]), 5), "fills names 'x'"),
        (lambda: Lookalike(Wide("a", "b"), "id", features=["x"]).sql(Seed.ids([1]), 5), "needs a connection to find each feature's table"),
        (lambda: Lookalike(Long("values"), "id").sql(Seed.ids([1]), 5), "features of a long table are unknown without a connection"),
    ],
)
def test_bad_layouts_and_samples(make, pattern):
    with pytest.raises(InputError, match=pattern) as exc:
        make()
    one_line(exc)


def test_bad_long_and_split_tables(con):
    con.execute("CREATE OR REPLACE TABLE long_rows AS SELECT customer_id, 'age' AS feature, CAST(age AS DOUBLE) AS value FROM pop")
    con.execute("CREATE OR REPLACE TABLE more AS SELECT customer_id, spend FROM pop")
    seed = Seed.table("seed")
    cases = [
        (Lookalike(Long("long_rows", value_column="amount"), "customer_id"), "has no value column 'amount'"),
        (Lookalike(Long("long_rows", ids="seed", fills={"nope": 0.0}), "customer_id"), "fills names 'nope', which"),
        (Lookalike(Long("long_rows", ids="more"), "member"), "has no id column 'member'"),
        (Lookalike(Wide("pop", "more"), "customer_id"), "column 'spend' is in both"),
        (Lookalike(Wide("pop", "more"), "customer_id", features=["age", "nope"]), "feature column 'nope' is not in table"),
    ]
    for model, pattern in cases:
        with pytest.raises(InputError, match=pattern) as exc:
            model.execute(con, seed, 10)
        one_line(exc)


@pytest.mark.parametrize(
    ("query", "pattern"),
    [
        ("SELECT customer_id INTO stolen FROM pop", r"SELECT \.\.\. INTO, which creates a table"),
        ("WITH d AS (DELETE FROM pop RETURNING customer_id) SELECT customer_id FROM d", r"contains DELETE: it may only read"),
        ("SELECT customer_id FROM pop FOR UPDATE", r"locks rows"),
        ("SELECT nextval('s') AS customer_id", r"calls nextval\(\), which changes state"),
        ("SELECT customer_id FROM pop) x; DROP TABLE pop; --", r"does not parse"),
        ("SELECT customer_id FROM pop /* unterminated", r"does not parse"),
        ("CREATE TABLE x AS SELECT customer_id FROM pop", r"must be a SELECT, not CREATE"),
        ("SELECT customer_id FROM pop; SELECT 1", r"expected one SQL statement, found 2"),
        ("SELECT customer_id FROM pop -- x\u2028) s; DROP TABLE pop; --", r"control character or a Unicode line separator"),
    ],
)
@pytest.mark.parametrize("dialect", ["duckdb", "redshift", "hive"])
def test_seed_query_must_be_one_read_only_select(con, query, pattern, dialect):
    model = Lookalike("pop", "customer_id", features=["age"])
    with pytest.raises(InputError, match=pattern) as exc:
        model.sql(Seed.query(query), 10, dialect=dialect)
    one_line(exc)
    if dialect == "duckdb":
        with pytest.raises(InputError, match=pattern):
            model.execute(con, Seed.query(query), 10)
        assert con.execute("SELECT COUNT(*) FROM pop").fetchone()[0] == 3000


def test_seed_query_with_a_comment_and_quotes_is_accepted(con):
    query = "SELECT customer_id FROM pop -- the mothers\nWHERE age BETWEEN 25 AND 35 AND 'it''s' <> '--'"
    result = Lookalike("pop", "customer_id", min_count=10).execute(con, Seed.query(query), 10)
    assert result.n_seed_found == con.execute("SELECT COUNT(*) FROM pop WHERE age BETWEEN 25 AND 35").fetchone()[0]


def test_redshift_seed_query_with_a_backslash_is_refused():
    with pytest.raises(InputError, match="contains a backslash, which Redshift and PostgreSQL read differently"):
        Lookalike("pop", "customer_id", features=["age"]).sql(Seed.query("SELECT customer_id FROM pop WHERE x = 'a\\'"), 10, dialect="redshift")


def test_hive_refuses_variable_substitution_in_seed_queries():
    with pytest.raises(InputError, match=r"contains '\$\{', which hive replaces"):
        Lookalike("pop", "customer_id", features=["age"]).sql(Seed.query("SELECT customer_id FROM pop WHERE x = '${a}'"), 10, dialect="hive")


@pytest.mark.parametrize("name", ["rank", "Distance"])
def test_id_column_cannot_be_named_like_an_output_column(name):
    with pytest.raises(InputError, match="names an output column"):
        Lookalike("pop", name)


def test_mixed_seed_ids_are_refused():
    with pytest.raises(InputError, match=r"mixes id types \(int, str\)"):
        Seed.ids([1, "2"])
    with pytest.raises(InputError, match="is a float"):
        Lookalike("pop", "customer_id", features=["age"]).sql(Seed.ids([1.5, 2.5]), 10)
