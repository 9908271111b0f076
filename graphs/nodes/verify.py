"""verify: rescore every proposed candidate against all the evidence."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from ..context import RunContext
from ..state import RunState
from ..verify import verify_candidates


def verify(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    proposals = sorted(state.proposals, key=lambda p: (p.lane, p.sample))
    proposed = [c for p in proposals for c in p.candidates]
    verified = verify_candidates(proposed, state.evidence, ctx.gazetteer)
    ctx.recorder.candidates("verify", "verify", "verified", verified)
    return {"candidates": verified}
