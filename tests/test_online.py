"""Online evidence in a whole run, with local servers standing in for SearxNG and Overpass."""

import re
import time

import pytest
from netserver import Reply, ScriptedServer, closed_port
from PIL import Image, ImageDraw, ImageFont

from agent import Agent
from agent.exports import as_trace
from evals.fonts import latin_font
from tools.geo import haversine_km

pytestmark = pytest.mark.skipif(latin_font() is None, reason="no DejaVu font installed")

PORTO_STREET = {
    "type": "way",
    "id": 27235432,
    "center": {"lat": 41.1496, "lon": -8.6057},
    "tags": {"highway": "pedestrian", "name": "Rua de Santa Catarina"},
}
SEARX_ANSWER = {
    "query": "q",
    "number_of_results": 1,
    "answers": [],
    "suggestions": [],
    "unresponsive_engines": [],
    "results": [
        {
            "url": "https://www.visitporto.travel/en-GB/santa-catarina",
            "title": "Rua de Santa Catarina",
            "content": "The best known shopping street in Porto.",
            "engine": "duckduckgo",
            "engines": ["duckduckgo"],
            "score": 1.0,
            "category": "general",
        }
    ],
}


def overpass_answer(request):
    """Serve the street only to queries around a point near it, as the real data would."""
    ql = request.form()["data"][0]
    match = re.search(r"around:([\d.]+),(-?[\d.]+),(-?[\d.]+)", ql)
    near = match and haversine_km(float(match.group(2)), float(match.group(3)), 41.1496, -8.6057) <= (
        float(match.group(1)) / 1000 + 1
    )
    return {
        "version": 0.6,
        "generator": "Overpass API 0.7.62",
        "osm3s": {"timestamp_osm_base": "2026-11-01T00:00:00Z"},
        "elements": [PORTO_STREET] if near else [],
    }


@pytest.fixture(scope="module")
def street_photo():
    """A street in Porto, with a direction sign to Lisbon (the bigger city) in view."""
    font = ImageFont.truetype(latin_font(), 64)
    image = Image.new("RGB", (1400, 900), (200, 190, 170))
    draw = ImageDraw.Draw(image)
    draw.rectangle([150, 120, 1250, 300], fill=(250, 250, 245))
    draw.text((700, 210), "Rua de Santa Catarina", font=font, fill=(20, 60, 150), anchor="mm")
    draw.rectangle([150, 450, 1250, 750], fill=(0, 90, 160))
    draw.text((700, 530), "LISBOA  313 km", font=font, fill="white", anchor="mm")
    draw.text((700, 660), "PORTO  Centro", font=font, fill="white", anchor="mm")
    return image


def settings_for(overpass_url, searxng_url):
    return {
        "overpass_url": overpass_url,
        "searxng_url": searxng_url,
        "search_backend": "searxng",
        "net_min_interval_s": 0.0,
        "net_backoff_s": 0.01,
        "net_timeout_s": 2.0,
        "osm_http_timeout_s": 2.0,
    }


def tool_steps(location, *names):
    return [s for s in as_trace(location).tool_calls() if s.name in names]


def test_map_verified_candidate_ranks_first_and_is_cited(street_photo, tmp_path):
    with ScriptedServer() as server:
        server.route("/api/interpreter", Reply(body=overpass_answer))
        server.route("/search", Reply(body=SEARX_ANSWER))
        settings = settings_for(server.url("/api/interpreter"), server.url("/search"))
        online = Agent(online=True, tool_settings={**settings, "net_cache_dir": str(tmp_path)}).locate(
            street_photo, use_metadata=False
        )
        requests = len(server.requests)
    offline = Agent(disable=["search", "osm"]).locate(street_photo, use_metadata=False)
    assert offline.city == "Lisbon"  # text alone points at the bigger city on the direction sign
    assert online.city == "Porto" and haversine_km(online.lat, online.lon, 41.1496, -8.6057) < 10
    cited = online.supporting_evidence()
    osm = [e for e in cited if e.kind == "osm_feature"]
    assert osm and osm[0].provenance == "https://www.openstreetmap.org/way/27235432"
    assert online.candidates[0].details.get("place_kind") == "osm_feature"
    searches = tool_steps(online, "web_search")
    assert searches and '"Rua de Santa Catarina"' in searches[0].arguments["query"]
    assert any(e.kind == "search_hit" and e.provenance.startswith("https://www.visitporto") for e in online.evidence)
    verified = tool_steps(online, "osm_verify")
    assert any(abs(s.arguments["lat"] - 41.15) < 0.2 for s in verified)  # Porto was checked, among others
    # the egress record lists every request that left, with what it carried
    assert len(online.egress) == requests and online.online
    assert {r.service for r in online.egress} == {"searxng", "overpass"}
    assert any("Rua de Santa Catarina" in r.sent for r in online.egress if r.service == "searxng")
    assert all(r.host == "127.0.0.1" and r.outcome == "ok" for r in online.egress)
    assert online.egress_summary() == f"sent {requests} requests to 2 services"
    assert not offline.egress and offline.egress_summary().startswith("nothing left this machine")


@pytest.mark.parametrize(
    "overpass,searx,error",
    [
        (Reply(429, retry_after=0), Reply(429, retry_after=0), "rate_limited"),
        (Reply(504), Reply(504), "service"),
        (
            Reply(200, "{not json", content_type="application/json"),
            Reply(200, "<html>", content_type="text/html"),
            "bad_response",
        ),
        (Reply(200, {}, delay_s=3.0), Reply(200, {}, delay_s=3.0), "timeout"),
    ],
    ids=["429", "504", "malformed", "timeout"],
)
def test_failing_services_do_not_sink_the_run(street_photo, tmp_path, overpass, searx, error):
    with ScriptedServer() as server:
        server.route("/api/interpreter", overpass)
        server.route("/search", searx)
        settings = settings_for(server.url("/api/interpreter"), server.url("/search"))
        location = Agent(
            online=True, tool_settings={**settings, "net_retries": 1, "net_cache_dir": str(tmp_path)}
        ).locate(street_photo, use_metadata=False)
    assert location.city == "Lisbon"  # the run answers from the text it read
    assert {e.kind for e in location.evidence} >= {"ocr_text", "place_name"}
    failed = [s for s in tool_steps(location, "web_search", "osm_verify") if s.error]
    assert failed
    if error != "timeout":
        assert any(error in s.error for s in failed)
    assert any(r.outcome.startswith("failed") for r in location.egress)


def test_offline_costs_one_fast_probe(street_photo):
    unreachable = settings_for(
        f"http://127.0.0.1:{closed_port()}/api/interpreter", f"http://127.0.0.1:{closed_port()}/search"
    )
    agent_offline = Agent(tool_settings=unreachable, online=True)
    agent_disabled = Agent(disable=["search", "osm"])
    agent_disabled.locate(street_photo, use_metadata=False)  # warm both agents' shared models
    agent_offline.locate(street_photo, use_metadata=False)
    started = time.perf_counter()
    disabled = agent_disabled.locate(street_photo, use_metadata=False)
    baseline = time.perf_counter() - started
    started = time.perf_counter()
    location = agent_offline.locate(street_photo, use_metadata=False)
    elapsed = time.perf_counter() - started
    online_calls = tool_steps(location, "web_search", "osm_verify", "osm_search")
    assert online_calls and all(s.error.startswith("offline") for s in online_calls)
    assert not tool_steps(location, "osm_verify")  # after the first "offline", no further service is tried
    assert elapsed <= baseline + 1.5 + 0.5  # one probe's timeout plus noise
    assert location.city == disabled.city


def test_an_offline_run_does_not_even_try_online_tools(street_photo):
    location = Agent().locate(street_photo, use_metadata=False)
    assert not tool_steps(location, "web_search", "osm_verify", "osm_search") and not location.egress
