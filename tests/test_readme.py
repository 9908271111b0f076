"""The README's example outputs are what the commands print (scripts/readme_examples.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("readme_examples", ROOT / "scripts" / "readme_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_examples_are_found_and_timings_normalised():
    script = _script()
    found = script.examples((ROOT / "README.md").read_text(encoding="utf-8"))
    assert [c for c, _ in found][:2] == [
        "geosleuth locate examples/lisbon_street.jpg",
        "geosleuth locate examples/lisbon_street.jpg --no-metadata",
    ]
    assert script.normalise("took 1.25 s  \nand 30 ms") == "took N s\nand N ms"


@pytest.mark.slow
def test_readme_examples_match_what_the_commands_print():
    script = _script()
    stale = script.differences((ROOT / "README.md").read_text(encoding="utf-8"))
    assert not stale, "README examples are stale; run python scripts/readme_examples.py\n" + "\n".join(stale)
