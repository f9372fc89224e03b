"""The ``lookalike-sql`` command line: run, sql, demo."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .errors import LookalikeError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except LookalikeError as exc:
        print(f"lookalike-sql: error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lookalike-sql",
        description="Find customers who look like a seed audience, with SQL that runs in the warehouse.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the job on a warehouse and write the audience to --out")
    run.add_argument("--url", required=True, help="SQLAlchemy URL, or a path ending in .duckdb")
    _job_arguments(run)
    run.add_argument("--out", required=True, type=Path, help="folder for lookalike.csv, top_features.csv, query.sql, lookalike.png, report.md")
    run.add_argument("--timeout", type=float, help="cancel any statement that runs longer than this many seconds")
    run.add_argument("--catalogue", help="CSV (feature, category) naming the features' categories (default: the seed's catalogue)")
    run.set_defaults(handler=_run)

    sql = commands.add_parser("sql", help="print the job as one SQL statement, without running it")
    sql.add_argument("--dialect", default="duckdb", help="duckdb, redshift or hive (default duckdb)")
    sql.add_argument("--url", help="read the feature columns from this database (else give --features)")
    _job_arguments(sql)
    sql.set_defaults(handler=_sql)

    demo = commands.add_parser("demo", help="build a synthetic DuckDB population, define a seed by hard filters, expand it")
    demo.add_argument("--dir", type=Path, default=Path("lookalike-demo"), help="where the database and outputs go")
    demo.add_argument("--customers", type=int, default=200_000, help="population size (default 200,000)")
    demo.add_argument("--size", type=int, default=20_000, help="lookalike audience size (default 20,000)")
    demo.set_defaults(handler=_demo)
    return parser


def _job_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--population", help="wide population table, one row per customer; several tables joined on the id: a,b")
    where.add_argument("--long-table", help="long population table: one row per (id, feature, value)")
    parser.add_argument("--ids-table", help="with --long-table: table listing every customer (default: the ids the long table holds)")
    parser.add_argument("--feature-column", default="feature", help="with --long-table: its feature-name column (default feature)")
    parser.add_argument("--value-column", default="value", help="with --long-table: its value column (default value)")
    parser.add_argument("--fill", default="0", help="with --long-table: a missing feature's value, a number or NULL (default 0)")
    parser.add_argument("--id-column", required=True, help="the customer id column")
    parser.add_argument("--sample", help="profile the population on a deterministic sample: a count (200000) or a share (10%%)")
    parser.add_argument("--features", help="comma-separated feature columns (default: every numeric column but the id)")
    seed = parser.add_mutually_exclusive_group(required=True)
    seed.add_argument("--seed-file", type=Path, help="one-column CSV of seed ids, header = the id column's name")
    seed.add_argument("--seed-table", help="table holding the seed ids")
    seed.add_argument("--seed-query", help="a SELECT returning the seed ids in one column")
    parser.add_argument("--seed-column", help="id column of --seed-table (default: --id-column)")
    parser.add_argument("--size", required=True, type=int, help="how many customers to return")
    parser.add_argument("--max-features", type=int, default=20, help="most features to weigh (default 20)")
    parser.add_argument("--threshold", type=float, default=0.05, help="least JS divergence of a weighed feature (default 0.05)")
    parser.add_argument("--bins", type=int, default=10, help="histogram bins per feature (default 10)")
    parser.add_argument("--min-count", type=int, default=30, help="least non-NULL seed values to judge a feature (default 30)")
    parser.add_argument("--exclude-seed", action="store_true", help="leave the seed's members out of the audience")


def _model_and_seed(args: argparse.Namespace) -> tuple[Any, Any]:
    from .model import Lookalike
    from .seed import Seed

    features = [f.strip() for f in args.features.split(",") if f.strip()] if args.features else None
    model = Lookalike(
        population=_population(args),
        sample=args.sample,
        id_column=args.id_column,
        features=features,
        max_features=args.max_features,
        threshold=args.threshold,
        bins=args.bins,
        min_count=args.min_count,
    )
    if args.seed_file is not None:
        seed = Seed.csv(args.seed_file, id_column=args.id_column)
    elif args.seed_table is not None:
        seed = Seed.table(args.seed_table, column=args.seed_column)
    else:
        seed = Seed.query(args.seed_query)
    return model, seed


def _population(args: argparse.Namespace) -> Any:
    from .errors import InputError
    from .population import Long, Wide

    if args.population is not None:
        if args.ids_table is not None:
            raise InputError("--ids-table goes with --long-table: a wide population lists its customers itself")
        return Wide(*[t.strip() for t in args.population.split(",") if t.strip()])
    fill_text = args.fill.strip()
    try:
        fill = None if fill_text.upper() == "NULL" else float(fill_text)
    except ValueError:
        raise InputError(f"--fill {fill_text!r} is not a number: give a number or NULL") from None
    return Long(args.long_table, ids=args.ids_table, feature_column=args.feature_column, value_column=args.value_column, fill=fill)


class _Progress:
    """Prints each step as it starts with the elapsed time, and every 10 s while a long
    step runs (the warehouse gives no finer progress for one statement)."""

    LABELS = {
        "profile": "profiling the features and selecting the weights",
        "rank": "ranking every customer",
        "histograms": "counting the audience's histograms",
        "plot": "drawing the histograms",
        "report": "writing the report",
        "done": "the warehouse's part is done",
        "written": "done",
    }

    def __init__(self, started: float | None = None, every: float = 10.0) -> None:
        self.started = time.perf_counter() if started is None else started
        self.every = every
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __call__(self, step: str, seconds: float | None = None) -> None:
        self.stop()
        label = self.LABELS.get(step, step)
        self._say(label)
        if step not in ("done", "written"):
            self._stop = threading.Event()
            self._ticker = threading.Thread(target=self._tick, args=(label, self._stop), daemon=True)
            self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None

    def _tick(self, label: str, stop: threading.Event) -> None:
        began = time.perf_counter()
        while not stop.wait(self.every):
            self._say(f"... still {label} ({time.perf_counter() - began:.0f}s in this step)")

    def _say(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.1f}s] {text}", file=sys.stderr, flush=True)


def _sql(args: argparse.Namespace) -> int:
    from .connections import connect

    model, seed = _model_and_seed(args)
    connection = connect(args.url) if args.url else None
    print(model.sql(seed, args.size, exclude_seed=args.exclude_seed, dialect=args.dialect, connection=connection), end="")
    return 0


def _run(args: argparse.Namespace) -> int:
    from .catalogue import load_catalogue
    from .connections import connect

    model, seed = _model_and_seed(args)
    if args.catalogue:
        load_catalogue(args.catalogue)  # a bad file is an error before anything runs
    progress = _Progress()
    try:
        result = model.execute(
            connect(args.url), seed, args.size, exclude_seed=args.exclude_seed, progress=progress, timeout=args.timeout
        )
        result.catalogue = args.catalogue
        written = write_outputs(args.out, result, progress)
    finally:
        progress.stop()
    _summary(result, written)
    return 0


def write_outputs(out: Path, result: Any, progress: Any = None) -> dict[str, Path]:
    """lookalike.csv, top_features.csv, query.sql (the statements that ran),
    lookalike.png (when matplotlib is installed) and report.md: all of them, or none."""
    from .output import staged_folder

    with staged_folder(out) as staging:
        written = _write_outputs(staging, result, progress)
    return {name: out / name for name in written}


def _write_outputs(out: Path, result: Any, progress: Any = None) -> dict[str, Path]:
    from .output import write_csv, write_text
    from .report import plot_histograms, write_report

    report = progress or (lambda step: None)
    paths = {name: out / name for name in ("lookalike.csv", "top_features.csv", "query.sql")}
    write_csv(paths["lookalike.csv"], result.audience)
    write_csv(paths["top_features.csv"], result.top_features)
    steps = list(result.statements.items())
    write_text(
        paths["query.sql"],
        "\n".join(f"-- step {i} of {len(steps)}: {step}\n{sql.rstrip()};\n" for i, (step, sql) in enumerate(steps, 1)),
    )
    picture = None
    if _can_plot():
        report("plot")
        picture = paths["lookalike.png"] = out / "lookalike.png"
        plot_histograms(result, picture)
    report("report")
    paths["report.md"] = out / "report.md"
    write_report(paths["report.md"], result, picture)
    report("written")
    return paths


def _can_plot() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _summary(result: Any, written: dict[str, Path]) -> None:
    profiled = "" if result.n_profiled == result.n_population else f" (profiled on a sample of {result.n_profiled:,})"
    print(
        f"population {result.n_population:,}{profiled}; seed {result.n_seed_ids:,} ids, {result.n_seed_found:,} found; "
        f"audience {len(result.audience):,}"
    )
    print("top features (feature, JS divergence, weight, category):")
    for row in result.top_features.itertuples():
        print(f"  {row.feature:<12} {row.js_divergence:8.4f} {row.weight:8.4f}  {row.category}")
    for warning in result.warnings:
        print(f"warning: {warning}")
    if "lookalike.png" not in written:
        print("(no picture: pip install 'lookalike-sql[plot]' for lookalike.png)")
    for path in written.values():
        print(f"wrote {path}")


def _demo(args: argparse.Namespace) -> int:
    import duckdb

    from .demo_data import MOM_SEED_SQL, build_demo_database
    from .model import Lookalike
    from .seed import Seed

    started = time.perf_counter()
    args.dir.mkdir(parents=True, exist_ok=True)
    database = args.dir / "demo.duckdb"
    print(f"[{0.0:6.1f}s] building {args.customers:,} synthetic customers in {database}", file=sys.stderr, flush=True)
    facts = build_demo_database(database, n_customers=args.customers)
    print(
        f"[{time.perf_counter() - started:6.1f}s] seed by hard filters (the README's moms): "
        f"{facts['seed_size']:,} customers\n{MOM_SEED_SQL.strip()}",
        file=sys.stderr,
        flush=True,
    )
    con = duckdb.connect(str(database))
    progress = _Progress(started)
    try:
        model = Lookalike("population", id_column="member_srl")
        t0 = time.perf_counter()
        result = model.execute(con, Seed.table("mom_seed"), args.size, progress=progress)
        written = write_outputs(args.dir / "out", result, progress)
    finally:
        progress.stop()
        con.close()
    _summary(result, written)
    print(f"the lookalike job took {time.perf_counter() - t0:.1f}s; the whole demo {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
