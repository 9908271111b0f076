"""The tool registry: kinds, settings checked at start, plug-ins by entry point or per agent."""

from __future__ import annotations

import json
import textwrap

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from PIL import Image
from scripted_model import ScriptedChatModel, call

from agent import Agent
from agent.cli import main
from tools.errors import ConfigError
from tools.registry import ToolKind, default_registry, reset_default_registry

PLUGIN = textwrap.dedent(
    """
    from typing import ClassVar
    from pydantic import BaseModel
    from tools.base import GeoTool
    from tools.evidence import Evidence, Observation, ToolSource

    class LandmarkArgs(BaseModel):
        image: str

    class LandmarkTool(GeoTool):
        name: str = "landmark_lookup"
        description: str = "Recognise a famous landmark in an image."
        args_schema: type[BaseModel] = LandmarkArgs
        kind: ClassVar[str] = "knowledge"

        def execute(self, image: str) -> Observation:
            source = ToolSource(tool=self.name, arguments={"image": image})
            found = Evidence(kind="landmark", value="Torre de Belem", confidence=0.9, source=source)
            return Observation(text="Torre de Belem", evidence=[found])
    """
)


@pytest.fixture()
def plugin(tmp_path, monkeypatch):
    """A package installed the way pip would: a module plus dist-info with an entry point."""
    (tmp_path / "geosleuth_landmarks.py").write_text(PLUGIN)
    info = tmp_path / "geosleuth_landmarks-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: geosleuth-landmarks\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[geosleuth.tools]\nlandmark = geosleuth_landmarks:LandmarkTool\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reset_default_registry()
    yield
    reset_default_registry()


def _calls_then_answers(name, **args):
    def respond(messages, tools, kwargs):
        if sum(isinstance(m, AIMessage) for m in messages) == 0 and name in tools:
            return AIMessage(content="", tool_calls=[call(name, **args)])
        answer = [{"lat": 38.6916, "lon": -9.2160, "label": "Belem", "confidence": 0.8}]
        return AIMessage(content="", tool_calls=[call("answer", candidates=answer)])

    return respond


def test_a_plugin_tool_registers_by_entry_point_and_the_model_calls_it(plugin, capsys):
    spec = default_registry().get("landmark_lookup")
    assert spec is not None and spec.kind is ToolKind.KNOWLEDGE and spec.origin == "entry point landmark"
    model = ScriptedChatModel(respond=_calls_then_answers("landmark_lookup", image="img:0"))
    location = Agent(model=model, model_options={"hybrid": False, "samples": 1}).locate(Image.new("RGB", (64, 64)))
    assert "landmark_lookup" in model.calls[0]["tools"]
    step = next(s for s in location.trace if s.get("kind") == "tool_call" and s["name"] == "landmark_lookup")
    assert step["tool_kind"] == "knowledge" and step["observation"]["text"] == "Torre de Belem"
    assert any(e.kind == "landmark" for e in location.evidence)
    assert main(["tools", "list", "--json"]) == 0
    listed = {t["name"]: t for t in json.loads(capsys.readouterr().out)}
    assert listed["landmark_lookup"]["kind"] == "knowledge" and not listed["landmark_lookup"]["online"]
    assert {"read_text", "crop", "web_search", "osm_verify"} <= set(listed)


def test_a_tool_given_to_one_agent_is_called_by_its_model():
    @tool
    def tide_table(port: str) -> str:
        """High and low water times for a port."""
        return f"{port}: high water 06:12, low water 12:30"

    model = ScriptedChatModel(respond=_calls_then_answers("tide_table", port="Lisbon"))
    agent = Agent(model=model, model_options={"hybrid": False, "samples": 1}, tools=[tide_table])
    location = agent.locate(Image.new("RGB", (64, 64)))
    step = next(s for s in location.trace if s.get("kind") == "tool_call" and s["name"] == "tide_table")
    assert "high water 06:12" in step["observation"]["text"] and step["tool_kind"] == "other"
    assert "tide_table" not in default_registry().names()  # only this agent has it


def test_disabled_kinds_and_metadata_use_leave_tools_out():
    agent = Agent(disable=["ocr", "search"])
    location = agent.locate(Image.new("RGB", (32, 32)), use_metadata=False)
    names = {t["name"] for t in location.trace[0]["tools"]}
    assert "read_text" not in names and "web_search" not in names and "read_metadata" not in names
    assert "crop" in names


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"searx_url": "http://127.0.0.1:1"}, "unknown tool setting 'searx_url'; did you mean 'searxng_url'"),
        ({"net_timeout_s": "slow"}, "net_timeout_s"),
        ({"ocr_time_budget_s": -1}, "ocr_time_budget_s"),
    ],
)
def test_tool_settings_are_checked_when_the_agent_starts(settings, message):
    with pytest.raises(ConfigError, match=message):
        Agent(tool_settings=settings)
