"""templates/ and dialects/ ship inside the wheel: build it, install it into a fresh
virtual environment, and render SQL from there (and from the editable install)."""

from __future__ import annotations

import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RENDER = (
    "from lookalike_sql import Lookalike, Seed; import lookalike_sql.resources as r; "
    "print(r.sql_dir('templates')); "
    "print(Lookalike('population', 'member_srl', features=['a', 'b']).sql(Seed.table('s'), 5, dialect='hive'))"
)


@pytest.mark.slow
def test_wheel_carries_sql_and_renders_in_a_fresh_venv(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True, text=True)
    wheel = next(dist.glob("lookalike_sql-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("lookalike_sql/templates/lookalike.sql.j2", "lookalike_sql/dialects/hive.sql.j2",
                     "lookalike_sql/dialects/default.sql.j2", "lookalike_sql/data/feature_code.csv"):
        assert expected in names
    # A fresh environment that sees this environment's dependencies (a .pth line adds
    # their folder; .pth files inside it, such as our editable install's, are not read).
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    fresh_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                check=True, capture_output=True, text=True).stdout.strip()
    (Path(fresh_site) / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall", str(wheel)],
                   check=True, capture_output=True, text=True)
    result = subprocess.run([str(python), "-c", RENDER], capture_output=True, text=True, cwd=tmp_path, check=True)
    templates_dir, sql = result.stdout.split("\n", 1)
    assert str(env_dir) in templates_dir  # found inside the installed package, not the checkout
    assert "stack(2," in sql and "`member_srl`" in sql


def test_editable_or_source_checkout_finds_the_sql():
    result = subprocess.run([sys.executable, "-c", RENDER], capture_output=True, text=True, cwd=ROOT, check=True)
    templates_dir = Path(result.stdout.splitlines()[0])
    assert templates_dir == ROOT / "templates"
