"""Per-run configuration and live objects, handed to every node by LangGraph's runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.tools import BaseTool

from tools.base import ToolContext
from tools.gazetteer import Gazetteer
from tools.hints import Hint

from .budget import Budget, Clock
from .image_journal import ImageJournal
from .network import NetworkPolicy
from .policy import Policy
from .trace import TraceRecorder


@dataclass
class RunContext:
    """Everything a node needs that is not state: the policy, the tools of this run,
    the trace recorder, the budget and clock, the consensus strategy, the gazetteer."""

    policy: Policy
    tools: dict[str, BaseTool]
    tool_context: ToolContext
    recorder: TraceRecorder
    gazetteer: Gazetteer
    budget: Budget = field(default_factory=Budget)
    clock: Clock | None = None
    strategy: str = "cluster"
    strategy_options: dict[str, Any] = field(default_factory=dict)
    use_metadata: bool = True
    hint: Hint | None = None
    #: Pause before finalize for a person's decision (needs a checkpointer).
    review: bool = False
    #: A review decision given in advance (a dict of ReviewDecision fields): applied at the
    #: review step without pausing (``locate(review={...})``, and replay of a reviewed run).
    review_decision: Any = None
    #: Writes each registered image as a trace step after the call that made it.
    journal: ImageJournal | None = None
    #: The registry's kind of each tool by name (budget categories, the trace's tool_kind).
    kinds: dict[str, str] = field(default_factory=dict)
    #: Which calls may leave the machine (offline unless the run was asked to go online).
    network: NetworkPolicy = field(default_factory=NetworkPolicy)
    #: Host of a model server off this machine (its calls are egress), else None.
    model_server: str | None = None
    #: Egress records of model calls (tools report theirs through the tool context).
    model_egress: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = Clock(self.budget.max_seconds)

    def refusal(self, name: str, arguments: dict[str, Any]) -> str | None:
        """Why the network switch refuses this call (None: it may run)."""
        tool = self.tools.get(name)
        return None if tool is None else self.network.refusal(tool, name, self.tool_kind(name), arguments)

    def tool_kind(self, name: str) -> str:
        if name in self.kinds:
            return self.kinds[name]
        tool = self.tools.get(name)
        if tool is None:
            return "unknown"
        return str(getattr(tool, "kind", None) or getattr(type(tool), "kind", "other"))
