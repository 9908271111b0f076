"""``ModelPolicy``: a vision-language model decides what to look at and proposes.

The model sees the image(s), the user's question, the evidence the automatic tools
found (hybrid mode), every tool result and every new crop; it calls tools through
LangChain ``bind_tools`` and answers through the ``answer`` tool. Proposals are K
samples at temperature T fanned out with ``Send`` (multi-candidate inference, as in
GeoLocSFT), aggregated by consensus with the heuristic lanes when hybrid.

The policy keeps no per-run state: the conversation is rebuilt from the run's messages
on each call, so one policy serves concurrent runs and replays see what live runs saw.
A malformed reply is asked for once more, then recorded as an observation; a failing
model ends the model's part of the run, never the run.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from tools.errors import ReplayDivergenceError
from tools.evidence import Observation
from tools.places import PlaceIndex

from ..answer import ANSWER_TOOL, AnswerTool, answer_candidates
from ..budget import model_reply_within
from ..policy import ModelCall, PlanStep, Policy, Proposal, ProposalTask, RunView, register_policy
from .heuristic import HeuristicPolicy
from .model_prompt import (
    FINAL_INSTRUCTION,
    MODEL_MARK,
    RETRY_INSTRUCTION,
    SYSTEM_PROMPT,
    conversation,
    is_model_message,
    reference_of,
    with_pixels,
)

MODEL_LANE = "model"
#: The pseudo evidence id model candidates cite: K samples of one model are one
#: witness, not K independent ones (consensus counts each source once for strength).
MODEL_SOURCE = "model"


@dataclass(frozen=True)
class ModelPolicySettings:
    """How the model is used. Defaults follow agentic geolocators (GeoVista: about six
    rounds, a few crops, a couple of searches; GeoLocSFT: several samples)."""

    samples: int = 3
    temperature: float = 0.7
    max_rounds: int = 6
    hybrid: bool = True
    max_image_side: int = 1024
    retries: int = 1
    system_prompt: str = SYSTEM_PROMPT


def _by_reference(dumped: dict[str, Any]) -> dict[str, Any]:
    content = dumped.get("content")
    if not isinstance(content, list):
        return dumped
    blocks = []
    for block in content:
        inner = block.get("image_url") if isinstance(block, dict) and block.get("type") == "image_url" else None
        url = inner.get("url") if isinstance(inner, dict) else None
        if isinstance(url, str):
            block = {**block, "image_url": {**inner, "url": reference_of(url)}}
        blocks.append(block)
    return {**dumped, "content": blocks}


def messages_digest(messages: list[BaseMessage]) -> str:
    """What identifies a model call: the messages sent (replay matches on it), each image
    by its reference (hash, size, longest side sent), never by its encoded bytes — so the
    same call has the same digest whether the pixels were attached or not."""
    payload = json.dumps([_by_reference(m.model_dump(mode="json")) for m in messages], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _answers_from_trace(model: BaseChatModel) -> bool:
    """A replay stand-in that will not go live: it matches messages by digest and never
    looks at pixels, so none are attached for it."""
    from ..replay import ReplayChatModel

    return isinstance(model, ReplayChatModel) and model.live is None


def _raw_text(message: AIMessage) -> str:
    raw = message.response_metadata.get("raw_text")
    if isinstance(raw, str):
        return raw
    text = message.content if isinstance(message.content, str) else json.dumps(message.content, default=str)
    if message.tool_calls:
        text += "\n" + json.dumps([{"name": c["name"], "arguments": c["args"]} for c in message.tool_calls])
    return text


class ModelPolicy(Policy):
    """A chat model with the run's tools bound (see module docstring)."""

    name = "model"

    def __init__(
        self,
        model: BaseChatModel,
        settings: ModelPolicySettings | None = None,
        *,
        heuristic: HeuristicPolicy | None = None,
        **overrides: Any,
    ) -> None:
        base = settings or ModelPolicySettings()
        self.settings = ModelPolicySettings(**{**base.__dict__, **overrides})
        if self.settings.samples < 1:
            raise ValueError("samples must be >= 1")
        self.model = model
        self.heuristic = heuristic or HeuristicPolicy()
        self._places: dict[int, PlaceIndex] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_description(cls, description: dict[str, Any], **parts: Any) -> ModelPolicy:
        """Rebuild with the described settings; ``model=`` supplies the chat model (a
        replay model, or the live one), ``samples=`` overrides K (counterfactuals)."""
        model = parts.get("model")
        if model is None:
            raise ValueError("a model policy needs model= to be rebuilt")
        fields = set(ModelPolicySettings.__dataclass_fields__)
        settings = {k: v for k, v in description.items() if k in fields}
        if parts.get("samples") is not None:
            settings["samples"] = int(parts["samples"])
        heuristic = HeuristicPolicy.from_description(description.get("heuristic") or {"name": "heuristic"})
        return cls(model, ModelPolicySettings(**settings), heuristic=heuristic)

    # ------------------------------------------------------------------ helpers
    def _place_index(self, view: RunView) -> PlaceIndex | None:
        if view.gazetteer is None:
            return None
        with self._lock:
            key = id(view.gazetteer)
            if key not in self._places:
                self._places[key] = PlaceIndex(view.gazetteer)
            return self._places[key]

    def _bound(self, view: RunView, *, answer_only: bool, temperature: float | None, seed: int | None) -> Any:
        tools: list[Any] = [AnswerTool()]
        if not answer_only:
            from langchain_core.tools import BaseTool

            for tool in view.tools.values():
                kind = str(getattr(tool, "kind", "other"))
                if isinstance(tool, BaseTool) and view.calls_left(kind) > 0:
                    tools.append(tool)
        bound = self.model.bind_tools(tools)
        options: dict[str, Any] = {}
        if temperature is not None:
            options["temperature"] = temperature
        if seed is not None:
            options["seed"] = seed
        return bound.bind(**options) if options else bound

    def _invoke(
        self, view: RunView, runnable: Any, messages: list[BaseMessage], label: str, arguments: dict[str, Any]
    ) -> tuple[AIMessage, ModelCall]:
        started, t0 = time.time(), time.perf_counter()
        sent = messages if _answers_from_trace(self.model) else with_pixels(messages, view.images)
        reply = model_reply_within(lambda: runnable.invoke(sent), view.deadline, view.budget.max_seconds)
        if not isinstance(reply, AIMessage):
            raise TypeError(f"the model returned {type(reply).__name__}, not an AIMessage")
        call = ModelCall(
            name=label,
            messages_digest=messages_digest(messages),
            raw_output=_raw_text(reply),
            started=started,
            duration_s=time.perf_counter() - t0,
            arguments=arguments,
            output={
                "content": reply.content,
                "tool_calls": [{"name": c["name"], "args": c["args"], "id": c.get("id")} for c in reply.tool_calls],
                "usage": dict(reply.usage_metadata or {}),
            },
        )
        return reply, call

    def _conversation(self, view: RunView) -> list[BaseMessage]:
        return conversation(
            view,
            system_prompt=self.settings.system_prompt,
            max_side=self.settings.max_image_side,
            include_evidence=self.settings.hybrid,
        )

    def _model_rounds(self, view: RunView) -> int:
        return sum(1 for m in view.messages if is_model_message(m))

    # ------------------------------------------------------------------ plan
    def plan(self, view: RunView) -> PlanStep:
        if self.settings.hybrid and self._model_rounds(view) == 0:
            step = self.heuristic.plan(view)
            if not step.done:
                return step
        if self._model_rounds(view) >= self.settings.max_rounds:
            return PlanStep(AIMessage(content="model rounds used up"), rationale="model round budget reached")
        messages = self._conversation(view)
        runnable = self._bound(view, answer_only=False, temperature=None, seed=None)
        calls: list[ModelCall] = []
        notes: list[Observation] = []
        for attempt in range(self.settings.retries + 1):
            arguments = {"round": self._model_rounds(view), "attempt": attempt, "seed": None}
            try:
                reply, call = self._invoke(view, runnable, messages, "model.plan", arguments)
            except ReplayDivergenceError:
                raise  # strict replay must stop where the recorded run went elsewhere
            except Exception as exc:  # noqa: BLE001 - a failing model ends gathering, not the run
                error = f"{type(exc).__name__}: {exc}"
                notes.append(Observation.failure("model", arguments, error))
                failed = AIMessage(content="", response_metadata={MODEL_MARK: True, "failed": error})
                return PlanStep(failed, calls, rationale=f"model failed: {error}", notes=notes)
            calls.append(call)
            if reply.tool_calls:
                return self._decision(reply, calls, notes)
            messages = [*messages, reply, HumanMessage(content=RETRY_INSTRUCTION)]
        problem = f"model reply without tool call or answer: {calls[-1].raw_output[:200]!r}"
        notes.append(Observation.failure("model", {"round": self._model_rounds(view)}, problem))
        return PlanStep(AIMessage(content=""), calls, rationale="model gave no usable reply", notes=notes)

    def _decision(self, reply: AIMessage, calls: list[ModelCall], notes: list[Observation]) -> PlanStep:
        answer = next((c for c in reply.tool_calls if c["name"] == ANSWER_TOOL), None)
        metadata = {MODEL_MARK: True}
        if answer is not None:  # the model is done: keep its answer for the first sample
            metadata["answer"] = answer["args"]
            message = AIMessage(content=reply.content, response_metadata=metadata)
            return PlanStep(message, calls, rationale="model answered", notes=notes)
        message = AIMessage(content=reply.content, tool_calls=reply.tool_calls, response_metadata=metadata)
        names = ", ".join(c["name"] for c in reply.tool_calls)
        return PlanStep(message, calls, rationale=f"model calls {names}", notes=notes)

    # ------------------------------------------------------------------ propose
    def proposal_tasks(self, view: RunView) -> list[ProposalTask]:
        tasks = self.heuristic.proposal_tasks(view) if self.settings.hybrid else []
        last = next((m for m in reversed(view.messages) if is_model_message(m)), None)
        if last is not None and last.response_metadata.get("failed"):
            return tasks  # a model that just failed (server down, out of memory) is not asked K times more
        for sample in range(self.settings.samples):
            # the first sample is the model's greedy best guess, the others explore
            temperature = 0.0 if sample == 0 else self.settings.temperature
            tasks.append(ProposalTask(MODEL_LANE, sample=sample, temperature=temperature))
        return tasks

    def _earlier_answer(self, view: RunView) -> dict[str, Any] | None:
        for message in reversed(view.messages):
            if is_model_message(message):
                answer = message.response_metadata.get("answer")
                return answer if isinstance(answer, dict) else None
        return None

    def propose(self, view: RunView, task: ProposalTask) -> Proposal:
        if task.lane != MODEL_LANE:
            return self.heuristic.propose(view, task)
        places = self._place_index(view)
        if task.sample == 0:
            earlier = self._earlier_answer(view)
            if earlier is not None:
                found, problems = answer_candidates(earlier, places, sources=[MODEL_SOURCE])
                if found:
                    return Proposal(task, found, note="; ".join(["the model's own answer", *problems]))
        temperature = task.temperature
        runnable = self._bound(view, answer_only=True, temperature=temperature, seed=task.sample)
        messages = [*self._conversation(view), HumanMessage(content=FINAL_INSTRUCTION)]
        calls: list[ModelCall] = []
        problems: list[str] = []
        for attempt in range(self.settings.retries + 1):
            arguments = {"sample": task.sample, "temperature": temperature, "attempt": attempt, "seed": task.sample}
            try:
                reply, call = self._invoke(view, runnable, messages, "model.propose", arguments)
            except ReplayDivergenceError:
                raise  # strict replay must stop where the recorded run went elsewhere
            except Exception as exc:  # noqa: BLE001 - one failed sample must not sink the others
                problems.append(f"model failed: {type(exc).__name__}: {exc}")
                break
            calls.append(call)
            answer = next((c for c in reply.tool_calls if c["name"] == ANSWER_TOOL), None)
            if answer is not None:
                found, issues = answer_candidates(answer["args"], places, sources=[MODEL_SOURCE])
                problems.extend(issues)
                if found:
                    return Proposal(task, found, model_calls=calls, message=reply, note="; ".join(problems))
            else:
                problems.append(f"no answer in reply {call.raw_output[:160]!r}")
            messages = [*messages, reply, HumanMessage(content=RETRY_INSTRUCTION)]
        return Proposal(task, [], model_calls=calls, note="; ".join(problems) or "no answer")

    def describe(self) -> dict[str, Any]:
        described = getattr(self.model, "describe", None)
        model = described() if callable(described) else {"class": type(self.model).__name__}
        settings = dict(self.settings.__dict__)
        return {"name": self.name, "model": model, **settings, "heuristic": self.heuristic.describe()}


register_policy(ModelPolicy)
