import pytest

from graphs.consensus import aggregate, best_consensus, cluster_consensus, hierarchical_consensus
from tools.errors import ConfigError
from tools.evidence import Candidate
from tools.geo import haversine_km


def cand(lat, lon, score, radius=1.0, label="", **kw):
    return Candidate(lat=lat, lon=lon, score=score, radius_km=radius, label=label, **kw)


def two_clusters():
    # Lyon (heavier: three candidates) versus Marseille (two slightly stronger ones).
    lyon = [
        cand(45.76, 4.84, 0.5, 5, "lyon-a"),
        cand(45.75, 4.85, 0.5, 5, "lyon-b"),
        cand(45.77, 4.83, 0.4, 5, "lyon-c"),
    ]
    marseille = [cand(43.30, 5.37, 0.6, 5, "mars-a"), cand(43.29, 5.38, 0.6, 5, "mars-b")]
    return lyon + marseille


def test_cluster_heavier_cluster_wins():
    result = cluster_consensus(two_clusters())
    assert haversine_km(result.lat, result.lon, 45.76, 4.84) < 3
    assert len(result.details["clusters"]) == 2
    assert {result.ranked[i].label for i in result.support} == {"lyon-a", "lyon-b", "lyon-c"}
    assert 0 < result.confidence < 1


def test_hierarchical_vote_picks_region_then_city(gazetteer):
    result = hierarchical_consensus(two_clusters(), gazetteer)
    assert result.country_code == "FR"
    assert result.city == "Lyon"
    assert haversine_km(result.lat, result.lon, 45.76, 4.84) < 5
    assert result.details["levels"] == ["country", "region", "city"]


def test_best_single_takes_top_score():
    result = best_consensus(two_clusters())
    assert haversine_km(result.lat, result.lon, 43.30, 5.37) < 1
    assert result.radius_km == 5


def test_confidence_tracks_agreement_not_a_constant():
    unanimous = cluster_consensus([cand(45.76, 4.84, 0.6, 5), cand(45.75, 4.85, 0.6, 5)])
    split = cluster_consensus([cand(45.76, 4.84, 0.6, 5), cand(43.30, 5.37, 0.6, 5)])
    lone = cluster_consensus([cand(45.76, 4.84, 0.6, 5)])
    assert unanimous.confidence > lone.confidence > split.confidence
    weak = cluster_consensus([cand(45.76, 4.84, 0.2, 5)])
    assert weak.confidence < lone.confidence


def test_radius_grows_with_spread():
    tight = cluster_consensus([cand(45.76, 4.84, 0.5, 1), cand(45.761, 4.841, 0.5, 1)])
    loose = cluster_consensus([cand(45.76, 4.84, 0.5, 1), cand(45.96, 4.84, 0.5, 1), cand(45.56, 4.84, 0.5, 1)])
    assert tight.radius_km < 1.5 < 10 < loose.radius_km


def test_country_sized_answer_stays_below_half_confidence():
    result = cluster_consensus([cand(46.6, 2.4, 0.95, 400, "France")])
    assert result.radius_km == pytest.approx(400)
    assert result.confidence < 0.5
    city = cluster_consensus([cand(45.76, 4.84, 0.95, 10, "Lyon")])
    assert city.confidence > 0.5


def test_broad_candidate_supports_but_does_not_merge_clusters():
    harbin = cand(45.75, 126.65, 0.5, 10, "harbin", country_code="CN")
    kunming = cand(25.04, 102.71, 0.4, 10, "kunming", country_code="CN")
    china = cand(32.3, 115.4, 0.5, 1750, "china", country_code="CN")
    result = cluster_consensus([harbin, kunming, china])
    assert haversine_km(result.lat, result.lon, 45.75, 126.65) < 1  # not averaged with Kunming
    with_country = result.confidence
    without = cluster_consensus([harbin, kunming]).confidence
    assert with_country > without


def test_antimeridian_cluster():
    fiji = [cand(-17.0, 179.95, 0.5, 5), cand(-17.02, -179.97, 0.5, 5), cand(-16.98, 179.99, 0.5, 5)]
    result = cluster_consensus([*fiji, cand(48.85, 2.35, 0.6, 5)])
    assert abs(abs(result.lon) - 180) < 0.1 and result.lat == pytest.approx(-17.0, abs=0.05)
    assert len(result.details["clusters"]) == 2


def test_polar_cluster():
    pole = [cand(89.99, lon, 0.5, 2) for lon in (0, 90, 180, -90)]
    result = cluster_consensus(pole)
    assert result.lat > 89.99 and result.radius_km < 5


@pytest.mark.parametrize("strategy", ["cluster", "hierarchical", "best"])
def test_no_candidates_is_no_answer(strategy):
    result = aggregate([], strategy)
    assert not result.answered and result.confidence == 0 and result.reason
    zero = aggregate([cand(1, 1, 0.0)], strategy)
    assert not zero.answered


def test_unknown_strategy():
    with pytest.raises(ConfigError, match="unknown consensus strategy"):
        aggregate([], "vibes")


def test_candidates_ranked_by_score():
    result = cluster_consensus(two_clusters())
    scores = [c.score for c in result.ranked]
    assert scores == sorted(scores, reverse=True)
