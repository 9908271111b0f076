"""review: when asked for, pause before finalize so a person can accept, select, reject
or narrow the candidates (LangGraph ``interrupt``; the run resumes with their decision)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import ValidationError

from tools.errors import GeoSleuthError
from tools.text_tool import place_index

from ..constraints import Constraint
from ..context import RunContext
from ..review import ReviewDecision, apply_review, review_request
from ..state import RunState
from ..trace_schema import ErrorInfo


def review(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    if state.result is None:
        return {}
    if ctx.review_decision is not None:  # decided in advance (or recorded, on replay)
        raw = ctx.review_decision
    elif not ctx.review:
        return {}
    else:
        # nothing is recorded before the interrupt: on resume this node runs again from the top
        raw = interrupt(review_request(state.result))
    try:
        decision = raw if isinstance(raw, ReviewDecision) else ReviewDecision.model_validate(raw or {})
        reviewed, account = apply_review(
            decision,
            state.result,
            ctx.strategy,
            ctx.gazetteer,
            place_index(ctx.tool_context),
            constraint=Constraint.from_hint(ctx.hint),
            **ctx.strategy_options,
        )
    except (ValidationError, GeoSleuthError) as exc:
        message = f"review not applied: {exc}".splitlines()[0]
        ctx.recorder.review(raw if isinstance(raw, dict) else {"raw": str(raw)}, error=ErrorInfo(message=message))
        return {}
    ctx.recorder.review(
        decision.model_dump(mode="json"),
        account=account,
        before=state.result.model_dump(mode="json", exclude={"ranked"}),
        after=reviewed.model_dump(mode="json", exclude={"ranked"}),
    )
    if decision.changes and decision.note:
        reviewed.reason = f"{reviewed.reason} (reviewer: {decision.note})"
    return {"result": reviewed}
