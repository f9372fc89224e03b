"""The seed's feature catalogue: symbol + 3-digit category code (``gpo015`` = GMV per
order in *Baby Core - Diapering*), shipped as ``data/feature_code.csv``."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import pandas as pd

from .errors import InputError

_DEMOGRAPHICS = {"age000": "age", "sex000": "sex", "aay000": "account age"}

#: What each symbol measures, as the seed's README names them ("Feature Extraction"; it
#: writes "dal" for days since last order, the catalogue "dsl"). The catalogue's cts, spo,
#: spq and ssl are not described there: they get no measure rather than a guess.
MEASURES = {
    "aas": "annualized aggregate spending", "cto": "annualized order count", "ctq": "annualized quantity count",
    "dpo": "days per order", "dpq": "days per quantity", "ctv": "annualized view count",
    "vpo": "views per order", "vpq": "views per quantity",
    "gpo": "GMV per order", "gpq": "GMV per quantity", "gpd": "GMV per day",
    "dsl": "days since last order", "vsl": "views since last order",
    "age": "age", "sex": "sex", "aay": "account age",
}


def measure_of(feature: str) -> str:
    """What a feature named by the catalogue convention measures (its symbol), else ''.

    >>> measure_of("gpo015")
    'GMV per order'
    """
    symbol = feature[:-3] if len(feature) > 3 and feature[-3:].isdigit() else ""
    return MEASURES.get(symbol, "")


def load_catalogue(path: str | None = None) -> pd.DataFrame:
    """Return the packaged feature catalogue (1,805 rows), or the user's at ``path`` (a CSV
    with at least the columns ``feature`` and ``category``).

    Columns ``idx`` (int), ``feature``, ``sym``, ``code`` (3-char string such as
    ``"015"``) and ``category``.  Text is kept verbatim, so the demographic
    features keep the catalogue's literal category ``"null"`` (as the seed's
    ``top_features.csv`` shows it).

    Example::

        >>> cat = load_catalogue()
        >>> cat.loc[cat.feature == "gpo015", "category"].item()
        'Baby Core - Diapering'
    """
    if path is not None:
        try:
            catalogue = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the catalogue {path}: {exc}") from None
        if not {"feature", "category"} <= set(catalogue.columns):
            raise InputError(f"the catalogue {path} needs the columns feature and category: it has {', '.join(catalogue.columns)}")
        return catalogue
    resource = files("lookalike_sql") / "data" / "feature_code.csv"
    with resource.open("r", encoding="utf-8") as fh:
        return pd.read_csv(
            fh,
            dtype={"idx": "int64", "feature": str, "sym": str, "code": str, "category": str},
            keep_default_na=False,
        )


@lru_cache(maxsize=8)
def _categories(path: str | None) -> dict[str, str]:
    catalogue = load_catalogue(path)
    demographics = _DEMOGRAPHICS if path is None else {}
    return {**dict(zip(catalogue["feature"], catalogue["category"])), **demographics}


def readable_name(feature: str, catalogue: str | None = None) -> str:
    """The category of a feature in the catalogue (the packaged one unless a path is
    given), else ''.

    >>> readable_name("gpo015")
    'Baby Core - Diapering'
    """
    return _categories(None if catalogue is None else str(catalogue)).get(feature, "")


def described(measure: str, category: str) -> str:
    """A feature in words for titles and listings: "GMV per order in Baby Core - Diapering",
    or whichever of the two is known ("age" for age000)."""
    if measure and category and category != measure:
        return f"{measure} in {category}"
    return measure or category
