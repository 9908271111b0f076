"""Constraints are constraints: with countries or a box given, no candidate outside wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphs.consensus import aggregate, best_consensus
from graphs.constraints import OUTSIDE, Constraint, constrained_consensus
from tools.evidence import Candidate
from tools.hints import Hint

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"

LISBON = Candidate(lat=38.7223, lon=-9.1393, label="Lisbon", score=0.8, radius_km=10, country_code="PT")
MADRID = Candidate(lat=40.4168, lon=-3.7038, label="Madrid", score=0.2, radius_km=10, country_code="ES")
CAPE_TOWN = Candidate(lat=-33.92, lon=18.42, label="Cape Town", score=0.1, radius_km=10, country_code="ZA")


def run(candidates, hint, strategy="cluster", gazetteer=None):
    return constrained_consensus(
        candidates,
        Constraint.from_hint(hint),
        lambda found: aggregate(found, strategy, gazetteer),
        lambda found: best_consensus(found, gazetteer),
        gazetteer,
        strategy,
    )


@pytest.mark.parametrize("strategy", ["cluster", "hierarchical", "best"])
def test_the_best_candidate_outside_cannot_win(strategy, gazetteer):
    result = run([LISBON, MADRID], Hint(countries=["ES"]), strategy, gazetteer)
    assert result.answered and result.country_code == "ES"
    assert result.ranked[-1].label == "Lisbon" and result.ranked[-1].details[OUTSIDE]


def test_none_inside_is_no_answer_with_the_best_outside_as_alternative():
    result = run([LISBON, MADRID], Hint(countries=["KP"]))
    assert not result.answered and result.confidence == 0
    assert result.reason.startswith("no answer inside the constraint (country KP)") and "Lisbon" in result.reason
    assert [c.label for c in result.ranked] == ["Lisbon", "Madrid"] and all(c.details[OUTSIDE] for c in result.ranked)


def test_a_box_south_and_west_is_honoured():
    hint = Hint(bbox=(-34, 18, -33, 19))
    result = run([LISBON, MADRID, CAPE_TOWN], hint)
    assert result.answered and result.lat == pytest.approx(-33.92)
    assert not run([LISBON], hint).answered


def test_a_box_across_the_antimeridian():
    fiji = Candidate(lat=-17.8, lon=178.0, label="Suva", score=0.3, radius_km=10)
    samoa = Candidate(lat=-13.8, lon=-171.8, label="Apia", score=0.2, radius_km=10)
    constraint = Constraint(bbox=(-20, 170, -10, -170))
    assert constraint.in_box(fiji.lat, fiji.lon) and constraint.in_box(samoa.lat, samoa.lon)
    assert not constraint.in_box(LISBON.lat, LISBON.lon)


def test_without_a_constraint_nothing_changes(gazetteer):
    free = run([LISBON, MADRID], None, gazetteer=gazetteer)
    assert free.model_dump() == aggregate([LISBON, MADRID], "cluster", gazetteer).model_dump()


def test_country_es_on_the_lisbon_example_never_answers_outside_spain(agent):
    location = agent.locate(EXAMPLE, use_metadata=False, country="ES")
    assert not location.answered or location.country_code == "ES"
    assert location.answered or "no answer inside the constraint (country ES)" in location.reason
    assert all(c.country_code != "ES" for c in location.candidates if c.details.get(OUTSIDE))
    assert any(c.details.get(OUTSIDE) and c.country_code == "PT" for c in location.candidates)
    unconstrained = agent.locate(EXAMPLE, use_metadata=False, country="PT")
    assert unconstrained.answered and unconstrained.country_code == "PT"
