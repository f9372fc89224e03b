"""Benchmark of the in-warehouse job on DuckDB against the physical floor and the
pandas/NumPy way, with growth in customers and features and the 1,805-feature long layout.

    python bench/benchmark.py            # everything (about 10 minutes on 2 cores)
    python bench/benchmark.py --quick    # smaller sizes, to try the script

Generated data is kept in bench/data/ (one DuckDB file per table shape) so that a rerun
measures only the jobs. Every measurement runs in its own process, which reports its
wall time and its peak resident memory (VmHWM), so each peak belongs to one run. A
fresh process also means DuckDB's buffers start cold for every run (the OS page cache is
warm after the first), the same for the floor, the job and the peer.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
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
    metrics = [f"m{i:02d}" for i in range(17)]
    with building(path) as con:
        con.execute(f"CREATE TABLE customers AS SELECT range AS id, range % {step} = 0 AS is_seed FROM range({n})")
        con.execute(f"CREATE TABLE seed AS SELECT range * {step} AS id FROM range({seed_size})")
        # active (customer, category) pairs: about 2.5 per customer
        con.execute(
            """CREATE TEMP TABLE active AS
            SELECT DISTINCT id, is_seed,
                   CASE WHEN is_seed AND random() < 0.7 THEN CAST(floor(random() * 5) AS INT)
                        ELSE CAST(floor(random() * 106) AS INT) END AS category
            FROM (SELECT id, is_seed, unnest(range(CAST(floor(-ln(random() + 1e-12) * 2.5) AS INT) + 1)) FROM customers)"""
        )
        metric_rows = ", ".join(f"('{m}', {i})" for i, m in enumerate(metrics))
        con.execute(
            f"""CREATE TABLE feature_values AS
            SELECT id, feature, value FROM (
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
        )
        con.execute("ALTER TABLE customers DROP COLUMN is_seed")
    return path


# ----------------------------------------------------------------------------- one run
def run_one(spec: dict) -> dict:
    """Runs in a child process: one measurement, its seconds and peak memory."""
    import duckdb

    sys.path.insert(0, str(HERE.parent))
    from lookalike_sql import Long, Lookalike, Seed

    con = duckdb.connect(spec["path"], read_only=True)
    con.execute(f"SET threads = {os.cpu_count()}")
    out: dict = {}
    started = time.perf_counter()
    if spec["kind"] == "floor":
        columns = [c for (c,) in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'pop' AND column_name <> 'id'").fetchall()]
        con.execute("SELECT " + ", ".join(f'SUM("{c}")' for c in columns) + " FROM pop").fetchall()
    elif spec["kind"] == "job":
        population = Long("feature_values", ids="customers") if spec.get("long") else "pop"
        model = Lookalike(population, "id", max_features=spec.get("max_features", 20), sample=spec.get("sample"), method=spec.get("method", "euclidean"))
        # a value-based seed: each member worth 1..97 (its id mod 97, plus 1)
        seed = Seed.query("SELECT id, CAST(1 + id % 97 AS DOUBLE) AS spend FROM seed", value="spend") if spec.get("valued") else Seed.table("seed")
        result = model.execute(con, seed, AUDIENCE_SIZE)
        out["steps"] = {k: round(v, 3) for k, v in result.seconds.items()}
        out["selected"] = int(result.features["weight"].notna().sum())
    elif spec["kind"] == "pandas":
        from lookalike_sql.reference import reference_lookalike

        population = con.execute("SELECT * FROM pop").df()
        seed_ids = con.execute("SELECT id FROM seed").df()["id"].to_numpy()
        out["fetch"] = round(time.perf_counter() - started, 3)
        reference_lookalike(population, "id", seed_ids, AUDIENCE_SIZE, max_features=20)
    out["seconds"] = time.perf_counter() - started
    out["peak_mb"] = peak_memory_mb()
    return out


def peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it starts afresh at
    exec, so it does not inherit the parent's peak from generating the data)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status: this benchmark measures memory on Linux only")


def measure(spec: dict, repeat: int = 1) -> dict:
    """The best of `repeat` runs, each in a fresh process."""
    best = None
    for _ in range(repeat):
        done = subprocess.run([sys.executable, __file__, "--one", json.dumps(spec)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"run {spec} failed:\n{done.stderr[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    return best


# ----------------------------------------------------------------------------- report
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a tenth), to try the script")
    parser.add_argument("--sample", type=int, default=100_000, help="profile sample for the sampled job rows (customers)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return

    scale = 10 if args.quick else 1
    n1 = 1_000_000 // scale
    rows: list[tuple[str, dict, str]] = []

    def add(label: str, spec: dict, note: str = "", repeat: int = 1) -> dict:
        print(f"  {label} ...", file=sys.stderr, flush=True)
        result = measure(spec, repeat)
        rows.append((label, result, note))
        return result

    print(f"generating data in {DATA} (kept for reruns) ...", file=sys.stderr, flush=True)
    base = str(wide_file(n1, 200))

    floor = add(f"1. floor: SUM of every feature, {n1:,} x 200", {"kind": "floor", "path": base}, repeat=3)
    job_full = add(f"1. job, full profile, {n1:,} x 200", {"kind": "job", "path": base}, repeat=2)
    job_sampled = add(f"1. job, profile on {args.sample:,} sampled", {"kind": "job", "path": base, "sample": args.sample}, repeat=2)
    add("1. job, profile on a 10% sample (fraction form)", {"kind": "job", "path": base, "sample": 0.1}, repeat=2)
    peer = add(f"2. pandas/NumPy peer (fetch + compute), {n1:,} x 200", {"kind": "pandas", "path": base})
    for k in (5, 50):
        add(f"   max_features {k} (sampled profile)", {"kind": "job", "path": base, "max_features": k, "sample": args.sample}, repeat=2)
    add("   method likelihood (sampled profile)", {"kind": "job", "path": base, "method": "likelihood", "sample": args.sample}, repeat=2)
    add("   value-based seed (sampled profile)", {"kind": "job", "path": base, "valued": True, "sample": args.sample}, repeat=2)

    growth = {(n1, 200): job_full}
    floors = {n1: floor}
    sampled = {n1: job_sampled}
    for n in (100_000 // scale, 4_000_000 // scale):
        path = str(wide_file(n, 200))
        floors[n] = add(f"3. floor, {n:,} x 200", {"kind": "floor", "path": path}, repeat=2)
        growth[(n, 200)] = add(f"3. job, full profile, {n:,} x 200", {"kind": "job", "path": path})
        sampled[n] = add(f"3. job, profile on {args.sample:,} sampled, {n:,} x 200", {"kind": "job", "path": path, "sample": args.sample})
    for k in (50, 800):
        growth[(n1, k)] = add(f"3. job, full profile, {n1:,} x {k}", {"kind": "job", "path": str(wide_file(n1, k))})

    long_path = str(long_file(n1))
    add(f"4. long layout, {n1:,} x 1,805 (full profile)", {"kind": "job", "path": long_path, "long": True})
    add(f"4. long layout, profile on {args.sample:,} sampled", {"kind": "job", "path": long_path, "long": True, "sample": args.sample})

    print()
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB; Python {platform.python_version()}, "
          f"DuckDB {__import__('duckdb').__version__}")
    print()
    print("| run | seconds | peak memory (MB) | steps |")
    print("|---|---:|---:|---|")
    for label, result, _ in rows:
        steps = ", ".join(f"{k} {v:.2f}" for k, v in result.get("steps", {}).items())
        if "fetch" in result:
            steps = f"fetch {result['fetch']:.2f}, compute {result['seconds'] - result['fetch']:.2f}"
        print(f"| {label} | {result['seconds']:.2f} | {result['peak_mb']:,.0f} | {steps} |")
    print()
    print(f"- job / floor: full profile {job_full['seconds'] / floor['seconds']:.1f}x, "
          f"sampled profile {job_sampled['seconds'] / floor['seconds']:.1f}x (target <= 3)")
    print(f"- pandas/NumPy peer / job: {peer['seconds'] / job_full['seconds']:.1f}x (full profile), "
          f"{peer['seconds'] / job_sampled['seconds']:.1f}x (sampled) (target >= 5)")
    steps = []
    for (small, large) in (((n1 // 10, 200), (n1, 200)), ((n1, 200), (n1 * 4, 200)), ((n1, 50), (n1, 200)), ((n1, 200), (n1, 800))):
        size_ratio = (large[0] * large[1]) / (small[0] * small[1])
        time_ratio = growth[large]["seconds"] / growth[small]["seconds"]
        steps.append(f"{small[0]:,} x {small[1]} -> {large[0]:,} x {large[1]}: {time_ratio:.1f}x time for {size_ratio:.0f}x data = {time_ratio / size_ratio:.2f}")
    print("- growth (time ratio / data ratio; 1.00 = linear, target <= 1.3): " + "; ".join(steps))
    print("- job / floor by population size (full profile; sampled profile): " + "; ".join(
        f"{n:,}: {growth[(n, 200)]['seconds'] / floors[n]['seconds']:.1f}x; {sampled[n]['seconds'] / floors[n]['seconds']:.1f}x"
        for n in sorted(floors)))

if __name__ == "__main__":
    main()
