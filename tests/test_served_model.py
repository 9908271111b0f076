"""The served backend against a real OpenAI-compatible HTTP server on 127.0.0.1."""

import json

import pytest
import test_online

from agent import Agent
from agent.cli import main
from agent.exports import as_trace
from agent.models.served import ServedChatModel
from evals.fonts import latin_font
from evals.openai_stub import OpenAIStubServer, StubReply
from tools.geo import haversine_km

pytestmark = pytest.mark.skipif(latin_font() is None, reason="no DejaVu font installed")

PORTO = (41.1496, -8.6057)
PORTO_ANSWER = {"candidates": [{"lat": PORTO[0], "lon": PORTO[1], "label": "Porto", "confidence": 0.8}]}


@pytest.fixture(scope="module")
def street_photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("served") / "porto.jpg"
    test_online.street_photo.__wrapped__().save(path, quality=92)
    return path


def assistant_turns(request):
    return sum(1 for m in request["messages"] if m["role"] == "assistant")


def tool_names(request):
    return [t["function"]["name"] for t in request.get("tools") or []]


def native_investigator(request):
    """Crop, read, answer — with native tool calls, as vLLM with a tool parser returns them."""
    if tool_names(request) == ["answer"]:
        return StubReply(tool_calls=[{"name": "answer", "arguments": PORTO_ANSWER}])
    turn = assistant_turns(request)
    if turn == 0:
        return StubReply(tool_calls=[{"name": "crop", "arguments": {"image": "img:0", "box": [0.08, 0.1, 0.92, 0.36]}}])
    if turn == 1:
        return StubReply(tool_calls=[{"name": "read_text", "arguments": {"image": "img:1"}}])
    return StubReply(
        content="Street sign says Rua de Santa Catarina.", tool_calls=[{"name": "answer", "arguments": PORTO_ANSWER}]
    )


def image_urls(message):
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [part["image_url"]["url"] for part in content if part.get("type") == "image_url"]


def test_native_tool_calls_with_images(street_photo):
    with OpenAIStubServer(native_investigator, model="qwen-vl-test") as server:
        agent = Agent(model=f"openai:{server.base_url}", model_options={"hybrid": False, "samples": 2})
        location = agent.locate(street_photo, use_metadata=False)
        requests = list(server.requests)
    assert haversine_km(location.lat, location.lon, *PORTO) < 5
    assert agent.policy.describe()["model"]["model"] == "qwen-vl-test"  # asked of /v1/models
    first = requests[0]
    assert {"crop", "read_text", "answer"} <= set(tool_names(first))
    assert image_urls(first["messages"][1])[0].startswith("data:image/jpeg;base64,")
    second = requests[1]["messages"]
    # the tool result is text in a tool message; the crop follows as a user turn with the image
    tool_message = next(m for m in second if m["role"] == "tool")
    assert isinstance(tool_message["content"], str) and "img:1" in tool_message["content"]
    assert second[-1]["role"] == "user" and len(image_urls(second[-1])) == 1
    # one more sample was asked with only the answer tool, at the sampling temperature, seeded
    sampled = [r for r in requests if tool_names(r) == ["answer"]]
    assert len(sampled) == 1 and sampled[0]["temperature"] == 0.7 and sampled[0]["seed"] == 1
    calls = as_trace(location).of_kind("model_call")
    assert len(calls) == len(requests) == 4


def text_investigator(request):
    """A server without a tool parser: the model writes the text protocol."""
    assert "tools" not in request, "tools must not be sent once the server refused them"
    system = request["messages"][0]["content"]
    assert "<tool_call>" in system
    said = json.dumps(request["messages"][1:])
    if "tool_response" not in said:
        return StubReply(content='<tool_call>{"name": "read_text", "arguments": {"image": "img:0"}}</tool_call>')
    return StubReply(
        content='<answer>{"thinking": "Portuguese street sign", "answer": {"coordinates": '
        '{"latitude": 41.1496, "longitude": -8.6057, "region": "Porto, Portugal"}}}</answer>'
    )


def test_a_server_refusing_tools_gets_the_text_protocol(street_photo):
    with OpenAIStubServer(text_investigator, reject_tools=True) as server:
        model = ServedChatModel(base_url=server.base_url, model="stub", max_retries=0)
        location = Agent(model=model, model_options={"hybrid": False, "samples": 1}).locate(
            street_photo, use_metadata=False
        )
        requests = list(server.requests)
    assert haversine_km(location.lat, location.lon, *PORTO) < 5
    assert "tools" in requests[0] and all("tools" not in r for r in requests[1:])  # refused once, then remembered
    assert model.describe()["tool_protocol"] == "text"
    read = as_trace(location).tool_calls()
    assert [s.name for s in read] == ["read_text"]
    # the tool result went back as a user turn in the protocol's form
    assert any("<tool_response" in json.dumps(m) and m["role"] == "user" for m in requests[-1]["messages"])


def test_text_protocol_inside_a_native_reply_is_read(street_photo):
    """A fine-tuned model served without a parser writes <answer> in its content."""
    reply = StubReply(
        content='Done. <answer>{"answer": {"coordinates": {"latitude": 41.15, "longitude": -8.61}}}</answer>'
    )
    with OpenAIStubServer([reply]) as server:
        location = Agent(model=f"openai:stub@{server.base_url}", model_options={"hybrid": False, "samples": 1}).locate(
            street_photo, use_metadata=False
        )
    assert haversine_km(location.lat, location.lon, 41.15, -8.61) < 1


def test_a_server_error_is_recorded_not_raised(street_photo):
    with OpenAIStubServer([StubReply(status=503, error={"message": "overloaded"})] * 4) as server:
        model = ServedChatModel(base_url=server.base_url, model="stub", max_retries=0)
        location = Agent(model=model, model_options={"hybrid": False, "samples": 1}).locate(
            street_photo, use_metadata=False
        )
    assert location.lat is None
    errors = as_trace(location).of_kind("error")
    assert errors and "overloaded" in json.dumps(errors[0].stable())


def test_cli_locate_with_a_served_model(street_photo, capsys):
    with OpenAIStubServer(native_investigator) as server:
        code = main(
            [
                "locate",
                str(street_photo),
                "--no-metadata",
                "--json",
                "--model",
                f"openai:{server.base_url}",
                "--samples",
                "1",
                "--no-hybrid",
            ]
        )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert haversine_km(result["lat"], result["lon"], *PORTO) < 5


def test_openai_environment_variables_name_the_server_and_key(street_photo, capsys, monkeypatch):
    from agent.models.spec import load_model
    from agent.settings import Settings
    from tools.errors import ConfigError

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        load_model("openai:stub")
    assert load_model("openai:stub@http://127.0.0.1:9/v1").api_key == "EMPTY"  # what a local vLLM accepts
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    with OpenAIStubServer(native_investigator) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        model = load_model("openai:stub", **Settings().model_options())
        assert (model.base_url, model.model, model.api_key) == (server.base_url, "stub", "sk-from-env")
        explicit = load_model("openai:stub", **Settings(model_api_key="sk-explicit").model_options())
        assert explicit.api_key == "sk-explicit"
        code = main(
            [
                "locate",
                str(street_photo),
                "--no-metadata",
                "--json",
                "--model",
                "openai:stub",
                "--samples",
                "1",
                "--no-hybrid",
            ]
        )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert haversine_km(result["lat"], result["lon"], *PORTO) < 5
