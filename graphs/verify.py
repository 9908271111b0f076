"""Verification: score each candidate against all the evidence, not only its own.

The analogue of G3's geo-verification. Each piece of evidence with a country prior
(script, language, phone prefix, TLD, a hint) or a place (a hint box, an OSM feature)
lowers the candidates it contradicts, in proportion to its confidence; so do measured
shadows at a known time where the sun could not have stood so. Agreement on a
*country* lifts only country- and region-sized candidates: that a sign is in German
makes "somewhere in Germany" likelier, but says nothing about whether the photo was
taken in the particular German town a street sign happens to name. A candidate's own sources are skipped, so nothing is
counted twice. Every adjustment is recorded on the candidate (``details.verification``)
so an investigator can see why a candidate rose or fell.
"""

from __future__ import annotations

from collections.abc import Sequence

from tools.errors import GeoSleuthError
from tools.evidence import Candidate, Evidence
from tools.gazetteer import Gazetteer
from tools.geo import haversine_km
from tools.sun.likelihood import CONSISTENT_P, Constraint, fit_area

from .consensus import CITY_MAX_RADIUS_KM, REGION_MAX_RADIUS_KM
from .correlation import independence_weights
from .duplicates import is_copy

#: How much one fully confident contradicting clue cuts a score, and one agreeing clue lifts it.
CONTRADICTION_CUT = 0.85
AGREEMENT_LIFT = 0.3
#: Evidence kinds whose area *checks* a candidate. Other located evidence (a GPS tag, a
#: place name) proposes candidates of its own, and their agreement is consensus's job:
#: counting it here too would count it twice.
CHECKING_KINDS = frozenset({"hint", "osm_feature"})
#: No candidate is ever certain: metadata can be forged, signs can be moved.
MAX_SCORE = 0.98
#: A model answer this close to 0,0 is a placeholder ("Null Island"), not a place.
NULL_ISLAND_KM = 10.0
NULL_ISLAND_FACTOR = 0.02
#: A model answer at least this far beyond every located clue, which no clue's country
#: prior allows, contradicts all the evidence.
FAR_FROM_EVIDENCE_KM = 2000.0
CONTRADICTS_ALL_FACTOR = 0.1
#: Clues weaker than this do not count when asking whether a model answer fits any clue.
MIN_SPEAKING_CONFIDENCE = 0.2


def _place_candidate(candidate: Candidate, gazetteer: Gazetteer | None) -> Candidate:
    if gazetteer is None:
        return candidate
    update = {}
    place = gazetteer.reverse(candidate.lat, candidate.lon)
    if candidate.country_code is None and place.country_code:
        update["country_code"] = place.country_code
    if candidate.region is None and place.region and candidate.radius_km <= REGION_MAX_RADIUS_KM:
        update["region"] = place.region
    if candidate.city is None and place.city and candidate.radius_km <= CITY_MAX_RADIUS_KM:
        update["city"] = place.city
    return candidate.model_copy(update=update) if update else candidate


def _country_effect(candidate: Candidate, item: Evidence, weight: float = 1.0) -> tuple[float, str] | None:
    """Lift or cut for how well the candidate's country fits this clue's prior; ``weight``
    discounts clues that repeat another one (see ``graphs.correlation``)."""
    prior = item.countries
    if not prior or candidate.country_code is None:
        return None
    top = max(prior.values())
    if top <= 0:
        return None
    support = prior.get(candidate.country_code, 0.0) / top
    trust = item.confidence * weight
    if support == 0.0:
        # a prior spread over many countries is weak evidence against any one of them
        concentration = top / sum(prior.values())
        why = f"{item.kind} '{item.value}' points away from {candidate.country_code}"
        return 1.0 - CONTRADICTION_CUT * trust * concentration, why
    if candidate.radius_km <= CITY_MAX_RADIUS_KM:
        return None  # the right country makes a town reading plausible, not the photo's spot
    return 1.0 + AGREEMENT_LIFT * trust * support, f"{item.kind} '{item.value}' fits {candidate.country_code}"


def _geo_effect(candidate: Candidate, item: Evidence) -> tuple[float, str] | None:
    if item.kind not in CHECKING_KINDS or item.geo is None or item.geo.radius_km is None:
        return None
    place_kind = item.details.get("place_kind")
    if place_kind == "country":
        return None  # the country prior already says it; a country is no disc
    if place_kind == "region" and candidate.region is not None:
        if candidate.region == item.details.get("region"):
            return 1.0 + AGREEMENT_LIFT * item.confidence, f"in hinted region {candidate.region}"
        return 1.0 - CONTRADICTION_CUT * item.confidence, f"outside hinted region '{item.value}'"
    distance = haversine_km(candidate.lat, candidate.lon, item.geo.lat, item.geo.lon)
    if distance <= item.geo.radius_km + candidate.radius_km:
        return 1.0 + AGREEMENT_LIFT * item.confidence, f"within {item.kind} area '{item.value}'"
    if item.kind == "hint":  # a hint is a constraint; a missing OSM match is weak evidence of absence
        return 1.0 - CONTRADICTION_CUT * item.confidence, f"outside hinted area '{item.value}'"
    return None


def _from_model(candidate: Candidate) -> bool:
    return "model_confidence" in candidate.details


def _plausibility(candidate: Candidate, evidence: Sequence[Evidence]) -> tuple[float, str, str] | None:
    """(factor, why, flag) for a model answer that cannot be right: at 0,0, or thousands of
    km from every located clue with no clue allowing its country."""
    if haversine_km(candidate.lat, candidate.lon, 0.0, 0.0) <= NULL_ISLAND_KM:
        return NULL_ISLAND_FACTOR, "model answer at 0,0 (Null Island): a placeholder, not a place", "null_island"
    gaps: list[float] = []
    fits = 0
    for item in evidence:
        if is_copy(item) or item.confidence < MIN_SPEAKING_CONFIDENCE or item.kind == "model_observation":
            continue
        if item.geo is not None:
            gap = haversine_km(candidate.lat, candidate.lon, item.geo.lat, item.geo.lon)
            gap -= (item.geo.radius_km or 0.0) + candidate.radius_km
            gaps.append(gap)
            fits += gap < FAR_FROM_EVIDENCE_KM
        elif item.countries and candidate.country_code is not None:
            fits += item.countries.get(candidate.country_code, 0.0) > 0  # a prior that allows its country
    if gaps and not fits:
        why = f"model answer contradicts every clue: at least {min(gaps):,.0f} km from each located clue"
        return CONTRADICTS_ALL_FACTOR, why, "contradicts_evidence"
    return None


#: A sun band is checked over at most this much of a candidate (a country is not a disc).
SUN_MAX_RADIUS_KM = 1500.0


def _sun_constraints(evidence: Sequence[Evidence]) -> dict[int, Constraint]:
    """The sun constraints among the evidence, read once (by position in the list)."""
    found = {}
    for index, item in enumerate(evidence):
        if item.kind == "sun" and item.details.get("constraint"):
            try:
                found[index] = Constraint.from_details(item.details["constraint"])
            except GeoSleuthError:
                continue  # a malformed record checks nothing
    return found


def _sun_effect(candidate: Candidate, item: Evidence, constraint: Constraint) -> tuple[float, str]:
    """No lift where the shadows fit (a band is wide), a cut where they cannot, growing as the fit worsens."""
    fit = fit_area(constraint, candidate.lat, candidate.lon, min(candidate.radius_km, SUN_MAX_RADIUS_KM))
    zone = f", clock read in {fit.zone}" if fit.zone else ""
    if fit.consistent:
        return 1.0, f"sun: the shadows fit here ({fit.explain(constraint)}{zone})"
    shortfall = 1.0 - fit.p_value / CONSISTENT_P
    why = f"sun: the shadows cannot fall so here ({fit.explain(constraint)}{zone})"
    return 1.0 - CONTRADICTION_CUT * item.confidence * shortfall, why


def verify_candidates(
    candidates: Sequence[Candidate], evidence: Sequence[Evidence], gazetteer: Gazetteer | None = None
) -> list[Candidate]:
    """Rescore candidates against the evidence; scores stay within [0, MAX_SCORE]."""
    out = []
    weights = independence_weights(evidence)
    suns = _sun_constraints(evidence)
    for candidate in candidates:
        placed = _place_candidate(candidate, gazetteer)
        own = set(placed.sources)
        factor = 1.0
        notes = []
        flags = []
        if _from_model(placed):
            found = _plausibility(placed, evidence)
            if found is not None:
                multiplier, why, flag = found
                factor *= multiplier
                flags.append(flag)
                notes.append({"evidence": None, "factor": multiplier, "why": why})
        for index, item in enumerate(evidence):
            if (item.id is not None and item.id in own) or is_copy(item):
                continue
            country = _country_effect(placed, item, weights.get(item.id or "", 1.0))
            sun = _sun_effect(placed, item, suns[index]) if index in suns else None
            for effect in (country, _geo_effect(placed, item), sun):
                if effect is None:
                    continue
                multiplier, why = effect
                factor *= multiplier
                notes.append({"evidence": item.id, "factor": round(multiplier, 4), "why": why})
        score = min(MAX_SCORE, placed.score * factor)
        details = {**placed.details, "proposed_score": placed.score, "verification": notes}
        if flags:
            details["flags"] = flags
        out.append(placed.model_copy(update={"score": round(score, 6), "details": details}))
    return out
