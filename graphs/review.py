"""Human review: what a person may decide about the candidates before the answer is final.

An investigator who knows something the run does not (the photo came from a Lisbon
account; the second candidate is the street they recognise) should be able to say so
and get an answer that follows, with the decision on record. The review node pauses
the run (LangGraph ``interrupt``) with :func:`review_request`; the person's
:class:`ReviewDecision` is applied by :func:`apply_review` and consensus is re-run on
what remains.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tools.evidence import Candidate
from tools.gazetteer import Gazetteer
from tools.hints import Hint

from .consensus import aggregate, best_consensus
from .constraints import OUTSIDE, Constraint, constrained_consensus
from .state import ConsensusResult


class ReviewDecision(BaseModel):
    """A reviewer's verdict. Indices refer to the ranked candidates shown for review."""

    model_config = ConfigDict(extra="forbid")

    accept: bool = Field(default=True, description="Keep the answer as it is (when nothing else is given).")
    select: int | None = Field(default=None, ge=0, description="Answer with this candidate.")
    reject: list[int] = Field(default_factory=list, description="Drop these candidates.")
    hint: str | None = Field(default=None, description="What the reviewer knows, e.g. 'Portugal' or 'Lisbon'.")
    countries: list[str] = Field(default_factory=list, description="Keep only candidates in these countries.")
    note: str = Field(default="", description="Why, for the record.")
    reviewer: str = ""

    @property
    def changes(self) -> bool:
        return self.select is not None or bool(self.reject or self.hint or self.countries) or not self.accept


def review_request(result: ConsensusResult, limit: int = 10) -> dict[str, Any]:
    """What the reviewer is shown (JSON): the answer and the ranked candidates."""
    return {
        "answer": {
            "lat": result.lat,
            "lon": result.lon,
            "confidence": result.confidence,
            "radius_km": result.radius_km,
            "place": ", ".join(p for p in (result.city, result.region, result.country) if p),
            "reason": result.reason,
        },
        "candidates": [
            {
                "index": i,
                "label": c.label,
                "lat": c.lat,
                "lon": c.lon,
                "score": round(c.score, 4),
                "country_code": c.country_code,
                "radius_km": round(c.radius_km, 1),
                "sources": c.sources,
                "outside_constraint": bool(c.details.get(OUTSIDE)),
            }
            for i, c in enumerate(result.ranked[:limit])
        ],
        "decision_schema": ReviewDecision.model_json_schema(),
    }


def _hint_countries(decision: ReviewDecision, places: Any) -> set[str]:
    """Countries a review names, directly or through a place named in its hint
    (ConfigError for an unknown country, like a hint given to ``locate``)."""
    codes: set[str] = set()
    hint = Hint.coerce(decision.hint, country=decision.countries or None)
    if hint is not None:
        codes |= set(hint.countries)
        for evidence in hint.to_evidence(places) if places is not None and hint.text else []:
            if evidence.countries:
                best = max(evidence.countries.values())
                codes |= {c for c, p in evidence.countries.items() if p >= 0.5 * best}
    return codes


def apply_review(
    decision: ReviewDecision,
    result: ConsensusResult,
    strategy: str,
    gazetteer: Gazetteer,
    places: Any = None,
    constraint: Constraint | None = None,
    **options: Any,
) -> tuple[ConsensusResult, str]:
    """The reviewed answer and a one-line account of what changed.

    Consensus is re-run inside the run's ``constraint`` (its ``--country``/``--bbox``), as
    the first one was: rejecting the candidates inside never promotes one outside. A
    candidate the reviewer selects by index is their answer even outside it, and the
    reason says so."""
    if not decision.changes:
        return result, "accepted as it was"
    ranked: list[Candidate] = list(result.ranked)
    if decision.select is not None:
        if decision.select >= len(ranked):
            return result, f"selection {decision.select} is not a candidate (0..{len(ranked) - 1}); answer kept"
        chosen = ranked[decision.select].model_copy(update={"score": 1.0})
        reviewed = aggregate([chosen], "best", gazetteer)
        reviewed.ranked = [chosen] + [c for i, c in enumerate(ranked) if i != decision.select]
        reviewed.reason = f"reviewer chose candidate {decision.select} ({chosen.label})"
        if constraint is not None and not constraint.admits(chosen, gazetteer):
            reviewed.reason += f", outside the run's constraint ({constraint.describe()})"
        return reviewed, reviewed.reason
    kept = [c for i, c in enumerate(ranked) if i not in set(decision.reject)]
    told = []
    if decision.reject:
        told.append(f"rejected {len(ranked) - len(kept)} candidate(s)")
    countries = _hint_countries(decision, places)
    if countries:
        inside = [c for c in kept if c.country_code in countries]
        told.append(f"kept {len(inside)} candidate(s) in {', '.join(sorted(countries))}")
        kept = inside
    elif decision.hint:
        told.append(f"hint {decision.hint!r} names no country I can use")
    reviewed = constrained_consensus(
        kept,
        constraint,
        lambda found: aggregate(found, strategy, gazetteer, **options),
        lambda found: best_consensus(found, gazetteer),
        gazetteer,
        strategy,
    )
    if not kept:
        reviewed.reason = "the reviewer ruled out every candidate"
    return reviewed, "; ".join(told) or "no change"
