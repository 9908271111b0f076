"""How much work a run may do: planning rounds, tool calls (overall and per kind), time."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools.errors import ConfigError

#: Per-kind limits in the range agentic geolocators use (GeoVista allows a few crops,
#: a couple of searches and about six rounds). Kinds not listed are limited only by
#: the overall ``max_tool_calls``.
DEFAULT_PER_KIND = {
    "image": 8,
    "ocr": 12,
    "text": 12,
    "search": 3,
    "osm": 4,
    "metadata": 4,
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
    """Wall time of one run against its budget."""

    def __init__(self, max_seconds: float) -> None:
        self.started = time.monotonic()
        self.max_seconds = max_seconds

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def expired(self) -> bool:
        return self.elapsed() >= self.max_seconds

    def deadline(self) -> float:
        """The ``time.monotonic()`` moment the run's wall time is up (tools are cancelled there)."""
        return self.started + self.max_seconds
