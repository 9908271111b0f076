"""Geolocation metrics: distances, accuracy at the standard thresholds, GeoScore,
calibration by confidence and coverage."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from tools.geo import haversine_km

#: The thresholds of the field (street, city, region, country, continent), km.
THRESHOLDS_KM = (1, 25, 200, 750, 2500)
CONFIDENCE_BUCKETS = ((0.0, 0.1), (0.1, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.01))


def geoscore(distance_km: float) -> float:
    """GeoGuessr-style score: 5000 at the spot, 5000*exp(-d/1492.7)."""
    return 5000.0 * math.exp(-distance_km / 1492.7)


@dataclass(frozen=True)
class Outcome:
    """One prediction against the truth. ``distance_km`` is None when the run did not answer."""

    id: str
    distance_km: float | None
    confidence: float

    @classmethod
    def of(cls, id: str, pred: tuple[float, float] | None, truth: tuple[float, float], confidence: float) -> Outcome:
        distance = None if pred is None else haversine_km(pred[0], pred[1], truth[0], truth[1])
        return cls(id, distance, confidence)


def summarize(outcomes: Sequence[Outcome]) -> dict:
    """Accuracy within each threshold (unanswered counts as wrong), median/mean error of
    answered items, mean GeoScore (0 for no answer), coverage and calibration."""
    n = len(outcomes)
    answered = [o for o in outcomes if o.distance_km is not None]
    distances = [o.distance_km for o in answered if o.distance_km is not None]
    summary: dict = {
        "n": n,
        "answered": len(answered),
        "coverage": len(answered) / n if n else 0.0,
        "accuracy": {f"{t}km": (sum(d <= t for d in distances) / n if n else 0.0) for t in THRESHOLDS_KM},
        "median_km": statistics.median(distances) if distances else None,
        "mean_km": statistics.fmean(distances) if distances else None,
        "geoscore": statistics.fmean([geoscore(d) for d in distances] + [0.0] * (n - len(distances))) if n else 0.0,
    }
    buckets = []
    for low, high in CONFIDENCE_BUCKETS:
        inside = [o for o in answered if low <= o.confidence < high]
        buckets.append(
            {
                "confidence": f"[{low:.2f}, {min(high, 1.0):.2f})",
                "n": len(inside),
                "within_25km": sum(o.distance_km <= 25 for o in inside) / len(inside) if inside else None,
                "within_200km": sum(o.distance_km <= 200 for o in inside) / len(inside) if inside else None,
            }
        )
    summary["calibration"] = buckets
    confident = [o for o in answered if o.confidence >= 0.5]
    summary["confident"] = {
        "n": len(confident),
        "within_200km": sum(o.distance_km <= 200 for o in confident) / len(confident) if confident else None,
    }
    return summary
