"""The ``lookalike-sql`` command line: run, sql, demo."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
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


def console_main() -> None:
    """The installed ``lookalike-sql`` command: ``main()``, then the process ends without
    the interpreter's teardown (a third of a second spent freeing pandas' and matplotlib's
    modules) once its output is flushed. Every file is written and closed by then."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lookalike-sql",
        description="Find customers who look like a seed audience, with SQL that runs in the warehouse.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the job on a warehouse and write the audience to --out")
    _job_arguments(run, "run")
    run.add_argument("--catalogue", help="CSV (feature, category) naming the features' categories (default: the seed's catalogue)")
    run.set_defaults(handler=_run)

    sql = commands.add_parser("sql", help="print the job as one SQL statement, without running it")
    sql.add_argument("--dialect", help="duckdb, redshift or hive (default: the job's first dialect, else duckdb)")
    _job_arguments(sql, "sql")
    sql.set_defaults(handler=_sql)

    check = commands.add_parser("check", help="render, parse and lint the job in each dialect; run it on a DuckDB sample against the reference")
    _job_arguments(check, "check")
    check.add_argument("--write-sql", type=Path, help="write each dialect's statement to this folder (<dialect>.sql)")
    check.add_argument("--junit", type=Path, help="write the results as JUnit XML to this file")
    check.set_defaults(handler=_check)

    evaluate = commands.add_parser(
        "evaluate", help="hide part of the seed, build the audience from the rest, report recall and lift at shares of the population"
    )
    _job_arguments(evaluate, "evaluate")
    evaluate.add_argument("--holdout", default="0.5", help="share of the seed to hide, chosen by md5 of the id: 0.5 or 50%% (default 50%%)")
    evaluate.add_argument("--shares", default="1%,5%,10%,20%,50%", help="comma-separated shares of the population (default 1%%,5%%,10%%,20%%,50%%)")
    evaluate.add_argument("--methods", help="comma-separated scoring methods (default: the job's [model] method, euclidean)")
    evaluate.set_defaults(handler=_evaluate)

    init = commands.add_parser("init", help="write a commented example job file")
    init.add_argument("path", nargs="?", type=Path, default=Path("job.toml"), help="where to write it (default job.toml)")
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.set_defaults(handler=_init)

    demo = commands.add_parser("demo", help="build a synthetic DuckDB population, define a seed by hard filters, expand it")
    demo.add_argument("--dir", type=Path, default=Path("lookalike-demo"), help="where the database, job.toml and outputs go")
    demo.add_argument("--customers", type=int, default=200_000, help="population size (default 200,000)")
    demo.add_argument("--size", type=int, default=20_000, help="lookalike audience size (default 20,000)")
    demo.set_defaults(handler=_demo)
    return parser


def _job_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """The job's settings this command takes, as flags (job.SETTINGS). Each is optional:
    it may come from --job instead; a flag given overrides the file's value (no flag has
    a default of its own: the settings' defaults apply in Job.from_settings)."""
    from .job import SETTINGS

    parser.add_argument("--job", type=Path, help="a job file (TOML, see `lookalike-sql init`); flags override it")
    groups: dict[str, Any] = {}
    for s in SETTINGS:
        if s.flag_name is None or command not in s.commands:
            continue
        if s.group and s.group not in groups:
            groups[s.group] = parser.add_mutually_exclusive_group()
        where = groups[s.group] if s.group else parser
        if s.flag_type is None:
            how: dict[str, Any] = {"action": "store_true", "default": None}
        elif s.repeatable:
            how = {"action": "append"}
        else:
            how = {"type": s.flag_type}
        where.add_argument(s.flag_name, dest=s.name, help=s.help_with_default, **how)


def _job(args: argparse.Namespace) -> Any:
    """The job from --job and the flags: a flag given wins over the file; a seed flag
    replaces the file's seed, and a population flag its population."""
    from .job import SETTINGS, Job, read_job_file

    settings = read_job_file(args.job) if args.job is not None else {}
    flags = {s.name: getattr(args, s.name) for s in SETTINGS if getattr(args, s.name, None) is not None}
    for group, goes_with in ((("seed_file", "seed_table", "seed_query"), ("seed_column", "seed_value")), (("population", "long_table"), ())):
        if any(name in flags for name in group):
            for name in group + goes_with:
                settings.pop(name, None)
    return Job.from_settings({**settings, **flags})


class _Progress:
    """Prints each step as it starts with the elapsed time, and every 10 s while a long
    step runs (the warehouse gives no finer progress for one statement). ``on_first_step``
    is called once, as the first step starts: work for a thread of its own that should
    overlap the warehouse's (which releases the GIL), not the start-up's Python."""

    LABELS = {
        "sample": "drawing the profile sample",
        "ranges": "reading the ranges of the features (pass 1 of the profile)",
        "profile": "profiling the features and selecting the weights",
        "rank": "ranking every customer",
        "histograms": "counting the audience's histograms",
        "plot": "drawing the histograms",
        "report": "writing the report",
        "done": "the warehouse's part is done",
        "written": "done",
    }

    def __init__(self, started: float | None = None, every: float = 10.0, on_first_step: Callable[[], object] | None = None) -> None:
        self.started = time.perf_counter() if started is None else started
        self.every = every
        self._on_first_step = on_first_step
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __call__(self, step: str, seconds: float | None = None) -> None:
        self.stop()
        label = self.LABELS.get(step, step)
        self._say(label)
        if self._on_first_step is not None:
            self._on_first_step()
            self._on_first_step = None
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
    from .console import console_problems

    job = _job(args)
    connection = connect(job.url) if job.url else None
    dialect = args.dialect or job.dialects[0]
    sql = job.sql(dialect, connection=connection)
    print(sql, end="")
    if dialect in ("hive", "spark"):
        for problem in console_problems(sql):
            print(f"warning: {problem}", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    from .catalogue import load_catalogue
    from .connections import close, connect
    from .errors import InputError
    from .pictures import preload_plotting

    job = _job(args)
    if job.url is None or job.settings.get("out") is None:
        raise InputError("run needs where to run and where to write: give --url and --out (or [run] url and out in the job file)")
    if args.catalogue:
        load_catalogue(args.catalogue)  # a bad file is an error before anything runs
    progress = _Progress(on_first_step=preload_plotting)  # without matplotlib it does nothing
    connection = connect(job.url)
    try:
        result = job.execute(connection, progress=progress)
        result.catalogue = args.catalogue
        written = write_outputs(Path(job.settings["out"]), result, progress)
    finally:
        progress.stop()
        close(connection)
    _summary(result, written)
    return 0


def _check(args: argparse.Namespace) -> int:
    from .check import check_job, junit_xml, report_text
    from .output import write_bytes

    job = _job(args)
    results = check_job(job, write_sql=args.write_sql)
    print(report_text(results), end="")
    if args.junit is not None:
        write_bytes(args.junit, junit_xml(results, args.job.stem if args.job else "job"))
    if args.write_sql is not None:
        print(f"wrote the statements to {args.write_sql}/")
    return 0 if all(r.ok for r in results) else 1


def _evaluate(args: argparse.Namespace) -> int:
    from .connections import connect
    from .errors import InputError
    from .evaluation import evaluate, write_evaluation
    from .holdout import parse_holdout, parse_shares

    holdout, shares = parse_holdout(args.holdout), parse_shares(args.shares)  # bad flags fail before anything runs
    if args.size is None:
        args.size = 1  # unused: evaluate sizes each audience by --shares; this spares a job without a size
    job = _job(args)
    if job.url is None:
        raise InputError("evaluate needs where to run: give --url (or [run] url in the job file)")
    methods = args.methods or job.settings.get("method") or "euclidean"
    started = time.perf_counter()
    progress = _Progress(started)

    def say(step: str, seconds: float) -> None:
        method, _, part = step.rpartition("/")
        if method:
            progress(f"{method}: {'ranked' if part == 'done' else _Progress.LABELS.get(part, part)}")
        elif step == "done":
            progress("done")
        else:
            progress({"seed": f"reading the seed and hiding {holdout * 100:.4g}% of it", "population": "counting the population"}.get(step, step))

    connection = connect(job.url)
    try:
        evaluation = evaluate(
            job.model_for(connection), connection, job.seed, holdout=holdout, shares=shares, methods=methods,
            exclude=job.exclude, population_filter=job.population_filter, progress=say, timeout=job.timeout,
        )
        written = write_evaluation(args.out, evaluation) if args.out is not None else {}
    finally:
        progress.stop()
    print(evaluation.to_text(), end="")
    steps = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in evaluation.seconds.items())
    print(f"took {time.perf_counter() - started:.1f}s ({steps})")
    if args.out is not None and "evaluation.png" not in written:
        print("(no picture: pip install 'lookalike-sql[plot]' for evaluation.png)")
    for path in written.values():
        print(f"wrote {path}")
    return 0


def _init(args: argparse.Namespace) -> int:
    from .errors import InputError
    from .job import example_file
    from .output import write_text

    if args.path.exists() and not args.force:
        raise InputError(f"{args.path} exists: choose another path, or --force to replace it")
    write_text(args.path, example_file(str(args.path)))
    print(f"wrote {args.path}: edit it, then `lookalike-sql check --job {args.path}`")
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
    from .pictures import plot_histograms
    from .report import write_report

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
    from .catalogue import described
    from .report import value_note

    profiled = "" if result.n_profiled == result.n_population else f" (profiled on a sample of {result.n_profiled:,})"
    print(
        f"population {result.n_population:,}{profiled}; seed {result.n_seed_ids:,} ids, {result.n_seed_found:,} found"
        f"{value_note(result)}; audience {len(result.audience):,}"
    )
    print("top features (feature, JS divergence, weight, what it measures):")
    for row in result.top_features.itertuples():
        print(f"  {row.feature:<12} {row.js_divergence:8.4f} {row.weight:8.4f}  {described(row.measure, row.category)}")
    for warning in result.warnings:
        print(f"warning: {warning}")
    if "lookalike.png" not in written:
        print("(no picture: pip install 'lookalike-sql[plot]' for lookalike.png)")
    for path in written.values():
        print(f"wrote {path}")


def _demo(args: argparse.Namespace) -> int:
    import duckdb

    from .demo_data import DEMO_JOB, MOM_SEED_SQL, build_demo_database
    from .job import Job
    from .output import write_text
    from .pictures import preload_plotting

    started = time.perf_counter()
    preload_plotting()  # without matplotlib it does nothing
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
    job_file = args.dir / "job.toml"
    write_text(job_file, DEMO_JOB.format(size=args.size))  # the job, as a file a CI can check
    job = Job.from_file(job_file)
    con = duckdb.connect(str(database))
    progress = _Progress(started)
    try:
        t0 = time.perf_counter()
        result = job.execute(con, progress=progress)
        written = write_outputs(args.dir / "out", result, progress)
    finally:
        progress.stop()
        con.close()
    _summary(result, written)
    print(f"wrote {job_file}: the job as a file (lookalike-sql check --job {job_file})")
    print(f"the lookalike job took {time.perf_counter() - t0:.1f}s; the whole demo {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    console_main()
