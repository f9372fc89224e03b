"""``lookalike-sql check``: what a CI pipeline runs before a job's SQL ships.

For each dialect of the job: render the one statement, parse it with sqlglot in that
dialect and run the dialect's lint (lint.py: constructs the real warehouse lacks). Then
run the DuckDB rendering of the same job on a small sample of the data (a DuckDB file, a
Parquet or CSV extract of the population, or synthetic data built from the declared
features) through ``execute()`` and the one statement, and compare the ids with the
NumPy reference (reference.py). Each step is one ``CheckResult``; the command prints
them, writes the statements to a folder when asked, and can write JUnit XML.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .context import parse_size
from .dialects import get_dialect, split_table_name
from .errors import LookalikeError
from .job import Job
from .lint import lint
from .population import Long, Wide
from .seed import Seed

TOLERANCE = 1e-9


@dataclass
class CheckResult:
    name: str  # e.g. "hive: render", "duckdb sample: ids equal the reference"
    ok: bool
    message: str
    seconds: float = 0.0


def check_job(job: Job, *, write_sql: str | Path | None = None) -> list[CheckResult]:
    """Every check of the job; never raises for a failing check (it becomes a result)."""
    results: list[CheckResult] = []
    data, rows = job.check_data, job.check_rows

    def step(name: str, action: Any) -> Any:
        started = time.perf_counter()
        try:
            outcome = action()
        except (LookalikeError, AssertionError) as exc:
            results.append(CheckResult(name, False, str(exc), time.perf_counter() - started))
            return None
        except Exception as exc:  # noqa: BLE001 - an engine's error is a failed check too
            results.append(CheckResult(name, False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", time.perf_counter() - started))
            return None
        results.append(CheckResult(name, True, outcome or "ok", time.perf_counter() - started))
        return True

    sample: dict[str, Any] = {}
    # The seed query is validated before anything runs it, on the sample or anywhere.
    queries = job.seed.kind == "query" or any(e.kind == "query" for e in job.exclude)
    seed_ok = not queries or step("seed: one read-only SELECT in every dialect", lambda: _check_seed_query(job))
    if seed_ok:
        step(f"sample: {rows:,} customers from {_describe_data(data)}", lambda: _build_sample(job, data, rows, sample))
    con = sample.get("con")
    model = None
    if con is not None:
        model = job.model_for(con, list_features=True)
    statements: dict[str, str] = {}
    for dialect in job.dialects:
        def render(dialect: str = dialect) -> str:
            used = model or job.model_for(None)
            if used.method == "mahalanobis":  # no one statement: the profile is what a console runs first
                statements[dialect] = used.profile_sql(job.seed, dialect=dialect)
                return f"the profile statement (mahalanobis ranks in later statements), {len(statements[dialect]) / 1e3:,.1f} KB"
            statements[dialect] = used.sql(job.seed, job.size, dialect=dialect, **job.controls())
            return f"{len(statements[dialect]) / 1e3:,.1f} KB, {len(used.features or [])} candidate features"

        if step(f"{dialect}: render", render):
            step(f"{dialect}: parse and lint", lambda dialect=dialect: _lint(statements[dialect], dialect))
            if dialect == "hive":
                step("hive: console", lambda: _console(statements["hive"]))
    if write_sql is not None and statements:
        from .output import write_text

        folder = Path(write_sql)
        for dialect, sql in statements.items():
            write_text(folder / f"{dialect}.sql", sql)
    if con is not None and model is not None:
        step("duckdb sample: execute() and the one statement give the reference's ids", lambda: _compare(job, model, sample))
    return results


# ----------------------------------------------------------------------------- sample data

def _check_seed_query(job: Job) -> str:
    from .validate import query_id_column

    for dialect in dict.fromkeys(["duckdb", *job.dialects]):
        if job.seed.kind == "query":
            query_id_column(job.seed.sql or "", dialect, value_column=job.seed.value_column)
        for exclusion in job.exclude:
            if exclusion.kind == "query":
                query_id_column(exclusion.sql or "", dialect, role="exclusion")
    return "accepted"


def _describe_data(data: str | None) -> str:
    return data if data else "synthetic data built from the job's features"


def _build_sample(job: Job, data: str | None, rows: int, sample: dict[str, Any]) -> str:
    """An in-memory DuckDB holding the job's tables (same names) for a sample of customers."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    population = job.model.population
    tables = list(population.tables) if isinstance(population, Wide) else [population.table] + ([population.ids] if population.ids else [])
    id_col = job.model.id_column
    if data is None:
        _synthetic(con, job, rows)
    elif data.endswith(".duckdb"):
        _from_duckdb_file(con, job, data, tables, rows)
    elif data.endswith((".parquet", ".csv")):
        if len(tables) != 1 or isinstance(population, Long):
            raise _CheckFailed(f"an extract ({Path(data).suffix}) holds one wide table; this job reads {len(tables)}: give a .duckdb file")
        reader = "read_parquet" if data.endswith(".parquet") else "read_csv_auto"
        _create(con, tables[0], f"SELECT * FROM {reader}({_text(data)}) ORDER BY md5(CAST({_q(id_col)} AS VARCHAR)) LIMIT {int(rows)}")
        if job.seed.kind == "table":
            raise _CheckFailed(f"the seed table {job.seed.table_name} is not in the extract: give a .duckdb file, or a seed query or file")
    else:
        raise _CheckFailed(f"check data {data!r} is not a .duckdb, .parquet or .csv file")
    sample["con"] = con
    return f"{_customers(con, job.model):,} customers"


class _CheckFailed(LookalikeError):
    pass


#: check's sample runs on DuckDB: names through the DuckDB dialect's quoting
_q, _qt = get_dialect("duckdb").quote, get_dialect("duckdb").quote_table


def _text(value: str) -> str:
    """A DuckDB string literal of a file path (a backslash is a plain character there,
    which Dialect.string_literal refuses for portability)."""
    return "'" + value.replace("'", "''") + "'"


def _create(con: Any, table: Any, select: str) -> None:
    parts = split_table_name(table)
    if len(parts) == 2:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(parts[0])}")
    elif len(parts) == 3:
        raise _CheckFailed(f"table {table!r} names a catalog: check runs on one DuckDB database; use schema.table")
    con.execute(f"CREATE OR REPLACE TABLE {_qt(table)} AS {select}")


def _from_duckdb_file(con: Any, job: Job, path: str, tables: list[Any], rows: int) -> None:
    """The customers with the smallest md5(id) (the seed's members first, so the sample
    holds some of them), from every table the job reads."""
    if not Path(path).is_file():
        raise _CheckFailed(f"check data {path!r} does not exist: build it, or leave [check] data out for synthetic data")
    con.execute(f"ATTACH {_text(path)} AS source (READ_ONLY)")
    con.execute("USE source")  # the seed query reads the source's tables by their own names
    id_col = _q(job.model.id_column)
    seed_ids = _seed_ids(con, job)
    con.execute("USE memory")
    population = job.model.population
    if isinstance(population, Long) and population.ids is None:  # the customers are the ids its rows hold
        first = f"(SELECT DISTINCT {id_col} FROM source.{_qt(population.table)}) customers"
    else:
        first = f"source.{_qt(_first_table(job.model))}"
    picked = (
        f"SELECT {id_col} FROM {first} ORDER BY CASE WHEN {id_col} IN (SELECT seed_id FROM seed_ids_source) THEN 0 ELSE 1 END, "
        f"md5(CAST({id_col} AS VARCHAR)) LIMIT {int(rows)}"
    )
    con.register("seed_ids_frame", pd.DataFrame({"seed_id": seed_ids}))
    con.execute("CREATE TEMP TABLE seed_ids_source AS SELECT seed_id FROM seed_ids_frame")
    con.execute(f"CREATE TEMP TABLE sampled_ids AS {picked}")
    for table in tables:
        _create(con, table, f"SELECT t.* FROM source.{_qt(table)} t WHERE t.{id_col} IN (SELECT {id_col} FROM sampled_ids)")
    for audience in [job.seed, *job.exclude]:
        if audience.kind == "table":
            _create(con, audience.table_name, f"SELECT * FROM source.{_qt(audience.table_name)}")
    con.execute("DETACH source")


def _seed_ids(con: Any, job: Job) -> list[Any]:
    return _audience_ids(con, job.seed, job.model.id_column)


def _reference_seed(con: Any, job: Job) -> list[Any] | dict[Any, float]:
    """The seed as the reference takes it: its ids, or id -> value for a value-based seed."""
    from .connections import warehouse_for

    members = job.seed.resolve(warehouse_for(con), job.model.id_column)
    return list(members.values) if members.member_values is None else dict(zip(members.values, members.member_values))


def _filtered_ids(con: Any, model: Any, population_filter: str) -> list[Any]:
    population = model.population
    relation = _qt(population.ids) if isinstance(population, Long) else _qt(population.tables[0])
    return con.execute(f"SELECT {_q(model.id_column)} FROM {relation} WHERE (\n{population_filter}\n)").fetchdf().iloc[:, 0].tolist()


def _audience_ids(con: Any, seed: Seed, id_column: str) -> list[Any]:
    """The ids of an audience (the seed, an exclusion), read on the sample."""
    from .connections import warehouse_for

    return list(seed.resolve(warehouse_for(con), id_column).values)


def _synthetic(con: Any, job: Job, rows: int) -> None:
    """A population from the declared schema: integer ids, the job's features as doubles
    (a tenth NULL); the seed's members (the first 5% of ids, or the file's ids) differ on
    half of the features, so that some are selected."""
    model = job.model
    features = model.features
    if not features:
        raise _CheckFailed("synthetic data needs the job's features: list them ([population] features), or give --data")
    rng = np.random.default_rng(0)
    if job.seed.kind == "ids":
        members = [int(v) for v in job.seed.values if isinstance(v, int)]
        if len(members) != len(job.seed.values):
            raise _CheckFailed("synthetic data has integer ids; the seed file holds text ids: give --data")
    else:
        members = list(range(1, max(2, rows // 20) + 1))
    ids = np.array(sorted(set(members) | set(range(1, rows + 1))), dtype="int64")[: max(rows, len(members))]
    frame = pd.DataFrame({model.id_column: ids})
    is_member = np.isin(ids, members)
    for k, name in enumerate(features):
        values = rng.lognormal(2.0, 1.0, len(ids))
        if k % 2 == 0:
            values = np.where(is_member, values * 3 + 5, values)
        values[rng.random(len(ids)) < 0.1] = np.nan
        frame[name] = values
    con.register("synthetic_frame", frame)
    population = model.population
    if isinstance(population, Long):
        long = frame.melt(id_vars=[model.id_column], var_name=population.feature_column, value_name=population.value_column)
        long = long[long[population.value_column].notna()]
        con.register("synthetic_long", long)
        _create(con, population.table, "SELECT * FROM synthetic_long")
        if population.ids:
            _create(con, population.ids, f"SELECT {_q(model.id_column)} FROM synthetic_frame")
    else:
        if len(population.tables) != 1:
            raise _CheckFailed("synthetic data builds one wide table; this job splits the population: give --data")
        _create(con, population.tables[0], "SELECT * FROM synthetic_frame")
    if job.seed.kind == "table":
        column = job.seed.column or model.id_column
        seed = {column: members}
        if job.seed.value_column:  # a value-based seed: spend-like values
            seed[job.seed.value_column] = np.round(rng.lognormal(3.0, 1.0, len(members)), 2)
        con.register("synthetic_seed", pd.DataFrame(seed))
        _create(con, job.seed.table_name, "SELECT * FROM synthetic_seed")


# ----------------------------------------------------------------------------- comparison

def _lint(sql: str, dialect: str) -> str:
    problems = lint(sql, dialect)
    if problems:
        raise AssertionError("; ".join(problems))
    return "parses as one statement; no construct the warehouse lacks"


def _console(sql: str) -> str:
    from .console import console_problems

    problems = console_problems(sql)
    if problems:
        raise AssertionError("; ".join(problems))
    return "reaches the Hive CLI and beeline whole (no quote, ';' or backslash they would misread)"


def _customers(con: Any, model: Any) -> int:
    population = model.population
    if isinstance(population, Long) and population.ids is None:
        return con.execute(f"SELECT COUNT(DISTINCT {_q(model.id_column)}) FROM {_qt(population.table)}").fetchone()[0]
    return con.execute(f"SELECT COUNT(*) FROM {_qt(_first_table(model))}").fetchone()[0]


def _first_table(model: Any) -> Any:
    population = model.population
    return population.tables[0] if isinstance(population, Wide) else (population.ids or population.table)


def _population_frame(con: Any, job: Job, model: Any) -> pd.DataFrame:
    """The sample as one wide frame, as the reference reads it."""
    population = model.population
    id_col = model.id_column
    if isinstance(population, Wide):
        frames = [con.execute(f"SELECT * FROM {_qt(t)}").fetchdf() for t in population.tables]
        wide = frames[0]
        for other in frames[1:]:
            wide = wide.merge(other, on=id_col, how="left")
        return wide[[id_col, *model.features]]
    rows = con.execute(f"SELECT * FROM {_qt(population.table)}").fetchdf()
    fcol, vcol = population.feature_column, population.value_column
    rows = rows[rows[fcol].isin(model.features)]
    ids = (
        con.execute(f"SELECT {_q(id_col)} FROM {_qt(population.ids)}").fetchdf()[id_col]
        if population.ids
        else pd.Series(rows[id_col].unique(), name=id_col)
    )
    values = rows.pivot(index=id_col, columns=fcol, values=vcol)
    present = rows.assign(_one=1.0).pivot(index=id_col, columns=fcol, values="_one")
    wide = pd.DataFrame({id_col: ids.to_numpy()})
    for name in model.features:
        column = values[name] if name in values else pd.Series(dtype="float64")
        has_row = present[name] if name in present else pd.Series(dtype="float64")
        got = wide[id_col].map(column)
        fill = population.fill_of(name)
        wide[name] = got.where(wide[id_col].map(has_row).notna(), np.nan if fill is None else fill)
    return wide


def _compare(job: Job, model: Any, sample: dict[str, Any]) -> str:
    from .reference import reference_lookalike

    con = sample["con"]
    parsed = parse_size(job.size)
    size = parsed if isinstance(parsed, Fraction) else max(1, min(parsed, _customers(con, model) // 5))
    result = model.execute(con, job.seed, size, **job.controls())  # the library's own errors first
    frame = _population_frame(con, job, model)
    seed_ids = _reference_seed(con, job)
    controls: dict[str, Any] = {"exclude_seed": job.exclude_seed}
    if job.exclude:
        controls["exclude"] = [i for e in job.exclude for i in _audience_ids(con, e, model.id_column)]
    if job.population_filter:
        kept = set(_filtered_ids(con, model, job.population_filter))
        controls["rank_mask"] = frame[model.id_column].isin(kept).to_numpy()
    params = {"max_features": model.max_features, "threshold": model.threshold, "bins": model.bins, "min_count": model.min_count}
    params["sample"] = model.sample
    params["method"] = model.method
    try:
        reference = reference_lookalike(frame, model.id_column, seed_ids, size, **controls, **params)
    except ValueError as exc:
        raise AssertionError(f"the reference refuses the sample ({exc}): give more rows (--rows) or other data") from None
    everyone = reference_lookalike(frame, model.id_column, seed_ids, len(frame), **{**controls, "rank_mask": None, "exclude": None, "exclude_seed": False}, **params)
    distance_of = everyone.audience.set_index(model.id_column)["distance"]
    _same_ids(result.audience, reference.audience, distance_of, model.id_column, "execute()")
    if model.method != "mahalanobis":  # (mahalanobis has no one statement)
        statement = con.execute(model.sql(job.seed, size, dialect="duckdb", connection=con, **job.controls())).fetchdf()
        statement.columns = [model.id_column, "rank", "distance"]
        _same_ids(statement, reference.audience, distance_of, model.id_column, "the one statement")
    chosen = reference.features[reference.features["selected"]]
    weights = result.features.set_index("feature")["weight"]
    for row in chosen.itertuples():
        if abs(float(weights[row.feature]) - row.weight) > TOLERANCE:
            raise AssertionError(f"weight of {row.feature}: {weights[row.feature]} against the reference's {row.weight}")
    return f"top {size:,} of {len(frame):,} customers, {len(chosen)} features weighed, same ids and weights as the reference"


def _same_ids(got: pd.DataFrame, expected: pd.DataFrame, distance_of: pd.Series, id_col: str, what: str) -> None:
    """The same ids in the same order, up to genuine floating-point ties."""
    if len(got) != len(expected):
        raise AssertionError(f"{what} returned {len(got):,} customers, the reference {len(expected):,}")
    for rank, (a, b) in enumerate(zip(got[id_col].tolist(), expected[id_col].tolist()), start=1):
        if a != b and abs(float(distance_of[a]) - float(distance_of[b])) > TOLERANCE * max(1.0, abs(float(distance_of[b]))):
            raise AssertionError(f"{what}: rank {rank} is id {a}, the reference has {b}")


# ----------------------------------------------------------------------------- reports

def report_text(results: list[CheckResult]) -> str:
    lines = [f"{'PASS' if r.ok else 'FAIL'}  {r.name} ({r.seconds:.1f} s): {r.message}" for r in results]
    failed = sum(not r.ok for r in results)
    lines.append(f"{len(results) - failed} passed, {failed} failed")
    return "\n".join(lines) + "\n"


def junit_xml(results: list[CheckResult], job_name: str) -> bytes:
    suite = ET.Element(
        "testsuite",
        name=f"lookalike-sql check {job_name}",
        tests=str(len(results)),
        failures=str(sum(not r.ok for r in results)),
        errors="0",
        time=f"{sum(r.seconds for r in results):.3f}",
    )
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=f"lookalike-sql.{job_name}", name=r.name, time=f"{r.seconds:.3f}")
        if not r.ok:
            ET.SubElement(case, "failure", message=r.message[:500]).text = r.message
    return ET.tostring(ET.ElementTree(suite).getroot(), encoding="utf-8", xml_declaration=True)
