"""plan: ask the policy for the next tool calls, or fan out proposals when it is done
(or when the budget says so)."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from tools.errors import ReplayDivergenceError

from ..context import RunContext
from ..policy import PlanStep, ProposalTask
from ..state import RunState
from .common import make_view, record_error, record_model_calls


def _budget_stop(state: RunState, ctx: RunContext) -> str | None:
    assert ctx.clock is not None
    if state.step >= ctx.budget.max_steps:
        return f"step budget reached ({ctx.budget.max_steps} rounds)"
    if sum(state.tool_counts.values()) >= ctx.budget.max_tool_calls:
        return f"tool-call budget reached ({ctx.budget.max_tool_calls} calls)"
    if ctx.clock.expired():
        return f"time budget reached ({ctx.budget.max_seconds:g} s)"
    return None


def plan(state: RunState, runtime: Runtime[RunContext]) -> Command[Literal["act", "propose", "verify"]]:
    ctx = runtime.context
    view = make_view(state, ctx)
    stop = _budget_stop(state, ctx)
    decision: PlanStep | None = None
    if stop is None:
        try:
            decision = ctx.policy.plan(view)
        except ReplayDivergenceError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing policy ends gathering, not the run
            stop = record_error(ctx, "plan", "policy.plan", exc)
    notes = []
    if decision is not None:
        record_model_calls(ctx, "plan", decision.model_calls)
        for note in decision.notes:
            ctx.recorder.error("plan", note.tool or "policy", note.error or note.text, "policy note", note.arguments)
        notes = list(decision.notes)
    if decision is not None and not decision.done:
        calls = [
            {"name": c["name"], "args": c.get("args") or {}, "id": c.get("id") or f"s{state.step}-{i}"}
            for i, c in enumerate(decision.message.tool_calls)
        ]
        ctx.recorder.decision(
            "plan",
            "act",
            {"tool_calls": calls, "rationale": decision.rationale or decision.message.content},
            arguments={"step": state.step},
        )
        update = {"pending": calls, "messages": [decision.message], "step": state.step + 1, "observations": notes}
        return Command(goto="act", update=update)

    reason = stop or (decision.rationale if decision else "") or "policy has no further tool calls"
    update = {
        "stop_reason": reason,
        "messages": [decision.message] if decision is not None else [],
        "observations": notes,
    }
    # proposers (and the choice of proposals) see the state as this update leaves it
    seen = replace(state, messages=[*state.messages, *update["messages"]], observations=[*state.observations, *notes])
    try:
        tasks: list[ProposalTask] = ctx.policy.proposal_tasks(make_view(seen, ctx))
    except ReplayDivergenceError:
        raise
    except Exception as exc:  # noqa: BLE001
        record_error(ctx, "plan", "policy.proposal_tasks", exc)
        tasks = []
    ctx.recorder.decision(
        "plan", "propose", {"reason": reason, "tasks": [t.label for t in tasks]}, arguments={"step": state.step}
    )
    if not tasks:
        return Command(goto="verify", update=update)
    return Command(goto=[Send("propose", {"task": task, "state": seen}) for task in tasks], update=update)
