"""The text tool-call protocol: how a model without native tool calling calls tools.

Any instruction-following VLM can follow it, and SFT data (``agent/sft``) teaches it:

* a tool call is ``<tool_call>{"name": "crop", "arguments": {...}}</tool_call>``
  (several per reply are allowed);
* a tool's result comes back as ``<tool_response name="crop">...</tool_response>``
  in a user turn;
* the final answer is ``<answer>{GeoLocSFT JSON}</answer>``, for example
  ``<answer>{"thinking": "...", "answer": {"coordinates": {"latitude": 48.85,
  "longitude": 2.35, "region": "Paris, France"}}}</answer>``; every shape
  :mod:`agent.models.answers` reads is accepted.

Parsing is tolerant of what small models do: missing closing tags, code fences,
``"args"`` or ``"parameters"`` for ``"arguments"``, arguments given as a JSON string,
single trailing commas. It never raises; what cannot be read is reported in
``ParsedReply.errors`` so the policy can ask once more and then record it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .answers import parse_answer

ANSWER_TOOL = "answer"

_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|(?=<tool_call>)|\Z)", re.DOTALL)
_ANSWER = re.compile(r"<answer>\s*(.*?)\s*(?:</answer>|\Z)", re.DOTALL)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


@dataclass
class ParsedReply:
    """A model reply read with the text protocol."""

    content: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return any(call["name"] == ANSWER_TOOL for call in self.tool_calls)


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:12]}"


def format_tool_call(name: str, arguments: dict[str, Any]) -> str:
    return "<tool_call>" + json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False) + "</tool_call>"


def format_tool_response(name: str, text: str) -> str:
    return f'<tool_response name="{name}">\n{text}\n</tool_response>'


def format_answer(lat: float, lon: float, *, region: str = "", thinking: str = "") -> str:
    """The final answer in GeoLocSFT JSON inside ``<answer>`` tags (the form SFT teaches)."""
    body = {
        "thinking": thinking,
        "answer": {"coordinates": {"latitude": round(lat, 6), "longitude": round(lon, 6), "region": region}},
    }
    return "<answer>" + json.dumps(body, ensure_ascii=False) + "</answer>"


def _loads(text: str) -> Any:
    text = _FENCE.sub("", text.strip())
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    repaired = _TRAILING_COMMA.sub(r"\1", text)
    start, end = repaired.find("{"), repaired.rfind("}")
    if start >= 0 and end > start:
        repaired = repaired[start : end + 1]
    return json.loads(repaired)


def _tool_call(body: str) -> dict[str, Any]:
    data = _loads(body)
    if not isinstance(data, dict):
        raise ValueError("a tool call must be a JSON object")
    name = data.get("name") or (data.get("function") or {}).get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("a tool call needs a 'name'")
    arguments = data.get("arguments", data.get("args", data.get("parameters", {})))
    if isinstance(arguments, str):
        arguments = json.loads(arguments) if arguments.strip() else {}
    if not isinstance(arguments, dict):
        raise ValueError(f"the arguments of {name!r} must be a JSON object")
    return {"name": name, "args": arguments, "id": new_call_id(), "type": "tool_call"}


def parse_reply(text: str, *, allow_bare_answer: bool = True) -> ParsedReply:
    """Read tool calls and a final answer from a model's text.

    ``allow_bare_answer``: also read an answer written without ``<answer>`` tags (plain
    GeoLocSFT JSON, coordinates) when the reply holds no tool call — what fine-tuned
    models trained on bare JSON do.
    """
    text = text or ""
    calls: list[dict[str, Any]] = []
    errors: list[str] = []
    for match in _TOOL_CALL.finditer(text):
        try:
            calls.append(_tool_call(match.group(1)))
        except (ValueError, json.JSONDecodeError) as exc:
            errors.append(f"unreadable tool call {match.group(1)[:80]!r}: {exc}")
    answer_match = _ANSWER.search(text)
    answer = None
    if answer_match:
        answer = parse_answer(answer_match.group(1))
        if answer is None:
            errors.append(f"unreadable answer {answer_match.group(1)[:80]!r}")
    elif allow_bare_answer and not calls and "<tool_call>" not in text:
        answer = parse_answer(text)
    if answer is not None:
        calls = [c for c in calls if c["name"] != ANSWER_TOOL]
        calls.append({"name": ANSWER_TOOL, "args": answer, "id": new_call_id(), "type": "tool_call"})
    content = _ANSWER.sub("", _TOOL_CALL.sub("", text)).strip()
    return ParsedReply(content=content, tool_calls=calls, errors=errors)


def _schema_line(tool: Any) -> str:
    """One tool described for the prompt: name, description, JSON schema of its arguments."""
    from langchain_core.utils.function_calling import convert_to_openai_tool

    spec = convert_to_openai_tool(tool)["function"]
    params = json.dumps(spec.get("parameters", {}), ensure_ascii=False, separators=(",", ":"))
    return f"- {spec['name']}: {spec.get('description', '').strip()}\n  arguments: {params}"


def tools_prompt(tools: Sequence[Any]) -> str:
    """The system-prompt section that teaches the protocol for these tools."""
    lines = [
        "You can call tools. To call one, write exactly:",
        '<tool_call>{"name": "<tool name>", "arguments": {...}}</tool_call>',
        "You may call several tools in one reply. Their results come back as <tool_response> blocks.",
        "When you are ready to answer, write your final answer as:",
        '<answer>{"thinking": "<your reasoning>", "answer": {"coordinates": '
        '{"latitude": <lat>, "longitude": <lon>, "region": "<place name>"}}}</answer>',
        "Tools:",
    ]
    lines.extend(_schema_line(tool) for tool in tools)
    return "\n".join(lines)
