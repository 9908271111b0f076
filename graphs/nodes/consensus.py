"""consensus: aggregate the verified candidates with the configured strategy."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from ..consensus import aggregate
from ..context import RunContext
from ..state import RunState


def consensus(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    result = aggregate(state.candidates, ctx.strategy, ctx.gazetteer, **ctx.strategy_options)
    if not result.answered and not state.candidates:
        result.reason = "no candidate location: " + (
            "no evidence points to a place" if state.evidence else "no evidence was found"
        )
        if not ctx.use_metadata:
            result.reason += " (metadata use is off)"
    ctx.recorder.decision(
        "consensus",
        ctx.strategy,
        result.model_dump(mode="json", exclude={"ranked"}),
        arguments={"strategy": ctx.strategy, "options": ctx.strategy_options, "candidates": len(state.candidates)},
    )
    return {"result": result}
