"""Every setting of a job, declared once: its flat name (the command line's flag), its
[section] and key in a job file, the types a file may give, its help, its default and
its line in `init`'s example. The job file's reader, the command line's flags and the
example file are all made from these records.

The model's own settings (``bins``, ``method`` ...) are declared on the ``Lookalike``
dataclass with ``model_setting(...)``, so that the Python keyword, its validation and
its job-file key and flag are one line; ``job.SETTINGS`` joins them to ``JOB_SETTINGS``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InputError

#: The job file's sections, in the order the example file writes them, with the
#: comment on each section's line.
SECTIONS: dict[str, str] = {
    "population": "",
    "seed": "exactly one of table, query, file",
    "audience": "",
    "model": "",
    "run": "",
    "check": "",
}

#: The commands that take the job's settings as flags.
JOB_COMMANDS = ("run", "sql", "check", "evaluate")


@dataclass(frozen=True)
class Setting:
    name: str  # the flat name: the flag without "--" (dashes as underscores), Job.from_settings' key
    section: str  # the job file's [section] ...
    key: str  # ... and key
    types: tuple[type, ...]  # what the job file may give
    help: str  # the flag's help and the example's comment
    default: Any = None  # None: the job may leave it out (or must give it: see Job.from_settings)
    example: str | None = None  # its value in init's example (TOML); None: not in the example
    commented: bool = False  # the example shows it commented out, as an alternative
    flag: str | None = ""  # "": --<name with dashes>; None: only in a job file
    commands: tuple[str, ...] = JOB_COMMANDS  # the commands that take the flag
    group: str | None = None  # flags of one group exclude each other on the command line
    repeatable: bool = False  # the flag may be given several times (a list)
    path: bool = False  # a path in a job file, relative to the file's folder
    check: Callable[[str, Any], Any] | None = None  # the model's validation: (name, value) -> value

    @property
    def flag_name(self) -> str | None:
        if self.flag is None:
            return None
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def flag_type(self) -> type | None:
        """How the command line parses the flag's text: a number where the file wants one."""
        if bool in self.types:
            return None  # a switch
        if self.types == (int,):
            return int
        if set(self.types) == {int, float}:
            return float
        return str

    @property
    def help_with_default(self) -> str:
        shown = self.default if not isinstance(self.default, list) else ",".join(self.default)
        text = self.help if self.default is None or self.default is False else f"{self.help} (default {shown})"
        return text.replace("%", "%%")  # argparse formats help with %


def model_setting(
    default: Any,
    section: str,
    help: str,
    *,
    types: tuple[type, ...] | None = None,
    check: Callable[[str, Any], Any] | None = None,
    example: str | None = None,
    commented: bool = False,
) -> Any:
    """A field of the ``Lookalike`` dataclass that is also a job setting (its key and flag
    are the field's name). ``check(name, value)`` validates it and returns it normalized."""
    types = types or (type(default),)
    spec = {"section": section, "help": help, "types": types, "check": check, "example": example, "commented": commented}
    return dataclasses.field(default=default, metadata={"setting": spec})


def model_settings(cls: type) -> list[Setting]:
    """The settings declared on a dataclass with ``model_setting``."""
    return [
        Setting(name=f.name, key=f.name, default=f.default, **f.metadata["setting"])
        for f in dataclasses.fields(cls)
        if "setting" in f.metadata
    ]


def checked(instance: Any, settings: Sequence[Setting]) -> None:
    """Validate and normalize a dataclass's settings in place (``__post_init__``)."""
    for s in settings:
        if s.check is not None:
            setattr(instance, s.name, s.check(s.name, getattr(instance, s.name)))


def check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be a whole number of at least {minimum}, not {value!r}")


def whole_number(minimum: int) -> Callable[[str, Any], int]:
    def check(name: str, value: Any) -> int:
        check_int(name, value, minimum)
        return value

    return check


def one_of(choices: Sequence[str], what: str) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if value not in choices:
            raise InputError(f"{what} {value!r} is not available: use one of {', '.join(choices)}")
        return value

    return check


def share_of_one(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InputError(f"{name} {value!r} is outside [0, 1]: JS divergence in base 2 lies in [0, 1]")
    return float(value)


def in_file_order(settings: Sequence[Setting]) -> list[Setting]:
    """Section by section, as declared within each."""
    order = list(SECTIONS)
    return sorted(settings, key=lambda s: order.index(s.section))


_P, _S, _A, _R, _C = "population", "seed", "audience", "run", "check"

#: The job's settings that are not the model's (those are on ``Lookalike``).
JOB_SETTINGS: list[Setting] = [
    Setting("population", _P, "table", (str, list), "wide population table, one row per customer; several tables are joined on the id (a,b)",
            example='"population"', group="population"),
    Setting("long_table", _P, "long_table", (str,), "long population table: one row per (id, feature, value)",
            example='"feature_values"', commented=True, group="population"),
    Setting("ids_table", _P, "ids_table", (str,), "with long_table: the table listing every customer (default: the ids the long table holds)",
            example='"customers"', commented=True),
    Setting("feature_column", _P, "feature_column", (str,), "with long_table: its feature-name column (default feature)"),
    Setting("value_column", _P, "value_column", (str,), "with long_table: its value column (default value)"),
    Setting("fill", _P, "fill", (int, float, str), "with long_table: a missing feature's value, a number or \"NULL\" (default 0)",
            example="0", commented=True),
    Setting("id_column", _P, "id_column", (str,), "the customer id column", example='"member_srl"'),
    Setting("features", _P, "features", (list,), "the candidate feature columns (default: every numeric column but the id); as a flag comma-separated",
            example='["age000", "sex000", "cto015", "gpo015", "dsl015", "vpo015", "cto016", "gpo016"]'),
    Setting("feature_pattern", _P, "feature_pattern", (str,), "instead of features: a glob over the columns, e.g. \"gpo*\" (needs a url)",
            example='"*015"', commented=True, flag=None),
    Setting("seed_table", _S, "table", (str,), "the table of seed ids", example='"mom_seed"', commented=True, group="seed"),
    Setting("seed_column", _S, "column", (str,), "the seed table's id column (default: id_column)"),
    Setting("seed_query", _S, "query", (str,), "one SELECT of the seed ids (with seed_value, and their values)",
            example='"SELECT member_srl FROM population WHERE sex000 = 1 AND age000 BETWEEN 25 AND 39 AND gpo015 > 50000"', group="seed"),
    Setting("seed_file", _S, "file", (str,), "a CSV of seed ids headed by the id column's name (a second column: their values)",
            example='"seed.csv"', commented=True, group="seed", path=True),
    Setting("seed_value", _S, "value", (str,), "the seed table's or query's column of each member's value (spend, say), "
            "which weighs it: a value-based seed", example='"spend"', commented=True),
    Setting("size", _A, "size", (int, str), "how many customers to return: a count (20000) or a share of the ranked population (5%)",
            example="20000"),
    Setting("exclude_seed", _A, "exclude_seed", (bool,), "leave the seed's members out of the audience", default=False, example="false"),
    Setting("exclude_tables", _A, "exclude_tables", (list,), "tables of ids to leave out (same id column)",
            example='["crm.existing_customers"]', commented=True, flag="--exclude-table", repeatable=True),
    Setting("exclude_queries", _A, "exclude_queries", (list,), "SELECTs of ids to leave out",
            example='["SELECT member_srl FROM crm.unsubscribed"]', commented=True, flag="--exclude-query", repeatable=True),
    Setting("exclude_files", _A, "exclude_files", (list,), "one-column CSV files of ids to leave out",
            example='["suppression.csv"]', commented=True, flag="--exclude-file", repeatable=True, path=True),
    Setting("population_filter", _A, "filter", (str,), "rank only the customers meeting this condition, e.g. \"country = 'KR'\" "
            "(the profile still sees everyone)", example='"age000 >= 20"', commented=True, flag="--filter"),
    Setting("dialects", _R, "dialects", (list,), "the dialects to render and check; as a flag comma-separated",
            default=["duckdb"], example='["duckdb", "redshift", "hive"]', commands=("check",)),
    Setting("url", _R, "url", (str,), "where to run, or read the columns from: a .duckdb path (relative to the job file) or a SQLAlchemy URL",
            example='"lookalike-demo/demo.duckdb"', commands=("run", "sql", "evaluate")),
    Setting("timeout", _R, "timeout", (int, float), "cancel any statement that runs longer than this many seconds",
            example="600", commented=True, commands=("run", "evaluate")),
    Setting("out", _R, "out", (str,), "the folder for the result files (run: lookalike.csv, top_features.csv, query.sql, "
            "lookalike.png, report.md; evaluate: evaluation.csv and .png)", commands=("run", "evaluate"), path=True),
    Setting("check_data", _C, "data", (str,), "data for `check`: a .duckdb file, or a .parquet / .csv extract of the population "
            "(default: synthetic data from the features)", example='"lookalike-demo/demo.duckdb"', flag="--data", commands=("check",),
            path=True),
    Setting("check_rows", _C, "rows", (int,), "the customers `check` runs on", default=20_000, example="20000", flag="--rows",
            commands=("check",)),
]


def example_file(settings: Sequence[Setting], name: str) -> str:
    """init's commented example job file, one line per setting that has an example."""
    lines = [
        f"# A lookalike-sql job. Run it:       lookalike-sql run --job {name} --out out/",
        f"# Render it for a console:           lookalike-sql sql --job {name} --dialect redshift",
        f"# Check it (in CI):                  lookalike-sql check --job {name}",
        "# Command-line flags override these settings.",
    ]
    for section, comment in SECTIONS.items():
        lines.append("")
        lines.append(f"{f'[{section}]':<34} # {comment}" if comment else f"[{section}]")
        for s in settings:
            if s.section == section and s.example is not None:
                line = f"{'# ' if s.commented else ''}{s.key} = {s.example}"
                lines.append(f"{line:<34} # {s.help_with_default.replace('%%', '%')}" if len(line) < 80 else line)
    return "\n".join(lines) + "\n"
