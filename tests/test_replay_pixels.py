"""A replayed model-driven run costs the graph, not pixels: model calls are matched by a
digest that names images by reference, so nothing is encoded, and crops are never built."""

from collections import OrderedDict
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from PIL import Image
from scripted_model import ScriptedChatModel, call

import tools.images
from agent import Agent
from graphs.policies import model_prompt
from graphs.policies.model import messages_digest
from graphs.trace import read_trace
from tools.images import ImageRegistry, load_image

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"
LISBON = (38.7101, -9.1364)


def lisbon(confidence):
    candidate = {"lat": LISBON[0], "lon": LISBON[1], "label": "Lisbon", "confidence": confidence}
    return AIMessage(content="", tool_calls=[call("answer", candidates=[candidate])])


def crops_then_answer(messages, tools, kwargs):
    """Two crops of the photo (each reaches the model as an image), then Lisbon."""
    if tools == ["answer"]:
        return lisbon(0.6)
    turn = sum(1 for m in messages if isinstance(m, AIMessage))
    boxes = [[0.1, 0.1, 0.6, 0.5], [0.4, 0.3, 0.9, 0.8]]
    if turn < len(boxes):
        return AIMessage(content="", tool_calls=[call("crop", image="img:0", box=boxes[turn])])
    return lisbon(0.7)


def image_urls(messages):
    return [
        block["image_url"]["url"]
        for m in messages
        if isinstance(m.content, list)
        for block in m.content
        if isinstance(block, dict) and block.get("type") == "image_url"
    ]


@pytest.fixture(scope="module")
def model_run(tmp_path_factory):
    model = ScriptedChatModel(respond=crops_then_answer)
    agent = Agent(model=model, model_options={"hybrid": False, "samples": 2})
    path = tmp_path_factory.mktemp("pixels") / "model.jsonl"
    live = agent.locate(EXAMPLE, use_metadata=False, trace=path)
    return agent, model, live, path


def forbid_pixels(monkeypatch):
    """Encoding an image, saving one, or building a recorded crop's pixels now fails."""

    def refuse(*args, **kwargs):
        raise AssertionError("a replay touched pixels")

    monkeypatch.setattr(model_prompt, "_ENCODED", OrderedDict())  # no encoding cached from the live run
    monkeypatch.setattr(model_prompt, "_encode", refuse)
    monkeypatch.setattr(Image.Image, "save", refuse)
    monkeypatch.setattr(tools.images, "derive_image", refuse)


def test_the_live_model_sees_real_images(model_run):
    _, model, live, _ = model_run
    assert live.lat is not None
    last_plan = [c for c in model.calls if c["tools"] != ["answer"]][-1]["messages"]
    urls = image_urls(last_plan)
    assert len(urls) == 3  # the photo and both crops
    assert all(url.startswith("data:image/jpeg;base64,") for url in urls)


def test_replay_of_a_model_run_never_encodes_or_builds_pixels(model_run, monkeypatch):
    _, _, live, path = model_run
    forbid_pixels(monkeypatch)
    replayed = Agent().replay(path)
    assert replayed.answer_dict() == live.answer_dict()


def test_lenient_replay_with_a_live_model_matches_every_recorded_call(model_run, tmp_path):
    agent, model, live, path = model_run
    before = len(model.calls)
    replayed = agent.replay(path, strict=False, trace_out=tmp_path / "again.jsonl")
    assert replayed.answer_dict() == live.answer_dict()
    assert len(model.calls) == before  # every call was answered from the trace
    assert not any(s.meta.get("live") for s in read_trace(tmp_path / "again.jsonl").steps)


def test_digest_names_images_by_reference():
    registry = ImageRegistry()
    registry.add_loaded(load_image(EXAMPLE))
    text = {"type": "text", "text": "Where?"}
    by_reference = [HumanMessage(content=[text, model_prompt.reference_block(registry, "img:0", 512)])]
    with_pixels = model_prompt.with_pixels(by_reference, registry)
    assert image_urls(with_pixels)[0].startswith("data:image/jpeg;base64,")
    assert image_urls(by_reference)[0].startswith(model_prompt.REFERENCE_SCHEME)
    assert messages_digest(with_pixels) == messages_digest(by_reference)
    smaller = [HumanMessage(content=[text, model_prompt.reference_block(registry, "img:0", 256)])]
    assert messages_digest(smaller) != messages_digest(by_reference)  # another size sent is another call


def test_a_reference_to_an_unknown_image_is_refused():
    registry = ImageRegistry()
    registry.add_loaded(load_image(EXAMPLE))
    block = {"type": "image_url", "image_url": {"url": model_prompt.REFERENCE_SCHEME + "0" * 64 + "/10x10/256"}}
    with pytest.raises(ValueError, match="does not have"):
        model_prompt.with_pixels([HumanMessage(content=[block])], registry)
