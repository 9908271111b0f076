"""Constraints are constraints: with countries or a box given, nothing outside can win.

A hint's countries and bounding box are also evidence (verification lowers candidates
outside them), but evidence can be outweighed; a constraint cannot. Consensus runs on
the candidates inside; if none is inside, the answer is "no answer inside the
constraint", with the best candidate outside shown as an alternative, never as the
answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tools.evidence import Candidate
from tools.gazetteer import Gazetteer
from tools.hints import Hint

from .state import ConsensusResult

#: Marks a candidate listed only as an alternative outside the constraint.
OUTSIDE = "outside_constraint"


@dataclass(frozen=True)
class Constraint:
    """Where the answer must lie: one of ``countries`` (ISO alpha-2) and inside ``bbox``
    (south, west, north, east; west > east crosses the antimeridian). Both hold when both are given."""

    countries: frozenset[str] = frozenset()
    bbox: tuple[float, float, float, float] | None = None

    @classmethod
    def from_hint(cls, hint: Hint | None) -> Constraint | None:
        if hint is None or not (hint.countries or hint.bbox):
            return None
        return cls(frozenset(hint.countries), hint.bbox)

    def describe(self) -> str:
        parts = []
        if self.countries:
            parts.append(("country " if len(self.countries) == 1 else "countries ") + ", ".join(sorted(self.countries)))
        if self.bbox is not None:
            south, west, north, east = self.bbox
            parts.append(f"box S{south:g} W{west:g} N{north:g} E{east:g}")
        return " and ".join(parts)

    def in_box(self, lat: float, lon: float) -> bool:
        if self.bbox is None:
            return True
        south, west, north, east = self.bbox
        if not south <= lat <= north:
            return False
        return west <= lon <= east if west <= east else (lon >= west or lon <= east)

    def admits_point(self, lat: float, lon: float, country_code: str | None, gazetteer: Gazetteer | None) -> bool:
        """Whether a point lies inside; its country from ``country_code`` or, failing that, the gazetteer."""
        if not self.in_box(lat, lon):
            return False
        if not self.countries:
            return True
        code = country_code or (gazetteer.reverse(lat, lon).country_code if gazetteer is not None else None)
        return code in self.countries

    def admits(self, candidate: Candidate, gazetteer: Gazetteer | None) -> bool:
        return self.admits_point(candidate.lat, candidate.lon, candidate.country_code, gazetteer)


def constrained_consensus(
    candidates: Sequence[Candidate],
    constraint: Constraint | None,
    aggregate: Callable[[Sequence[Candidate]], ConsensusResult],
    best: Callable[[Sequence[Candidate]], ConsensusResult],
    gazetteer: Gazetteer | None,
    strategy: str,
) -> ConsensusResult:
    """Consensus over the candidates inside ``constraint`` (all of them without one).

    ``aggregate`` is the configured strategy; ``best`` the single-best strategy, used
    when the aggregated point itself falls outside (a median between two inside
    candidates can leave a non-convex country). Candidates outside are listed after
    the inside ones, marked ``details.outside_constraint``, never as the answer.
    """
    if constraint is None:
        return aggregate(candidates)
    inside = [c for c in candidates if constraint.admits(c, gazetteer)]
    outside = [
        c.model_copy(update={"details": {**c.details, OUTSIDE: True}})
        for c in candidates
        if not constraint.admits(c, gazetteer)
    ]
    outside.sort(key=lambda c: (-c.score, c.radius_km, c.label))
    where = constraint.describe()
    if any(c.score > 0 for c in inside):
        result = aggregate(inside)
        if result.answered:
            assert result.lat is not None and result.lon is not None
            if not constraint.admits_point(result.lat, result.lon, result.country_code, gazetteer):
                fallback = best(inside)
                fallback.reason = f"the {strategy} answer fell outside the constraint ({where}); {fallback.reason}"
                result = fallback
        if outside:
            result.reason += f"; {len(outside)} candidate(s) outside the constraint ({where}) set aside"
        result.ranked = [*result.ranked, *outside]
        result.details = {**result.details, "constraint": where, "outside": len(outside)}
        return result
    reason = f"no answer inside the constraint ({where})"
    if outside:
        top = outside[0]
        place = top.label or f"{top.lat:.4f}, {top.lon:.4f}"
        country = f" ({top.country_code})" if top.country_code else ""
        reason += f": the best candidate, {place}{country}, is outside it"
    else:
        reason += ": no candidate was found at all"
    ranked = sorted(inside, key=lambda c: (-c.score, c.radius_km, c.label)) + outside
    return ConsensusResult(
        strategy=strategy,
        ranked=ranked,
        reason=reason,
        details={"constraint": where, "outside": len(outside)},
    )
