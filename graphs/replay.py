"""Replay: answer a run's tool and model calls from its trace instead of making them.

A recorded run re-derives bit for bit: the graph, the policy's decisions, verification
and consensus run again, but every tool call gets the observation the trace recorded
and every model call gets the reply it recorded. Image operations (crop, zoom, rotate,
enhance) are the exception: they are pure local pixel work whose outputs the trace
describes but does not store, so they are recomputed and checked against the record.

Calls are matched by content, not position: a tool call by its name and arguments, a
model call by the digest of the messages it was sent and its sampling seed. So a
replay with fewer proposal samples, or another consensus strategy, still finds every
call it makes (counterfactual analysis without a model or network). A call the trace
does not hold is a divergence: strict replay raises :class:`ReplayDivergenceError`
naming where the recorded run went instead; lenient replay makes the call live and
marks it so in the new trace.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import PrivateAttr

from tools.errors import ReplayDivergenceError
from tools.evidence import Observation

from .trace import Trace

#: Tool kinds recomputed on replay (pure, local, cheap); their records are checks.
RECOMPUTED_KINDS = frozenset({"image"})


def _key(name: str, arguments: Any) -> str:
    return name + " " + json.dumps(arguments, sort_keys=True, ensure_ascii=False, default=str)


def _describe_step(step: dict[str, Any]) -> str:
    args = json.dumps(step.get("arguments"), ensure_ascii=False, default=str)
    return f"step {step['index']} ({step['node']}: {step['name']} {args[:120]})"


class TraceReplay:
    """The recorded answers of one trace, consumed as a replayed run asks for them."""

    def __init__(self, trace: Trace, *, strict: bool = True) -> None:
        self.trace = trace
        self.strict = strict
        self._lock = threading.Lock()
        self._tools: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self._models: dict[tuple[str, Any], deque[dict[str, Any]]] = defaultdict(deque)
        self.live_calls: list[str] = []
        for step in trace.steps:
            if step["kind"] == "tool_call":
                self._tools[_key(step["name"], step["arguments"])].append(step)
            elif step["kind"] == "model_call":
                seed = (step.get("arguments") or {}).get("seed")
                self._models[(step.get("messages_digest") or "", seed)].append(step)

    # ------------------------------------------------------------------ divergence
    def _next_unused(self, kind: str) -> dict[str, Any] | None:
        pool = self._tools if kind == "tool_call" else self._models
        left = [step for queue in pool.values() for step in queue]
        return min(left, key=lambda s: s["index"]) if left else None

    def _diverged(self, what: str, kind: str) -> None:
        expected = self._next_unused(kind)
        where = (
            f"the recorded run's next such call was {_describe_step(expected)}"
            if expected
            else ("the recorded run made no further such call")
        )
        message = f"replay diverged: {what} is not in trace {self.trace.header.get('run_id')}; {where}"
        if self.strict:
            raise ReplayDivergenceError(message)
        self.live_calls.append(message)

    # ------------------------------------------------------------------ answers
    def tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """The recorded step of this call, or None (lenient) when the trace lacks it."""
        with self._lock:
            queue = self._tools.get(_key(name, arguments))
            if queue:
                return queue.popleft()
            self._diverged(f"tool call {name} {json.dumps(arguments, default=str)[:160]}", "tool_call")
            return None

    def tool_observation(self, name: str, arguments: dict[str, Any]) -> Observation | None:
        step = self.tool(name, arguments)
        return Observation.model_validate(step["output"]) if step is not None else None

    def check_recomputed(self, step: dict[str, Any] | None, observation: Observation) -> None:
        """A recomputed image operation must give what the recorded run got."""
        if step is None:
            return
        recorded = Observation.model_validate(step["output"])
        if (recorded.images, recorded.error, recorded.text) != (
            observation.images,
            observation.error,
            observation.text,
        ):
            self._diverged(f"recomputed {step['name']} gave other output than {_describe_step(step)}", "tool_call")

    def review(self) -> Any:
        """The decision a person gave when the recorded run paused for review (None
        when it was not reviewed): a replay re-applies it instead of asking again."""
        for step in self.trace.steps:
            if step["kind"] == "review":
                arguments = step.get("arguments") or {}
                failed = isinstance(step.get("output"), dict) and step["output"].get("error")
                return arguments.get("decision") if failed else arguments
        return None

    def model(self, messages_digest: str, seed: Any) -> dict[str, Any] | None:
        with self._lock:
            queue = self._models.get((messages_digest, seed))
            if queue:
                return queue.popleft()
            self._diverged(f"model call with messages {messages_digest[:12]}… (seed {seed})", "model_call")
            return None


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
        output = step.get("output") or {}
        calls = [
            {"name": c["name"], "args": c.get("args") or {}, "id": c.get("id") or f"replay-{i}", "type": "tool_call"}
            for i, c in enumerate(output.get("tool_calls") or [])
        ]
        message = AIMessage(
            content=output.get("content") or "",
            tool_calls=calls,
            response_metadata={"raw_text": step.get("raw_output", ""), "replayed_from": step["index"]},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def describe(self) -> dict[str, Any]:
        return {"backend": "replay", "run_id": self.replay.trace.header.get("run_id")}
