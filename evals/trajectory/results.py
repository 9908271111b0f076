"""What step coverage reports: one match per step, and the coverage of a run."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class StepMatch:
    """One expert step and how well the run's evidence covers it.

    ``score`` is the lexical noisy-OR score in [0, 1] or the best cosine similarity;
    ``evidence`` names the best-matching evidence (its id, several ids joined with "+"
    for the run's OCR lines read together, or "summary"); ``matched`` lists the matching
    terms (lexical) or the evidence sentence (semantic).
    """

    step: str
    score: float
    covered: bool
    evidence: str | None = None
    matched: tuple[str, ...] = ()


@dataclass(frozen=True)
class Coverage:
    """Step coverage of one run against one expert solution."""

    method: str
    threshold: float
    steps: tuple[StepMatch, ...]

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def covered(self) -> int:
        return sum(s.covered for s in self.steps)

    @property
    def share(self) -> float | None:
        """Covered steps over all steps; None when the solution has no steps."""
        return self.covered / self.total if self.steps else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "threshold": self.threshold,
            "total": self.total,
            "covered": self.covered,
            "share": self.share,
            "steps": [asdict(s) for s in self.steps],
        }
