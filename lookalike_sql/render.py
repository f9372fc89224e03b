"""Render the Jinja SQL templates for one dialect.

Templates (``templates/``) hold the dialect-free job; they call dialect macros as
``d.<macro>(...)``. ``d`` resolves each name in ``dialects/<dialect>.sql.j2`` first, then
in ``dialects/default.sql.j2`` (like dbt's ``adapter.dispatch``). Identifiers reach SQL
only through ``quote``/``quote_table`` and values only through the ``*_literal`` helpers.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jinja2

from . import checks
from .console import comment_text
from .dialects import Dialect, get_dialect
from .errors import InputError
from .resources import sql_dir, template_cache_dir

if TYPE_CHECKING:
    from .template_data import StatementContext


class DialectMacros:
    """Attribute access to a dialect's macros with fallback to the defaults."""

    def __init__(self, dialect: Dialect, env: jinja2.Environment, helpers: dict[str, Any]) -> None:
        self._dialect = dialect
        self._modules = [
            (owner, env.get_template(f"{owner}.sql.j2").make_module(vars=helpers))
            for owner in (dialect.name, "default")
        ]

    def __getattr__(self, macro: str) -> Any:
        for _, module in self._modules:
            found = getattr(module, macro, None)
            if found is not None:
                return found
        searched = ", ".join(f"{owner}.{macro}" for owner, _ in self._modules)
        raise jinja2.TemplateRuntimeError(
            f"dialect {self._dialect.name!r} has no macro {macro!r} (searched {searched})"
        )


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(sql_dir("templates")), str(sql_dir("dialects"))]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    cache = template_cache_dir()
    if cache is not None:
        env.bytecode_cache = jinja2.FileSystemBytecodeCache(str(cache))
    env.filters["sql_sum"] = sql_sum
    env.filters["comment"] = comment_text
    return env


def sql_sum(terms: list[str]) -> str:
    """Sum SQL expressions as a balanced tree, so 1,800 terms nest only 11 deep
    (deeply nested '+' chains overflow parsers: sqlglot's and Spark's)."""
    terms = list(terms)
    if not terms:
        return "0"
    while len(terms) > 1:
        paired = [f"({terms[i]} + {terms[i + 1]})" for i in range(0, len(terms) - 1, 2)]
        if len(terms) % 2:
            paired.append(terms[-1])
        terms = paired
    return terms[0]


def render(template: str, dialect: str | Dialect, job: StatementContext | None = None, **context: Any) -> str:
    """Render ``templates/<template>`` for ``dialect`` and return tidy SQL text. The
    template reads the job's context (``context.prepare()``) and the other variables given."""
    if job is not None:
        context = {**job.variables(), **context}
    d = get_dialect(dialect)
    env = environment()
    helpers = {
        "dialect": d, "q": d.quote, "lit": d.string_literal, "num": d.float_literal,
        # the job's checks (lookalike_sql/checks.py), for the guards
        "check": checks.check, "guard_checks": checks.guard_checks, "feature_message": checks.feature_message,
    }
    statement = template.split(".", 1)[0]  # "lookalike", "profile", "rank", "histograms"
    sql = list_stages(tidy(env.get_template(template).render(d=DialectMacros(d, env, helpers), statement=statement, **helpers, **context)))
    check_statement_size(sql, d)
    return sql


#: The stages a statement's CTEs name in their ``-- stage: <name>, ...`` comments.
STAGES = ("seed", "sample", "population", "profile", "select", "rank", "top-n", "histograms")
_STAGE_COMMENT = re.compile(r"^[ \t]*-- stage: ([a-z-]+),", re.MULTILINE)


def list_stages(sql: str) -> str:
    """Complete the header's ``-- Stages:`` line with the stages the statement's comments
    name, in the order they first appear. Only the leading comment block is searched, so
    no text from a name or a seed query can stand in for the line."""
    names = [m.group(1) for m in _STAGE_COMMENT.finditer(sql) if m.group(1) in STAGES]
    end = 0
    while sql.startswith("--", end):
        line_end = sql.index("\n", end)  # tidy ends every line with "\n"
        if sql[end:line_end] == "-- Stages:":
            return sql[:end] + "-- Stages: " + " -> ".join(dict.fromkeys(names)) + sql[line_end:]
        end = line_end + 1
    return sql


def tidy(sql: str) -> str:
    """Drop blank lines and trailing spaces left by template logic. Lines end at "\n"
    only, as the engines see them (str.splitlines would also break at U+2028 and the
    like, and could end a ``--`` comment the engines continue)."""
    lines = [line.rstrip(" \t\r") for line in sql.split("\n")]
    return "\n".join(line for line in lines if line.strip()) + "\n"


def check_statement_size(sql: str, dialect: str | Dialect) -> None:
    """Refuse a statement larger than the dialect accepts (``Dialect.max_statement_bytes``,
    counted in bytes of UTF-8). Redshift: "The maximum size for a single Amazon Redshift SQL
    statement is 16 MB" (https://docs.aws.amazon.com/redshift/latest/dg/c_redshift-sql.html).
    DuckDB and Hive/Spark document no limit, so nothing is checked for them."""
    d = get_dialect(dialect)
    limit = d.max_statement_bytes
    size = len(sql.encode("utf-8"))
    if limit is not None and size > limit:
        raise InputError(
            f"the {d.name} statement is {size / 2**20:.1f} MiB, over {d.name}'s limit of {limit / 2**20:g} MiB per statement: "
            "use fewer bins, a long table, or fewer candidate features (--features)"
        )


_CTE_DEFINITION = re.compile(r"^[ \t]*([a-z_]+?)(_?\{\{[^}]*\}\})? AS (?:\{\{[^}]*\}\})?\($", re.MULTILINE)


@lru_cache(maxsize=1)
def _template_cte_names() -> tuple[frozenset[str], frozenset[str]]:
    """The names the templates give their CTEs, and the stems of the numbered ones
    (``pop_range_{{ g }}``), read off the template files themselves."""
    names, stems = set(), set()
    for path in sql_dir("templates").glob("*.j2"):
        for name, numbered in _CTE_DEFINITION.findall(path.read_text()):
            (stems if numbered else names).add(name + ("_" if numbered and not name.endswith("_") else ""))
    return frozenset(names), frozenset(stems)


def statement_names(groups: int) -> set[str]:
    """Every CTE name a rendered statement may use (numbered ones up to ``groups``): a
    user query's CTE hoisted into the statement's WITH may not take any of them."""
    names, stems = _template_cte_names()
    return set(names) | {f"{stem}{g}" for stem in stems for g in range(1, groups + 1)}
