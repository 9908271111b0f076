"""The result of ``Agent.ask``: the answer to a question about a photo, with the place
it rests on, the research steps and the evidence cited."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from graphs.research import NO_MODEL_NOTE, TextAnswer
from tools.evidence import Evidence

from .location import Location

#: Model rounds of the research phase when ``ask`` is not told otherwise.
DEFAULT_RESEARCH_ROUNDS = 8


class Answer(BaseModel):
    """``text`` is the answer (None when there is none: ``note`` says why); ``location``
    is the settled place the research started from; ``steps`` the research tool calls in
    order; ``evidence`` the evidence the answer cites (every piece, research included,
    is on ``location.evidence``); the trace holds all of it."""

    question: str
    text: str | None = None
    status: str = "no_answer"
    reasoning: str = ""
    confidence: float = 0.0
    note: str = ""
    location: Location
    steps: list[dict[str, Any]] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.text is not None

    @property
    def trace_path(self) -> str | None:
        return self.location.trace_path

    @property
    def run_id(self) -> str:
        return self.location.run_id

    @classmethod
    def from_location(cls, question: str, location: Location) -> Answer:
        found = location.text_answer or TextAnswer(question=question, status="no_model", note=NO_MODEL_NOTE)
        by_id = {e.id: e for e in location.evidence}
        return cls(
            question=question,
            text=found.answer,
            status=found.status,
            reasoning=found.reasoning,
            confidence=found.confidence,
            note=found.note,
            location=location,
            steps=list(found.steps),
            evidence=[by_id[i] for i in found.evidence if i in by_id],
        )

    def explain(self) -> str:
        """A few lines for a person: the place, the answer and what it rests on."""
        lines = [f"Q: {self.question}"]
        lines.append(f"place: {self.location.summary or self.location.reason or 'not settled'}")
        if self.text is not None:
            lines.append(f"answer: {self.text} (confidence {self.confidence:.2f})")
            for item in self.evidence[:6]:
                where = f" <{item.provenance}>" if item.provenance else ""
                value = item.value if len(item.value) <= 140 else item.value[:137] + "..."
                lines.append(f"  [{item.id}] {item.kind}: {value}{where}")
            if self.reasoning:
                lines.append(f"reasoning: {self.reasoning[:400]}")
        else:
            lines.append(f"answer: none. {self.note}")
        if self.steps:
            tools = ", ".join(str(s.get("tool")) for s in self.steps if s.get("tool"))
            lines.append(f"research: {len(self.steps)} tool call(s): {tools}")
        return "\n".join(lines)
