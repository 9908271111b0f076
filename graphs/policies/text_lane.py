"""The text lane: candidates from what the image's text says.

Every place mention proposes its readings, re-weighted by how well each reading's
country fits the *other* clues (script, language, phone prefix, domain, street type,
other place names, hints). When the clues agree on a country but name no place in it,
the lane proposes that country's centre with a country-sized radius, so the answer is
honest about how little is known.
"""

from __future__ import annotations

from tools.evidence import Candidate, Evidence

from ..policy import RunView
from .countries import country_belief, supporters
from .playbook import Lane

#: A reading must keep this share of its mention's weight to be proposed.
MIN_READING_SHARE = 0.15
MAX_READINGS_PER_MENTION = 3
#: Only propose a country centre when this much belief and support back it.
MIN_COUNTRY_BELIEF = 0.35
MIN_COUNTRY_SCORE = 0.1


def _sources(item: Evidence) -> list[str]:
    ids = [item.id] if item.id else []
    return ids + [i for i in item.details.get("from", []) if i and i not in ids]


def place_candidates(evidence: list[Evidence]) -> list[Candidate]:
    out: list[Candidate] = []
    for mention in (e for e in evidence if e.kind == "place_name"):
        belief = country_belief(evidence, exclude={mention.id} if mention.id else None)
        readings = mention.details.get("readings", [])
        weights = []
        for reading in readings:
            fit = belief.get(reading["country_code"], 0.0) if belief else 1.0
            top = max(belief.values()) if belief else 1.0
            weights.append(reading["prior"] * reading["strength"] * (0.1 + 0.9 * fit / top))
        total = sum(weights)
        if total <= 0:
            continue
        ranked = sorted(zip(readings, weights), key=lambda rw: -rw[1])
        for reading, weight in ranked[:MAX_READINGS_PER_MENTION]:
            share = weight / total
            if share < MIN_READING_SHARE:
                break
            kind = reading["kind"]
            out.append(
                Candidate(
                    lat=reading["lat"],
                    lon=reading["lon"],
                    label=f"{reading['name']} ('{mention.details.get('key', '')}')",
                    score=round(mention.confidence * share, 4),
                    sources=_sources(mention),
                    radius_km=reading["radius_km"],
                    country_code=reading["country_code"],
                    region=reading["region"] if kind in ("city", "region") else None,
                    city=reading["name"] if kind == "city" else None,
                    details={"reading": reading["id"], "place_kind": kind, "share": round(share, 4)},
                )
            )
    return out


def country_candidate(evidence: list[Evidence], view: RunView) -> Candidate | None:
    """The centre of the country the clues agree on, with a country-sized radius."""
    belief = country_belief(evidence)
    if not belief or view.gazetteer is None:
        return None
    code, share = next(iter(belief.items()))
    country = view.gazetteer.country(code)
    if country is None:
        return None
    backing = supporters(evidence, code)
    doubt = 1.0
    for item in backing:
        doubt *= 1.0 - item.confidence
    score = share * (1.0 - doubt)
    if share < MIN_COUNTRY_BELIEF or score < MIN_COUNTRY_SCORE:
        return None
    return Candidate(
        lat=country.lat,
        lon=country.lon,
        label=f"somewhere in {country.name}",
        score=round(min(0.95, score), 4),
        sources=list(dict.fromkeys(s for item in backing for s in _sources(item))),
        radius_km=round(country.radius_km, 1),
        country_code=code,
        details={"place_kind": "country", "belief": round(share, 4)},
    )


class TextLane(Lane):
    """Place readings plus, when the clues agree on one, a country centre."""

    name = "text"

    def candidates(self, view: RunView) -> list[Candidate]:
        evidence = [e for e in view.evidence if e.kind != "exif"]
        found = place_candidates(evidence)
        country = country_candidate(evidence, view)
        if country is not None:
            found.append(country)
        return found
