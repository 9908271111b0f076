"""ModelPolicy: a model drives the run through tool calls, proposes K samples, consensus answers."""

import pytest
import test_online
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from netserver import Reply, ScriptedServer
from scripted_model import ScriptedChatModel, call
from test_online import SEARX_ANSWER, settings_for

from agent import Agent
from agent.exports import as_trace
from agent.models.text_chat import TextProtocolChatModel
from evals.fonts import latin_font
from tools.errors import ConfigError
from tools.geo import haversine_km

pytestmark = pytest.mark.skipif(latin_font() is None, reason="no DejaVu font installed")


@pytest.fixture(scope="module")
def street_photo():
    """The Porto street scene of the online tests: a street sign and a direction sign to Lisbon."""
    return test_online.street_photo.__wrapped__()


PORTO = (41.1496, -8.6057)
LISBON = (38.7223, -9.1393)
SIGN_BOX = [0.08, 0.1, 0.92, 0.36]


def answer(*candidates, thinking=""):
    return AIMessage(content="", tool_calls=[call("answer", candidates=list(candidates), thinking=thinking)])


def model_turns(messages):
    return sum(1 for m in messages if isinstance(m, AIMessage))


def investigator(messages, tools, kwargs):
    """Crop the sign, read it, search for it, answer Porto; later samples: Porto and one dissent."""
    if tools == ["answer"]:
        if kwargs.get("seed") == 2:
            return answer({"lat": LISBON[0], "lon": LISBON[1], "label": "Lisbon", "confidence": 0.3})
        return answer({"lat": PORTO[0] + 0.01, "lon": PORTO[1], "label": "Porto", "confidence": 0.7})
    turn = model_turns(messages)
    if turn == 0:
        return AIMessage(
            content="The blue sign may name the street.", tool_calls=[call("crop", image="img:0", box=SIGN_BOX)]
        )
    if turn == 1:
        return AIMessage(content="", tool_calls=[call("read_text", image="img:1")])
    if turn == 2:
        return AIMessage(content="", tool_calls=[call("web_search", query='"Rua de Santa Catarina" Porto')])
    return answer(
        {
            "lat": PORTO[0],
            "lon": PORTO[1],
            "label": "Rua de Santa Catarina, Porto",
            "confidence": 0.8,
            "reasons": "street sign read in img:1; search confirms Porto",
        },
        thinking="street name + search",
    )


def steps(location, kind, name=None):
    return [s for s in as_trace(location).of_kind(kind) if name is None or s.name == name]


def proposals(location):
    return [s for s in steps(location, "candidates") if s.stage == "proposed"]


def test_scripted_model_drives_a_full_loop(street_photo, tmp_path):
    model = ScriptedChatModel(respond=investigator)
    with ScriptedServer() as server:
        server.route("/search", Reply(body=SEARX_ANSWER))
        settings = {
            **settings_for(server.url("/api/interpreter"), server.url("/search")),
            "net_cache_dir": str(tmp_path),
        }
        agent = Agent(model=model, model_options={"hybrid": False, "samples": 3}, tool_settings=settings, online=True)
        location = agent.locate(street_photo, use_metadata=False)

    assert haversine_km(location.lat, location.lon, *PORTO) < 10
    assert location.confidence > 0.3
    # every tool the model asked for ran, in order, and is in the trace
    assert [s.name for s in steps(location, "tool_call")] == ["crop", "read_text", "web_search"]
    assert steps(location, "tool_call", "web_search")[0].error is None
    # every model call is in the trace with its raw output: 4 planning turns, 2 more samples
    model_calls = steps(location, "model_call")
    assert [s.name for s in model_calls] == ["model.plan"] * 4 + ["model.propose"] * 2
    assert all(s.messages_digest and s.raw_output for s in model_calls)
    assert "crop" in model_calls[0].raw_output
    # the crop reached the model as an image in a following user turn, its OCR as a tool message
    second = model.calls[1]["messages"]
    crop_turn = second[-1]
    assert isinstance(crop_turn, HumanMessage) and "img:1" in crop_turn.content[0]["text"]
    assert crop_turn.content[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    third = model.calls[2]["messages"]
    assert any(isinstance(m, ToolMessage) and "Santa Catarina" in m.content for m in third)
    # K proposals: sample 0 reuses the model's own answer, samples 1-2 are sampled at T with seeds
    assert sorted(s.name for s in proposals(location)) == ["model[0]", "model[1]", "model[2]"]
    sampled = [c["kwargs"] for c in model.calls if c["tools"] == ["answer"]]
    assert sorted((k["temperature"], k["seed"]) for k in sampled) == [(0.7, 1), (0.7, 2)]
    # consensus outvoted the dissenting sample, which stays a ranked alternative
    labels = [c.label for c in location.candidates]
    assert "Lisbon" in labels and location.candidates[0].label != "Lisbon"


def test_hybrid_hands_the_heuristic_evidence_to_the_model(street_photo):
    def respond(messages, tools, kwargs):
        return answer({"city": "Porto", "country": "Portugal", "confidence": 0.9, "reasons": "street sign"})

    model = ScriptedChatModel(respond=respond)
    location = Agent(model=model, model_options={"samples": 2}, disable=["search", "osm"]).locate(
        street_photo, use_metadata=False
    )
    opening = model.calls[0]["messages"][1]
    text = opening.content[0]["text"]
    assert "Evidence gathered so far" in text and "Santa Catarina" in text
    kinds = [s.kind for s in as_trace(location).steps if s.kind in ("tool_call", "model_call")]
    assert kinds.index("tool_call") < kinds.index("model_call")  # the playbook read the text first
    lanes = {s.name for s in proposals(location)}
    assert {"model[0]", "model[1]", "text[0]"} <= lanes
    assert location.city == "Porto"  # a GeoReasoner-style named answer, geocoded offline


def test_malformed_output_is_retried_once_then_recorded(street_photo):
    model = ScriptedChatModel(respond=lambda messages, tools, kwargs: "I think it is somewhere nice.")
    location = Agent(model=model, model_options={"samples": 2}, disable=["search", "osm"]).locate(
        street_photo, use_metadata=False
    )
    # plan: a first try and one retry; each of the 2 samples: a try and a retry
    assert len(model.calls) == 2 + 2 * 2
    retry = model.calls[1]["messages"][-1]
    assert isinstance(retry, HumanMessage) and "neither a tool call" in retry.content
    errors = steps(location, "error")
    assert errors and "without tool call or answer" in errors[0].error.message
    model_lanes = [s for s in proposals(location) if s.name.startswith("model")]
    assert all(not s.candidates and "no answer" in s.note for s in model_lanes)
    assert location.city == "Lisbon"  # the text lane still answers (hybrid)


def test_a_failing_model_never_crashes_the_run(street_photo):
    def broken(messages, tools, kwargs):
        raise ConnectionError("server went away")

    model = ScriptedChatModel(respond=broken)
    location = Agent(model=model, model_options={"hybrid": False, "samples": 3}).locate(
        street_photo, use_metadata=False
    )
    assert location.lat is None and location.confidence == 0
    assert len(model.calls) == 1  # a failed model is not asked again for the K samples
    assert "server went away" in steps(location, "error")[0].error.message


def test_text_protocol_model_with_a_georeasoner_answer(street_photo):
    """A text-only model: tools described in the prompt, calls and a {country, city} answer read from text."""

    def writer(messages, tools, kwargs):
        system = messages[0].content
        assert "<tool_call>" in system and "read_text" in system
        if not any("<tool_response" in str(m.content) for m in messages[1:]):
            return 'Let me read it. <tool_call>{"name": "read_text", "arguments": {"image": "img:0"}}</tool_call>'
        return 'The sign is Portuguese. {"country": "Portugal", "city": "Porto", "reasons": "Rua de Santa Catarina"}'

    inner = ScriptedChatModel(respond=writer)
    model = TextProtocolChatModel(inner=inner)
    location = Agent(model=model, model_options={"hybrid": False, "samples": 1}, disable=["search", "osm"]).locate(
        street_photo, use_metadata=False
    )
    assert [s.name for s in steps(location, "tool_call")] == ["read_text"]
    assert location.city == "Porto"
    assert '"read_text"' in steps(location, "model_call")[0].raw_output


def test_tools_without_budget_left_are_not_offered(street_photo):
    seen = []

    def respond(messages, tools, kwargs):
        seen.append(tools)
        if model_turns(messages) == 0:
            return AIMessage(content="", tool_calls=[call("read_text", image="img:0")])
        return answer({"lat": PORTO[0], "lon": PORTO[1]})

    budget = {"max_calls_per_kind": {"ocr": 1, "search": 0}}
    Agent(model=ScriptedChatModel(respond=respond), model_options={"hybrid": False, "samples": 1}).locate(
        street_photo, use_metadata=False, budget=budget
    )
    assert "read_text" in seen[0] and "web_search" not in seen[0] and "answer" in seen[0]
    assert "read_text" not in seen[1]


def test_model_specs_are_checked_and_nothing_loads_early():
    with pytest.raises(ConfigError, match="unknown model spec"):
        Agent(model="gpt-nonsense")
    with pytest.raises(ConfigError, match="http"):
        Agent(model="openai:model@localhost:8000")
    with pytest.raises(ConfigError, match="unknown model option"):
        Agent(model="openai:http://127.0.0.1:9/v1", model_options={"temprature": 1})
    agent = Agent(model="openai:qwen@http://127.0.0.1:9/v1")  # nothing listens: not contacted yet
    assert agent.policy.describe()["model"]["base_url"] == "http://127.0.0.1:9/v1"
    local = Agent(model="transformers:/nonexistent/model")
    assert local.policy.describe()["model"]["backend"] == "transformers"
