"""Replay by substitution: a recorded run's tools and model answered from its trace.

A replayed run is an ordinary run whose tools and model are wrapped: each
:class:`ReplayTool` answers a call with the observation the trace recorded for it and
re-registers the images that call made (with lazy pixels, built only if something looks
at them), and :class:`ReplayChatModel` answers model calls with the recorded replies. No
node knows it is replaying; the graph, the policy's decisions, verification and
consensus run again and re-derive the same Location.

Calls are matched by content, not position: a tool call by its name and arguments, a
model call by the digest of the messages it was sent and its sampling seed. So a replay
with fewer proposal samples, or another consensus strategy, still finds every call it
makes (counterfactual analysis without a model or network). A call the trace does not
hold is a divergence: strict replay raises :class:`ReplayDivergenceError` naming where
the recorded run went instead; lenient replay makes the call live and marks it so in the
new trace's step ``meta``. ``verify_pixels=True`` recomputes image operations and checks
them against the record.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import ConfigDict, PrivateAttr

from tools.base import call_tool
from tools.errors import ReplayDivergenceError
from tools.evidence import Observation
from tools.images import ImageRegistry

from .trace import Trace
from .trace_schema import ImageStep, ModelCallStep, ReviewStep, Step, ToolCallStep


def _key(name: str, arguments: Any) -> str:
    return name + " " + json.dumps(arguments, sort_keys=True, ensure_ascii=False, default=str)


def _describe_step(step: Step) -> str:
    args = json.dumps(getattr(step, "arguments", {}), ensure_ascii=False, default=str)
    return f"step {step.index} ({step.node}: {step.name} {args[:120]})"


class TraceReplay:
    """The recorded answers of one trace, consumed as a replayed run asks for them."""

    def __init__(
        self, trace: Trace, *, strict: bool = True, verify_pixels: bool = False, owns_trace: bool = False
    ) -> None:
        self.trace = trace
        #: True when nobody else holds ``trace`` (parsed for this replay alone): each recorded
        #: observation is handed out once, so it needs no defensive copy.
        self.owns_trace = owns_trace
        self.strict = strict
        self.verify_pixels = verify_pixels
        self._lock = threading.Lock()
        self._tools: dict[str, deque[ToolCallStep]] = defaultdict(deque)
        self._models: dict[tuple[str, Any], deque[ModelCallStep]] = defaultdict(deque)
        self._images: dict[int, list[ImageStep]] = defaultdict(list)
        self.live_calls: list[str] = []
        for step in trace.steps:
            if isinstance(step, ToolCallStep):
                self._tools[_key(step.name, step.arguments)].append(step)
            elif isinstance(step, ModelCallStep):
                self._models[(step.messages_digest, step.arguments.get("seed"))].append(step)
            elif isinstance(step, ImageStep) and step.made_by is not None:
                self._images[step.made_by].append(step)

    @property
    def clock_checks(self) -> list[bool] | None:
        final = self.trace.final
        checks = final.meta.get("clock_checks") if final is not None else None
        return [bool(c) for c in checks] if isinstance(checks, list) else None

    # ------------------------------------------------------------------ divergence
    def _next_unused(self, kind: str) -> Step | None:
        pool: Any = self._tools if kind == "tool_call" else self._models
        left = [step for queue in pool.values() for step in queue]
        return min(left, key=lambda s: s.index) if left else None

    def _diverged(self, what: str, kind: str) -> None:
        expected = self._next_unused(kind)
        where = (
            f"the recorded run's next such call was {_describe_step(expected)}"
            if expected
            else "the recorded run made no further such call"
        )
        message = f"replay diverged: {what} is not in trace {self.trace.run_id}; {where}"
        if self.strict:
            raise ReplayDivergenceError(message)
        self.live_calls.append(message)

    # ------------------------------------------------------------------ answers
    def tool(self, name: str, arguments: dict[str, Any]) -> ToolCallStep | None:
        """The recorded step of this call, or None (lenient) when the trace lacks it."""
        with self._lock:
            queue = self._tools.get(_key(name, arguments))
            if queue:
                return queue.popleft()
            self._diverged(f"tool call {name} {json.dumps(arguments, default=str)[:160]}", "tool_call")
            return None

    def images_made_by(self, step: ToolCallStep) -> list[ImageStep]:
        return list(self._images.get(step.index, []))

    def check(self, step: ToolCallStep, observation: Observation) -> None:
        """A recomputed call must give what the recorded run got."""
        recorded = step.observation
        if (recorded.images, recorded.error, recorded.text) != (
            observation.images,
            observation.error,
            observation.text,
        ):
            self._diverged(f"recomputed {step.name} gave other output than {_describe_step(step)}", "tool_call")

    def review(self) -> dict[str, Any] | None:
        """The decision a person gave when the recorded run paused for review (None
        when it was not reviewed): a replay applies it instead of asking again."""
        for step in self.trace.steps:
            if isinstance(step, ReviewStep):
                return dict(step.decision)
        return None

    def model(self, messages_digest: str, seed: Any) -> ModelCallStep | None:
        with self._lock:
            queue = self._models.get((messages_digest, seed))
            if queue:
                return queue.popleft()
            self._diverged(f"model call with messages {messages_digest[:12]}… (seed {seed})", "model_call")
            return None


def reregister(images: ImageRegistry, recorded: list[ImageStep]) -> None:
    """Register again the images a recorded call made, under the same handles."""
    for step in recorded:
        if step.handle in images:
            continue
        images.add_recorded(
            step.handle, step.parent or "img:0", step.operation, step.to_parent, (step.width, step.height), step.sha256
        )


class ReplayTool(BaseTool):
    """Stands in for one tool of a replayed run: answers each call from the trace and
    re-registers the images the recorded call made. Lenient replay runs ``inner`` live
    for calls the trace lacks; ``verify_pixels`` reruns image tools and checks them."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    replay: Any
    inner: Any = None
    images: Any
    kind: str = "other"
    response_format: str = "content_and_artifact"
    _live: bool = PrivateAttr(default=False)

    online: bool = False

    def leaves_machine(self, arguments: dict[str, Any]) -> bool:
        """What the live tool would answer: a replay must meet the network switch exactly
        as the recorded run did (a replayed call itself sends nothing)."""
        asker = getattr(self.inner, "leaves_machine", None)
        return bool(asker(arguments)) if callable(asker) else self.online

    def invoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        """Answer a tool call with the arguments exactly as the policy gave them (they are
        what the trace recorded), before any schema parsing could reshape them."""
        if isinstance(input, dict) and input.get("type") == "tool_call":
            _, observation = self._answer(dict(input.get("args") or {}))
            return ToolMessage(
                content=observation.text, artifact=observation, tool_call_id=str(input.get("id")), name=self.name
            )
        return super().invoke(input, config, **kwargs)

    def _run(self, *args: Any, run_manager: Any = None, **kwargs: Any) -> tuple[str, Observation]:
        return self._answer(kwargs)

    def _answer(self, kwargs: dict[str, Any]) -> tuple[str, Observation]:
        step = self.replay.tool(self.name, kwargs)
        if step is None:
            if self.inner is None:
                observation = Observation.failure(
                    self.name, kwargs, "replay: the trace lacks this call and no live tool"
                )
            else:
                observation = call_tool(self.inner, kwargs)
                observation.meta = {**observation.meta, "live": True}
            return observation.text, observation
        if self.replay.verify_pixels and self.kind == "image" and self.inner is not None:
            observation = call_tool(self.inner, kwargs)
            self.replay.check(step, observation)
        else:
            reregister(self.images, self.replay.images_made_by(step))
        observation = step.observation if self.replay.owns_trace else step.observation.model_copy(deep=True)
        observation.meta = {"replayed_from": step.index}
        return observation.text, observation


def replay_tools(
    replay: TraceReplay,
    live: dict[str, BaseTool],
    images: ImageRegistry,
    kinds: dict[str, str],
    online: dict[str, bool] | None = None,
) -> dict[str, BaseTool]:
    """Replay stand-ins for every tool the recorded run had (and the live ones too)."""
    names = list(dict.fromkeys([*kinds, *live]))
    out: dict[str, BaseTool] = {}
    for name in names:
        inner = live.get(name)
        out[name] = ReplayTool(
            name=name,
            description=getattr(inner, "description", "") or name,
            args_schema=getattr(inner, "args_schema", None),
            replay=replay,
            inner=inner,
            images=images,
            kind=str(kinds.get(name) or getattr(type(inner), "kind", "other")),
            online=bool((online or {}).get(name, getattr(inner, "online", False))),
        )
    return out


class ReplayChatModel(BaseChatModel):
    """Answers model calls with the replies a trace recorded; in lenient replay, calls
    ``live`` (when given) for what the trace lacks."""

    replay: Any
    live: Any = None
    digest_of: Any  # the policy's digest function, so both sides hash the same messages
    _bound_tools: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "geosleuth-replay"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable:
        return self.bind(tools=list(tools), **kwargs)

    def invoke(self, input: Any, config: Any = None, *, stop: list[str] | None = None, **kwargs: Any) -> BaseMessage:
        """The recorded reply, looked up directly: a reply read from a trace needs none of
        a chat model's callbacks, caching or rate limiting, which would cost a replayed
        run more than the rest of its model step (a live fallback in lenient replay goes
        through the live model's own ``invoke``)."""
        messages = self._convert_input(input).to_messages()
        return self._generate(messages, stop=stop, **kwargs).generations[0].message

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        step = self.replay.model(self.digest_of(messages), kwargs.get("seed"))
        if step is None:
            if self.live is None:
                raise ReplayDivergenceError(
                    "replay needs a model call the trace lacks, and no live model is configured"
                )
            tools = kwargs.pop("tools", None) or []
            runnable = self.live.bind_tools(tools).bind(**kwargs) if tools else self.live.bind(**kwargs)
            return ChatResult(generations=[ChatGeneration(message=runnable.invoke(messages))])
        output = step.output or {}
        calls = [
            {"name": c["name"], "args": c.get("args") or {}, "id": c.get("id") or f"replay-{i}", "type": "tool_call"}
            for i, c in enumerate(output.get("tool_calls") or [])
        ]
        message = AIMessage(
            content=output.get("content") or "",
            tool_calls=calls,
            response_metadata={"raw_text": step.raw_output, "replayed_from": step.index},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def describe(self) -> dict[str, Any]:
        return {"backend": "replay", "run_id": self.replay.trace.run_id}
