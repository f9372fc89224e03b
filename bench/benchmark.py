"""Benchmark of `lookalike-sql run` on DuckDB, as a user runs it (a process: start-up,
the warehouse's steps, the picture, the files), against a floor process that sums every
feature once, and against the pandas/NumPy way; growth in customers and features; the
1,805-feature long layout. With --before REV the same runs are measured, in the same
session, with the code of git revision REV too (a worktree), for a before/after table.

    python bench/benchmark.py                         # everything (about 15 minutes on 2 cores)
    python bench/benchmark.py --before 43b20d8        # and the same runs with that revision's code
    python bench/benchmark.py --quick                 # a tenth of the sizes, to try the script

Generated data is kept in bench/data/ (one DuckDB file per table shape) so that a rerun
measures only the jobs. Every run is a fresh process (DuckDB's buffers start cold, the OS
page cache is warm after the first run), its wall time measured by this script from
spawn to exit, its peak resident memory from the kernel (wait4's ru_maxrss of that child
alone). A run's parts come from its progress lines ([  1.2s] step): each warehouse step,
the picture and the files, and the start-up and exit (the rest of the wall time). Each
figure is the best of --repeat processes (2).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / "data"
SEED_SIZE, AUDIENCE_SIZE = 20_000, 30_000  # the seed is a fifth of smaller (--quick) populations
INFORMATIVE = 40  # features whose distribution differs for the seed


# ----------------------------------------------------------------------------- data
@contextlib.contextmanager
def building(path: Path) -> Iterator[Any]:
    """A DuckDB connection to `path`.partial, renamed to `path` once the block succeeds
    (an interrupted build leaves no half-made file behind)."""
    import duckdb

    DATA.mkdir(exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    con = duckdb.connect(str(partial))
    con.execute("SELECT setseed(0.42)")
    yield con
    con.close()
    partial.rename(path)


def wide_file(n: int, k: int) -> Path:
    """A DuckDB file with `pop` (id + k features, about 30% non-zero) and `seed`."""
    path = DATA / f"wide_{n}x{k}.duckdb"
    if path.exists():
        return path
    seed_size = min(SEED_SIZE, n // 5)
    step = n // seed_size
    normal = "(sqrt(-2 * ln(random() + 1e-12)) * cos(2 * pi() * random()))"
    columns = []
    for j in range(k):
        informative = j < INFORMATIVE
        share = "CASE WHEN is_seed THEN 0.6 ELSE 0.3 END" if informative else "0.3"
        scale = f"CASE WHEN is_seed THEN {2 + j % 3} ELSE 1 END" if informative else "1"
        columns.append(f"CASE WHEN random() < {share} THEN round(abs({normal} * {1 + j % 7}) * 10 * {scale}, 2) ELSE 0 END AS f{j:03d}")
    with building(path) as con:
        con.execute(f"CREATE TABLE pop AS SELECT id, {', '.join(columns)} FROM (SELECT range AS id, range % {step} = 0 AS is_seed FROM range({n}))")
        con.execute(f"CREATE TABLE seed AS SELECT range * {step} AS id FROM range({seed_size})")
    return path


#: The seed model's long layout: 17 metrics x 106 categories, plus age, sex and account age.
METRICS, CATEGORIES = 17, 106


def long_tables_sql() -> tuple[str, str]:
    """The two SELECTs that build the long layout from a table `customers` (id, is_seed),
    here and in bench/spark_benchmark.py: the active (customer, category) pairs, about 2.5
    per customer (seed members lean to categories 0-4), read as `active`; then (id,
    feature, value) ordered by feature, every metric of each active category plus age,
    sex and account age for everyone."""
    metric_rows = ", ".join(f"('m{i:02d}', {i})" for i in range(METRICS))
    active = f"""SELECT DISTINCT id, is_seed,
                   CASE WHEN is_seed AND random() < 0.7 THEN CAST(floor(random() * 5) AS INT)
                        ELSE CAST(floor(random() * {CATEGORIES}) AS INT) END AS category
            FROM (SELECT id, is_seed, unnest(range(CAST(floor(-ln(random() + 1e-12) * 2.5) AS INT) + 1)) FROM customers)"""
    values = f"""SELECT id, feature, value FROM (
              SELECT a.id, m.metric || lpad(CAST(a.category AS VARCHAR), 3, '0') AS feature,
                     round(abs((sqrt(-2 * ln(random() + 1e-12)) * cos(2 * pi() * random()))) * (1 + m.k) * CASE WHEN a.is_seed THEN 2 ELSE 1 END, 2) AS value
              FROM active a CROSS JOIN (VALUES {metric_rows}) m(metric, k)
              UNION ALL
              SELECT id, 'age000', CAST(20 + floor(random() * 50) - CASE WHEN is_seed THEN 8 ELSE 0 END AS DOUBLE) FROM customers
              UNION ALL
              SELECT id, 'sex000', CAST(random() < CASE WHEN is_seed THEN 0.9 ELSE 0.5 END AS DOUBLE) FROM customers
              UNION ALL
              SELECT id, 'aay000', round(random() * 3000, 0) FROM customers
            ) ORDER BY feature, id"""
    return active, values


def long_file(n: int) -> Path:
    """The seed's full model as a long table: 17 metrics x 106 categories + age, sex and
    account age = 1,805 features. Each customer is active in a few categories (geometric,
    mean 2.5; seed members lean to categories 0-4) and has the 17 metrics there; every
    other category feature is empty (no row, fill 0)."""
    path = DATA / f"long_{n}.duckdb"
    if path.exists():
        return path
    seed_size = min(SEED_SIZE, n // 5)
    step = n // seed_size
    with building(path) as con:
        con.execute(f"CREATE TABLE customers AS SELECT range AS id, range % {step} = 0 AS is_seed FROM range({n})")
        con.execute(f"CREATE TABLE seed AS SELECT range * {step} AS id FROM range({seed_size})")
        active, values = long_tables_sql()
        con.execute(f"CREATE TEMP TABLE active AS {active}")
        con.execute(f"CREATE TABLE feature_values AS {values}")
        con.execute("ALTER TABLE customers DROP COLUMN is_seed")
    return path


# ----------------------------------------------------------------------------- one run
#: the progress lines of `run` and the step each starts (cli._Progress.LABELS)
STEP_OF_LABEL = {
    "facts": "facts", "drawing the profile sample": "sample", "reading the ranges of the features (pass 1 of the profile)": "ranges",
    "profiling the features and selecting the weights": "profile",
    "ranking every customer": "rank", "counting the audience's histograms": "histograms",
    "the warehouse's part is done": "files", "drawing the histograms": "picture", "writing the report": "files",
}
_PROGRESS = re.compile(r"^\[\s*([0-9.]+)s\] (.+)$")


def timed_process(command: list[str], env: dict[str, str] | None = None) -> dict:
    """Run `command`; its wall seconds (spawn to exit), peak memory of this child alone,
    and its stderr."""
    with tempfile.TemporaryFile(mode="w+") as err, tempfile.TemporaryFile(mode="w+") as out:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=REPO)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        out.seek(0)
        stderr, stdout = err.read(), out.read()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr[-3000:]}")
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, "stderr": stderr, "stdout": stdout}


def run_steps(stderr: str, wall: float) -> dict[str, float]:
    """Seconds per part of a `run` process from its progress lines: each step (to the next
    line), and the start-up and exit (imports, connecting, the summary printed, the
    interpreter's exit: the wall time less the last line's stamp). A "... still <step>"
    line, printed every 10 s of a long step, belongs to the step it names."""
    stamps: list[tuple[float, str]] = []
    for m in filter(None, map(_PROGRESS.match, stderr.splitlines())):
        if m.group(2).startswith("... still ") and stamps:
            continue  # the step goes on: its time runs to the next step's line
        stamps.append((float(m.group(1)), STEP_OF_LABEL.get(m.group(2), m.group(2))))
    parts: dict[str, float] = {}
    for (at, step), (after, _) in zip(stamps, stamps[1:]):
        parts[step] = parts.get(step, 0.0) + after - at
    last = stamps[-1][0] if stamps else 0.0
    parts = {"start-up, exit": wall - last, **parts}
    return {k: round(v, 3) for k, v in parts.items()}


def run_command(code: Path, path: str, spec: dict, out: Path) -> list[str]:
    """`lookalike-sql run` with the lookalike_sql package found in `code`, through the
    function the installed command calls (`console_main`; `main` in revisions before it)."""
    launcher = (f"import sys; sys.path.insert(0, {str(code)!r}); from lookalike_sql import cli; "
                "sys.exit(getattr(cli, 'console_main', cli.main)())")
    command = [sys.executable, "-c", launcher, "run", "--url", path, "--id-column", "id", "--size", str(AUDIENCE_SIZE),
               "--out", str(out), "--max-features", str(spec.get("max_features", 20))]
    if spec.get("long"):
        command += ["--long-table", "feature_values", "--ids-table", "customers"]
    else:
        command += ["--population", "pop"]
    command += ["--seed-query", "SELECT id, CAST(1 + id % 97 AS DOUBLE) AS spend FROM seed", "--seed-value", "spend"] if spec.get("valued") else ["--seed-table", "seed"]
    if spec.get("sample"):
        command += ["--sample", str(spec["sample"])]
    if spec.get("method"):
        command += ["--method", spec["method"]]
    return command


def measure(kind: str, path: str, spec: dict | None = None, code: Path = REPO, repeat: int = 2) -> dict:
    """The best of `repeat` fresh processes of one kind: floor, run or pandas."""
    spec = spec or {}
    best: dict | None = None
    for _ in range(repeat):
        if kind == "floor":  # one process: connect, SUM every feature once, exit
            program = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
                       "cols = [r[0] for r in con.execute(\"SELECT column_name FROM information_schema.columns WHERE table_name = 'pop' AND column_name <> 'id'\").fetchall()]; "
                       "con.execute('SELECT ' + ', '.join(f'SUM(\"{c}\")' for c in cols) + ' FROM pop').fetchall()")
            result = timed_process([sys.executable, "-c", program, path])
        elif kind == "pandas":
            result = timed_process([sys.executable, __file__, "--pandas", path])
            result["steps"] = json.loads(result["stdout"].strip().splitlines()[-1])
        else:
            with tempfile.TemporaryDirectory() as tmp:
                result = timed_process(run_command(code, path, spec, Path(tmp) / "out"))
            result["steps"] = run_steps(result["stderr"], result["seconds"])
        result.pop("stderr")
        result.pop("stdout")
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    return best


def pandas_peer(path: str) -> dict:
    """In a child: fetch the population and the seed into pandas and run the NumPy
    reference (the way without a warehouse), timing the fetch."""
    import duckdb

    sys.path.insert(0, str(REPO))
    from lookalike_sql.reference import reference_lookalike

    started = time.perf_counter()
    con = duckdb.connect(path, read_only=True)
    population = con.execute("SELECT * FROM pop").df()
    seed_ids = con.execute("SELECT id FROM seed").df()["id"].to_numpy()
    fetched = time.perf_counter() - started
    reference_lookalike(population, "id", seed_ids, AUDIENCE_SIZE, max_features=20)
    return {"fetch": round(fetched, 3), "compute": round(time.perf_counter() - started - fetched, 3)}


@contextlib.contextmanager
def code_at(revision: str) -> Iterator[Path]:
    """A worktree of `revision` (removed afterwards): its lookalike_sql, templates, dialects."""
    folder = Path(tempfile.mkdtemp(prefix="lookalike-before-"))
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(folder), revision], cwd=REPO, check=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=REPO, check=False)
        shutil.rmtree(folder, ignore_errors=True)


# ----------------------------------------------------------------------------- report
STEP_COLUMNS = ("start-up, exit", "facts", "sample", "ranges", "profile", "rank", "histograms", "picture", "files")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a tenth), to try the script")
    parser.add_argument("--sample", type=int, default=100_000, help="profile sample for the sampled runs (customers)")
    parser.add_argument("--before", metavar="REV", help="also measure the runs with the code of this git revision")
    parser.add_argument("--repeat", type=int, default=2, help="processes per figure, the best kept (default 2)")
    parser.add_argument("--pandas", help=argparse.SUPPRESS)
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pandas:
        print(json.dumps(pandas_peer(args.pandas)))
        return

    scale = 10 if args.quick else 1
    n1, sample = 1_000_000 // scale, args.sample // scale

    def data() -> tuple[str, ...]:
        shapes = [(n1, 200), (4 * n1, 200), (n1 // 10, 200), (n1, 50), (n1, 800)]
        return (*(str(wide_file(n, k)) for n, k in shapes), str(long_file(n1)))

    if args.generate:
        data()
        return
    # Generated in a process of its own: Linux carries a parent's peak memory into the
    # children it starts (ru_maxrss survives fork and exec), so a parent that built the
    # data would show its own peak as every run's.
    print(f"generating data in {DATA} (kept for reruns) ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, __file__, "--generate"] + (["--quick"] if args.quick else []), check=True)
    base, big, small, narrow, wide, long_path = data()

    rows: list[dict] = []

    def add(label: str, kind: str, path: str, spec: dict | None = None, code: Path = REPO, version: str = "now", repeat: int | None = None) -> dict:
        print(f"  {label} ({version}) ...", file=sys.stderr, flush=True)
        result = {"label": label, "version": version, "path": path, **measure(kind, path, spec, code, repeat or args.repeat)}
        print(f"    {result['seconds']:.2f} s", file=sys.stderr, flush=True)
        rows.append(result)
        return result

    # the runs whose before and after are compared, then the rest (after only)
    compared = [
        (f"run, {n1:,} x 200, everyone profiled", base, {}),
        (f"run, {n1:,} x 200, profile on {sample:,} sampled", base, {"sample": sample}),
        (f"run, {4 * n1:,} x 200, everyone profiled", big, {}),
        (f"long layout, {n1:,} x 1,805, everyone profiled", long_path, {"long": True}),
    ]
    floors = {path: add(f"floor: one SUM of every feature, {label}", "floor", path, repeat=3) for path, label in ((base, f"{n1:,} x 200"), (big, f"{4 * n1:,} x 200"))}
    versions = [("now", REPO)]
    with contextlib.ExitStack() as stack:
        if args.before:
            versions.append((f"before ({args.before})", stack.enter_context(code_at(args.before))))
        for label, path, spec in compared:
            for version, code in versions:
                add(label, "run", path, spec, code, version)
    peer = add(f"pandas/NumPy peer (fetch + compute), {n1:,} x 200", "pandas", base, repeat=1)
    # the "stays at least 5x slower" is at 4M x 200 too (about 15 GB for the peer)
    peer_big = add(f"pandas/NumPy peer (fetch + compute), {4 * n1:,} x 200", "pandas", big, repeat=1)
    add(f"run, {n1 // 10:,} x 200, everyone profiled", "run", small, {})
    add(f"run, {n1:,} x 50, everyone profiled", "run", narrow, {})
    add(f"run, {n1:,} x 800, everyone profiled", "run", wide, {})
    add("run, max_features 50 (sampled profile)", "run", base, {"max_features": 50, "sample": sample})
    add("run, method likelihood (sampled profile)", "run", base, {"method": "likelihood", "sample": sample})
    add("run, value-based seed (sampled profile)", "run", base, {"valued": True, "sample": sample})
    add(f"long layout, profile on {sample:,} sampled", "run", long_path, {"long": True, "sample": sample})

    import duckdb

    print()
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB; Python {platform.python_version()}, "
          f"DuckDB {duckdb.__version__}; best of {args.repeat} processes each")
    print()
    print("| run | code | seconds | x floor | peak MB | " + " | ".join(STEP_COLUMNS) + " |")
    print("|---|---|---:|---:|---:|" + "---:|" * len(STEP_COLUMNS))
    for r in rows:
        floor = floors.get(r["path"], floors[base])  # the 1M x 200 floor for other shapes: labelled
        ratio = "" if r["label"].startswith("floor") else f"{r['seconds'] / floor['seconds']:.1f}" + ("" if r["path"] in floors else " (1M x 200 floor)")
        steps = r.get("steps", {})
        cells = " | ".join(f"{steps[c]:.2f}" if c in steps else "" for c in STEP_COLUMNS)
        if "fetch" in steps:
            cells = f"fetch {steps['fetch']:.2f}, compute {steps['compute']:.2f}" + " |" * (len(STEP_COLUMNS) - 1)
        print(f"| {r['label']} | {r['version']} | {r['seconds']:.2f} | {ratio} | {r['peak_mb']:,.0f} | {cells} |")
    print()
    now = {r["label"]: r for r in rows if r["version"] == "now"}
    full, sampled, four = (now[compared[i][0]] for i in range(3))
    print(f"- run / floor: everyone profiled {full['seconds'] / floors[base]['seconds']:.1f}x (target <= 6), "
          f"{sample:,} sampled {sampled['seconds'] / floors[base]['seconds']:.1f}x (target <= 3), "
          f"{4 * n1:,} x 200 {four['seconds'] / floors[big]['seconds']:.1f}x (target <= 5)")
    print(f"- pandas/NumPy peer / run: {n1:,} x 200 {peer['seconds'] / full['seconds']:.1f}x, "
          f"{4 * n1:,} x 200 {peer_big['seconds'] / four['seconds']:.1f}x (target >= 5)")
    long_run = now[compared[3][0]]
    # the target is "no slower, no larger than before": against the --before code in this run
    # (the 6.3 s and 3.2 GB of the day it was set came from a quieter machine)
    before = [r for r in rows if r["label"] == compared[3][0] and r["version"] != "now"]
    against = (f"{before[0]['version']}: {before[0]['seconds']:.2f} s, {before[0]['peak_mb']:,.0f} MB in this run" if before
               else "give --before REV to measure the earlier code in this run")
    print(f"- long layout: {long_run['seconds']:.2f} s, {long_run['peak_mb']:,.0f} MB "
          f"(target: no slower and no larger than before; {against})")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    written = results / f"duckdb_{time.strftime('%Y-%m-%d_%H%M%S')}{'_quick' if args.quick else ''}.json"
    written.write_text(json.dumps({"machine": platform.machine(), "cores": os.cpu_count(), "rows": rows}, indent=1))
    print(f"\nwritten: {written.relative_to(REPO)}")


if __name__ == "__main__":
    main()
