"""The run state: what the graph accumulates, with reducers for fan-in.

Pixels and live objects (tools, models, the image registry) stay out of the state,
in :class:`~graphs.context.RunContext`; the state holds only serialisable records,
so it can be checkpointed (human review) and compared across runs.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel, Field

from tools.evidence import Candidate, Evidence, Observation


class ProposalRecord(BaseModel):
    """What one proposal task produced."""

    lane: str
    sample: int
    candidates: list[Candidate] = Field(default_factory=list)
    note: str = ""


class ConsensusResult(BaseModel):
    """The aggregated answer before it becomes a user-facing ``Location``."""

    strategy: str
    lat: float | None = None
    lon: float | None = None
    confidence: float = 0.0
    radius_km: float | None = None
    country_code: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    ranked: list[Candidate] = Field(default_factory=list)
    support: list[int] = Field(default_factory=list, description="Indices into ranked that make up the answer.")
    reason: str = ""
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def answered(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass
class RunState:
    question: str | None = None
    images: list[dict[str, Any]] = field(default_factory=list)
    evidence: Annotated[list[Evidence], operator.add] = field(default_factory=list)
    observations: Annotated[list[Observation], operator.add] = field(default_factory=list)
    messages: Annotated[list[AnyMessage], add_messages] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    tool_counts: dict[str, int] = field(default_factory=dict)
    step: int = 0
    stop_reason: str | None = None
    proposals: Annotated[list[ProposalRecord], operator.add] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    result: ConsensusResult | None = None
    summary: str = ""
    #: The research phase's answer to the question (``Agent.ask``; a ``graphs.research.TextAnswer``).
    text_answer: Any = None


def number_evidence(existing: int, items: list[Evidence]) -> list[Evidence]:
    """Give new evidence stable ids ``ev:N`` continuing after ``existing`` items."""
    return [item.model_copy(update={"id": f"ev:{existing + i}"}) for i, item in enumerate(items)]
