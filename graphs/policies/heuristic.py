"""The embedded default: a fixed investigative playbook, no model.

The default playbook: metadata (when allowed), read the text of every image (OCR with
zoom passes), analyse that text for clues; when online, search the web for the most
distinctive text and check the street and shop names on OpenStreetMap near the best
candidates; when the user measured shadows, check where the sun allows them. Then
propose from three lanes - metadata, text, map - that verification and consensus
weigh against each other.

The playbook is a list of *plays*. On each planning round the first play that still
has work returns its tool calls; when none has, the policy proposes. Proposals come
from *lanes*, one per family of evidence (metadata, text, ...), fanned out in
parallel and weighed against each other by verification and consensus - so a GPS
tag and a street sign that disagree are both seen, not silently merged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage

from ..policy import PlanStep, Policy, Proposal, ProposalTask, RunView, register_policy
from .metadata import MetadataLane, MetadataPlay
from .online import OsmLane, OsmVerifyPlay, WebSearchPlay
from .playbook import Lane, Play
from .reading import AnalyzeTextPlay, ReadTextPlay
from .sun import SunPlay
from .text_lane import TextLane

#: Plays and lanes by name, so a policy's description rebuilds it (replay, resume).
#: Plug-ins add theirs with :func:`register_play` / :func:`register_lane`.
PLAYS: dict[str, type[Play]] = {}
LANES: dict[str, type[Lane]] = {}


def register_play(cls: type[Play]) -> type[Play]:
    PLAYS[cls.name] = cls
    return cls


def register_lane(cls: type[Lane]) -> type[Lane]:
    LANES[cls.name] = cls
    return cls


@functools.cache
def _takes_lanes(cls: type[Play]) -> bool:
    # asked once per class: a replay rebuilds its policy on every call, and inspecting a
    # signature costs more than the rest of that rebuild
    return "lanes" in inspect.signature(cls.__init__).parameters


def _make_play(cls: type[Play], lanes: Sequence[Lane]) -> Play:
    """A play that looks at the lanes' candidates (the sun check) is given the lanes."""
    return cls(lanes) if _takes_lanes(cls) else cls()


for _play in (MetadataPlay, ReadTextPlay, AnalyzeTextPlay, WebSearchPlay, OsmVerifyPlay, SunPlay):
    register_play(_play)
for _lane in (MetadataLane, TextLane, OsmLane):
    register_lane(_lane)


class HeuristicPolicy(Policy):
    """A fixed playbook of plays, then one proposal per lane that has candidates."""

    name = "heuristic"

    @classmethod
    def from_description(cls, description: dict[str, Any], **parts: Any) -> HeuristicPolicy:
        """The policy a trace header describes (plays and lanes by registered name)."""
        missing = [n for n in description.get("plays", []) if n not in PLAYS]
        missing += [n for n in description.get("lanes", []) if n not in LANES]
        if missing:
            raise ValueError(f"unknown play or lane {', '.join(map(repr, missing))}: register it, or pass the policy")
        lanes = [LANES[n]() for n in description["lanes"]] if "lanes" in description else None
        chosen = lanes if lanes is not None else cls().lanes
        plays = [_make_play(PLAYS[n], chosen) for n in description["plays"]] if "plays" in description else None
        return cls(plays, lanes)

    def __init__(self, plays: Sequence[Play] | None = None, lanes: Sequence[Lane] | None = None) -> None:
        self.lanes = list(lanes) if lanes is not None else [MetadataLane(), TextLane(), OsmLane()]
        self.plays = (
            list(plays)
            if plays is not None
            else [
                MetadataPlay(),
                ReadTextPlay(),
                AnalyzeTextPlay(),
                WebSearchPlay(),
                OsmVerifyPlay(),
                SunPlay(self.lanes),
            ]
        )

    def plan(self, view: RunView) -> PlanStep:
        for play in self.plays:
            calls = play.calls(view)
            if calls:
                tool_calls = [
                    {"name": name, "args": args, "id": f"h{view.step}-{i}", "type": "tool_call"}
                    for i, (name, args) in enumerate(calls)
                ]
                text = f"{play.name}: " + ", ".join(name for name, _ in calls)
                return PlanStep(AIMessage(content=text, tool_calls=tool_calls), rationale=text)
        return PlanStep(AIMessage(content="playbook finished"), rationale="playbook finished")

    def proposal_tasks(self, view: RunView) -> list[ProposalTask]:
        return [ProposalTask(lane.name) for lane in self.lanes if lane.candidates(view)]

    def propose(self, view: RunView, task: ProposalTask) -> Proposal:
        lane = next(lane for lane in self.lanes if lane.name == task.lane)
        found = lane.candidates(view)
        return Proposal(task=task, candidates=found, note=f"{len(found)} candidate(s) from {lane.name}")

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "plays": [p.name for p in self.plays], "lanes": [lane.name for lane in self.lanes]}


register_policy(HeuristicPolicy)
