"""Online plays: search the web for distinctive text, verify candidates on the map.

When the services are reachable, the playbook does what an investigator would after
reading the signs: search for the rarest text (a shop's name, a street), then check
on OpenStreetMap whether the street or shop names read in the image exist near the
best candidates. A verified feature is itself a precise candidate (the OSM lane) and
lifts the candidates it falls near (verification). The map check needs no network when
a local OSM index (``osm_db``) covers the candidates: it then runs in offline runs too.
The first "offline" answer of a service stops the plays that use it for the rest of
the run, so an offline run costs one fast probe.
"""

from __future__ import annotations

from typing import Any

from tools.evidence import Candidate, Evidence
from tools.registry import ToolKind
from tools.salience import salience
from tools.streets import find_street_words
from tools.tampering import tampered_ids

from ..policy import RunView
from .playbook import Lane, Play
from .text_lane import place_candidates

SEARCH_TOOL = "web_search"
VERIFY_TOOL = "osm_verify"
OSM_TOOLS = frozenset({VERIFY_TOOL, "osm_search", "osm_proximity", "osm_combo"})
ONLINE_TOOLS = frozenset({SEARCH_TOOL}) | OSM_TOOLS
#: Lines less salient than this are not worth a query.
MIN_SALIENCE = 0.2
MAX_QUERIES = 2
MAX_VERIFY_CANDIDATES = 2
MAX_VERIFY_TEXTS = 2
#: OSM matches below this quality do not propose candidates.
MIN_MATCH_CONFIDENCE = 0.4


def offline(view: RunView, tools: frozenset[str] = ONLINE_TOOLS) -> bool:
    """Whether one of ``tools`` already answered "offline" in this run."""
    return any(o.tool in tools and (o.error or "").startswith("offline") for o in view.observations)


def _read_lines(view: RunView) -> list[Evidence]:
    """Lines worth searching for: not edge text, not text flagged as tampering."""
    flagged = tampered_ids(view.evidence)
    return [e for e in view.evidence if e.kind == "ocr_text" and not e.details.get("edge") and e.id not in flagged]


def _quote(text: str) -> str:
    return '"' + " ".join(text.replace('"', " ").split()) + '"'


class WebSearchPlay(Play):
    """Search for the most distinctive lines read in the image, quoted."""

    name = "web search"

    def calls(self, view: RunView) -> list[tuple[str, dict[str, Any]]]:
        if not view.may_call(SEARCH_TOOL, {"query": "-"}) or offline(view) or view.has_called(SEARCH_TOOL):
            return []
        lines = sorted(
            ((salience(e.value) * e.confidence, e.value) for e in _read_lines(view)), key=lambda sv: (-sv[0], sv[1])
        )
        texts = [text for score, text in lines if score >= MIN_SALIENCE]
        queries = []
        if len(texts) >= 2:
            queries.append(f"{_quote(texts[0])} {_quote(texts[1])}")
        queries += [_quote(text) for text in texts[:1]]
        queries = list(dict.fromkeys(queries))[: min(MAX_QUERIES, view.calls_left(ToolKind.SEARCH))]
        return [(SEARCH_TOOL, {"query": query, "max_results": 8}) for query in queries]


class OsmVerifyPlay(Play):
    """Ask OSM whether the street or shop names read in the image exist near the best candidates."""

    name = "map check"

    def calls(self, view: RunView) -> list[tuple[str, dict[str, Any]]]:
        # with a local OSM index (osm_db) the check runs even after web search said "offline"
        if VERIFY_TOOL not in view.tools or offline(view, OSM_TOOLS) or view.has_called(VERIFY_TOOL):
            return []
        evidence = [e for e in view.evidence if e.kind not in ("exif", "osm_feature")]
        spots: list[Candidate] = []
        for candidate in sorted(place_candidates(evidence), key=lambda c: -c.score):
            if candidate.radius_km <= 30 and all(
                abs(candidate.lat - s.lat) + abs(candidate.lon - s.lon) > 0.05 for s in spots
            ):
                spots.append(candidate)
        lines = _read_lines(view)
        streets = [e.value for e in lines if find_street_words(e.value)]
        shops = [e.value for e in sorted(lines, key=lambda e: -salience(e.value)) if salience(e.value) >= MIN_SALIENCE]
        texts = list(dict.fromkeys(streets + shops))[:MAX_VERIFY_TEXTS]
        calls = [
            (
                VERIFY_TOOL,
                {
                    "lat": round(c.lat, 6),
                    "lon": round(c.lon, 6),
                    "text": text,
                    "radius_km": round(min(50.0, max(1.0, c.radius_km)), 1),
                },
            )
            for c in spots[:MAX_VERIFY_CANDIDATES]
            for text in texts
        ]
        calls = [(name, args) for name, args in calls if view.may_call(name, args)]
        if offline(view):
            # the network is gone: only the checks a local OSM index answers are worth making
            tool = view.tools[VERIFY_TOOL]
            leaves = getattr(tool, "leaves_machine", None)
            calls = [call for call in calls if leaves is not None and not leaves(call[1])]
        return calls[: view.calls_left(ToolKind.OSM)]


def _feature_label(item: Evidence) -> str:
    details = item.details
    name = details.get("name") or (details.get("tags") or {}).get("name") or ""
    return f"OSM {details.get('osm_type', 'feature')} {details.get('osm_id', '')} '{name}'".replace(" ''", "")


class OsmLane(Lane):
    """Map features that matched text read in the image, as precise candidates."""

    name = "osm"

    def candidates(self, view: RunView) -> list[Candidate]:
        out = []
        for item in view.evidence:
            if item.kind != "osm_feature" or item.geo is None or item.confidence < MIN_MATCH_CONFIDENCE:
                continue
            out.append(
                Candidate(
                    lat=item.geo.lat,
                    lon=item.geo.lon,
                    label=_feature_label(item),
                    score=item.confidence,
                    sources=[item.id] if item.id else [],
                    radius_km=max(0.2, min(5.0, item.geo.radius_km or 0.5)),
                    details={"place_kind": "osm_feature", "provenance": item.provenance},
                )
            )
        return out
