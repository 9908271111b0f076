"""Helpers the nodes share: building the policy's view, running and recording tool calls."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from tools.base import call_tool
from tools.evidence import Evidence, Observation

from ..context import RunContext
from ..duplicates import mark_copies
from ..policy import ModelCall, RunView
from ..replay import RECOMPUTED_KINDS
from ..state import RunState, number_evidence


def make_view(state: RunState, ctx: RunContext) -> RunView:
    assert ctx.clock is not None
    return RunView(
        images=ctx.tool_context.images,
        evidence=list(state.evidence),
        observations=list(state.observations),
        messages=list(state.messages),
        tools=ctx.tools,
        step=state.step,
        tool_counts=dict(state.tool_counts),
        budget=ctx.budget,
        seconds_left=max(0.0, ctx.budget.max_seconds - ctx.clock.elapsed()),
        hint=ctx.hint,
        question=state.question,
        use_metadata=ctx.use_metadata,
        gazetteer=ctx.gazetteer,
    )


def run_tool(ctx: RunContext, node: str, name: str, arguments: dict[str, Any], call_id: str) -> Observation:
    """Run one tool call and record it (full observation, so replay can answer it)."""
    started, t0 = time.time(), time.perf_counter()
    tool = ctx.tools.get(name)
    live = True
    if ctx.replay is not None and ctx.tool_kind(name) not in RECOMPUTED_KINDS:
        replayed = ctx.replay.tool_observation(name, arguments)
        if replayed is not None:
            observation, live = replayed, False
    if live:
        if tool is None:
            observation = Observation.failure(
                name, arguments, f"unknown tool {name!r}; available: {', '.join(ctx.tools)}"
            )
        else:
            observation = call_tool(tool, arguments, call_id)
        if ctx.replay is not None and ctx.tool_kind(name) in RECOMPUTED_KINDS:
            ctx.replay.check_recomputed(ctx.replay.tool(name, arguments), observation)
    extra = {"live": True} if ctx.replay is not None and live and ctx.tool_kind(name) not in RECOMPUTED_KINDS else {}
    ctx.recorder.step(
        node,
        "tool_call",
        name,
        arguments=arguments,
        output=observation,
        images=observation.images,
        started=started,
        duration_s=time.perf_counter() - t0,
        call_id=call_id,
        error=observation.error,
        **extra,
    )
    return observation


def record_evidence(
    ctx: RunContext, node: str, existing: int | Sequence[Evidence], items: list[Evidence]
) -> list[Evidence]:
    """Number new evidence, make copies of earlier evidence inert (``graphs.duplicates``)
    and record which ids it received."""
    earlier: Sequence[Evidence] = () if isinstance(existing, int) else existing
    numbered = mark_copies(earlier, number_evidence(len(earlier) if earlier else int(existing or 0), items))
    if numbered:
        ctx.recorder.step(
            node,
            "evidence",
            "evidence",
            output=numbered,  # whole Evidence records: an unfinished trace still holds them
            images=sorted({e.image for e in numbered if e.image}),
        )
    return numbered


def record_model_calls(ctx: RunContext, node: str, calls: list[ModelCall], task: str | None = None) -> None:
    for call in calls:
        ctx.recorder.step(
            node,
            "model_call",
            call.name,
            arguments=call.arguments,
            output=call.output,
            started=call.started,
            duration_s=call.duration_s,
            messages_digest=call.messages_digest,
            raw_output=call.raw_output,
            task=task,
        )


def record_error(ctx: RunContext, node: str, what: str, exc: BaseException) -> str:
    message = f"{what}: {type(exc).__name__}: {exc}"
    ctx.recorder.step(node, "error", what, output={"error": message, "type": type(exc).__name__})
    return message
