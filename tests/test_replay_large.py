"""Replay holds on large photos: OCR zoom passes register images, and later crops get the
handles the live run gave them (the bug the v2 trace and replay by substitution fix)."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage
from PIL import Image, ImageDraw, ImageFont
from scripted_model import ScriptedChatModel, call

from agent import Agent
from evals.fonts import latin_font
from graphs.policies import ScriptedPolicy
from graphs.trace import read_trace

pytestmark = pytest.mark.skipif(latin_font() is None, reason="no DejaVu font installed")


@pytest.fixture(scope="module")
def large_photo(tmp_path_factory):
    """4000x3000 (12 MP) with small shop text that only the zoom passes read."""
    image = Image.new("RGB", (4000, 3000), (150, 160, 150))
    draw = ImageDraw.Draw(image)
    small = ImageFont.truetype(latin_font(), 34)
    draw.rectangle([2600, 2100, 3300, 2180], fill=(250, 250, 240))
    draw.text((2950, 2140), "FARMACIA CENTRAL LISBOA", font=small, fill=(10, 80, 30), anchor="mm")
    draw.rectangle([500, 400, 1300, 470], fill=(0, 70, 150))
    draw.text((900, 435), "RUA AUGUSTA", font=small, fill="white", anchor="mm")
    path = tmp_path_factory.mktemp("large") / "street.jpg"
    image.save(path, quality=90)
    return path


def _zoom_images(trace):
    return [s for s in trace.images() if s.parent is not None and (s.operation or {}).get("by") == "read_text"]


def _read_then_crop(messages, tools, kwargs):
    turn = sum(isinstance(m, AIMessage) for m in messages)
    if tools == ["answer"] or turn >= 2:
        return AIMessage(
            content="",
            tool_calls=[
                call("answer", candidates=[{"lat": 38.71, "lon": -9.14, "label": "Lisbon", "confidence": 0.7}])
            ],
        )
    if turn == 0:
        return AIMessage(content="", tool_calls=[call("read_text", image="img:0")])
    return AIMessage(content="", tool_calls=[call("crop", image="img:0", box=[0.6, 0.65, 0.85, 0.75])])


def test_model_run_reads_then_crops_and_replays_identically(large_photo, tmp_path):
    model = ScriptedChatModel(respond=_read_then_crop)
    live = Agent(model=model, model_options={"hybrid": True, "samples": 2}).locate(
        large_photo, use_metadata=False, trace=tmp_path / "model.jsonl"
    )
    trace = read_trace(tmp_path / "model.jsonl")
    zooms = _zoom_images(trace)
    assert zooms, "the 12 MP photo should have needed zoom passes"
    crops = [s for s in trace.images() if (s.operation or {}).get("op") == "crop"]
    assert crops and int(crops[-1].handle.split(":")[1]) > int(zooms[-1].handle.split(":")[1])
    replayed = Agent().replay(tmp_path / "model.jsonl", trace_out=tmp_path / "again.jsonl")
    assert replayed.answer_dict() == live.answer_dict()
    again = read_trace(tmp_path / "again.jsonl")
    assert [s.stable() for s in again.images()] == [s.stable() for s in trace.images()]
    # pixels are rebuilt only when asked, and then they are the live run's pixels
    assert Agent().replay(tmp_path / "model.jsonl", verify_pixels=True).answer_dict() == live.answer_dict()


def test_heuristic_run_with_zoom_passes_replays_identically(large_photo, tmp_path):
    agent = Agent()
    live = agent.locate(large_photo, use_metadata=False, trace=tmp_path / "h.jsonl")
    assert _zoom_images(read_trace(tmp_path / "h.jsonl"))
    assert agent.replay(tmp_path / "h.jsonl").answer_dict() == live.answer_dict()


def test_scripted_run_with_zoom_then_crops_replays_identically(large_photo, tmp_path):
    rounds = [
        [("read_text", {"image": "img:0"})],
        [("crop", {"image": "img:0", "box": [0.1, 0.1, 0.4, 0.2]})],
        [("zoom", {"image": "img:1", "factor": 2}), ("crop", {"image": "img:0", "box": [0.5, 0.5, 0.9, 0.9]})],
    ]
    policy = ScriptedPolicy(rounds)
    live = Agent(policy=policy).locate(large_photo, use_metadata=False, trace=tmp_path / "s.jsonl")
    trace = read_trace(tmp_path / "s.jsonl")
    handles = [s.handle for s in trace.images()]
    assert handles == [f"img:{i}" for i in range(len(handles))] and len(handles) > 4
    # the policy is rebuilt from the trace's description: no policy object needed
    assert Agent().replay(tmp_path / "s.jsonl").answer_dict() == live.answer_dict()


def test_tool_call_budget_stop_replays(large_photo, tmp_path):
    rounds = [[("crop", {"image": "img:0", "box": [0, 0, 0.5, 0.5]})]] * 4
    agent = Agent(policy=ScriptedPolicy(rounds), budget={"max_tool_calls": 2})
    live = agent.locate(large_photo, use_metadata=False, trace=tmp_path / "b.jsonl")
    trace = read_trace(tmp_path / "b.jsonl")
    stop = next(s for s in trace.of_kind("decision") if s.name == "propose")
    assert "tool-call budget" in stop.output["reason"] and len(trace.tool_calls()) == 2
    assert Agent().replay(tmp_path / "b.jsonl").answer_dict() == live.answer_dict()


def test_wall_time_stop_replays_the_recorded_stop(large_photo, tmp_path):
    rounds = [[("crop", {"image": "img:0", "box": [0, 0, 0.5, 0.5]})]] * 3
    live = Agent(policy=ScriptedPolicy(rounds)).locate(
        large_photo, use_metadata=False, trace=tmp_path / "w.jsonl", budget={"max_seconds": 0.001}
    )
    trace = read_trace(tmp_path / "w.jsonl")
    assert trace.final.meta.get("clock_checks")
    # replayed with plenty of time, it still stops where the recorded run stopped
    assert Agent().replay(tmp_path / "w.jsonl").answer_dict() == live.answer_dict()
