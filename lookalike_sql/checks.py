"""The job's checks, in one table: what stops a job, its code, and what to do.

Each check is a condition on a named *fact* of the job (the population's size, its NULL
ids, ...). The one pasteable statement renders every check as an SQL guard that stops
the statement with the check's message (``dialects/*.sql.j2``: ``guard``); ``execute()``
evaluates the same checks in Python on the facts its steps return (``failed_check``).

Every message starts with its code letter: Redshift's failed-cast error shows only the
first character of the text ("Invalid digit, Value 'D', Pos 0, Type: Integer"), so the
letter alone must tell the checks apart. The messages hold no apostrophe and no ``;``:
the Hive CLI and beeline split a pasted script on ``;`` and track quotes even where
they should not (see ``console.py``).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import InputError, NoFeatureSelected

_COMPARE: dict[str, Callable[[float, float], bool]] = {"=": operator.eq, ">": operator.gt}


@dataclass(frozen=True)
class Check:
    code: str  # one capital letter, the message's first character
    fact: str  # the fact the condition reads, as the SQL and the Python side name it
    op: str  # "=" or ">"
    bound: float
    reason: str  # what is wrong
    fix: str  # what to do
    error: type[InputError] = InputError

    @property
    def message(self) -> str:
        return f"{self.code}: {STOP} {self.reason}: {self.fix}."

    def condition(self, row: str) -> str:
        """The SQL condition that must hold, on the facts of relation ``row``."""
        return f"{row}.{self.fact} {self.op} {self.bound:g}"

    def holds(self, value: float) -> bool:
        return _COMPARE[self.op](value, self.bound)


#: Words every stop message carries after its code, so that Python finds the message in
#: whatever an engine wraps it in.
STOP = "lookalike-sql stopped the job:"

CHECKS: tuple[Check, ...] = (
    Check("E", "n_population", ">", 0, "the population is empty", "check the population table"),
    Check("N", "n_null_ids", "=", 0, "the population has customers whose id is NULL", "filter them out in a view"),
    Check("D", "n_duplicate_ids", "=", 0, "an id appears more than once in the population",
          "make the id column unique (a view with one row per customer)"),
    Check("R", "repeated_pairs", "=", 0, "an (id, feature) pair appears more than once in the long table",
          "keep one row per customer and feature"),
    Check("F", "non_finite_features", "=", 0, "a feature holds NaN or infinite values",
          "replace them with NULL in a view, or leave the feature out"),
    Check("V", "n_bad_seed_values", "=", 0, "a seed member has a value that is NULL, negative or not finite",
          "give every member a value of 0 or more"),
    Check("Z", "seed_value_total", ">", 0, "the values of the seed members found add up to 0",
          "give some members a value above 0"),
    Check("S", "n_seed_found", ">", 0, "no seed id was found in the population table",
          "check that the seed holds values of the id column"),
    Check("T", "features_selected", ">", 0, "no feature reaches the JS-divergence threshold",
          "lower the threshold or use a sharper seed", NoFeatureSelected),
)
BY_CODE: dict[str, Check] = {c.code: c for c in CHECKS}
BY_FACT: dict[str, Check] = {c.fact: c for c in CHECKS}
#: The checks only a value-based seed has.
VALUE_FACTS = ("n_bad_seed_values", "seed_value_total")


def check(fact: str) -> Check:
    return BY_FACT[fact]


def guard_checks(facts: list[str], row: str) -> list[tuple[str, str]]:
    """(condition, message) pairs for ``d.guard``: the checks of ``facts`` on relation
    ``row``, in the table's order."""
    return [(c.condition(row), c.message) for c in CHECKS if c.fact in facts]


def feature_message(name: str) -> str:
    """The non-finite check's message naming the feature (where the SQL knows it)."""
    c = BY_FACT["non_finite_features"]
    return f"{c.code}: {STOP} feature {name} holds NaN or infinite values: {c.fix}."


def failed_check(facts: Mapping[str, float]) -> Check | None:
    """The first check whose fact is given and does not hold."""
    for c in CHECKS:
        if c.fact in facts and facts[c.fact] is not None and not c.holds(facts[c.fact]):
            return c
    return None


_MESSAGE = re.compile(r"\b([A-Z]): " + re.escape(STOP) + r" [^\"'\n\]\\]*")
_REDSHIFT_CAST = re.compile(r"Invalid digit, Value '([A-Z])', Pos 0")


def stop_in(error_text: str) -> str | None:
    """The stop message an engine error carries, if the statement stopped on a check:
    the whole message where the engine shows it, else (Redshift's failed cast shows only
    the first character) the check's message found by its code."""
    found = _MESSAGE.search(error_text)
    if found:
        return found.group(0).rstrip()
    code = _REDSHIFT_CAST.search(error_text)
    if code and code.group(1) in BY_CODE:
        return BY_CODE[code.group(1)].message
    return None


def stop_error(message: str) -> InputError:
    """The exception a stop message raises in Python (NoFeatureSelected for T)."""
    code = BY_CODE.get(message[:1])
    return (code.error if code else InputError)(message)


def describe() -> str:
    """The codes and their meaning, one line each (README, --help)."""
    return "\n".join(f"{c.code}  {c.reason}: {c.fix}" for c in CHECKS)


__all__ = ["CHECKS", "Check", "check", "describe", "failed_check", "feature_message", "guard_checks", "stop_error", "stop_in"]
