"""From text to an answer: analyze_text evidence -> text-lane candidates -> consensus."""

import pytest
from PIL import Image

from agent import Agent
from graphs.policies import HeuristicPolicy, Play, TextLane
from tools.geo import haversine_km


class SaysText(Play):
    """Stands in for OCR: hands fixed lines to analyze_text once."""

    name = "fixed text"

    def __init__(self, *lines):
        self.lines = list(lines)

    def calls(self, view):
        if view.has_called("analyze_text"):
            return []
        spans = [
            {"text": t, "image": "img:0", "bbox": [10, 10 + 40 * i, 300, 40 + 40 * i], "confidence": 0.95}
            for i, t in enumerate(self.lines)
        ]
        return [("analyze_text", {"texts": spans})]


def locate(*lines, **kwargs):
    agent = Agent(policy=HeuristicPolicy(plays=[SaysText(*lines)], lanes=[TextLane()]))
    return agent.locate(Image.new("RGB", (400, 300), "white"), use_metadata=False, **kwargs)


def test_street_and_city_locate_lisbon():
    location = locate("RUA AUGUSTA", "LISBOA")
    assert haversine_km(location.lat, location.lon, 38.72, -9.14) < 15
    assert location.country_code == "PT" and location.city == "Lisbon"
    assert location.confidence >= 0.5
    kinds = {e.kind for e in location.supporting_evidence()}
    assert "place_name" in kinds
    assert all(e.bbox is not None and e.image == "img:0" for e in location.evidence)


def test_other_clues_resolve_an_ambiguous_name():
    sicily = locate("Via Garibaldi", "AUGUSTA")
    assert sicily.country_code == "IT"
    georgia = locate("Broad Street", "AUGUSTA")
    assert georgia.country_code == "US"


def test_common_words_alone_give_no_confident_answer():
    location = locate("HOTEL CENTRAL", "OPEN 24H")
    assert location.confidence < 0.25


def test_common_words_that_are_also_big_cities_stay_unconfident():
    location = locate("SALE 50%", "THANK YOU")  # Salé, Morocco has 900 000 people
    assert not location.answered or location.confidence < 0.3
    location = locate("NICE DAY CAFE")
    assert not location.answered or location.confidence < 0.3


def test_no_clues_no_answer():
    location = locate("THANK YOU", "PLEASE WAIT")
    assert not location.answered and location.reason


def test_country_only_clues_give_a_country_sized_answer():
    location = locate("Drottninggatan", "Kungsgatan")
    assert location.answered and location.country_code == "SE"
    assert location.radius_km > 150 and location.confidence < 0.5


def test_hint_text_steers_ambiguous_readings():
    location = locate("AUGUSTA", hint="somewhere in Western Australia")
    assert location.country_code == "AU"


@pytest.mark.parametrize("strategy", ["cluster", "hierarchical", "best"])
def test_every_strategy_answers_from_text(strategy):
    location = locate("RUA AUGUSTA", "LISBOA", strategy=strategy)
    assert location.country_code == "PT"
