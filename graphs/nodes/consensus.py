"""consensus: aggregate the verified candidates with the configured strategy, inside
the user's constraint (countries, a box) when one is given."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from ..consensus import aggregate, best_consensus
from ..constraints import Constraint, constrained_consensus
from ..context import RunContext
from ..state import RunState


def consensus(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    constraint = Constraint.from_hint(ctx.hint)
    result = constrained_consensus(
        state.candidates,
        constraint,
        lambda found: aggregate(found, ctx.strategy, ctx.gazetteer, **ctx.strategy_options),
        lambda found: best_consensus(found, ctx.gazetteer),
        ctx.gazetteer,
        ctx.strategy,
    )
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
        arguments={
            "strategy": ctx.strategy,
            "options": ctx.strategy_options,
            "candidates": len(state.candidates),
            **({"constraint": constraint.describe()} if constraint else {}),
        },
    )
    return {"result": result}
