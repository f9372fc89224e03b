"""lookalike-sql: lookalike audiences computed inside the data warehouse.

>>> from lookalike_sql import Lookalike, Seed
>>> model = Lookalike("population", id_column="member_srl")
>>> result = model.execute(duckdb_connection, Seed.table("mom_seed"), size=30_000)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (
    EngineError,
    InputError,
    LookalikeError,
    NoFeatureSelected,
    StatementTimeout,
)
from .evaluation import Evaluation, evaluate
from .job import Job
from .model import Lookalike
from .population import Long, Wide
from .result import LookalikeResult
from .seed import Seed

__all__ = [
    "EngineError",
    "Evaluation",
    "InputError",
    "Job",
    "Long",
    "Lookalike",
    "LookalikeError",
    "LookalikeResult",
    "NoFeatureSelected",
    "Seed",
    "StatementTimeout",
    "Wide",
    "__version__",
    "evaluate",
]
