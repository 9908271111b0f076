"""Evidence is counted once: copies from search engines, Overpass and repeated calls add
no weight, far-away map features are not evidence, and implausible model answers are flagged."""

from __future__ import annotations

import copy
import re

import pytest
from netserver import Reply, ScriptedServer
from PIL import Image, ImageDraw, ImageFont

from agent import Agent
from agent.exports import as_trace
from evals.fonts import latin_font
from graphs.consensus import aggregate
from graphs.duplicates import canonical_url, mark_copies
from graphs.state import number_evidence
from tools.evidence import Candidate, Evidence, ToolSource
from tools.geo import haversine_km

PORTO = (41.1496, -8.6057)
STREET = {
    "type": "way",
    "id": 27235432,
    "center": {"lat": PORTO[0], "lon": PORTO[1]},
    "tags": {"highway": "pedestrian", "name": "Rua de Santa Catarina"},
}
#: The same name on the other side of the world: an answer a broken server or cache could give.
FAR_STREET = {
    "type": "way",
    "id": 99887766,
    "center": {"lat": -23.55, "lon": -46.63},
    "tags": {"highway": "residential", "name": "Rua de Santa Catarina"},
}


def searx_result(url: str) -> dict:
    return {
        "url": url,
        "title": "Rua de Santa Catarina",
        "content": "The best known shopping street in Porto.",
        "engine": "duckduckgo",
        "engines": ["duckduckgo"],
        "score": 1.0,
        "category": "general",
    }


def searx_answer(urls: list[str]) -> dict:
    return {
        "query": "q",
        "number_of_results": len(urls),
        "answers": [],
        "suggestions": [],
        "unresponsive_engines": [],
        "results": [searx_result(u) for u in urls],
    }


#: What a search engine really does: one page listed under three spellings of its URL.
DUPLICATE_HITS = [
    "https://www.visitporto.travel/en-GB/santa-catarina",
    "http://visitporto.travel/en-GB/santa-catarina/",
    "https://www.visitporto.travel/en-GB/santa-catarina?utm_source=searx#top",
]


def overpass(elements_for):
    def answer(request):
        ql = request.form()["data"][0]
        return {
            "version": 0.6,
            "generator": "Overpass API 0.7.62",
            "osm3s": {"timestamp_osm_base": "2026-11-01T00:00:00Z"},
            "elements": elements_for(ql),
        }

    return answer


def near_porto(ql: str) -> bool:
    match = re.search(r"around:([\d.]+),(-?[\d.]+),(-?[\d.]+)", ql)
    return bool(match) and haversine_km(float(match.group(2)), float(match.group(3)), *PORTO) <= (
        float(match.group(1)) / 1000 + 1
    )


@pytest.fixture(scope="module")
def street_photo():
    if latin_font() is None:
        pytest.skip("no DejaVu font installed")
    font = ImageFont.truetype(latin_font(), 64)
    image = Image.new("RGB", (1400, 900), (200, 190, 170))
    draw = ImageDraw.Draw(image)
    draw.rectangle([150, 120, 1250, 300], fill=(250, 250, 245))
    draw.text((700, 210), "Rua de Santa Catarina", font=font, fill=(20, 60, 150), anchor="mm")
    draw.rectangle([150, 450, 1250, 750], fill=(0, 90, 160))
    draw.text((700, 530), "LISBOA  313 km", font=font, fill="white", anchor="mm")
    draw.text((700, 660), "PORTO  Centro", font=font, fill="white", anchor="mm")
    return image


def run_online(photo, tmp_path, *, hits: list[str], elements_for) -> object:
    with ScriptedServer() as server:
        server.route("/api/interpreter", Reply(body=overpass(elements_for)))
        server.route("/search", Reply(body=searx_answer(hits)))
        settings = {
            "overpass_url": server.url("/api/interpreter"),
            "searxng_url": server.url("/search"),
            "search_backend": "searxng",
            "net_min_interval_s": 0.0,
            "net_backoff_s": 0.01,
            "net_timeout_s": 2.0,
            "osm_http_timeout_s": 2.0,
            "net_cache_dir": str(tmp_path),
        }
        return Agent(online=True, tool_settings=settings).locate(photo, use_metadata=False)


@pytest.mark.slow
def test_copies_from_the_services_do_not_raise_confidence(street_photo, tmp_path):
    answered: list[str] = []

    def once(ql: str) -> list[dict]:  # the street answers one verification call only
        if near_porto(ql) and not answered:
            answered.append(ql)
            return [STREET]
        return []

    single = run_online(street_photo, tmp_path / "a", hits=DUPLICATE_HITS[:1], elements_for=once)
    # every verification call answers the same way, and lists the street three times
    copies = run_online(
        street_photo,
        tmp_path / "b",
        hits=DUPLICATE_HITS,
        elements_for=lambda ql: [STREET] * 3 if near_porto(ql) else [],
    )
    assert single.city == copies.city == "Porto"
    assert copies.confidence <= single.confidence + 1e-9
    assert copies.radius_km == pytest.approx(single.radius_km, rel=0.05)
    # what each tool returned is still there, but the copies carry no weight and say why
    pages = [e for e in copies.evidence if e.kind == "search_hit"]
    assert sum(1 for e in pages if e.confidence > 0) == 1
    assert all(e.details["copy_of"] for e in pages if e.confidence == 0)
    streets = [e for e in copies.evidence if e.kind == "osm_feature"]
    live = [e for e in streets if e.confidence > 0]
    assert len(live) == 1 and live[0].provenance.endswith("/way/27235432")
    assert all("same OSM element" in e.details["counted_once"] for e in streets if e is not live[0])
    # consensus sees one map match, not one per call
    osm_candidates = [c for c in copies.candidates if c.details.get("place_kind") == "osm_feature" and c.score > 0]
    assert len(osm_candidates) == 1
    agree = re.compile(r"(\d+) candidates agree|single candidate")
    assert agree.search(copies.summary)[0] == agree.search(single.summary)[0]


@pytest.mark.slow
def test_features_outside_the_area_asked_about_are_not_evidence(street_photo, tmp_path):
    location = run_online(street_photo, tmp_path, hits=DUPLICATE_HITS[:1], elements_for=lambda ql: [FAR_STREET, STREET])
    for item in location.evidence:
        if item.kind == "osm_feature":
            assert item.provenance.endswith("/way/27235432")
            candidate = item.details["candidate"]
            assert (
                haversine_km(candidate["lat"], candidate["lon"], item.geo.lat, item.geo.lon)
                <= item.details["radius_km"] + 0.5
            )
    verify_calls = [s for s in as_trace(location).tool_calls() if s.name == "osm_verify"]
    assert verify_calls
    assert all("outside the area set aside" in s.observation.text for s in verify_calls)


def _hit(url: str, tool_query: str = "q") -> Evidence:
    return Evidence(
        kind="search_hit",
        value="Rua de Santa Catarina (visitporto.travel)",
        confidence=0.3,
        source=ToolSource(tool="web_search", arguments={"query": tool_query}),
        provenance=url,
    )


def test_url_spellings_of_one_page_are_one_origin():
    assert len({canonical_url(u) for u in DUPLICATE_HITS}) == 1
    assert canonical_url("https://example.pt/a?id=1") != canonical_url("https://example.pt/a?id=2")
    earlier = number_evidence(0, [_hit(DUPLICATE_HITS[0], "first query")])
    new = number_evidence(1, [_hit(DUPLICATE_HITS[1], "second query"), _hit("https://other.pt/x")])
    marked = mark_copies(earlier, new)
    assert marked[0].confidence == 0 and marked[0].details["copy_of"] == "ev:0"
    assert marked[0].details["confidence_as_found"] == 0.3
    assert marked[1].confidence == 0.3 and "copy_of" not in marked[1].details


def test_identical_candidates_from_the_same_evidence_count_once():
    one = Candidate(lat=41.1496, lon=-8.6057, label="OSM way 1", score=0.8, sources=["ev:3"], radius_km=0.5)
    other = Candidate(lat=38.72, lon=-9.14, label="Lisbon", score=0.6, sources=["ev:1"], radius_km=10)
    alone = aggregate([one, other], "cluster")
    copied = aggregate([one, *[copy.deepcopy(one) for _ in range(3)], other], "cluster")
    assert copied.confidence == pytest.approx(alone.confidence)
    assert "4 candidates agree" not in copied.reason and "single candidate" in copied.reason
    for strategy in ("hierarchical", "best"):
        assert aggregate([one, one, one, other], strategy).confidence == pytest.approx(
            aggregate([one, other], strategy).confidence
        )


def _model_answering(*candidates):
    from langchain_core.messages import AIMessage
    from scripted_model import ScriptedChatModel, call

    def respond(messages, tools, kwargs):
        return AIMessage(content="", tool_calls=[call("answer", candidates=list(candidates), thinking="")])

    return ScriptedChatModel(respond=respond)


def _model_candidates(location):
    return [c for c in location.candidates if "model_confidence" in c.details]


@pytest.mark.slow
def test_a_model_answer_at_null_island_is_flagged_and_outweighed(street_photo):
    model = _model_answering({"lat": 0.0, "lon": 0.0, "label": "somewhere", "confidence": 0.9})
    location = Agent(model=model, model_options={"samples": 2}, disable=["search", "osm"]).locate(
        street_photo, use_metadata=False
    )
    flagged = _model_candidates(location)
    assert flagged and all("null_island" in c.details["flags"] for c in flagged)
    assert all(c.score < 0.05 for c in flagged)
    assert any("Null Island" in note["why"] for c in flagged for note in c.details["verification"])
    assert location.country_code == "PT"  # the signs win; 0,0 is not an answer


@pytest.mark.slow
def test_a_model_answer_far_from_every_clue_is_flagged(street_photo):
    tokyo = {"lat": 35.68, "lon": 139.76, "label": "Tokyo", "confidence": 0.9}
    out_of_range = {"lat": 95.0, "lon": 10.0, "label": "beyond the pole", "confidence": 0.9}
    model = _model_answering(tokyo, out_of_range)
    location = Agent(model=model, model_options={"samples": 1}, disable=["search", "osm"]).locate(
        street_photo, use_metadata=False
    )
    (far,) = _model_candidates(location)
    assert far.details["flags"] == ["contradicts_evidence"]
    assert any("contradicts every clue" in note["why"] for note in far.details["verification"])
    assert location.country_code == "PT"
    notes = [s.note for s in as_trace(location).of_kind("candidates") if s.stage == "proposed"]
    assert any("'beyond the pole' dropped: lat=95.0" in (note or "") for note in notes)
