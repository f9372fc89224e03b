"""Where the SQL templates and dialect macros live.

They sit at the top of the repository (``templates/``, ``dialects/``). A built wheel
carries them inside the package (see ``force-include`` in pyproject.toml); an editable
install or a source checkout finds them beside the package. One locator serves both.
"""

from __future__ import annotations

import os
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


def template_cache_dir() -> Path | None:
    """Where Jinja keeps the templates' compiled bytecode between processes (compiling
    them costs a third of a second in every ``run``): ``$XDG_CACHE_HOME/lookalike-sql``
    (``~/.cache/lookalike-sql``), private to the user. Jinja checks each entry against
    its template's source and the Python version. None where no such folder can be
    made (a read-only home): the templates are then compiled in each process."""
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        folder = base / "lookalike-sql" / "templates"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if folder.is_symlink() or folder.stat().st_uid != os.getuid():
            return None  # not the user's own folder: its bytecode would run as the user's code
        folder.chmod(0o700)  # also when an earlier folder was made with another mode
    except (OSError, RuntimeError):  # RuntimeError: no home directory to be found
        return None
    return folder if os.access(folder, os.W_OK) else None
