"""How much work a run may do: planning rounds, tool calls (overall and per kind), time."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools.deadline import BudgetSpent, call_within
from tools.errors import ConfigError
from tools.registry import ToolKind

#: Per-kind limits in the range agentic geolocators use (GeoVista allows a few crops,
#: a couple of searches and about six rounds). Kinds not listed are limited only by
#: the overall ``max_tool_calls``.
DEFAULT_PER_KIND = {
    ToolKind.IMAGE: 8,
    ToolKind.OCR: 12,
    ToolKind.TEXT: 12,
    ToolKind.SEARCH: 3,
    ToolKind.OSM: 4,
    ToolKind.METADATA: 4,
    ToolKind.KNOWLEDGE: 6,
}


class Budget(BaseModel):
    """Limits for one run. Pass a ``Budget`` or a dict of its fields to ``locate``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_steps: int = Field(default=8, ge=0, description="Planning rounds (plan -> act) before proposing.")
    max_tool_calls: int = Field(default=48, ge=0, description="Tool calls in all.")
    max_calls_per_kind: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_PER_KIND))
    max_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Wall time before the run stops gathering and answers.",
    )
    research_rounds: int = Field(
        default=0,
        ge=0,
        description="Model rounds of the research phase that answers the question after the place is settled "
        "(Agent.ask grants them; 0: no research phase, as in locate).",
    )
    research_tool_calls: int = Field(default=12, ge=0, description="Tool calls of the research phase.")

    @classmethod
    def coerce(cls, value: Budget | Mapping[str, Any] | None, base: Budget | None = None) -> Budget:
        """Accept a Budget, a partial dict (merged over ``base``) or None (``base``)."""
        base = base or cls()
        if value is None:
            return base
        if isinstance(value, Budget):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"budget must be a Budget or a dict, not {type(value).__name__}")
        merged = base.model_dump()
        per_kind = dict(merged["max_calls_per_kind"])
        per_kind.update(value.get("max_calls_per_kind") or {})
        merged.update(value)
        merged["max_calls_per_kind"] = per_kind
        try:
            return cls.model_validate(merged)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ConfigError(f"invalid budget: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None

    def kind_limit(self, kind: str) -> int | None:
        return self.max_calls_per_kind.get(kind)


class Clock:
    """Wall time of one run against its budget.

    Every ``expired()`` answer is kept in ``checks``: a run stopped by its time budget
    records where the clock said so, and its replay (:class:`ReplayClock`) says so at the
    same points, whatever the time it takes to replay.
    """

    def __init__(self, max_seconds: float) -> None:
        self.started = time.monotonic()
        self.max_seconds = max_seconds
        self.checks: list[bool] = []

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float:
        return max(0.0, self.max_seconds - self.elapsed())

    def deadline(self) -> float | None:
        """The ``time.monotonic()`` value at which the budget runs out (None: no deadline)."""
        return self.started + self.max_seconds

    def expired(self) -> bool:
        answer = self.elapsed() >= self.max_seconds
        self.checks.append(answer)
        return answer

    def record(self) -> list[bool] | None:
        """What a replay needs of this clock: its answers, when any of them was 'expired'."""
        return list(self.checks) if any(self.checks) else None


class ReplayClock(Clock):
    """Answers ``expired()`` as the recorded run's clock did, in order; no time passes."""

    def __init__(self, max_seconds: float, recorded: list[bool] | None) -> None:
        super().__init__(max_seconds)
        self._recorded = list(recorded or [])

    def elapsed(self) -> float:
        return 0.0

    def deadline(self) -> float | None:
        """None: a replayed call is answered from the trace at once, so there is nothing
        to cancel, and no worker thread per call (a call made live in lenient replay runs
        without a wall-time limit, as the recorded stops are replayed from the trace)."""
        return None

    def expired(self) -> bool:
        position = len(self.checks)
        if position < len(self._recorded):
            answer = self._recorded[position]
        else:
            answer = bool(self._recorded and self._recorded[-1])
        self.checks.append(answer)
        return answer


def model_reply_within(ask: Any, deadline: float | None, budget_s: float) -> Any:
    """``ask()`` (a model call), cancelled at the run's ``deadline`` (a ``time.monotonic()``
    value; None: wait as long as the model's own timeout). A served model that stalls must
    not hold the run past its wall-time budget when its own timeout may be minutes; the
    request goes on in the background and its late reply is dropped, as for a tool."""
    try:
        return call_within(ask, deadline, name="geosleuth-model")
    except BudgetSpent as cut:
        budget = f"wall-time budget of {budget_s:g} s"
        if cut.waited_s is None:
            raise TimeoutError(f"cancelled: {budget} ran out before the model was asked") from None
        raise TimeoutError(f"cancelled: {budget} ran out after {cut.waited_s:.3g} s waiting for the model") from None
