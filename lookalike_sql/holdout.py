"""evaluate()'s inputs: which seed members the holdout hides (the md5 rule of a
fraction ``sample``), the shares of the population it reports at, and the methods."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence

import numpy as np

from .errors import InputError
from .methods import METHODS
from .population import sample_threshold


def holdout_mask(ids: Sequence[object], holdout: float) -> np.ndarray:
    """Which ids are hidden: those whose md5 (of the id as text, lower-case hex) starts
    with 8 digits below ``holdout`` of their range; the rule of a fraction ``sample``."""
    below = sample_threshold(holdout)
    return np.array([hashlib.md5(str(v).encode("utf-8")).hexdigest()[:8] < below for v in ids], dtype=bool)


def parse_holdout(holdout: object) -> float:
    """A share strictly between 0 and 1: 0.5, or text such as "50%" or "0.5"."""
    value = _parse_share(holdout, "holdout")
    if not 0 < value < 1:
        raise InputError(f"holdout {holdout!r} must lie strictly between 0 and 1 (or 0% and 100%): the seed needs a hidden and a kept part")
    return value


def parse_shares(shares: object) -> tuple[float, ...]:
    """Shares of the population in (0, 1], ascending, each once: numbers, texts such as
    "5%", or one comma-separated text ("1%,5%,10%")."""
    if isinstance(shares, str):
        items: list[object] = [s.strip() for s in shares.split(",") if s.strip()]
    elif isinstance(shares, (int, float)):
        items = [shares]
    elif isinstance(shares, Iterable):
        items = list(shares)
    else:
        raise InputError(f"shares must be a list of shares of the population such as 1%,5%,10%, not {shares!r}")
    if not items:
        raise InputError("shares is empty: give at least one share of the population, e.g. 1%,5%,10%")
    values = []
    for item in items:
        value = _parse_share(item, "share")
        if not 0 < value <= 1:
            raise InputError(f"share {item!r} must lie in (0, 1] (or (0%, 100%]): it is a share of the population")
        values.append(value)
    return tuple(sorted(set(values)))


def parse_methods(methods: object) -> list[str]:
    if isinstance(methods, str):
        names = [m.strip() for m in methods.split(",") if m.strip()]
    elif isinstance(methods, Iterable):
        names = [str(m).strip() for m in methods]
    else:
        raise InputError(f"methods must be method names such as euclidean, not {methods!r}")
    if not names:
        raise InputError(f"methods is empty: name at least one of {', '.join(METHODS)}")
    for name in names:
        if name not in METHODS:
            raise InputError(f"method {name!r} is not available: use one of {', '.join(METHODS)}")
    return list(dict.fromkeys(names))


def _parse_share(value: object, what: str) -> float:
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise InputError(f"{what} {text!r} is not a number: give a share such as 0.5 or 50%") from None
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
    else:
        raise InputError(f"{what} must be a share such as 0.5 or 50%, not {value!r}")
    if not math.isfinite(number):
        raise InputError(f"{what} {value!r} is not a finite number: give a share such as 0.5 or 50%")
    return number
