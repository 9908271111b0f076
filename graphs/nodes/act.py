"""act: run the planned tool calls within the budget; collect observations and evidence."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import ToolMessage
from langgraph.runtime import Runtime

from tools.evidence import Observation

from ..context import RunContext
from ..state import RunState
from .common import record_evidence, refuse_tool, run_tool


def _refusal(state_counts: dict[str, int], kind: str, ctx: RunContext) -> str | None:
    assert ctx.clock is not None
    if sum(state_counts.values()) >= ctx.budget.max_tool_calls:
        return f"budget: no more tool calls (limit {ctx.budget.max_tool_calls})"
    limit = ctx.budget.kind_limit(kind)
    if limit is not None and state_counts.get(kind, 0) >= limit:
        return f"budget: no more '{kind}' calls (limit {limit})"
    if ctx.clock.expired():
        return f"budget: time is up ({ctx.budget.max_seconds:g} s)"
    return None


def act(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    counts = dict(state.tool_counts)
    observations: list[Observation] = []
    messages: list[ToolMessage] = []
    found = []
    for call in state.pending:
        name, arguments, call_id = call["name"], call["args"], call["id"]
        kind = ctx.tool_kind(name)
        refusal = _refusal(counts, kind, ctx)
        if refusal is not None:
            observation = refuse_tool(ctx, "act", name, arguments, call_id, refusal)
        else:
            observation = run_tool(ctx, "act", name, arguments, call_id)
            counts[kind] = counts.get(kind, 0) + 1
        observations.append(observation)
        found.extend(observation.evidence)
        messages.append(
            ToolMessage(
                content=observation.text,
                tool_call_id=call_id,
                name=name,
                status="error" if observation.error else "success",
                artifact={"images": list(observation.images)},
            )
        )
    evidence = record_evidence(ctx, "act", state.evidence, found)
    return {
        "observations": observations,
        "evidence": evidence,
        "messages": messages,
        "tool_counts": counts,
        "pending": [],
    }
