"""consensus: aggregate the verified candidates with the configured strategy, inside
the user's constraint (countries, a box) when one is given; then on to review when the
run is reviewed, else straight to finalize."""

from __future__ import annotations

from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from ..consensus import aggregate, best_consensus
from ..constraints import Constraint, constrained_consensus
from ..context import RunContext
from ..state import RunState


def consensus(state: RunState, runtime: Runtime[RunContext]) -> Command[Literal["review", "finalize"]]:
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
    # review only when someone will decide (now, or as recorded): otherwise straight on,
    # one superstep fewer for every run that nobody reviews
    wants_review = ctx.review or ctx.review_decision is not None
    return Command(goto="review" if wants_review else "finalize", update={"result": result})
