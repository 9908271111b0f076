"""The embedded default: a fixed investigative playbook, no model.

The playbook is a list of *plays*. On each planning round the first play that still
has work returns its tool calls; when none has, the policy proposes. Proposals come
from *lanes*, one per family of evidence (metadata, text, ...), fanned out in
parallel and weighed against each other by verification and consensus - so a GPS
tag and a street sign that disagree are both seen, not silently merged.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage

from tools.evidence import Candidate

from ..policy import PlanStep, Policy, Proposal, ProposalTask, RunView


class Play(ABC):
    """One step of the playbook."""

    name: str = "play"

    @abstractmethod
    def calls(self, view: RunView) -> list[tuple[str, dict[str, Any]]]:
        """Tool calls (name, arguments) still to make; empty when this play is done."""


class Lane(ABC):
    """One family of evidence that proposes candidates."""

    name: str = "lane"

    @abstractmethod
    def candidates(self, view: RunView) -> list[Candidate]:
        """Candidates this lane derives from the evidence so far."""


class MetadataPlay(Play):
    """Read every original image's EXIF first (ingest normally has already)."""

    name = "metadata"

    def calls(self, view: RunView) -> list[tuple[str, dict[str, Any]]]:
        if not view.use_metadata or "read_metadata" not in view.tools:
            return []
        return [
            ("read_metadata", {"image": root.handle})
            for root in view.images.roots()
            if not view.has_called("read_metadata", image=root.handle)
        ]


class MetadataLane(Lane):
    """EXIF GPS positions, one candidate per image."""

    name = "metadata"

    def candidates(self, view: RunView) -> list[Candidate]:
        out = []
        for item in view.evidence:
            if item.kind == "exif" and item.geo is not None and item.details.get("field") == "gps":
                out.append(
                    Candidate(
                        lat=item.geo.lat,
                        lon=item.geo.lon,
                        label=f"EXIF GPS of {item.image}",
                        score=item.confidence,
                        sources=[item.id] if item.id else [],
                        radius_km=item.geo.radius_km or 0.05,
                    )
                )
        return out


class HeuristicPolicy(Policy):
    """A fixed playbook of plays, then one proposal per lane that has candidates."""

    name = "heuristic"

    def __init__(self, plays: Sequence[Play] | None = None, lanes: Sequence[Lane] | None = None) -> None:
        self.plays = list(plays) if plays is not None else [MetadataPlay()]
        self.lanes = list(lanes) if lanes is not None else [MetadataLane()]

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
