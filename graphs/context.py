"""Per-run configuration and live objects, handed to every node by LangGraph's runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.tools import BaseTool

from tools.base import ToolContext
from tools.gazetteer import Gazetteer
from tools.hints import Hint

from .budget import Budget, Clock
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
    #: A :class:`~graphs.replay.TraceReplay` when this run replays a trace.
    replay: Any = None
    #: Pause before finalize for a person's decision (needs a checkpointer).
    review: bool = False

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = Clock(self.budget.max_seconds)

    def tool_kind(self, name: str) -> str:
        tool = self.tools.get(name)
        return getattr(type(tool), "kind", "other") if tool is not None else "unknown"
