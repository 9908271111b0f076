"""The policy interface: who decides what to look at next and what to propose.

Two policies share one graph: the heuristic playbook (no model) and a vision-language
model. A policy sees a read-only :class:`RunView` and answers with LangChain
``AIMessage`` tool calls, so the graph never parses model text and never imports the
model layer. Model invocations are reported back as :class:`ModelCall` records for the
trace (digest of the messages sent, raw text received).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import BaseTool

from tools.evidence import Candidate, Evidence, Observation
from tools.gazetteer import Gazetteer
from tools.hints import Hint
from tools.images import ImageRegistry

from .budget import Budget


@dataclass(frozen=True)
class ModelCall:
    """One model invocation, as the trace records it."""

    name: str
    messages_digest: str
    raw_output: str
    started: float
    duration_s: float
    arguments: dict[str, Any] = field(default_factory=dict)
    output: Any = None


@dataclass
class RunView:
    """What a policy may look at. Do not mutate."""

    images: ImageRegistry
    evidence: list[Evidence]
    observations: list[Observation]
    messages: list[BaseMessage]
    tools: dict[str, BaseTool]
    step: int
    tool_counts: dict[str, int]
    budget: Budget
    seconds_left: float
    hint: Hint | None
    question: str | None
    use_metadata: bool
    gazetteer: Gazetteer | None = None
    #: ``refusal(tool, arguments)``: why the network switch would refuse a call (None: allowed).
    refusal: Any = None
    #: When the run's wall-time budget runs out (a ``time.monotonic()`` value; None: never,
    #: as in a replay). A model call still waiting then is cancelled like a tool call.
    deadline: float | None = None

    def may_call(self, tool: str, arguments: dict[str, Any] | None = None) -> bool:
        """Whether a call of this tool exists in the run and would not be refused (offline)."""
        if tool not in self.tools:
            return False
        return self.refusal is None or self.refusal(tool, arguments or {}) is None

    def calls_left(self, kind: str) -> int:
        """How many more calls of a tool kind the budget allows."""
        total_left = self.budget.max_tool_calls - sum(self.tool_counts.values())
        limit = self.budget.kind_limit(kind)
        kind_left = total_left if limit is None else limit - self.tool_counts.get(kind, 0)
        return max(0, min(total_left, kind_left))

    def has_called(self, tool: str, **arguments: Any) -> bool:
        """Whether a tool was already called (with at least these arguments)."""
        for obs in self.observations:
            if obs.tool == tool and all(obs.arguments.get(k) == v for k, v in arguments.items()):
                return True
        return False


@dataclass
class PlanStep:
    """A policy's decision: tool calls to run next (``message.tool_calls``), or none to
    move on to proposing candidates."""

    message: AIMessage
    model_calls: list[ModelCall] = field(default_factory=list)
    rationale: str = ""
    #: Problems the policy met (a model's unreadable reply, say), kept as observations.
    notes: list[Observation] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return not self.message.tool_calls


@dataclass(frozen=True)
class ProposalTask:
    """One independent proposal to make: a model sample, or a heuristic evidence lane."""

    lane: str
    sample: int = 0
    temperature: float | None = None

    @property
    def label(self) -> str:
        return f"{self.lane}[{self.sample}]"


@dataclass
class Proposal:
    task: ProposalTask
    candidates: list[Candidate]
    model_calls: list[ModelCall] = field(default_factory=list)
    message: AIMessage | None = None
    note: str = ""


class Policy(ABC):
    """Decides the next tool calls and proposes candidates."""

    name: str = "policy"

    @abstractmethod
    def plan(self, view: RunView) -> PlanStep:
        """Next tool calls, or an empty message to stop gathering evidence."""

    def proposal_tasks(self, view: RunView) -> list[ProposalTask]:
        """The independent proposals to fan out (one per model sample or evidence lane)."""
        return [ProposalTask("default")]

    @abstractmethod
    def propose(self, view: RunView, task: ProposalTask) -> Proposal:
        """Candidates for one task. Called concurrently for different tasks."""

    def describe(self) -> dict[str, Any]:
        """Settings for the trace header: enough for :meth:`from_description` to rebuild it."""
        return {"name": self.name}

    @classmethod
    def from_description(cls, description: dict[str, Any], **parts: Any) -> Policy:
        """Rebuild a policy from its ``describe()`` output (replay, resuming a review in
        another process). ``parts`` carries live objects a description cannot hold (the
        model). Policies that cannot rebuild themselves raise; callers then take a
        policy object instead."""
        raise NotImplementedError(f"policy {cls.name!r} cannot be rebuilt from its description")


#: Policies by name, for :func:`policy_from_description`.
POLICIES: dict[str, type[Policy]] = {}


def register_policy(cls: type[Policy]) -> type[Policy]:
    POLICIES[cls.name] = cls
    return cls


def policy_from_description(description: dict[str, Any], **parts: Any) -> Policy:
    """The policy a trace header describes; ValueError names what cannot be rebuilt."""
    name = description.get("name")
    if name not in POLICIES:
        known = ", ".join(sorted(POLICIES)) or "none"
        raise ValueError(f"no registered policy {name!r} (registered: {known}); pass the policy object instead")
    try:
        return POLICIES[name].from_description(description, **parts)
    except NotImplementedError as exc:
        raise ValueError(str(exc)) from None
