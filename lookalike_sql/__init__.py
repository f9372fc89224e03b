"""lookalike-sql: lookalike audiences computed inside the data warehouse.

>>> from lookalike_sql import Lookalike, Seed
>>> model = Lookalike("population", id_column="member_srl")
>>> result = model.execute(duckdb_connection, Seed.table("mom_seed"), size=30_000)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import EngineError, InputError, LookalikeError, NoFeatureSelected  # noqa: E402
from .model import Lookalike, LookalikeResult  # noqa: E402
from .population import Long, Wide  # noqa: E402
from .seed import Seed  # noqa: E402

__all__ = [
    "EngineError",
    "InputError",
    "Lookalike",
    "LookalikeError",
    "LookalikeResult",
    "Long",
    "NoFeatureSelected",
    "Seed",
    "Wide",
    "__version__",
]
