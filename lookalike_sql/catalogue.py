"""The seed's feature catalogue: symbol + 3-digit category code (``gpo015`` = GMV per
order in *Baby Core - Diapering*), shipped as ``data/feature_code.csv``."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import pandas as pd

_DEMOGRAPHICS = {"age000": "age", "sex000": "sex", "aay000": "account age"}


def load_catalogue() -> pd.DataFrame:
    """Return the packaged feature catalogue (1,805 rows).

    Columns ``idx`` (int), ``feature``, ``sym``, ``code`` (3-char string such as
    ``"015"``) and ``category``.  Text is kept verbatim, so the demographic
    features keep the catalogue's literal category ``"null"`` (as the seed's
    ``top_features.csv`` shows it).

    Example::

        >>> cat = load_catalogue()
        >>> cat.loc[cat.feature == "gpo015", "category"].item()
        'Baby Core - Diapering'
    """
    resource = files("lookalike_sql") / "data" / "feature_code.csv"
    with resource.open("r", encoding="utf-8") as fh:
        return pd.read_csv(
            fh,
            dtype={"idx": "int64", "feature": str, "sym": str, "code": str, "category": str},
            keep_default_na=False,
        )


@lru_cache(maxsize=1)
def _categories() -> dict[str, str]:
    catalogue = load_catalogue()
    return {**dict(zip(catalogue["feature"], catalogue["category"])), **_DEMOGRAPHICS}


def readable_name(feature: str) -> str:
    """The catalogue's category for a feature named by the convention, else ''.

    >>> readable_name("gpo015")
    'Baby Core - Diapering'
    """
    return _categories().get(feature, "")
