"""A job saved as a TOML file: population, seed, size, model parameters, dialects and
where to check it. ``lookalike-sql run/sql/check --job job.toml`` and ``Job.from_file``
read it; command-line flags override it. Every setting has one flat name (the CLI
flag's), so a file and flags merge key by key: defaults < file < flags.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .context import parse_size
from .errors import InputError
from .execution import Progress
from .methods import METHODS
from .model import Lookalike
from .population import Long, Wide
from .result import LookalikeResult
from .seed import Seed

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: The file's (section, key) -> (flat setting, accepted types, description). The flat
#: names are the command line's flags without "--" (underscores for dashes).
SCHEMA: dict[tuple[str, str], tuple[str, tuple[type, ...], str]] = {
    ("population", "table"): ("population", (str, list), "wide table, or a list of tables joined on the id"),
    ("population", "long_table"): ("long_table", (str,), "long table of (id, feature, value) rows"),
    ("population", "ids_table"): ("ids_table", (str,), "with long_table: the table listing every customer"),
    ("population", "feature_column"): ("feature_column", (str,), "with long_table: its feature-name column"),
    ("population", "value_column"): ("value_column", (str,), "with long_table: its value column"),
    ("population", "fill"): ("fill", (int, float, str), "with long_table: a missing feature's value, or \"NULL\""),
    ("population", "id_column"): ("id_column", (str,), "the customer id column"),
    ("population", "features"): ("features", (list,), "candidate feature columns"),
    ("population", "feature_pattern"): ("feature_pattern", (str,), "glob over the columns, e.g. \"gpo*\" (needs a connection)"),
    ("population", "sample"): ("sample", (int, float, str), "profile on a sample: a count or a share such as \"10%\""),
    ("seed", "table"): ("seed_table", (str,), "table of seed ids"),
    ("seed", "column"): ("seed_column", (str,), "its id column (default: id_column)"),
    ("seed", "query"): ("seed_query", (str,), "one SELECT of the seed ids"),
    ("seed", "file"): ("seed_file", (str,), "CSV of seed ids (a second column: their values)"),
    ("seed", "value"): ("seed_value", (str,), "the table's or query's column of each member's value (a value-based seed)"),
    ("audience", "size"): ("size", (int, str), "how many customers to return: a count, or a share such as \"5%\""),
    ("audience", "exclude_seed"): ("exclude_seed", (bool,), "leave the seed's members out"),
    ("audience", "exclude_tables"): ("exclude_tables", (list,), "tables of ids to leave out (same id column)"),
    ("audience", "exclude_queries"): ("exclude_queries", (list,), "SELECTs of ids to leave out"),
    ("audience", "exclude_files"): ("exclude_files", (list,), "one-column CSV files of ids to leave out"),
    ("audience", "filter"): ("population_filter", (str,), "rank only the customers meeting this condition, e.g. \"country = 'KR'\""),
    ("model", "method"): ("method", (str,), "scoring method"),
    ("model", "max_features"): ("max_features", (int,), "most features to weigh"),
    ("model", "threshold"): ("threshold", (int, float), "least JS divergence of a weighed feature"),
    ("model", "bins"): ("bins", (int,), "histogram bins per feature"),
    ("model", "min_count"): ("min_count", (int,), "least non-NULL seed values to judge a feature"),
    ("run", "dialects"): ("dialects", (list,), "dialects to render and check"),
    ("run", "url"): ("url", (str,), "where to run: a .duckdb path or a SQLAlchemy URL"),
    ("run", "timeout"): ("timeout", (int, float), "cancel a statement after this many seconds"),
    ("run", "out"): ("out", (str,), "folder for run's result files"),
    ("check", "data"): ("check_data", (str,), "data for `check`: a .duckdb file, a .parquet or a .csv extract"),
    ("check", "rows"): ("check_rows", (int,), "customers `check` runs on"),
}

DEFAULTS: dict[str, Any] = {
    "feature_column": "feature",
    "value_column": "value",
    "fill": "0",
    "exclude_seed": False,
    "method": "euclidean",
    "max_features": 20,
    "threshold": 0.05,
    "bins": 10,
    "min_count": 30,
    "dialects": ["duckdb"],
    "check_rows": 20_000,
}


_PATH_SETTINGS = ("seed_file", "check_data", "out")  # relative to the job file's folder


def read_job_file(path: str | Path) -> dict[str, Any]:
    """The file's settings by flat name; relative paths resolved against its folder.
    Unknown sections or keys and wrong types are errors naming the key and its line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"job file {str(path)!r} does not exist: write one with `lookalike-sql init {path}`")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc}): fix the line it names") from None
    lines = _key_lines(text)
    settings: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise InputError(f"{path}:{lines.get((None, section), '?')}: {section!r} must be a [section], one of {_sections()}")
        if section not in {s for s, _ in SCHEMA}:
            raise InputError(f"{path}:{lines.get((None, section), '?')}: unknown section [{section}]: use {_sections()}")
        for key, value in table.items():
            where = f"{path}:{lines.get((section, key), '?')}"
            if (section, key) not in SCHEMA:
                known = ", ".join(k for s, k in SCHEMA if s == section)
                raise InputError(f"{where}: unknown key {key!r} in [{section}]: use one of {known}")
            name, types, _ = SCHEMA[(section, key)]
            if isinstance(value, bool) and bool not in types or not isinstance(value, types):
                wanted = " or ".join(_type_name(t) for t in types)
                raise InputError(f"{where}: [{section}] {key} must be {wanted}, not {_type_name(type(value))} {value!r}")
            if isinstance(value, list) and not all(isinstance(v, str) for v in value):
                raise InputError(f"{where}: [{section}] {key} must be a list of strings")
            if name == "size":
                try:
                    parse_size(value)
                except InputError as exc:
                    raise InputError(f"{where}: [{section}] {exc}") from None
            if name in _PATH_SETTINGS or (name == "url" and str(value).endswith(".duckdb")):
                value = str((path.parent / value).resolve()) if not Path(value).is_absolute() else value
            if name == "exclude_files":
                value = [str((path.parent / v).resolve()) if not Path(v).is_absolute() else v for v in value]
            settings[name] = value
    return settings


def _key_lines(text: str) -> dict[tuple[str | None, str], int]:
    """Line numbers of the file's sections and keys (tomllib gives values only)."""
    lines: dict[tuple[str | None, str], int] = {}
    section: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"\s*\[\s*([A-Za-z0-9_.-]+)\s*\]", line)
        if header:
            section = header.group(1)
            lines.setdefault((None, section), number)
            continue
        key = re.match(r"\s*\"?([A-Za-z0-9_-]+)\"?\s*=", line)
        if key:
            lines.setdefault((section, key.group(1)), number)
            if section is None:
                lines.setdefault((None, key.group(1)), number)
    return lines


def _sections() -> str:
    return ", ".join(f"[{s}]" for s in dict.fromkeys(s for s, _ in SCHEMA))


def _type_name(t: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list"}.get(t, t.__name__)


@dataclass
class Job:
    """One lookalike job: the model, the seed, the size and where it runs or is checked.

    >>> job = Job.from_file("job.toml")
    >>> print(job.sql("redshift"))                    # paste into a console
    >>> result = job.execute(duckdb.connect("demo.duckdb"))
    """

    model: Lookalike
    seed: Seed
    size: int
    exclude_seed: bool = False
    dialects: list[str] = field(default_factory=lambda: ["duckdb"])
    url: str | None = None
    timeout: float | None = None
    feature_pattern: str | None = None
    check_data: str | None = None
    check_rows: int = 20_000
    exclude: list[Seed] = field(default_factory=list)
    population_filter: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # as merged, for reports

    @classmethod
    def from_file(cls, path: str | Path, overrides: Mapping[str, Any] | None = None) -> Job:
        return cls.from_settings({**read_job_file(path), **{k: v for k, v in (overrides or {}).items() if v is not None}})

    @classmethod
    def from_settings(cls, given: Mapping[str, Any]) -> Job:
        s = {**DEFAULTS, **{k: v for k, v in given.items() if v is not None}}
        for required, flag in (("id_column", "--id-column / [population] id_column"), ("size", "--size / [audience] size")):
            if s.get(required) is None:
                raise InputError(f"the job has no {required}: give {flag}")
        if s["method"] not in METHODS:
            raise InputError(f"method {s['method']!r} is not available: use one of {', '.join(METHODS)}")
        from .dialects import get_dialect

        dialects = [get_dialect(d).name for d in _as_list(s["dialects"])]
        features = _as_list(s.get("features")) if s.get("features") is not None else None
        if features is not None and s.get("feature_pattern"):
            raise InputError("the job gives both features and feature_pattern: keep one")
        model = Lookalike(
            population=_population(s),
            id_column=s["id_column"],
            features=features,
            max_features=s["max_features"],
            threshold=s["threshold"],
            bins=s["bins"],
            min_count=s["min_count"],
            sample=s.get("sample"),
            method=s["method"],
        )
        return cls(
            model=model,
            seed=_seed(s),
            size=s["size"],
            exclude_seed=bool(s["exclude_seed"]),
            dialects=dialects,
            url=s.get("url"),
            timeout=s.get("timeout"),
            feature_pattern=s.get("feature_pattern"),
            check_data=s.get("check_data"),
            check_rows=s["check_rows"],
            exclude=_exclusions(s),
            population_filter=s.get("population_filter"),
            settings=s,
        )

    def model_for(self, connection: Any = None, *, list_features: bool = False) -> Lookalike:
        """The model, its feature pattern resolved against the connection's columns; with
        ``list_features``, its candidate features always listed (the connection's numeric
        columns), so that it renders for any dialect without a connection."""
        if not self.feature_pattern and (self.model.features is not None or not list_features):
            return self.model
        if connection is None:
            raise InputError(f"feature_pattern {self.feature_pattern!r} needs a connection (url) to list the columns, or give features")
        from dataclasses import replace

        from .connections import warehouse_for
        from .schema import long_feature_names

        warehouse = warehouse_for(connection)
        population = self.model.population
        if isinstance(population, Long):
            names = long_feature_names(warehouse, population)
        else:
            assert isinstance(population, Wide)
            names = [c.name for table in population.tables for c in warehouse.columns(table) if c.is_numeric]
        pattern = self.feature_pattern or "*"
        chosen = [n for n in names if n != self.model.id_column and fnmatch.fnmatchcase(n, pattern)]
        if not chosen:
            raise InputError(f"feature_pattern {pattern!r} matches no numeric column of {population.describe()}")
        return replace(self.model, features=chosen, population=population)

    def sql(self, dialect: str, connection: Any = None) -> str:
        """The one statement for ``dialect``. A connection of another dialect (the demo's
        DuckDB, for Redshift SQL) only lists the features."""
        from .connections import warehouse_for
        from .dialects import get_dialect

        if connection is not None and warehouse_for(connection).dialect is not get_dialect(dialect):
            model, connection = self.model_for(connection, list_features=True), None
        else:
            model = self.model_for(connection)
        return model.sql(self.seed, self.size, dialect=dialect, connection=connection, **self.controls())

    def execute(self, connection: Any, progress: Progress | None = None) -> LookalikeResult:
        return self.model_for(connection).execute(connection, self.seed, self.size, progress=progress, timeout=self.timeout, **self.controls())

    def controls(self) -> dict[str, Any]:
        """The audience controls, as sql() and execute() take them."""
        return {"exclude_seed": self.exclude_seed, "exclude": self.exclude, "population_filter": self.population_filter}


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def _population(s: Mapping[str, Any]) -> Wide | Long:
    if s.get("population") is not None and s.get("long_table") is not None:
        raise InputError("the job gives both a wide population and a long_table: keep one")
    if s.get("population") is not None:
        if s.get("ids_table") is not None:
            raise InputError("ids_table goes with long_table: a wide population lists its customers itself")
        return Wide(*_as_list(s["population"]))
    if s.get("long_table") is None:
        raise InputError("the job has no population: give --population / [population] table, or a long_table")
    fill_text = str(s["fill"]).strip()
    try:
        fill = None if fill_text.upper() == "NULL" else float(fill_text)
    except ValueError:
        raise InputError(f"fill {fill_text!r} is not a number: give a number or NULL") from None
    return Long(s["long_table"], ids=s.get("ids_table"), feature_column=s["feature_column"], value_column=s["value_column"], fill=fill)


def _exclusions(s: Mapping[str, Any]) -> list[Seed]:
    return (
        [Seed.table(t) for t in _as_list(s.get("exclude_tables") or [])]
        + [Seed.query(q) for q in s.get("exclude_queries") or []]
        + [Seed.csv(f, id_column=s["id_column"]) for f in _as_list(s.get("exclude_files") or [])]
    )


def _seed(s: Mapping[str, Any]) -> Seed:
    given = [k for k in ("seed_file", "seed_table", "seed_query") if s.get(k) is not None]
    if len(given) != 1:
        what = "no seed" if not given else f"{len(given)} seeds ({', '.join(given)})"
        raise InputError(f"the job has {what}: give exactly one of --seed-file, --seed-table, --seed-query ([seed] file, table or query)")
    if s.get("seed_file") is not None:
        if s.get("seed_value") is not None:
            raise InputError("a seed file holds its values in a second column: leave out --seed-value ([seed] value)")
        return Seed.csv(s["seed_file"], id_column=s["id_column"])
    if s.get("seed_table") is not None:
        return Seed.table(s["seed_table"], column=s.get("seed_column"), value=s.get("seed_value"))
    return Seed.query(s["seed_query"], value=s.get("seed_value"))


EXAMPLE = '''\
# A lookalike-sql job. Run it:       lookalike-sql run --job {name} --out out/
# Render it for a console:           lookalike-sql sql --job {name} --dialect redshift
# Check it (in CI):                  lookalike-sql check --job {name}
# Command-line flags override these settings.

[population]
table = "population"               # one row per customer; a list of tables is joined on the id
# long_table = "feature_values"    # instead: (id, feature, value) rows
# ids_table = "customers"          # with long_table: every customer
# fill = 0                         # with long_table: a missing feature's value ("NULL" for NULL)
id_column = "member_srl"
features = ["age000", "sex000", "cto015", "gpo015", "dsl015", "vpo015", "cto016", "gpo016"]
# feature_pattern = "*015"         # instead of features: a glob over the columns (needs [run] url)
# sample = "10%"                   # profile the population on a deterministic sample

[seed]                             # exactly one of table, query, file
query = "SELECT member_srl FROM population WHERE sex000 = 1 AND age000 BETWEEN 25 AND 39 AND gpo015 > 50000"
# table = "mom_seed"
# file = "seed.csv"                # one column headed by the id column's name (a second: values)
# value = "spend"                  # with table or query: each member's value weighs it (value-based seed)

[audience]
size = 20000                       # or a share of the ranked population: "5%"
exclude_seed = false
# exclude_tables = ["crm.existing_customers"]   # audiences left out (same id column)
# exclude_queries = ["SELECT member_srl FROM crm.unsubscribed"]
# exclude_files = ["suppression.csv"]
# filter = "age000 >= 20"          # rank only these customers (the profile still sees everyone)

[model]
method = "euclidean"               # weighted distance to the persona; or "likelihood", "cosine", "mahalanobis"
max_features = 20
threshold = 0.05                   # least JS divergence of a weighed feature
bins = 10
min_count = 30

[run]
dialects = ["duckdb", "redshift", "hive"]
url = "lookalike-demo/demo.duckdb" # a .duckdb path (relative to this file) or a SQLAlchemy URL
# timeout = 600                    # seconds per statement

[check]
data = "lookalike-demo/demo.duckdb" # a .duckdb file, or a .parquet / .csv extract of the population;
                                    # without it, check builds synthetic data from the features
rows = 20000                        # customers the check runs on
'''
