"""The installed package: ``import geosleuth``, typing markers, and types a checker accepts."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_public_api_is_importable_from_geosleuth():
    import agent
    import geosleuth

    assert geosleuth.Agent is agent.Agent and geosleuth.Location is agent.Location
    for name in ("Hint", "Budget", "Settings", "GeoSleuthError", "ImageNotFoundError", "PendingReview", "read_trace"):
        assert hasattr(geosleuth, name), name
    assert set(geosleuth.__all__) <= set(dir(geosleuth))
    out = subprocess.run(
        [sys.executable, "-c", "from geosleuth import Agent, Location; print(Agent.__name__, Location.__name__)"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0 and out.stdout.split() == ["Agent", "Location"], out.stderr


def test_typed_markers_ship_with_every_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools = config["tool"]["setuptools"]
    assert "geosleuth*" in setuptools["packages"]["find"]["include"]
    for package in ("geosleuth", "agent", "tools", "graphs", "evals"):
        assert (ROOT / package / "py.typed").is_file()
        assert "py.typed" in setuptools["package-data"][package]


@pytest.mark.slow
def test_mypy_accepts_a_location_from_locate(tmp_path):
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent))
    if mypy is None:
        pytest.skip("mypy is not installed (it is in the dev extra)")
    good = tmp_path / "good.py"
    good.write_text(
        "from geosleuth import Agent, Location, PendingReview\n"
        "p = 'photo.jpg'\n"
        "loc: Location = Agent().locate(p)\n"
        "also: Location = Agent().locate(p, use_metadata=False, review=False)\n"
        "either: Location | PendingReview = Agent().locate(p, review=True)\n"
    )
    bad = tmp_path / "bad.py"
    bad.write_text("from geosleuth import Agent, Location\nloc: Location = Agent().locate('p.jpg', review=True)\n")
    common = [mypy, "--follow-imports=silent", "--ignore-missing-imports", "--cache-dir", str(tmp_path / "cache")]
    env = {"MYPYPATH": str(ROOT), "PATH": str(Path(sys.executable).parent)}
    ok = subprocess.run([*common, str(good)], capture_output=True, text=True, env=env, timeout=600)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wrong = subprocess.run([*common, str(bad)], capture_output=True, text=True, env=env, timeout=600)
    assert wrong.returncode == 1 and 'variable has type "Location"' in wrong.stdout  # review=True may pause
