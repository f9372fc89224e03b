"""Failure, on every engine: the library only reads user tables, removes the temporary
objects it creates (also when a run fails midway), names the step and the dialect when
the engine fails or the connection drops, leaves no partial output files, and a rerun
succeeds. Long statements can be given a timeout."""

from __future__ import annotations

import uuid

import datasets
import duckdb
import pandas as pd
import pytest
from helpers import assert_same_audience, reference_for

from lookalike_sql import EngineError, Lookalike, Seed, StatementTimeout
from lookalike_sql.cli import main, write_outputs

ID = "customer_id"


def catalogue(engine_kind: str, connection) -> list[tuple]:
    """Every table and view the session can see, temporary ones included."""
    if engine_kind == "duckdb":
        sql = (
            "SELECT database_name, schema_name, table_name, temporary, estimated_size FROM duckdb_tables() "
            "UNION ALL SELECT database_name, schema_name, view_name, temporary, 0 FROM duckdb_views() WHERE NOT internal"
        )
        return sorted(connection.execute(sql).fetchall())
    if engine_kind == "postgres":
        with connection.connect() as conn:
            rows = conn.exec_driver_sql(
                # relfilenode, not reltuples: autovacuum's ANALYZE may update reltuples any time
                "SELECT n.nspname, c.relname, c.relkind, c.relfilenode FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'"
            ).fetchall()
        return sorted(tuple(r) for r in rows)
    return sorted((t.name, t.database, t.tableType, t.isTemporary) for t in connection.catalog.listTables())


def row_counts(engine, tables: list[str]) -> dict[str, int]:
    return {t: int(engine.query(f"SELECT COUNT(*) AS n FROM {t}").iloc[0, 0]) for t in tables}


@pytest.mark.engine
def test_catalogue_unchanged_after_runs_that_succeed_and_fail(engine):
    """A long list of Python ids goes into a temporary table; it is gone afterwards, when
    the run succeeds and when it fails midway (after the table was created)."""
    dataset = datasets.large_seed()  # 60,000 customers, a seed of 12,000 ids: above every inline limit
    engine.load("fl_pop", dataset.population)
    model = Lookalike("fl_pop", ID, **dataset.params)
    before = catalogue(engine.kind, engine.connection)
    counts = row_counts(engine, ["fl_pop"])

    result = model.execute(engine.connection, Seed.ids(dataset.seed_ids), 100)
    assert len(result.audience) == 100
    assert catalogue(engine.kind, engine.connection) == before

    def fail_at_rank(step, seconds):
        if step == "rank":
            raise RuntimeError("stopped midway by the test")

    with pytest.raises(RuntimeError, match="stopped midway"):
        model.execute(engine.connection, Seed.ids(dataset.seed_ids), 100, progress=fail_at_rank)
    assert catalogue(engine.kind, engine.connection) == before
    assert row_counts(engine, ["fl_pop"]) == counts
    # with a sample (DuckDB draws it into a temporary table of its own): gone as well
    sampled = Lookalike("fl_pop", ID, sample=0.5, **dataset.params)
    assert len(sampled.execute(engine.connection, Seed.ids(dataset.seed_ids), 100).audience) == 100
    with pytest.raises(RuntimeError, match="stopped midway"):
        sampled.execute(engine.connection, Seed.ids(dataset.seed_ids), 100, progress=fail_at_rank)
    assert catalogue(engine.kind, engine.connection) == before


@pytest.mark.engine
def test_engine_error_midway_names_the_step_and_a_rerun_succeeds(engine):
    """The population disappears between the profile and the ranking: the error names the
    step and the dialect; the temporary ids are removed; once the table is back, the same
    call succeeds."""
    dataset = datasets.large_seed()
    table = f"fl_gone_{uuid.uuid4().hex[:6]}"
    engine.load(table, dataset.population)
    engine.load("fl_keep", dataset.population.iloc[:10])
    model = Lookalike(table, ID, **dataset.params)
    seed = Seed.ids(dataset.seed_ids)
    before = [row for row in catalogue(engine.kind, engine.connection) if table not in str(row)]

    def drop_population(step, seconds):
        if step == "rank":
            engine.drop(table)

    with pytest.raises(EngineError, match=rf"^the rank step failed on {engine.name}: ") as exc:
        model.execute(engine.connection, seed, 100, progress=drop_population)
    assert "\n" not in str(exc.value)
    assert catalogue(engine.kind, engine.connection) == before  # the temporary ids are gone too
    engine.load(table, dataset.population)
    ref, distance_of = reference_for(dataset, 100)
    assert_same_audience(model.execute(engine.connection, seed, 100).audience, ref, distance_of, ID)


def test_duckdb_connection_closed_midway(tmp_path):
    dataset = datasets.large_seed()
    path = str(tmp_path / "closed.duckdb")
    con = duckdb.connect(path)
    con.register("frame", dataset.population)
    con.execute("CREATE TABLE pop AS SELECT * FROM frame")
    con.unregister("frame")
    before = catalogue("duckdb", con)
    model = Lookalike("pop", ID, **dataset.params)

    def close(step, seconds):
        if step == "rank":
            con.close()

    with pytest.raises(EngineError, match=r"^the rank step failed on duckdb: .*[Cc]onnection") as exc:
        model.execute(con, Seed.ids(dataset.seed_ids), 100, progress=close)
    assert "\n" not in str(exc.value)
    again = duckdb.connect(path)
    assert catalogue("duckdb", again) == before  # the temporary table went with the session
    ref, distance_of = reference_for(dataset, 100)
    assert_same_audience(model.execute(again, Seed.ids(dataset.seed_ids), 100).audience, ref, distance_of, ID)
    again.close()


def test_postgres_connection_dropped_midway(postgres_server, redshift_engine):
    """The server ends the job's session during the run (as a restart or a network drop
    would): a one-line EngineError naming the step; the same engine then runs the job
    again (the dead connection is not handed out again)."""
    import engines
    import sqlalchemy

    dataset = datasets.large_seed()
    engines.load_table("postgres", redshift_engine, "fl_drop", dataset.population)
    victim = sqlalchemy.create_engine(postgres_server.url_redshift, connect_args={"application_name": "lookalike_victim"})
    before = catalogue("postgres", redshift_engine)
    model = Lookalike("fl_drop", ID, **dataset.params)

    def terminate(step, seconds):
        if step == "rank":
            with redshift_engine.connect() as conn:
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lookalike_victim'"
                ).fetchall()

    with pytest.raises(EngineError, match=r"^the rank step failed on redshift: ") as exc:
        model.execute(victim, Seed.ids(dataset.seed_ids), 100, progress=terminate)
    assert "\n" not in str(exc.value)
    assert catalogue("postgres", redshift_engine) == before
    ref, distance_of = reference_for(dataset, 100)
    assert_same_audience(model.execute(victim, Seed.ids(dataset.seed_ids), 100).audience, ref, distance_of, ID)
    victim.dispose()


def _slow_population(engine) -> str:
    """A population big enough for its profile to take well over the timeout."""
    name = "fl_slow"
    features = ", ".join(f"(id * {k + 7}) % 101 + 0.5 AS f{k}" for k in range(12))
    if engine.kind == "duckdb":
        engine.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT range AS id, {features} FROM range(6000000)")
    elif engine.kind == "postgres":
        engine.execute(f"DROP TABLE IF EXISTS {name}")
        engine.execute(f"CREATE TABLE {name} AS SELECT id, {features} FROM generate_series(1, 600000) AS g(id)")
    else:
        engine.connection.range(8_000_000).selectExpr("id", *[f"(id * {k + 7}) % 101 + 0.5 AS f{k}" for k in range(12)]).createOrReplaceTempView(name)
    return name


@pytest.mark.engine
def test_timeout_cancels_a_long_statement(engine):
    table = _slow_population(engine)
    model = Lookalike(table, "id", min_count=1)
    timeout = engine.facts.timeout
    with pytest.raises(StatementTimeout, match=rf"^the (facts|profile) step on {engine.name} ran past the {timeout:g} s timeout and was cancelled") as exc:
        model.execute(engine.connection, Seed.query(f"SELECT id FROM {table} WHERE f0 < 20"), 10, timeout=timeout)
    assert "\n" not in str(exc.value)
    # the connection is usable afterwards, and a generous timeout lets a job finish
    dataset = datasets.basic()
    engine.load("fl_after_timeout", dataset.population)
    ref, distance_of = reference_for(dataset, 50)
    result = Lookalike("fl_after_timeout", ID, **dataset.params).execute(engine.connection, Seed.ids(dataset.seed_ids), 50, timeout=600)
    assert_same_audience(result.audience, ref, distance_of, ID)


def test_bad_timeout():
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        Lookalike("pop", ID).execute(duckdb.connect(), Seed.ids([1]), 10, timeout=0)


def test_no_partial_outputs_when_writing_fails(tmp_path, monkeypatch):
    con = duckdb.connect()
    dataset = datasets.basic()
    con.register("frame", dataset.population)
    con.execute("CREATE TABLE pop AS SELECT * FROM frame")
    result = Lookalike("pop", ID, **dataset.params).execute(con, Seed.ids(dataset.seed_ids), 50)
    out = tmp_path / "out"

    from lookalike_sql import report

    def broken_report(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(report, "write_report", broken_report)
    with pytest.raises(OSError, match="disk full"):
        write_outputs(out, result)
    assert list(out.iterdir()) == []  # nothing half-written, no staging folder left
    monkeypatch.undo()
    written = write_outputs(out, result)
    assert sorted(p.name for p in out.iterdir()) == sorted(written)
    assert pd.read_csv(out / "lookalike.csv")[ID].tolist() == result.audience[ID].tolist()


def test_cli_failure_writes_nothing(tmp_path, capsys):
    db = tmp_path / "db.duckdb"
    con = duckdb.connect(str(db))
    dataset = datasets.basic()
    con.register("frame", dataset.population)
    con.execute("CREATE TABLE pop AS SELECT * FROM frame")
    con.execute("CREATE TABLE pop_dup AS SELECT * FROM pop UNION ALL SELECT * FROM pop LIMIT 3100")
    con.close()
    out = tmp_path / "out"
    code = main(["run", "--url", str(db), "--population", "pop_dup", "--id-column", ID, "--seed-query",
                 f"SELECT {ID} FROM pop WHERE age BETWEEN 25 AND 35", "--size", "100", "--out", str(out)])
    assert code == 2
    assert "appear more than once" in capsys.readouterr().err
    assert not out.exists() or list(out.iterdir()) == []
