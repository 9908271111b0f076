"""The typed trace (v2): written line by line, read back as typed steps, v1 upgraded."""

import json
from pathlib import Path

import pytest

from graphs.trace import TRACE_VERSION, TraceRecorder, parse_trace_lines, read_trace
from graphs.trace_schema import (
    CandidatesStep,
    ErrorStep,
    ImageStep,
    ReviewStep,
    Step,
    ToolCallStep,
    UnknownStep,
    register_step_kind,
)
from tools.errors import ConfigError, TraceError
from tools.evidence import Observation

V1 = Path(__file__).parent / "fixtures" / "traces_v1"


def test_recorder_writes_and_flushes_each_line(tmp_path):
    path = tmp_path / "t.jsonl"
    recorder = TraceRecorder(path)
    recorder.header(images=[{"handle": "img:0"}], config={"x": 1})
    observation = Observation(text="img:1: crop", images=["img:1"], meta={"cached": True})
    recorder.tool_call("act", "crop", arguments={"a": 1}, observation=observation, tool_kind="image")
    lines = path.read_text().splitlines()  # readable before close: flushed
    assert len(lines) == 2 and json.loads(lines[1])["name"] == "crop"
    recorder.close("ok", result={"lat": 1})
    trace = read_trace(path)
    (step,) = trace.steps
    assert trace.finished and isinstance(step, ToolCallStep) and step.observation.images == ["img:1"]
    assert step.meta == {"cached": True} and "cached" not in step.stable()["observation"]


def test_an_existing_file_is_never_overwritten(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text("precious")
    with pytest.raises(ConfigError, match="exists already"):
        TraceRecorder(path)
    assert path.read_text() == "precious"
    TraceRecorder(path, overwrite=True).close("ok")
    assert path.read_text() != "precious"
    with pytest.raises(ConfigError, match="not a regular file"):
        TraceRecorder(tmp_path)


def test_crash_cut_line_is_tolerated(tmp_path):
    path = tmp_path / "t.jsonl"
    recorder = TraceRecorder(path)
    recorder.header(images=[], config={})
    recorder.error("act", "crop", "boom")
    text = path.read_text() + '{"type": "step", "ind'
    path.write_text(text)
    trace = read_trace(path)
    assert not trace.finished and len(trace.steps) == 1


HEADER = '{"type": "header", "format": "geosleuth-trace", "version": 2, "run_id": "r"}'


@pytest.mark.parametrize(
    "lines,message",
    [
        ([], "empty"),
        (['{"type": "step"}'], "no header"),
        (["[1, 2, 3]"], "no header"),
        (["42"], "no header"),
        (['{"type": "header", "format": "other", "version": 1}'], "format"),
        (['{"type": "header", "format": "geosleuth-trace", "version": 99}'], "version 99"),
        (['{"type": "header", "format": "geosleuth-trace", "version": 2, "run_id": 5, "images": "x"}'], "header"),
        ([HEADER, "not json", "{}"], "line 2"),
        ([HEADER, '{"type": "step", "index": 0}'], "no kind"),
        ([HEADER, '{"type": "mystery", "kind": "x", "index": 0}'], "unknown type"),
        ([HEADER, '{"type": "step", "kind": "tool_call", "index": 0, "timing": {"duration_s": "slow"}}'], "duration"),
        (
            [HEADER, '{"type": "step", "kind": "image", "index": 0, "handle": "img:1", "width": "x", "height": 1}'],
            "width",
        ),
    ],
)
def test_bad_traces_raise_trace_error(lines, message):
    with pytest.raises(TraceError, match=message):
        parse_trace_lines(lines)


def test_missing_trace_file(tmp_path):
    with pytest.raises(TraceError, match="not found"):
        read_trace(tmp_path / "nope.jsonl")


def test_unknown_step_kinds_are_kept_and_new_kinds_register(tmp_path):
    lines = [HEADER, '{"type": "step", "kind": "gossip", "index": 0, "name": "rumour", "said": "x"}']
    (step,) = parse_trace_lines(lines).steps
    assert isinstance(step, UnknownStep) and step.name == "rumour" and step.model_extra["said"] == "x"

    from typing import Literal

    class GossipStep(Step):
        kind: Literal["gossip"] = "gossip"
        said: str

    register_step_kind(GossipStep)
    try:
        (step,) = parse_trace_lines(lines).steps
        assert isinstance(step, GossipStep) and step.said == "x"
    finally:
        from graphs.trace_schema import STEP_MODELS

        STEP_MODELS.pop("gossip")


def test_non_json_values_are_made_safe():
    recorder = TraceRecorder()
    recorder.header(images=[], config={"nan": float("nan"), "blob": b"abc", "set": {1}})
    header = recorder.records[0]
    assert header["config"]["nan"] is None and header["config"]["blob"]["bytes"] == 3
    assert header["version"] == TRACE_VERSION


def test_v1_traces_are_upgraded_on_read():
    heuristic = read_trace(V1 / "heuristic_lisbon.jsonl")
    assert heuristic.header.source_version == 1 and heuristic.header.version == TRACE_VERSION
    assert heuristic.header.policy["name"] == "heuristic"
    assert {"name": "read_text", "kind": "ocr"} in heuristic.header.tools
    assert heuristic.finished and heuristic.final.status == "ok"
    calls = heuristic.tool_calls()
    ocr = next(c for c in calls if c.name == "read_text")
    assert ocr.tool_kind == "ocr" and "elapsed_s" not in ocr.observation.data and "elapsed_s" in ocr.meta
    stages = ocr.observation.data["stages"]
    assert stages and all("seconds" not in s for s in stages)
    candidates = [s for s in heuristic.steps if isinstance(s, CandidatesStep)]
    assert {s.stage for s in candidates} == {"proposed", "verified"}
    assert heuristic.images()[0].handle == "img:0" and heuristic.images()[0].to_root == (1.0, 1.0, 0.0, 0.0)

    model = read_trace(V1 / "model_lisbon.jsonl")
    crop = next(s for s in model.images() if s.parent is not None)
    made_by = model.steps[crop.made_by]
    assert isinstance(made_by, ToolCallStep) and made_by.name == "crop"
    assert crop.to_root == (1.0, 1.0, 480.0, 320.0)
    (review,) = [s for s in model.steps if isinstance(s, ReviewStep)]
    assert review.applied and review.decision["select"] == 0
    assert not [s for s in model.steps if isinstance(s, ErrorStep)]
    assert [s.index for s in model.steps] == list(range(len(model.steps)))


def test_image_steps_record_maps_to_parent_and_root(tmp_path):
    from PIL import Image

    from agent import Agent
    from graphs.policies import ScriptedPolicy

    rounds = [[("crop", {"image": "img:0", "box": [100, 50, 300, 150], "units": "pixels"})]]
    rounds.append([("zoom", {"image": "img:1", "factor": 2})])
    Agent(policy=ScriptedPolicy(rounds)).locate(Image.new("RGB", (400, 200)), trace=tmp_path / "t.jsonl")
    images = {s.handle: s for s in read_trace(tmp_path / "t.jsonl").images()}
    assert images["img:0"].parent is None and images["img:0"].made_by is None
    assert images["img:1"].to_parent == (1.0, 1.0, 100.0, 50.0) and images["img:1"].to_root == (1.0, 1.0, 100.0, 50.0)
    assert images["img:2"].to_parent == (0.5, 0.5, 0.0, 0.0) and images["img:2"].to_root == (0.5, 0.5, 100.0, 50.0)
    assert (images["img:2"].width, images["img:2"].height) == (400, 200)
    assert isinstance(images["img:2"], ImageStep)
