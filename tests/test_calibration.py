"""Confidence means something: on rendered scenes with known answers, confident answers are right."""

import pytest

from evals.calibrate import run
from evals.fonts import latin_font
from evals.synthetic import generate


@pytest.mark.slow
@pytest.mark.skipif(latin_font() is None, reason="no DejaVu font installed")
def test_confident_answers_on_synthetic_scenes_are_mostly_right(tmp_path, agent):
    generate(21, seed=5, out=tmp_path)
    _, details = run(tmp_path / "synthetic.jsonl", agent=agent, concurrency=1)
    confident = [d for d in details if d["confidence"] >= 0.5]
    assert len(confident) >= 5  # it does commit when signs name places
    right = sum(d["distance_km"] <= 200 for d in confident)
    assert right / len(confident) >= 0.8
    distractors = [d for d in details if d["expect"] == "none"]
    assert all(d["confidence"] < 0.5 for d in distractors)
