"""Synthetic demo population for the lookalike story.

The seed system (see ``shared/seed/lookalike-model-README.md``) ranks customers
by their distance to the persona of a seed audience over a wide table of
features named ``symbol + 3-digit category code`` (``gpo015`` = GMV per order
in *Baby Core - Diapering*).  This module builds a small, realistic stand-in for
that table so the whole pipeline can be demonstrated and tested on DuckDB:

* :func:`load_catalogue` (from :mod:`lookalike_sql.catalogue`) reads the packaged 1,805-feature catalogue.
* :data:`DEMO_CATEGORIES` x :data:`DEMO_SYMBOLS` (+ ``age000``, ``sex000``,
  ``aay000``) is the demo's feature subset: 3 + 8 x 16 = 131 columns.
* :func:`make_population` draws customers from latent segments (parents of
  babies, cat owners, dog owners, beauty lovers, gamers, everybody else) whose
  behaviour is correlated across categories: parents who buy diapers also buy
  formula and wipes, cat owners buy cat food and litter.
* :data:`MOM_SEED_SQL` is the README's hard-filter "mom" seed.
* :func:`build_demo_database` writes both into a DuckDB file.

Value conventions (they matter to anything that profiles the table):

* ``sex000``: 0 = not declared (~4%), 1 = female, 2 = male; ``1`` is female as
  in the README's ``sex = 1`` filter.
* ``age000``: integer years, 18-75.  ``aay000``: account age in years (0.1-12).
* Counts and money are ``0`` when a customer has no activity in a category:
  ``cto`` (orders a year), ``ctv`` (views a year), ``aas`` (spend a year, KRW),
  ``gpo`` / ``gpq`` (KRW per order / per unit).
* Ratios over orders or time are ``NULL`` (NaN in pandas) when the customer
  never ordered in the category, because 0 would read as "orders every 0 days"
  or "buys without looking": ``dpo`` (days per order), ``dsl`` (days since the
  last order) and ``vpo`` (views per order).  DuckDB turns the NaN of a
  registered pandas frame into SQL NULL.

Example::

    >>> from lookalike_sql.demo_data import make_population, MOM_SEED_SQL
    >>> pop = make_population(10_000, random_state=1)
    >>> pop.shape
    (10000, 132)
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from .catalogue import load_catalogue

__all__ = [
    "DEMO_CATEGORIES",
    "DEMO_FEATURES",
    "DEMO_JOB",
    "DEMO_SYMBOLS",
    "MOM_SEED_SQL",
    "SEX_FEMALE",
    "SEX_MALE",
    "SEX_UNKNOWN",
    "build_demo_database",
    "load_catalogue",
    "make_population",
]

# --------------------------------------------------------------------------- #
# Catalogue and feature subset
# --------------------------------------------------------------------------- #

SEX_UNKNOWN = 0
SEX_FEMALE = 1
SEX_MALE = 2

#: Curated categories (3-digit catalogue code -> catalogue name) that carry the
#: demo's story; names are checked against the catalogue by the tests.
DEMO_CATEGORIES: dict[str, str] = {
    "015": "Baby Core - Diapering",
    "016": "Baby Core - Formula",
    "017": "Baby Core - Wipes",
    "019": "Baby Necessaries - Baby Foods",
    "020": "Baby Necessaries - Mom & Baby Care",
    "001": "Accessory - Bag",
    "087": "Pet - Cat Food",
    "088": "Pet - Cat Supply",
    "089": "Pet - Dog Food",
    "090": "Pet - Dog Supply",
    "022": "Beauty - Makeup",
    "024": "Beauty - Skin Care",
    "007": "Apparel - Men Clothes",
    "040": "Computer & Digital - PC & Video Game",
    "057": "Fresh, Cold & Frozen - Fresh",
    "064": "Household - Tissue",
}

#: Metric symbols used by the demo (all exist in the catalogue).
DEMO_SYMBOLS: tuple[str, ...] = ("cto", "aas", "gpo", "gpq", "dpo", "dsl", "ctv", "vpo")

_DEMOGRAPHICS: tuple[str, ...] = ("age000", "sex000", "aay000")
_CODES: tuple[str, ...] = tuple(DEMO_CATEGORIES)

#: Feature columns of the demo table, in the demo's column order.
DEMO_FEATURES: tuple[str, ...] = _DEMOGRAPHICS + tuple(
    f"{sym}{code}" for sym in DEMO_SYMBOLS for code in _CODES
)

#: The README's "high-value mom" seed, as hard filters on the demo table.
MOM_SEED_SQL: str = """\
SELECT member_srl
FROM population
WHERE cto015 > 0
  AND sex000 = 1
  AND gpo015 > 70000
  AND dsl015 BETWEEN 30 AND 180
  AND age000 BETWEEN 25 AND 35"""

#: The demo's job as a file (``lookalike-sql demo`` writes it beside demo.duckdb and runs
#: it): ``lookalike-sql check --job lookalike-demo/job.toml`` checks it in every dialect.
DEMO_JOB: str = """\
# The demo's lookalike job: the README's hard-filter moms, softened.
#   lookalike-sql run   --job job.toml            (writes out/)
#   lookalike-sql sql   --job job.toml --dialect redshift
#   lookalike-sql check --job job.toml --junit check.xml --write-sql sql/

[population]
table = "population"          # 200,000 synthetic customers x 131 catalogue features
id_column = "member_srl"

[seed]
table = "mom_seed"            # built from the hard filters in the demo's log

[audience]
size = {size}

[model]
method = "euclidean"
max_features = 20
threshold = 0.05
bins = 10
min_count = 30

[run]
dialects = ["duckdb", "redshift", "hive"]
url = "demo.duckdb"
out = "out"

[check]
data = "demo.duckdb"
rows = 20000
"""


# --------------------------------------------------------------------------- #
# Segment model
# --------------------------------------------------------------------------- #

# Latent segments; a customer may belong to several (a mom can own a cat).
_TRAITS: tuple[str, ...] = ("parent", "cat", "dog", "beauty", "gamer")

# Per category: base yearly purchase probability of anybody, orders/year of a
# base buyer, median GMV per order (KRW), mean extra units per order, median
# views per order.  Order follows _CODES.
_CAT_PARAMS: dict[str, tuple[float, float, float, float, float]] = {
    #       p_buy  rate  gpo_med  units  vpo
    "015": (0.004, 0.6, 30_000, 0.5, 3.0),
    "016": (0.003, 0.6, 35_000, 0.8, 3.0),
    "017": (0.020, 1.0, 12_000, 1.5, 2.0),
    "019": (0.004, 0.6, 20_000, 1.5, 3.0),
    "020": (0.012, 0.6, 25_000, 0.5, 4.0),
    "001": (0.080, 0.3, 60_000, 0.1, 12.0),
    "087": (0.004, 0.8, 30_000, 1.0, 3.0),
    "088": (0.004, 0.8, 25_000, 1.0, 4.0),
    "089": (0.005, 0.8, 35_000, 1.0, 3.0),
    "090": (0.006, 0.6, 22_000, 0.8, 4.0),
    "022": (0.050, 0.8, 25_000, 0.8, 6.0),
    "024": (0.100, 0.8, 35_000, 0.6, 5.0),
    "007": (0.060, 0.6, 45_000, 0.4, 8.0),
    "040": (0.030, 0.5, 55_000, 0.2, 10.0),
    "057": (0.350, 4.0, 30_000, 4.0, 2.0),
    "064": (0.400, 2.0, 18_000, 1.0, 1.5),
}

# Extra purchase probability a trait adds to a category.
_TRAIT_BUY: dict[str, dict[str, float]] = {
    "parent": {"015": 0.85, "016": 0.55, "017": 0.75, "019": 0.45, "020": 0.50,
               "001": 0.25, "057": 0.20, "064": 0.30},
    "cat": {"087": 0.85, "088": 0.70},
    "dog": {"089": 0.85, "090": 0.70},
    "beauty": {"022": 0.60, "024": 0.70, "001": 0.25},
    "gamer": {"040": 0.75, "007": 0.15},
}

# Extra orders/year a trait adds (a parent orders diapers every ~6 weeks).
_TRAIT_RATE: dict[str, dict[str, float]] = {
    "parent": {"015": 7.0, "016": 6.0, "017": 5.0, "019": 4.0, "020": 2.0,
               "001": 0.5, "057": 2.0, "064": 1.5},
    "cat": {"087": 5.0, "088": 3.0},
    "dog": {"089": 4.0, "090": 3.0},
    "beauty": {"022": 3.0, "024": 4.0, "001": 0.5},
    "gamer": {"040": 2.5, "007": 0.5},
}

# Multiplier on the median GMV per order (bulk packs, premium brands).
_TRAIT_GPO: dict[str, dict[str, float]] = {
    "parent": {"015": 2.7, "016": 1.6, "017": 1.5, "019": 1.3, "020": 1.3},
    "cat": {"087": 1.5, "088": 1.4},
    "dog": {"089": 1.5, "090": 1.3},
    "beauty": {"022": 1.4, "024": 1.5},
    "gamer": {"040": 1.4},
}


def _trait_matrix(table: dict[str, dict[str, float]], default: float) -> np.ndarray:
    """Dense (trait x category) matrix from a sparse nested dict."""
    out = np.full((len(_TRAITS), len(_CODES)), default, dtype=np.float64)
    for t, row in table.items():
        for code, value in row.items():
            out[_TRAITS.index(t), _CODES.index(code)] = value
    return out


def _draw_traits(
    rng: np.random.Generator, age: np.ndarray, sex: np.ndarray
) -> np.ndarray:
    """Boolean (n x trait) membership, conditional on age and sex."""
    n = age.shape[0]
    female, male = sex == SEX_FEMALE, sex == SEX_MALE
    young = age < 35

    def by_sex(f: float, m: float, u: float) -> np.ndarray:
        return np.where(female, f, np.where(male, m, u))

    # Parents: mostly women around 32, but fathers and older parents exist.
    parent = 0.34 * by_sex(1.0, 0.30, 0.8) * np.exp(-0.5 * ((age - 32.0) / 5.5) ** 2)
    cat = 0.06 * by_sex(1.3, 0.7, 1.0) * np.where(age < 40, 1.3, 0.7)
    dog = 0.07 * np.where(age >= 40, 1.2, 0.85)
    beauty = by_sex(0.24, 0.03, 0.12) * np.where(age < 45, 1.2, 0.6)
    gamer = by_sex(0.03, 0.15, 0.07) * np.where(young, 1.6, np.where(age > 50, 0.3, 0.8))
    p = np.column_stack([parent, cat, dog, beauty, gamer])
    return rng.random((n, len(_TRAITS))) < p


def make_population(
    n_customers: int = 200_000,
    random_state: int = 7,
    *,
    include_segments: bool = False,
) -> pd.DataFrame:
    """Draw a synthetic customer feature table.

    One row per customer: ``member_srl`` (unique int64 ids, a random permutation
    of ``1_000_000 .. 1_000_000 + n - 1``, unrelated to any feature) followed by
    :data:`DEMO_FEATURES`.  Fully vectorised and deterministic for a given
    ``random_state``; 200,000 customers take about a second.

    ``include_segments=True`` appends the hidden truth as boolean columns
    ``is_parent``, ``is_cat``, ``is_dog``, ``is_beauty``, ``is_gamer`` (for
    judging a lookalike audience; never part of the warehouse table).  The
    feature values do not depend on this flag.

    Example::

        >>> pop = make_population(5_000, random_state=3)
        >>> bool(pop["member_srl"].is_unique), bool(pop["dpo015"].isna().any())
        (True, True)
    """
    if n_customers < 1:
        raise ValueError(f"n_customers must be positive, got {n_customers}")
    rng = np.random.default_rng(random_state)
    n, k = n_customers, len(_CODES)

    # Demographics.
    sex = rng.choice(
        np.array([SEX_UNKNOWN, SEX_FEMALE, SEX_MALE]), size=n, p=[0.04, 0.49, 0.47]
    ).astype(np.int64)
    age = np.clip(np.rint(rng.normal(39.0, 12.0, n)), 18, 75).astype(np.int64)
    aay = np.round(np.clip(rng.exponential(3.5, n) + 0.1, 0.1, np.minimum(12.0, age - 17.0)), 1)

    traits = _draw_traits(rng, age.astype(np.float64), sex)
    h = traits.astype(np.float64)

    # Customer-level latents shared across categories (they correlate features).
    wealth = rng.lognormal(0.0, 0.45, n) * np.where(age > 30, 1.1, 0.9)  # spending power
    engage = rng.lognormal(0.0, 0.45, n)  # shopping frequency
    browse = rng.lognormal(0.0, 0.40, n)  # views before buying

    params = np.array([_CAT_PARAMS[c] for c in _CODES], dtype=np.float64)
    p_base, rate_base, gpo_med, units, vpo_med = params.T

    # Base purchase probability bent by sex for gendered categories.
    sex_mod = np.ones((n, k))
    for code, (f_mult, m_mult) in {"022": (2.0, 0.3), "024": (1.6, 0.5), "007": (0.6, 1.6),
                                   "040": (0.5, 1.6)}.items():
        sex_mod[:, _CODES.index(code)] = np.where(
            sex == SEX_FEMALE, f_mult, np.where(sex == SEX_MALE, m_mult, 1.0)
        )
    # P(buy) = 1 - (1 - p_base) * prod_t (1 - p_trait): a sum in log space.
    log_no = np.log1p(-np.minimum(p_base * sex_mod, 0.95))
    log_no += h @ np.log1p(-_trait_matrix(_TRAIT_BUY, 0.0))
    buys = rng.random((n, k)) < -np.expm1(log_no)

    # Everything below is drawn only for the (customer, category) cells with
    # purchases (~12% of cells), then scattered into (category x customer)
    # arrays whose rows are contiguous columns of the frame.
    r, c = np.nonzero(buys)
    m = r.shape[0]

    def scatter(values: np.ndarray, fill: float) -> np.ndarray:
        out = np.full((k, n), fill, dtype=values.dtype)
        out[c, r] = values
        return out

    # Orders a year: at least one, more for trait members and engaged shoppers.
    rate = (rate_base + h @ _trait_matrix(_TRAIT_RATE, 0.0))[r, c] * engage[r]
    orders = 1 + rng.poisson(rate)

    # GMV per order: log-normal around a trait- and wealth-shifted median.
    gpo_shift = np.exp(h @ np.log(_trait_matrix(_TRAIT_GPO, 1.0)))[r, c]
    gpo_c = np.round(gpo_med[c] * gpo_shift * np.sqrt(wealth[r]) * rng.lognormal(0.0, 0.35, m), -1)
    units_c = 1 + rng.poisson(units[c])  # units per order
    gpq_c = np.round(gpo_c / units_c, 1)

    # Days per order ~ 365 / orders; days since last order ~ one gap, a quarter
    # of buyers lapsed for 2-6 gaps, never longer than the account's life.
    dpo_c = np.round(365.0 / orders * rng.lognormal(0.0, 0.2, m), 1)
    lapse = np.where(rng.random(m) < 0.25, rng.uniform(2.0, 6.0, m), 1.0)
    dsl_c = np.minimum(np.rint(dpo_c * rng.gamma(1.6, 1.0, m) * lapse), np.rint(aay[r] * 365.0))

    # Views: buyers look vpo times per order; some non-buyers only browse.
    vpo_c = vpo_med[c] * browse[r] * rng.lognormal(0.0, 0.4, m)
    ctv_c = np.rint(orders * vpo_c).astype(np.int64)
    browse_only = ~buys & (rng.random((n, k)) < 0.5 * -np.expm1(log_no) + 0.02)
    br, bc = np.nonzero(browse_only)
    ctv = scatter(ctv_c, 0)
    ctv[bc, br] = 1 + rng.poisson(2.0, br.shape[0])

    metrics = {
        "cto": scatter(orders.astype(np.int64), 0),
        "aas": scatter(orders * gpo_c, 0.0),
        "gpo": scatter(gpo_c, 0.0),
        "gpq": scatter(gpq_c, 0.0),
        "dpo": scatter(dpo_c, np.nan),
        "dsl": scatter(dsl_c, np.nan),
        "ctv": ctv,
        "vpo": scatter(np.round(ctv_c / orders, 2), np.nan),
    }
    member_srl = 1_000_000 + rng.permutation(n).astype(np.int64)

    cols: dict[str, Any] = {"member_srl": member_srl, "age000": age, "sex000": sex, "aay000": aay}
    for sym in DEMO_SYMBOLS:
        for j, code in enumerate(_CODES):
            cols[f"{sym}{code}"] = metrics[sym][j]
    if include_segments:
        for i, t in enumerate(_TRAITS):
            cols[f"is_{t}"] = traits[:, i]
    return pd.DataFrame(cols)


def build_demo_database(
    path: str | os.PathLike[str],
    n_customers: int = 200_000,
    random_state: int = 7,
) -> dict[str, Any]:
    """Write the demo population and the mom seed into a DuckDB file.

    Creates (or replaces) table ``population`` from :func:`make_population` and
    table ``mom_seed`` from :data:`MOM_SEED_SQL`.  Returns a few facts:
    ``path``, ``n_customers``, ``n_features``, ``seed_size``.

    Example::

        >>> import os, tempfile
        >>> db = os.path.join(tempfile.mkdtemp(), "demo.duckdb")
        >>> facts = build_demo_database(db, n_customers=20_000)
        >>> sorted(facts)
        ['n_customers', 'n_features', 'path', 'seed_size']
    """
    import duckdb  # imported here: keeps `import lookalike_sql.demo_data` light

    pop = make_population(n_customers, random_state)
    con = duckdb.connect(os.fspath(path))
    try:
        con.register("population_df", pop)  # NaN becomes NULL on the way in
        con.execute("CREATE OR REPLACE TABLE population AS SELECT * FROM population_df")
        con.unregister("population_df")
        con.execute(f"CREATE OR REPLACE TABLE mom_seed AS {MOM_SEED_SQL}")
        row = con.execute("SELECT count(*) FROM mom_seed").fetchone()
        seed_size = int(row[0]) if row else 0
    finally:
        con.close()
    return {
        "path": os.fspath(path),
        "n_customers": int(n_customers),
        "n_features": len(DEMO_FEATURES),
        "seed_size": seed_size,
    }
