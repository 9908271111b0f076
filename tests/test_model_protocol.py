"""Reading what models write: the text tool-call protocol and the answer formats of the field."""

import pytest

from agent.models.answers import parse_answer, parse_coordinates
from agent.models.protocol import format_answer, format_tool_call, parse_reply, tools_prompt
from graphs.answer import AnswerTool, answer_candidates
from tools.gazetteer import Gazetteer
from tools.places import PlaceIndex


@pytest.fixture(scope="module")
def places():
    return PlaceIndex(Gazetteer())


def first(parsed):
    return parsed["candidates"][0]


def test_geolocsft_json_with_thinking():
    text = (
        '{"thinking": "Cyrillic signs, Soviet blocks", "answer": {"coordinates": '
        '{"latitude": 55.7558, "longitude": 37.6173, "region": "Moscow, Russia"}}}'
    )
    parsed = parse_answer(text)
    assert (first(parsed)["lat"], first(parsed)["lon"]) == (55.7558, 37.6173)
    assert first(parsed)["label"] == "Moscow, Russia" and parsed["thinking"].startswith("Cyrillic")


def test_several_candidates_and_string_numbers():
    text = (
        '```json\n{"candidates": [{"latitude": "48.85", "longitude": "2.35", "confidence": 0.6}, '
        '{"lat": 45.76, "lon": 4.83}]}\n```'
    )
    parsed = parse_answer(text)
    assert [(c["lat"], c["lon"]) for c in parsed["candidates"]] == [(48.85, 2.35), (45.76, 4.83)]
    assert parsed["candidates"][0]["confidence"] == 0.6


def test_georeasoner_names_are_geocoded_offline(places):
    parsed = parse_answer('{"country": "Japan", "city": "Kyoto", "reasons": "temple roofs, Japanese text"}')
    assert first(parsed)["city"] == "Kyoto" and "lat" not in first(parsed)
    candidates, problems = answer_candidates(parsed, places)
    assert not problems
    assert candidates[0].country_code == "JP" and abs(candidates[0].lat - 35.02) < 0.2
    # a country-only answer stays coarse: the centroid with a country-sized radius
    coarse, _ = answer_candidates(parse_answer('{"country": "Brazil", "reasons": "Portuguese, tropical"}'), places)
    assert coarse[0].country_code == "BR" and coarse[0].radius_km > 500


@pytest.mark.parametrize(
    "text,expected",
    [
        ("<answer>41.1496, -8.6057</answer>", (41.1496, -8.6057)),
        ("I would say 41.1496 N, 8.6057 W.", (41.1496, -8.6057)),
        ("Coordinates: 48°51'24\"N 2°21'08\"E", (48.8567, 2.3522)),
        ("33°52′S 151°12′E (Sydney)", (-33.8667, 151.2)),
        ("latitude: 35.68, longitude: 139.69", (35.68, 139.69)),
    ],
)
def test_coordinates_written_as_text(text, expected):
    point = parse_coordinates(text)
    assert point == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("text", ["", "somewhere in Europe", "lat 95, lon 10", "[1, 2, 3]", '{"answer": "no idea"}'])
def test_no_answer_is_none_not_a_guess(text):
    assert parse_answer(text) is None


def test_tool_calls_tolerantly_parsed():
    text = (
        "Let me look closer.\n"
        '<tool_call>{"name": "crop", "arguments": {"image": "img:0", "box": [0, 0, 0.5, 0.5]},}</tool_call>\n'
        '<tool_call>```json\n{"name": "read_text", "args": "{\\"image\\": \\"img:1\\"}"}\n```</tool_call>\n'
        '<tool_call>{"name": "web_search", "parameters": {"query": "Rua Augusta"}}'
    )
    reply = parse_reply(text)
    assert [c["name"] for c in reply.tool_calls] == ["crop", "read_text", "web_search"]
    assert reply.tool_calls[1]["args"] == {"image": "img:1"}
    assert reply.content == "Let me look closer." and not reply.errors
    assert len({c["id"] for c in reply.tool_calls}) == 3


def test_unreadable_calls_are_reported_not_raised():
    reply = parse_reply('<tool_call>{"arguments": {}}</tool_call><tool_call>not json</tool_call><answer>hmm</answer>')
    assert reply.tool_calls == [] and len(reply.errors) == 3


def test_answer_round_trips_through_the_protocol():
    text = "Reasoning first. " + format_answer(38.7223, -9.1393, region="Lisbon, Portugal", thinking="tram 28")
    reply = parse_reply(text)
    assert reply.answered and reply.content == "Reasoning first."
    candidate = reply.tool_calls[-1]["args"]["candidates"][0]
    assert (candidate["lat"], candidate["lon"], candidate["label"]) == (38.7223, -9.1393, "Lisbon, Portugal")
    call = parse_reply(format_tool_call("zoom", {"image": "img:0", "factor": 3})).tool_calls[0]
    assert (call["name"], call["args"]) == ("zoom", {"image": "img:0", "factor": 3})


def test_tools_prompt_describes_the_schemas():
    prompt = tools_prompt([AnswerTool()])
    assert "<tool_call>" in prompt and "- answer:" in prompt and '"candidates"' in prompt


def test_partly_broken_answers_keep_their_valid_candidates(places):
    args = {
        "candidates": [
            {"lat": 200, "lon": 0},
            {"lat": 10.0, "lon": 10.0, "confidence": 0.4},
            {"label": "Xqzzyville Nowhere"},
        ]
    }
    candidates, problems = answer_candidates(args, places)
    assert [(c.lat, c.lon) for c in candidates] == [(10.0, 10.0)]
    assert len(problems) == 2
