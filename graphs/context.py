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

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = Clock(self.budget.max_seconds)

    def tool_kind(self, name: str) -> str:
        if name in self.kinds:
            return self.kinds[name]
        tool = self.tools.get(name)
        if tool is None:
            return "unknown"
        return str(getattr(tool, "kind", None) or getattr(type(tool), "kind", "other"))
