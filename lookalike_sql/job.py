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
from .model import Lookalike
from .population import Long, Wide
from .result import LookalikeResult
from .seed import Seed
from .settings import JOB_SETTINGS, SECTIONS, Setting, in_file_order, model_settings
from .settings import example_file as settings_example

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: Every setting of a job: the job's own and the model's, in the file's order.
SETTINGS: list[Setting] = in_file_order(JOB_SETTINGS + model_settings(Lookalike))
_BY_KEY: dict[tuple[str, str], Setting] = {(s.section, s.key): s for s in SETTINGS}
DEFAULTS: dict[str, Any] = {s.name: s.default for s in SETTINGS if s.default is not None}


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
        if section not in SECTIONS:
            raise InputError(f"{path}:{lines.get((None, section), '?')}: unknown section [{section}]: use {_sections()}")
        for key, value in table.items():
            where = f"{path}:{lines.get((section, key), '?')}"
            if (section, key) not in _BY_KEY:
                known = ", ".join(s.key for s in SETTINGS if s.section == section)
                raise InputError(f"{where}: unknown key {key!r} in [{section}]: use one of {known}")
            setting = _BY_KEY[(section, key)]
            name, types = setting.name, setting.types
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
            if setting.path or (name == "url" and str(value).endswith(".duckdb")):
                value = [_beside(path, v) for v in value] if isinstance(value, list) else _beside(path, value)
            settings[name] = value
    return settings


def _beside(job_file: Path, value: str) -> str:
    """A path in a job file: relative to the file's folder."""
    return value if Path(value).is_absolute() else str((job_file.parent / value).resolve())


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
    return ", ".join(f"[{s}]" for s in SECTIONS)


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
        from .dialects import get_dialect

        dialects = [get_dialect(d).name for d in _as_list(s["dialects"])]
        features = _as_list(s.get("features")) if s.get("features") is not None else None
        if features is not None and s.get("feature_pattern"):
            raise InputError("the job gives both features and feature_pattern: keep one")
        model = Lookalike(
            population=_population(s),
            id_column=s["id_column"],
            features=features,
            **{m.name: s[m.name] for m in model_settings(Lookalike) if s.get(m.name) is not None},
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
    given = {name: s[name] for name in ("feature_column", "value_column") if s.get(name) is not None}  # else Long's defaults
    if s.get("fill") is not None:
        fill_text = str(s["fill"]).strip()
        try:
            given["fill"] = None if fill_text.upper() == "NULL" else float(fill_text)
        except ValueError:
            raise InputError(f"fill {fill_text!r} is not a number: give a number or NULL") from None
    return Long(s["long_table"], ids=s.get("ids_table"), **given)


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


def example_file(name: str) -> str:
    """init's commented example job file."""
    return settings_example(SETTINGS, name)
