"""Where the SQL templates and dialect macros live.

They sit at the top of the repository (``templates/``, ``dialects/``). A built wheel
carries them inside the package (see ``force-include`` in pyproject.toml); an editable
install or a source checkout finds them beside the package. One locator serves both.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def sql_dir(name: str) -> Path:
    """Return the folder ``templates`` or ``dialects``, installed location first."""
    for candidate in (_PACKAGE_DIR / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"the SQL folder '{name}' is missing from {_PACKAGE_DIR} and {_PACKAGE_DIR.parent}: "
        "reinstall lookalike-sql"
    )
