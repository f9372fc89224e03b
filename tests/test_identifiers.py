"""Hostile names: every table, column and feature name reaches the SQL quoted for its
dialect, so names holding quotes, backticks, semicolons, comment markers, spaces, dots,
mixed case, non-ASCII letters or SQL keywords work on every engine and give the
reference's audience; names that cannot work (control characters, line separators, empty,
over 127 bytes; a backslash where the name is also written as a text literal) are refused
with a one-line InputError before anything runs.

Engine notes:
* DuckDB and Spark compare identifiers case-insensitively, even quoted ones: the names
  here differ by more than case.
* PostgreSQL truncates identifiers to 63 bytes; Redshift allows 127. The names loaded
  into the engines stay under 63 bytes.
* Real Redshift folds quoted identifiers to lower case unless
  enable_case_sensitive_identifier is on; PostgreSQL keeps the case, as tested here.
"""

from __future__ import annotations

import contextlib

import datasets
import duckdb
import engines
import numpy as np
import pandas as pd
import pytest
from helpers import assert_both_paths, assert_statement_gives, reference_for

from lookalike_sql import InputError, Long, Lookalike, Seed
from lookalike_sql.dialects import get_dialect
from lookalike_sql.lint import lint

DIALECTS = ["duckdb", "redshift", "hive"]

# ----------------------------------------------------------------------------- names
POPULATION = "Pop \"q\" `b` it's; -- /* */ 日本 \\ 100% :x ?"
SEED_TABLE = 'x"; DROP TABLE pop; --'
CANARY = "pop"  # what SEED_TABLE's name tries to drop: it must survive
ID = '"Customer ID" `k`; -- */'
#: wide feature column -> how it is made from datasets.basic() (age, spend, orders shift for the seed)
WIDE_FEATURES = {
    "âge": lambda f: f["age"],
    'a"b`c': lambda f: np.log(f["spend"]),
    "it's; x": lambda f: f["orders"],
    "a -- b": lambda f: np.sqrt(f["spend"]),
    "/* c */ d.e": lambda f: np.log1p(f["orders"].astype("float64")),
    "MiXed 日本": lambda f: f["orders"] * f["age"],
    "select": lambda f: f["views"],
    "from": lambda f: f["noise"],
    'x"; DROP TABLE pop; --': lambda f: f["age"] + f["orders"],
    "100% :p ?$1 {a}(b),c=d": lambda f: f["spend"] / (1 + f["orders"]),  # Parquet once refused " ,;{}()="
}
WIDE_PARAMS = {"min_count": 10, "bins": 5}  # 7 of the 10 features reach the threshold

#: the long table: its name holds a dot, so it is passed as a one-part tuple
LONG_TABLE = ('long.rows "v" `w`',)
IDS_TABLE = "ids; -- 日本 'all'"
FEATURE_COLUMN = 'feature"; --'
VALUE_COLUMN = "value /* x */"
#: long feature NAMES (values in the feature column), each made as above
LONG_FEATURES = {
    "it's": lambda f: f["age"],
    'a"b': lambda f: f["spend"],
    "x; --": lambda f: f["orders"],
    "日本": lambda f: np.sqrt(f["spend"]),
    "/* c */ `d`": lambda f: f["noise"],
    "select": lambda f: f["views"],
    "MiXed": lambda f: f["age"] + f["orders"],
    "% :x ?": lambda f: np.where(f["orders"] > 3, f["spend"], 0.0),
}
LONG_FILLS = {"日本": None}  # a hostile name in fills too: no row means NULL
LONG_PARAMS = {"min_count": 10, "threshold": 0.01, "bins": 5}
#: string ids for the long table: the seed's ids become text literals
ID_PREFIXES = ["o'brien ", 'x"; --', "日本 ", "/*", "*/ ", "% :x ? ", "`t` "]


def hostile_wide() -> datasets.Dataset:
    base = datasets.basic()
    frame = pd.DataFrame({ID: base.population["customer_id"]})
    for name, make in WIDE_FEATURES.items():
        frame[name] = make(base.population)
    return datasets.Dataset("hostile_wide", frame, base.seed_ids, dict(WIDE_PARAMS), ID)


def hostile_long() -> tuple[datasets.Dataset, pd.DataFrame]:
    """The wide equivalent (string ids, hostile feature names) and its long rows."""
    base = datasets.basic(random_state=11)
    text_id = {n: f"{ID_PREFIXES[n % len(ID_PREFIXES)]}{n}" for n in base.population["customer_id"]}
    frame = pd.DataFrame({ID: base.population["customer_id"].map(text_id).astype(object)})
    for name, make in LONG_FEATURES.items():
        frame[name] = np.asarray(make(base.population), dtype="float64")
    frame.loc[frame.index[::9], "日本"] = np.nan  # NULL values of the feature whose fill is NULL
    dataset = datasets.Dataset("hostile_long", frame, [text_id[n] for n in base.seed_ids], dict(LONG_PARAMS), ID)
    rows = datasets.to_long(dataset, LONG_FILLS).rename(columns={"feature": FEATURE_COLUMN, "value": VALUE_COLUMN})
    return dataset, rows


# ----------------------------------------------------------------------------- engine helpers
def quoted(engine, table: str | tuple[str, ...]) -> str:
    """The test's own quoting of a one-part table name, independent of the library's."""
    return engine.quoted(table[0] if isinstance(table, tuple) else table)


def row_counts(engine, tables) -> dict:
    return {t: int(engine.query(f"SELECT COUNT(*) AS n FROM {quoted(engine, t)}").iloc[0, 0]) for t in tables}


_loaded: dict[tuple, dict] = {}


@contextlib.contextmanager
def through_parquet():
    """Spark reads the frames loaded here from Parquet whatever their size: a view over
    Python rows is unpickled again on every scan, which makes the profile's several passes
    slow. The small seed and canary tables still go through Python rows, so both loader
    paths see hostile column names."""
    saved = engines.SPARK_PARQUET_MIN_ROWS
    engines.SPARK_PARQUET_MIN_ROWS = 1
    try:
        yield
    finally:
        engines.SPARK_PARQUET_MIN_ROWS = saved


def load(engine, kind: str) -> tuple[datasets.Dataset, dict]:
    """Load the hostile tables of one kind ("wide" or "long") once per engine; return the
    dataset and the row count each table was loaded with."""
    key = (engine.name, id(engine.connection), kind)
    if kind == "wide":
        dataset = hostile_wide()
        if key not in _loaded:
            seed = pd.DataFrame({ID: pd.Series(dataset.seed_ids, dtype="int64")})
            engine.load(CANARY, pd.DataFrame({"x": [1, 2, 3]}))
            engine.load(SEED_TABLE, seed)
            with through_parquet():
                engine.load(POPULATION, dataset.population)
            _loaded[key] = {CANARY: 3, POPULATION: len(dataset.population), SEED_TABLE: len(seed)}
    else:
        dataset, rows = hostile_long()
        if key not in _loaded:
            engine.load(CANARY, pd.DataFrame({"x": [1, 2, 3]}))
            with through_parquet():
                engine.load(LONG_TABLE, rows)
                engine.load(IDS_TABLE, dataset.population[[ID]])
            _loaded[key] = {CANARY: 3, LONG_TABLE: len(rows), IDS_TABLE: len(dataset.population)}
    return dataset, _loaded[key]


def check_both_paths(engine, model: Lookalike, dataset: datasets.Dataset, seed: Seed, size: int, *, execute: bool = True):
    """execute() and the one statement both give the reference's features and audience."""
    ref, distance_of = reference_for(dataset, size)
    selected = set(ref.features.loc[ref.features["selected"], "feature"])
    if execute:  # every hostile name comes back exactly
        result = assert_both_paths(engine, model, seed, size, ref, distance_of, dataset.id_column)
        assert set(result.top_features["feature"]) == set(result.histograms["feature"]) == selected
    else:
        assert_statement_gives(engine, model.sql(seed, size, dialect=engine.name, connection=engine.connection), ref, distance_of, dataset.id_column)
    return selected


# ----------------------------------------------------------------------------- on every engine
@pytest.mark.parametrize("seed_kind", ["table", "ids"])
def test_hostile_wide_table_equals_the_reference(engine, seed_kind):
    dataset, counts = load(engine, "wide")
    before = engine.table_names()
    seed = Seed.table(SEED_TABLE) if seed_kind == "table" else Seed.ids(dataset.seed_ids)
    model = Lookalike(POPULATION, id_column=ID, **dataset.params)
    selected = check_both_paths(engine, model, dataset, seed, 300, execute=seed_kind != "ids" or engine.facts.python_ids_in_every_hostile_test)
    assert {"âge", 'a"b`c', "it's; x", "a -- b", "/* c */ d.e", "MiXed 日本", 'x"; DROP TABLE pop; --'} == selected
    # nothing was dropped or changed
    assert engine.table_names() == before
    assert row_counts(engine, counts) == counts


def test_hostile_long_table_equals_the_reference(engine):
    """Hostile feature names (the feature column's values), id/feature/value column names,
    a dotted table name and text ids written as literals in the seed's IN list."""
    dataset, counts = load(engine, "long")
    before = engine.table_names()
    population = Long(LONG_TABLE, ids=IDS_TABLE, feature_column=FEATURE_COLUMN, value_column=VALUE_COLUMN, fills=LONG_FILLS)
    model = Lookalike(population, id_column=ID, **dataset.params)
    selected = check_both_paths(engine, model, dataset, Seed.ids(dataset.seed_ids), 300)
    assert {"it's", 'a"b', "x; --", "日本", "MiXed", "% :x ?"} == selected
    assert engine.table_names() == before
    assert row_counts(engine, counts) == counts


# ----------------------------------------------------------------------------- quoting, no engine
@pytest.mark.parametrize("dialect", DIALECTS)
def test_names_are_quoted_for_their_dialect(dialect):
    d = get_dialect(dialect)
    if dialect == "hive":
        assert d.quote("a`b") == "`a``b`"
        assert d.quote('a"b') == '`a"b`'
        assert d.string_literal("it's") == "'it\\'s'"
    else:
        assert d.quote('a"b') == '"a""b"'
        assert d.quote("a`b") == '"a`b"'
        assert d.string_literal("it's") == "'it''s'"
    q = d.identifier_quote
    assert d.quote_table("a.b") == f"{q}a{q}.{q}b{q}"  # a text name is split on dots
    assert d.quote_table(("a.b",)) == f"{q}a.b{q}"  # a tuple keeps a dot inside one part
    assert d.quote("x" * 127) == q + "x" * 127 + q  # Redshift's limit is 127 bytes
    # the one statement with every hostile name parses as one statement of the dialect
    model = Lookalike(POPULATION, id_column=ID, features=list(WIDE_FEATURES))
    sql = model.sql(Seed.table(SEED_TABLE), 10, dialect=dialect)
    assert lint(sql, dialect) == []
    long_model = Lookalike(Long(LONG_TABLE, ids=IDS_TABLE, feature_column=FEATURE_COLUMN, value_column=VALUE_COLUMN), ID, features=list(LONG_FEATURES))
    assert lint(long_model.sql(Seed.ids(["o'brien", 'x"; --', "日本"]), 10, dialect=dialect), dialect) == []
    # a seed query selecting a hostile column: its name, as sqlglot reads it, is quoted again
    query = f"SELECT s.{d.quote(ID)} FROM {d.quote(SEED_TABLE)} s"
    sql = model.sql(Seed.query(query), 10, dialect=dialect)
    assert f"seed_query.{d.quote(ID)} AS seed_id" in sql
    assert lint(sql, dialect) == []


BAD_NAMES = [
    pytest.param("a\nb; DROP TABLE pop", "control character", id="newline"),
    pytest.param("a\rb", "control character", id="carriage-return"),
    pytest.param("a\x00b", "control character", id="NUL"),
    pytest.param("a\tb", "control character", id="tab"),
    pytest.param("a\x7fb", "control character", id="DEL"),
    pytest.param("a\x85b", "control character", id="NEL"),
    pytest.param("a\u2028DROP TABLE pop; --", "line separator", id="U+2028"),
    pytest.param("a\u2029b", "line separator", id="U+2029"),
    pytest.param("a\ud800b", "control character", id="lone-surrogate"),
    pytest.param("", "empty", id="empty"),
    pytest.param("x" * 128, "longer than 127 bytes", id="128-bytes"),
    pytest.param("é" * 64, "longer than 127 bytes", id="64-two-byte-letters"),
]

#: where a name can go: (place, a function of the name making the model and the seed)
PLACES = {
    "population table": lambda n: (Lookalike(n, "id", features=["a"]), Seed.ids([1])),
    "population table part": lambda n: (Lookalike(("mart", n), "id", features=["a"]), Seed.ids([1])),
    "id column": lambda n: (Lookalike("pop", n, features=["a"]), Seed.ids([1])),
    "wide feature": lambda n: (Lookalike("pop", "id", features=["a", n]), Seed.ids([1])),
    "seed table": lambda n: (Lookalike("pop", "id", features=["a"]), Seed.table(n)),
    "seed column": lambda n: (Lookalike("pop", "id", features=["a"]), Seed.table("seed", column=n)),
    "long table": lambda n: (Lookalike(Long(n), "id", features=["a"]), Seed.ids([1])),
    "ids table": lambda n: (Lookalike(Long("values", ids=n), "id", features=["a"]), Seed.ids([1])),
    "feature column": lambda n: (Lookalike(Long("values", feature_column=n), "id", features=["a"]), Seed.ids([1])),
    "value column": lambda n: (Lookalike(Long("values", value_column=n), "id", features=["a"]), Seed.ids([1])),
    "long feature name": lambda n: (Lookalike(Long("values"), "id", features=["a", n]), Seed.ids([1])),
}


def one_line_input_error(make, dialect: str) -> str:
    with pytest.raises(InputError) as exc:
        model, seed = make()
        model.sql(seed, 10, dialect=dialect)
    message = str(exc.value)
    assert len(message.splitlines()) == 1, message  # also no U+2028 & co. in the message
    return message


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("name", "reason"), BAD_NAMES)
@pytest.mark.parametrize("place", list(PLACES))
def test_names_that_cannot_work_are_refused(place, name, reason, dialect):
    message = one_line_input_error(lambda: PLACES[place](name), dialect)
    assert reason in message


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("place", ["wide feature", "long feature name"])
def test_a_backslash_in_a_feature_name_is_refused(place, dialect):
    """A feature's name is also a text literal (the profile's feature column). A backslash
    is an escape in Redshift's and Hive's literals but not in PostgreSQL's or DuckDB's, so
    no one spelling works everywhere: refused in every dialect alike."""
    message = one_line_input_error(lambda: PLACES[place]("a\\b"), dialect)
    assert "backslash" in message


def test_a_refused_name_runs_nothing():
    con = duckdb.connect()
    con.execute("CREATE TABLE pop AS SELECT 1 AS id, 2.0 AS a")
    statements = []
    con_execute = con.execute

    class Recording:  # a DuckDB connection as far as warehouse_for can tell
        __module__ = "duckdb"

        def execute(self, sql, *args):
            statements.append(sql)
            return con_execute(sql, *args)

        def __getattr__(self, name):
            return getattr(con, name)

    for model, seed in (
        (Lookalike("pop", "id", features=["a", "b\nc"]), Seed.ids([1])),
        (Lookalike("pop", "id\u2028; DROP TABLE pop"), Seed.ids([1])),
        (Lookalike("pop", "id"), Seed.table("")),
    ):
        with pytest.raises(InputError) as exc:
            model.execute(Recording(), seed, 5)
        assert len(str(exc.value).splitlines()) == 1
    assert not any("DROP" in s for s in statements)
    assert con.execute("SELECT COUNT(*) FROM pop").fetchone() == (1,)


# ------------------------------------------------ bugs found by these tests, fixed
@pytest.mark.parametrize("place", ["population table", "id column", "wide feature", "long feature name"])
def test_hive_refuses_variable_references_in_names(place):
    """On Spark, SELECT 1 AS `x${env:HOME}` returns a column named x/root, and a table
    `pop${nope}` reads table `pop`: the name that runs is not the name given."""
    one_line_input_error(lambda: PLACES[place]("pop${spark.app.name}"), "hive")


def test_a_seed_query_cannot_smuggle_a_statement_past_a_line_separator():
    con = duckdb.connect()
    con.execute("CREATE TABLE victim (x INT)")
    con.execute("CREATE TABLE pop AS SELECT i AS id, CAST(i % 7 AS DOUBLE) AS a FROM range(1000) t(i)")
    query = (
        "SELECT id FROM pop WHERE a > 5 -- x\u2028) seed_query) seed_source) SELECT 1; DROP TABLE victim; "
        "WITH seed_ids AS (SELECT DISTINCT seed_source.seed_id FROM (SELECT seed_query.id AS seed_id FROM (SELECT 1 AS id"
    )
    try:
        Lookalike("pop", "id", min_count=1, threshold=0.0001).execute(con, Seed.query(query), 5)
    except InputError:
        pass  # refusing the query is fine too
    assert con.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'victim'").fetchone() == (1,)


@pytest.mark.parametrize("id_column", ["rank", "distance"])
def test_an_id_column_named_like_an_output_column(id_column):
    con = duckdb.connect()
    data = datasets.basic()
    con.register("frame", data.population.rename(columns={"customer_id": id_column}))
    con.execute("CREATE TABLE pop AS SELECT * FROM frame")
    try:
        result = Lookalike("pop", id_column, min_count=10).execute(con, Seed.ids(data.seed_ids), 5)
    except InputError:
        return
    assert list(result.audience.columns) == [id_column, "rank", "distance"]


@pytest.mark.parametrize(("dialect", "name"), [("redshift", "a::b"), ("redshift", "lateral x"), ("hive", "values (x)")])
def test_lint_does_not_read_quoted_names_as_code(dialect, name):
    sql = Lookalike("pop", "id", features=[name]).sql(Seed.ids([1]), 5, dialect=dialect)
    assert lint(sql, dialect) == []
