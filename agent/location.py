"""The result of ``Agent.locate``: an answer with its evidence, or an honest "no idea"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field, model_validator

from graphs.research import TextAnswer
from tools.evidence import Candidate, Evidence
from tools.net import EgressRecord


class Location(BaseModel):
    """Where the image was taken, how sure, how precise, and why.

    ``lat``/``lon`` are None when there is no answer; then ``confidence`` is 0 and
    ``reason`` says why. ``radius_km`` is the uncertainty radius around the point.
    ``candidates`` are ranked alternatives with their own scores and evidence ids;
    ``evidence`` is everything the run found, answer-supporting or not.
    """

    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    radius_km: float | None = Field(default=None, ge=0.0)
    country_code: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    candidates: list[Candidate] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    summary: str = ""
    reason: str = ""
    strategy: str = ""
    run_id: str = ""
    images: list[dict[str, Any]] = Field(default_factory=list)
    elapsed_s: float = 0.0
    trace_path: str | None = None
    trace: list[dict[str, Any]] | None = Field(default=None, repr=False)
    #: Whether the run was allowed online, and every request that left the machine.
    online: bool = False
    egress: list[EgressRecord] = Field(default_factory=list)
    #: The answer to the run's question when it was asked with ``Agent.ask`` (research phase).
    text_answer: TextAnswer | None = None

    @model_validator(mode="after")
    def _no_point_no_confidence(self) -> Location:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must both be set or both be None")
        if self.lat is None and self.confidence != 0.0:
            raise ValueError("an answer without a point must have confidence 0")
        return self

    @property
    def answered(self) -> bool:
        return self.lat is not None

    @property
    def point(self) -> tuple[float, float] | None:
        return (self.lat, self.lon) if self.lat is not None and self.lon is not None else None

    def supporting_evidence(self) -> list[Evidence]:
        """The evidence cited by the candidates that make up the answer (first candidate's first)."""
        wanted: list[str] = []
        for candidate in self.candidates[: max(1, len(self.candidates))]:
            for source in candidate.sources:
                if source not in wanted:
                    wanted.append(source)
        by_id = {e.id: e for e in self.evidence}
        return [by_id[i] for i in wanted if i in by_id]

    #: Fields that describe one execution rather than the answer (replay changes only these).
    RUN_FIELDS: ClassVar[frozenset[str]] = frozenset({"run_id", "elapsed_s", "trace_path", "trace", "egress"})

    def egress_summary(self) -> str:
        """One line: what left the machine ("sent 3 queries to 2 services; 1 failed")."""
        if not self.egress:
            return "nothing left this machine" + ("" if self.online else " (offline run)")
        services = {r.service for r in self.egress}
        failed = sum(not r.outcome.startswith("ok") for r in self.egress)
        count = len(self.egress)
        requests = f"{count} request{'s' if count != 1 else ''}"
        text = f"sent {requests} to {len(services)} service{'s' if len(services) != 1 else ''}"
        return text + (f"; {failed} failed" if failed else "")

    def answer_dict(self) -> dict[str, Any]:
        """The answer and everything behind it, without per-execution fields: two runs
        that reached the same answer the same way have equal ``answer_dict()``."""
        return self.model_dump(mode="json", exclude=set(self.RUN_FIELDS))

    def to_json(self, *, include_trace: bool = False, indent: int | None = 2) -> str:
        exclude = None if include_trace else {"trace"}
        return self.model_dump_json(indent=indent, exclude=exclude)

    def save_trace(self, path: str | Path) -> Path:
        """Write the in-memory trace as JSONL (when the run kept it in memory)."""
        if self.trace is None:
            raise ValueError(
                "this Location carries no in-memory trace"
                + (f"; it is at {self.trace_path}" if self.trace_path else "")
            )
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", encoding="utf-8") as fh:
            for record in self.trace:
                fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        return target
