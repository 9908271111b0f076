"""A policy that follows a script: fixed tool-call rounds, then fixed proposals.

For tests, demonstrations and controlled experiments (what does consensus do with
exactly these candidates?). It exercises the same graph, budget, trace and consensus
as the real policies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage

from tools.evidence import Candidate

from ..policy import PlanStep, Policy, Proposal, ProposalTask, RunView, register_policy


class ScriptedPolicy(Policy):
    """``rounds``: a list of rounds, each a list of (tool name, arguments).
    ``proposals``: lane name -> candidates, one proposal task per lane."""

    name = "scripted"

    def __init__(
        self,
        rounds: Sequence[Sequence[tuple[str, dict[str, Any]]]] = (),
        proposals: Mapping[str, Sequence[Candidate]] | None = None,
    ) -> None:
        self.rounds = [list(r) for r in rounds]
        self.proposals = {k: list(v) for k, v in (proposals or {}).items()}

    def plan(self, view: RunView) -> PlanStep:
        if view.step >= len(self.rounds):
            return PlanStep(AIMessage(content="script finished"))
        calls = [
            {"name": name, "args": args, "id": f"script{view.step}-{i}", "type": "tool_call"}
            for i, (name, args) in enumerate(self.rounds[view.step])
        ]
        return PlanStep(AIMessage(content=f"round {view.step}", tool_calls=calls))

    def proposal_tasks(self, view: RunView) -> list[ProposalTask]:
        return [ProposalTask(lane) for lane in self.proposals]

    def propose(self, view: RunView, task: ProposalTask) -> Proposal:
        return Proposal(task=task, candidates=list(self.proposals[task.lane]))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rounds": [[[name, args] for name, args in r] for r in self.rounds],
            "proposals": {lane: [c.model_dump(mode="json") for c in cands] for lane, cands in self.proposals.items()},
        }

    @classmethod
    def from_description(cls, description: dict[str, Any], **parts: Any) -> ScriptedPolicy:
        rounds = [[(str(name), dict(args)) for name, args in r] for r in description.get("rounds") or []]
        proposals = {
            lane: [Candidate.model_validate(c) for c in cands]
            for lane, cands in (description.get("proposals") or {}).items()
        }
        return cls(rounds, proposals)


register_policy(ScriptedPolicy)
