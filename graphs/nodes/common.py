"""Helpers the nodes share: building the policy's view, running and recording tool calls."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from tools.base import call_tool_with_deadline
from tools.evidence import Evidence, Observation
from tools.net import EgressRecord

from ..context import RunContext
from ..duplicates import mark_copies
from ..policy import ModelCall, RunView
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
        refusal=ctx.refusal,
        deadline=ctx.clock.deadline(),
    )


def tool_deadline(ctx: RunContext) -> dict[str, float | None]:
    """The run's deadline from its budget clock, handed to the tools (network calls honour
    it) and to the call itself (a tool still running then is cancelled)."""
    assert ctx.clock is not None
    deadline = ctx.clock.deadline()
    ctx.tool_context.deadline = deadline
    return {"deadline": deadline, "budget_s": ctx.budget.max_seconds}


def run_tool(ctx: RunContext, node: str, name: str, arguments: dict[str, Any], call_id: str) -> Observation:
    """Run one tool call and record it (full observation, so replay can answer it),
    followed by the images the call registered."""
    started, t0 = time.time(), time.perf_counter()
    tool = ctx.tools.get(name)
    refusal = ctx.refusal(name, arguments)
    if tool is None:
        observation = Observation.failure(name, arguments, f"unknown tool {name!r}; available: {', '.join(ctx.tools)}")
    elif refusal is not None:
        observation = Observation.failure(name, arguments, refusal)
    else:
        observation = call_tool_with_deadline(tool, arguments, call_id, **tool_deadline(ctx))
    index = ctx.recorder.tool_call(
        node,
        name,
        arguments=arguments,
        observation=observation,
        tool_kind=ctx.tool_kind(name),
        call_id=call_id,
        started=started,
        duration_s=time.perf_counter() - t0,
    )
    if ctx.journal is not None:
        ctx.journal.flush(node, index)
    return observation


def refuse_tool(
    ctx: RunContext, node: str, name: str, arguments: dict[str, Any], call_id: str, why: str
) -> Observation:
    """Record a call the run did not make (budget, network switch) as an error observation."""
    observation = Observation.failure(name, arguments, why)
    ctx.recorder.tool_call(
        node, name, arguments=arguments, observation=observation, tool_kind=ctx.tool_kind(name), call_id=call_id
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
        ctx.recorder.evidence(node, numbered)  # whole Evidence records: an unfinished trace still holds them
    return numbered


def record_model_calls(ctx: RunContext, node: str, calls: list[ModelCall], task: str | None = None) -> None:
    for call in calls:
        ctx.recorder.model_call(node, call, task=task)
        if ctx.model_server is not None:  # the conversation, photo included, went to another machine
            record = EgressRecord(
                service="model server",
                host=ctx.model_server,
                method="POST",
                sent=f"the conversation with the photo and {len(ctx.tool_context.images) - 1} derived image(s)",
                outcome="ok",
            )
            ctx.model_egress.append(record)
            ctx.recorder.egress(record, node)


def record_error(ctx: RunContext, node: str, what: str, exc: BaseException) -> str:
    message = f"{what}: {type(exc).__name__}: {exc}"
    ctx.recorder.error(node, what, message, type(exc).__name__)
    return message
