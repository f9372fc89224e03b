"""The documentation's examples run: the README's three starts (its Python block and its
`lookalike-sql` commands) and every ```python block of the docs pages, in the order a
reader meets them, in a folder where `lookalike-sql demo` has built its database. Blocks
fenced ```py show code for a warehouse or tables the demo does not have; they are shown,
not run. MkDocs builds the pages with --strict in .ci/run (broken links fail there)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine  # DuckDB only, but it builds the demo and evaluates: tens of seconds

ROOT = Path(__file__).resolve().parent.parent
#: The docs pages whose ```python blocks run, in reading order (a later page uses the
#: names an earlier one defined, as its text says: `con`, `model`, `result`).
PAGES = ["README.md", "docs/python.md", "docs/populations.md", "docs/evaluation.md"]
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)


def blocks(path: Path, language: str) -> list[str]:
    return [body for lang, body in _FENCE.findall(path.read_text()) if lang == language]


def test_every_docs_page_is_in_the_site_and_python_blocks_are_run_or_marked():
    """Each page under docs/ is in mkdocs.yml's nav, and each of their code blocks is
    either run here (```python) or marked as shown only (```py)."""
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").glob("*.md"))
    assert pages and all(page in nav for page in pages), pages
    for page in (ROOT / "docs").glob("*.md"):
        if f"docs/{page.name}" not in PAGES:
            assert not blocks(page, "python"), f"{page.name} has ```python blocks: add it to PAGES or fence them ```py"


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    subprocess.run([str(Path(sys.executable).parent / "lookalike-sql"), "demo"], cwd=folder, check=True, capture_output=True)
    return folder


def test_the_readme_commands_run(demo_folder):
    """The README's `lookalike-sql` commands, as written, with the venv's scripts on PATH."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Three ways in")
    commands = [b for b in blocks(ROOT / "README.md", "bash") if readme.index(b) > start]
    assert len(commands) == 2
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for block in commands:
        done = subprocess.run(["bash", "-e", "-c", block], cwd=demo_folder, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
    statement = (demo_folder / "lookalike.sql").read_text()
    assert statement.startswith("-- lookalike-sql") and "LATERAL VIEW" in statement  # Hive's shape
    assert "failures=\"0\"" in (demo_folder / "check.xml").read_text()
    assert {p.name for p in (demo_folder / "sql").iterdir()} >= {"duckdb.sql", "redshift.sql", "hive.sql"}


def test_the_docs_python_examples_run(demo_folder, monkeypatch):
    monkeypatch.chdir(demo_folder)
    namespace: dict = {"__name__": "docs_example"}
    ran = 0
    for page in PAGES:
        for i, code in enumerate(blocks(ROOT / page, "python")):
            exec(compile(code, f"{page} python block {i + 1}", "exec"), namespace)  # noqa: S102 (our own docs)
            ran += 1
    assert ran >= 4
    # what the examples claim they produce
    assert len(namespace["result"].audience) == 30_000
    assert (demo_folder / "lookalike.png").stat().st_size > 10_000
    assert set(namespace["evaluation"].table.columns) >= {"method", "share", "recall", "lift"}
    assert (demo_folder / "evaluation.png").exists()
    namespace["con"].close()
