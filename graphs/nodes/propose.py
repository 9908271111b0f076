"""propose: one proposal task (a model sample or a heuristic lane); runs in parallel via Send."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from tools.errors import ReplayDivergenceError

from ..context import RunContext
from ..policy import Proposal, ProposalTask
from ..state import ProposalRecord, RunState
from .common import make_view, record_error, record_model_calls


def propose(payload: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    task: ProposalTask = payload["task"]
    state: RunState = payload["state"]
    started, t0 = time.time(), time.perf_counter()
    try:
        proposal = ctx.policy.propose(make_view(state, ctx), task)
    except ReplayDivergenceError:
        raise
    except Exception as exc:  # noqa: BLE001 - one failed sample must not sink the others
        note = record_error(ctx, "propose", f"policy.propose {task.label}", exc)
        proposal = Proposal(task=task, candidates=[], note=note)
    record_model_calls(ctx, "propose", proposal.model_calls, task=task.label)
    candidates = [c.model_copy(update={"proposer": c.proposer or task.label}) for c in proposal.candidates]
    ctx.recorder.candidates(
        "propose",
        task.label,
        "proposed",
        candidates,
        task=task.label,
        lane=task.lane,
        sample=task.sample,
        temperature=task.temperature,
        note=proposal.note,
        started=started,
        duration_s=time.perf_counter() - t0,
    )
    return {
        "proposals": [ProposalRecord(lane=task.lane, sample=task.sample, candidates=candidates, note=proposal.note)]
    }
