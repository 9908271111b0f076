"""The whole graph driven by scripted policies: tool calls, fan-out, budgets, failures, consensus."""

import pytest
from helpers import jpeg_with_gps
from langchain_core.messages import AIMessage
from PIL import Image

from agent import Agent
from graphs.policies import ScriptedPolicy
from graphs.policy import ModelCall, PlanStep
from graphs.trace import read_trace
from tools.evidence import Candidate
from tools.geo import haversine_km
from tools.image_tools import CropTool


def cand(lat, lon, score, radius=5.0, label=""):
    return Candidate(lat=lat, lon=lon, score=score, radius_km=radius, label=label)


LYON = [
    cand(45.76, 4.84, 0.5, label="lyon-a"),
    cand(45.75, 4.85, 0.5, label="lyon-b"),
    cand(45.77, 4.83, 0.4, label="lyon-c"),
]
MARSEILLE = [cand(43.30, 5.37, 0.6, label="mars-a"), cand(43.29, 5.38, 0.6, label="mars-b")]


@pytest.fixture()
def image():
    return Image.new("RGB", (200, 100), "white")


def scripted(rounds=(), **lanes):
    return ScriptedPolicy(rounds=rounds, proposals=lanes)


@pytest.mark.parametrize(
    "strategy,expected",
    [("cluster", (45.76, 4.84)), ("hierarchical", (45.76, 4.84)), ("best", (43.30, 5.37))],
)
def test_each_strategy_on_two_clusters(image, strategy, expected):
    policy = scripted(lyon=LYON, marseille=MARSEILLE)
    location = Agent(policy=policy, strategy=strategy).locate(image)
    assert haversine_km(location.lat, location.lon, *expected) < 5
    assert location.strategy == strategy
    assert 0 < location.confidence < 1
    assert len(location.candidates) == 5
    proposals = [s for s in location.trace if s.get("kind") == "candidates" and s["node"] == "propose"]
    assert sorted(s["name"] for s in proposals) == ["lyon[0]", "marseille[0]"]  # one Send per lane


def test_antimeridian_and_pole_do_not_break_the_median(image):
    fiji = [cand(-17.0, 179.95, 0.5), cand(-17.02, -179.97, 0.5), cand(-16.98, 179.99, 0.5)]
    location = Agent(policy=scripted(fiji=fiji)).locate(image)
    assert abs(abs(location.lon) - 180) < 0.1
    pole = [cand(89.99, lon, 0.5, radius=2) for lon in (0, 90, 180, -90)]
    location = Agent(policy=scripted(pole=pole)).locate(image)
    assert location.lat > 89.99


def test_tool_rounds_run_and_record(image):
    rounds = [
        [("crop", {"image": "img:0", "box": [0, 0, 0.5, 0.5]})],
        [("zoom", {"image": "img:1", "factor": 3}), ("enhance", {"image": "img:0", "contrast": 1.5})],
    ]
    location = Agent(policy=scripted(rounds, lyon=LYON)).locate(image)
    calls = [s for s in location.trace if s.get("kind") == "tool_call"]
    assert [c["name"] for c in calls] == ["read_metadata", "crop", "zoom", "enhance"]
    assert calls[2]["observation"]["images"] == ["img:2"]
    assert calls[2]["observation"]["data"]["image"]["parent"] == "img:1"
    images = {s["handle"]: s for s in location.trace if s.get("kind") == "image"}
    assert images["img:2"]["parent"] == "img:1" and images["img:2"]["made_by"] == calls[2]["index"]
    assert images["img:1"]["to_root"] == [1.0, 1.0, 0.0, 0.0] and images["img:2"]["to_parent"] is not None


def test_per_kind_budget_refuses_extra_calls(image):
    rounds = [[("crop", {"image": "img:0", "box": [0, 0, 0.5, 0.5]})] * 4]
    agent = Agent(policy=scripted(rounds, lyon=LYON), budget={"max_calls_per_kind": {"image": 2}})
    location = agent.locate(image)
    calls = [s for s in location.trace if s.get("kind") == "tool_call" and s["name"] == "crop"]
    refused = "budget: no more 'image' calls (limit 2)"
    assert [c["observation"]["error"] for c in calls] == [None, None, refused, refused]
    assert location.answered


def test_step_budget_stops_gathering(image):
    rounds = [[("crop", {"image": "img:0", "box": [0, 0, 0.5, 0.5]})]] * 5
    location = Agent(policy=scripted(rounds, lyon=LYON)).locate(image, budget={"max_steps": 2})
    assert len([s for s in location.trace if s.get("name") == "crop"]) == 2
    decision = next(s for s in location.trace if s.get("kind") == "decision" and s["name"] == "propose")
    assert "step budget" in decision["output"]["reason"]


def test_failing_tool_keeps_earlier_evidence(tmp_path, monkeypatch):
    def explode(self, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(CropTool, "execute", explode)
    photo = tmp_path / "p.jpg"
    photo.write_bytes(jpeg_with_gps(45.76, 4.84))
    rounds = [[("crop", {"image": "img:0", "box": [0, 0, 0.5, 0.5]}), ("no_such_tool", {})]]
    agent = Agent(policy=scripted(rounds, lyon=LYON))
    location = agent.locate(photo, trace=tmp_path / "t.jsonl")
    errors = [s.error for s in read_trace(tmp_path / "t.jsonl").tool_calls() if s.error]
    assert errors[0] == "RuntimeError: disk on fire"
    assert errors[1].startswith("unknown tool 'no_such_tool'; available: read_metadata, crop")
    assert any(e.kind == "exif" and e.geo for e in location.evidence)
    assert location.answered


class FailingPlanner(ScriptedPolicy):
    def plan(self, view):
        raise ValueError("planner crashed")


class FailingProposer(ScriptedPolicy):
    def propose(self, view, task):
        if task.lane == "bad":
            raise ValueError("sampler crashed")
        return super().propose(view, task)


def test_failing_policy_does_not_sink_the_run(image):
    location = Agent(policy=FailingPlanner(proposals={"lyon": LYON})).locate(image)
    assert location.answered
    assert any(s.get("kind") == "error" and "planner crashed" in s["error"]["message"] for s in location.trace)
    location = Agent(policy=FailingProposer(proposals={"lyon": LYON, "bad": MARSEILLE})).locate(image)
    assert haversine_km(location.lat, location.lon, 45.76, 4.84) < 5
    assert any(s.get("kind") == "error" and "sampler crashed" in s["error"]["message"] for s in location.trace)


class ModelishPolicy(ScriptedPolicy):
    """Reports a model call the way a model-backed policy does."""

    def plan(self, view):
        step = super().plan(view)
        call = ModelCall("fake-vlm", "d" * 64, '<tool_call>{"name": "crop"}</tool_call>', 0.0, 0.01, {"temperature": 0})
        return PlanStep(step.message, model_calls=[call])


def test_trace_lines_carry_what_design_lists(tmp_path):
    rounds = [[("crop", {"image": "img:0", "box": [0, 0, 0.5, 0.5]})]]
    path = tmp_path / "run.jsonl"
    photo = jpeg_with_gps(45.76, 4.84)
    location = Agent(policy=ModelishPolicy(rounds, {"lyon": LYON})).locate(photo, trace=path, question="where?")
    trace = read_trace(path)
    assert trace.finished and trace.final.status == "ok"
    assert trace.header.images[0]["sha256"] == location.images[0]["sha256"]
    assert trace.header.config["question"] == "where?"
    assert trace.header.policy["name"] == "scripted"
    assert {"name": "crop", "kind": "image", "online": False} in trace.header.tools
    assert "langgraph" in trace.header.versions
    assert [s.index for s in trace.steps] == list(range(len(trace.steps)))
    for step in trace.steps:
        assert step.node and step.kind and step.timing.start
    model = trace.of_kind("model_call")
    assert model and model[0].messages_digest == "d" * 64 and model[0].raw_output.startswith("<tool_call>")
    crop = next(s for s in trace.tool_calls() if s.name == "crop")
    assert crop.observation.text.startswith("img:1") and crop.observation.images == ["img:1"]
    assert crop.tool_kind == "image"
    kinds = {s.kind for s in trace.steps}
    assert {"tool_call", "evidence", "candidates", "decision", "model_call", "image"} <= kinds
    assert trace.final.result["lat"] == location.lat
    assert location.trace_path == str(path) and location.trace is None


def test_no_candidates_is_an_honest_no_answer(image):
    location = Agent(policy=scripted()).locate(image)
    assert not location.answered and location.confidence == 0 and location.reason
    assert location.summary.startswith("No answer")


def test_plan_message_without_calls_moves_on(image):
    class Quiet(ScriptedPolicy):
        def plan(self, view):
            return PlanStep(AIMessage(content="nothing to do"))

    location = Agent(policy=Quiet(proposals={"lyon": LYON})).locate(image)
    assert location.answered
