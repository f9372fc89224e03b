"""The test engines themselves: they start, load frames with NULLs, compute."""

from __future__ import annotations

import math
import time

import engines
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa


def _frame_with_nulls() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": np.arange(1, 7, dtype="int64"),
            "k": pd.array([10, None, 30, 40, None, 60], dtype="Int64"),  # nullable int
            "x": [0.5, np.nan, 2.5, np.nan, 4.5, 1e-300],
            "s": pd.Series(["a", None, "", "d", np.nan, "it's \"quoted\", \\N,\nnewline"], dtype=object),
        }
    )


def test_engine_roundtrip_nulls(engine):
    df = _frame_with_nulls()
    engine.load("t_nulls", df)

    counts = engine.query(
        "SELECT COUNT(*) AS n, COUNT(k) AS nk, COUNT(x) AS nx, COUNT(s) AS ns, "
        "SUM(k) AS sk, SUM(x) AS sx FROM t_nulls"
    )
    row = {c.lower(): v for c, v in counts.iloc[0].items()}
    assert int(row["n"]) == 6
    assert int(row["nk"]) == 4  # NULLs are excluded by COUNT(col) ...
    assert int(row["nx"]) == 4  # ... NaN became NULL, not a NaN value
    assert int(row["ns"]) == 4  # None and NaN in strings are NULL, '' is not
    assert int(row["sk"]) == 140
    assert float(row["sx"]) == pytest.approx(7.5)  # SUM over a NaN would be NaN

    back = engine.query("SELECT id, k, x, s FROM t_nulls ORDER BY id")
    back.columns = [c.lower() for c in back.columns]
    assert back["id"].astype("int64").tolist() == list(range(1, 7))
    assert back["k"].isna().tolist() == df["k"].isna().tolist()
    assert back["x"].isna().tolist() == df["x"].isna().tolist()
    assert back["s"].isna().tolist() == df["s"].isna().tolist()
    assert back["s"][2] == ""  # empty string survives as empty string
    assert back["s"][5] == df["s"][5]  # quotes, backslash-N and newlines survive
    assert float(back["x"][5]) == 1e-300  # doubles round-trip exactly

    # Integer columns stay integers (not float/double because of the NULLs).
    null_k = engine.query("SELECT k + 1 AS k1 FROM t_nulls WHERE id = 3")
    assert int(null_k.iloc[0, 0]) == 31

    # Loading again replaces the table.
    engine.load("t_nulls", df.head(2))
    assert int(engine.query("SELECT COUNT(*) AS n FROM t_nulls").iloc[0, 0]) == 2


def test_engine_math(engine):
    out = engine.query(
        "SELECT LN(2.0) AS ln2, EXP(1.0) AS e, SQRT(2.0) AS sq, POWER(2.0, 10) AS p, "
        "CAST(7 AS DOUBLE PRECISION) / 2 AS half, 7 % 3 AS m, ABS(-3) AS a"
        if engine.name == "redshift"
        else "SELECT LN(2.0) AS ln2, EXP(1.0) AS e, SQRT(2.0) AS sq, POWER(2.0, 10) AS p, "
        "CAST(7 AS DOUBLE) / 2 AS half, 7 % 3 AS m, ABS(-3) AS a"
    )
    row = {c.lower(): v for c, v in out.iloc[0].items()}
    assert float(row["ln2"]) == pytest.approx(math.log(2.0), rel=1e-12)
    assert float(row["e"]) == pytest.approx(math.e, rel=1e-12)
    assert float(row["sq"]) == pytest.approx(math.sqrt(2.0), rel=1e-12)
    assert float(row["p"]) == pytest.approx(1024.0)
    assert float(row["half"]) == 3.5
    assert int(row["m"]) == 1
    assert int(row["a"]) == 3


def test_engine_math_on_loaded_table(engine):
    df = pd.DataFrame({"id": [1, 2, 3], "v": [1.0, np.nan, math.e]})
    engine.load("t_math", df)
    out = engine.query("SELECT id, LN(v) AS lv FROM t_math ORDER BY id")
    lv = out.iloc[:, 1]
    assert float(lv[0]) == pytest.approx(0.0, abs=1e-15)
    assert pd.isna(lv[1])  # LN(NULL) is NULL
    assert float(lv[2]) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.engine
def test_redshift_dialect_on_postgres(redshift_engine, postgres_server):
    """sqlalchemy-redshift talks to plain PostgreSQL 15 (see engines.py's docstring)."""
    assert redshift_engine.dialect.name == "redshift"
    with redshift_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
        assert conn.exec_driver_sql("SELECT version()").scalar().startswith("PostgreSQL")
        assert conn.execute(sa.text("SELECT 7 % 3")).scalar() == 1  # text() escapes %
    frame = pd.read_sql(sa.text("SELECT 1 AS a, 'x' AS b"), redshift_engine)
    assert frame.to_dict("records") == [{"a": 1, "b": "x"}]
    frame = pd.read_sql_query("SELECT 2 AS a", redshift_engine)
    assert int(frame["a"][0]) == 2
    # The plain postgresql URL reaches the same database.
    pg = sa.create_engine(postgres_server.url_postgres)
    try:
        with pg.connect() as conn:
            assert conn.exec_driver_sql("SELECT current_database()").scalar() == "lookalike"
    finally:
        pg.dispose()


@pytest.mark.engine
def test_redshift_dialect_known_limits(redshift_engine):
    """Pin down what does not work on PostgreSQL, so a change in a dependency shows up."""
    # Without sslmode=disable the dialect insists on verify-full SSL.
    bare = sa.create_engine(redshift_engine.url.difference_update_query(["sslmode"]))
    with pytest.raises(sa.exc.OperationalError, match="SSL"), bare.connect():
        pass
    bare.dispose()
    # Reflection queries Redshift-only catalogs.
    with pytest.raises(sa.exc.ProgrammingError):
        sa.inspect(redshift_engine).has_table("anything")


def _bulk_frame(n: int = 200_000) -> pd.DataFrame:
    """n rows x 30 columns: 10 BIGINT, 15 DOUBLE (10% NULL), 5 text (5% NULL)."""
    rng = np.random.default_rng(0)
    data = {}
    for i in range(10):
        data[f"i{i}"] = rng.integers(0, 1_000_000, n, dtype="int64")
    for i in range(15):
        col = rng.normal(size=n)
        col[rng.random(n) < 0.1] = np.nan
        data[f"f{i}"] = col
    for i in range(5):
        s = pd.Series(rng.choice(["alpha", "beta", "gamma", "delta"], n), dtype=object)
        s[rng.random(n) < 0.05] = None
        data[f"s{i}"] = s
    return pd.DataFrame(data)


@pytest.mark.engine
def test_postgres_bulk_load(redshift_engine):
    df = _bulk_frame()
    n = len(df)
    assert df.shape == (n, 30)

    t0 = time.perf_counter()
    engines.load_table("postgres", redshift_engine, "t_bulk", df)
    elapsed = time.perf_counter() - t0
    print(f"\nloaded {n:,} rows x 30 columns into postgres in {elapsed:.2f}s")

    out = engines.run_query(
        "postgres", redshift_engine, "SELECT COUNT(*), COUNT(f0), COUNT(s0), SUM(i0) FROM t_bulk"
    )
    total, nf0, ns0, si0 = (int(v) for v in out.iloc[0])
    assert total == n
    assert nf0 == int(df["f0"].notna().sum())
    assert ns0 == int(df["s0"].notna().sum())
    assert si0 == int(df["i0"].sum())
    types = engines.run_query(
        "postgres",
        redshift_engine,
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 't_bulk' AND column_name IN ('i0', 'f0', 's0') ORDER BY column_name",
    )
    assert dict(types.itertuples(index=False)) == {
        "f0": "double precision",
        "i0": "bigint",
        "s0": "text",
    }


@pytest.mark.engine
def test_spark_bulk_load(spark):
    df = _bulk_frame()
    t0 = time.perf_counter()
    engines.load_table("spark", spark, "t_bulk", df)  # the Parquet path
    row = spark.sql("SELECT COUNT(*), COUNT(f0), COUNT(s0), SUM(i0) FROM t_bulk").collect()[0]
    print(f"\nloaded {len(df):,} rows x 30 columns into spark and counted in {time.perf_counter() - t0:.2f}s")
    assert tuple(row) == (
        len(df),
        int(df["f0"].notna().sum()),
        int(df["s0"].notna().sum()),
        int(df["i0"].sum()),
    )
    assert {f.name: f.dataType.simpleString() for f in spark.table("t_bulk").schema.fields
            if f.name in ("i0", "f0", "s0")} == {"i0": "bigint", "f0": "double", "s0": "string"}


@pytest.mark.engine
def test_spark_load_paths_agree(spark, monkeypatch):
    """Small frames go in as Python rows, large ones through Parquet: same result."""
    df = _frame_with_nulls()
    df["b"] = pd.array([True, None, False, True, False, None], dtype="boolean")
    df["ts"] = pd.to_datetime(
        ["2024-01-01", None, "2024-02-29 12:34:56.123456", "1999-12-31 23:59:59", None, "2030-06-01"],
        format="ISO8601",
    )
    engines.load_table("spark", spark, "t_rows", df)
    monkeypatch.setattr(engines, "SPARK_PARQUET_MIN_ROWS", 1)
    engines.load_table("spark", spark, "t_parquet", df)
    a, b = spark.table("t_rows"), spark.table("t_parquet")
    assert a.schema == b.schema
    assert a.orderBy("id").collect() == b.orderBy("id").collect()
    assert [f.dataType.simpleString() for f in a.schema.fields] == [
        "bigint", "bigint", "double", "string", "boolean", "timestamp"
    ]


@pytest.mark.engine
def test_startup_times(request):
    """Print the engines' start-up times (only those started so far in this session)."""
    request.getfixturevalue("postgres_server")
    request.getfixturevalue("spark")
    for name, secs in sorted(engines.startup_seconds.items()):
        print(f"{name} started in {secs:.2f}s")
    assert set(engines.startup_seconds) >= {"postgres", "spark"}
