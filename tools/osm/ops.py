"""What investigators ask OpenStreetMap: find, find-near, and "is this name here?".

* :meth:`OsmOps.find_features` — features by tags and/or name in a bounded area.
* :meth:`OsmOps.proximity` — features A within D metres of features B in an area (the
  question Bellingcat's OSM search answers: "a pharmacy within 100 m of a tram stop"),
  compiled to one Overpass query with ``around.<set>:<D>`` instead of one query per B.
* :meth:`OsmOps.verify_candidate` — does a name read in the photo (a street or shop
  sign) exist within r km of a candidate point? Matching forgives case, diacritics,
  punctuation and the street-type word ("Augusta" finds "Rua Augusta", "Hauptstr." finds
  "Hauptstraße").

Each returns an :class:`OsmResult`: the matches with their confidence, as ``osm_feature``
evidence (provenance the feature's openstreetmap.org URL, geo its point and shape) and
as a GeoJSON FeatureCollection.

How confidence is set, so it can be read: a search hit is a *place where the thing
exists*, not proof the photo was taken there, so it starts low (0.35 for tags only, 0.5
for a name pattern, 0.6 for an exact name) and is divided by the square root of the
number of hits (one of fifty cafés is a weak lead; the only one is a strong one). A
proximity pair starts at 0.55 under the same rule. A verification is the product of
how well the name matches (1.0 exact, 0.9/0.8 same name with a different or missing
street word, 0.6 all words inside a longer name, 0.45 only as part of a word) and how
close the feature is (1.0 at the point down to 0.5 at the edge of the radius), capped
at 0.95.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import describe_validation_error
from ..evidence import Evidence, GeoRef, ToolSource
from .client import OverpassAnswer, OverpassClient
from .features import OsmFeature
from .local.store import LocalIndex
from .names import NameKey, match_quality, name_key, tolerant_name_regex
from .ql import OsmQueryError
from .query import (
    DEFAULT_LIMITS,
    NAME_KEYS_REGEX,
    AreaResolver,
    Around,
    CompiledQuery,
    FeatureQuery,
    QueryLimits,
    SearchArea,
    compile_name_search,
    compile_proximity,
    compile_query,
)
from .raw import validate_raw_ql

BASE_CONFIDENCE = {"name": 0.6, "name_pattern": 0.5, "tags": 0.35, "proximity": 0.55, "raw": 0.3}
MAX_CONFIDENCE = 0.95
#: Matches weaker than this are not reported by verify_candidate.
MIN_MATCH_QUALITY = 0.45
#: Name tags searched by verify_candidate, with how much a match in each counts.
NAME_TAG_WEIGHT = {"old_name": 0.9, "addr:street": 0.95}
MAX_VERIFY_TEXT = 120


# ---------------------------------------------------------------------------- results


@dataclass
class OsmMatch:
    """One feature in a result, with why and how strongly it counts."""

    feature: OsmFeature
    confidence: float
    role: str = "a"
    distance_km: float | None = None
    quality: float | None = None
    matched_text: str | None = None
    matched_tag: str | None = None
    near: OsmFeature | None = None
    near_distance_m: float | None = None

    def describe(self) -> str:
        text = self.feature.label()
        if self.near is not None and self.near_distance_m is not None:
            text += f" {self.near_distance_m:.0f} m from {self.near.label()}"
        if self.distance_km is not None:
            distance = f"{self.distance_km:.2f}" if self.distance_km < 0.1 else f"{self.distance_km:.1f}"
            text += f" {distance} km from candidate"
        return text

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "osm_type": self.feature.osm_type,
            "osm_id": self.feature.osm_id,
            "tags": dict(self.feature.tags),
        }
        if self.distance_km is not None:
            out["distance_km"] = round(self.distance_km, 4)
        if self.quality is not None:
            out["match_quality"] = round(self.quality, 3)
        if self.matched_text is not None:
            out["matched_text"] = self.matched_text
            out["matched_tag"] = self.matched_tag
        if self.near is not None:
            out["near"] = {"osm_type": self.near.osm_type, "osm_id": self.near.osm_id, "name": self.near.name}
            out["near_distance_m"] = None if self.near_distance_m is None else round(self.near_distance_m, 1)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON form (feature with geometry, plus match fields) for observations and replay."""
        out = {**self.feature.to_dict(), "confidence": round(self.confidence, 4), "role": self.role}
        out.update({k: v for k, v in self.details().items() if k not in ("osm_type", "osm_id", "tags")})
        if self.near is not None:
            out["near"] = self.near.to_dict()
        return out

    def geojson(self) -> dict[str, Any]:
        extra = {k: v for k, v in self.details().items() if k not in ("osm_type", "osm_id", "tags")}
        return self.feature.to_geojson(confidence=round(self.confidence, 4), role=self.role, **extra)


@dataclass
class OsmResult:
    """The answer to one operation: its query, its matches, and the request's bookkeeping."""

    kind: str
    query: str
    matches: list[OsmMatch]
    answer: OverpassAnswer | None = None
    summary: str = ""
    context: dict[str, Any] = field(default_factory=dict)

    def evidence(self, source: ToolSource) -> list[Evidence]:
        """``osm_feature`` evidence, one per match (proximity anchors are not evidence of their own)."""
        out = []
        for match in self.matches:
            if match.role != "a":
                continue
            feature = match.feature
            details = {**match.details(), **self.context}
            country = feature.tags.get("addr:country", "")
            out.append(
                Evidence(
                    kind="osm_feature",
                    value=match.describe(),
                    confidence=round(min(MAX_CONFIDENCE, max(0.0, match.confidence)), 4),
                    source=source,
                    provenance=feature.url,
                    geo=GeoRef(
                        lat=feature.lat,
                        lon=feature.lon,
                        radius_km=round(feature.extent_km(), 4),
                        geometry=feature.geojson_geometry(),
                    ),
                    countries={country.upper(): 1.0} if len(country) == 2 and country.isalpha() else None,
                    details=details,
                )
            )
        return out

    def geojson(self) -> dict[str, Any]:
        return to_geojson(self.matches)

    def meta(self) -> dict[str, Any]:
        """How the call went (endpoint, cache hit, attempts): kept apart from ``data``."""
        answer = self.answer
        return {
            "endpoint": answer.endpoint if answer else None,
            "cached": answer.cached if answer else False,
            "attempts": answer.attempts if answer else 0,
        }

    def data(self) -> dict[str, Any]:
        """Everything a trace needs to replay the call: the QL, the matches with geometry, the source."""
        answer = self.answer
        return {
            "kind": self.kind,
            "query": self.query,
            "osm_timestamp": answer.timestamp if answer else None,
            "elements": answer.raw_elements if answer else 0,
            "count": sum(m.role == "a" for m in self.matches),
            "features": [m.to_dict() for m in self.matches],
            **({"context": self.context} if self.context else {}),
        }


def to_geojson(features: Sequence[OsmMatch | OsmFeature]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of matches or features (readable by any GIS, or by
    ``shapely.geometry.shape`` feature by feature)."""
    items = [f.geojson() if isinstance(f, OsmMatch) else f.to_geojson() for f in features]
    return {"type": "FeatureCollection", "features": items}


#: How far outside its area a returned feature may lie before it is set aside (coordinate
#: rounding, a shape measured to its nearest point); a server or cache that answers with
#: features elsewhere must not have them count as found "here".
AREA_TOLERANCE_KM = 0.25
#: Set-aside features listed in a result's context (the count is always given).
MAX_OUTSIDE_LISTED = 5


def within_area(
    features: Sequence[OsmFeature], area: SearchArea | None, slack_km: float = 0.0
) -> tuple[list[OsmFeature], list[dict]]:
    """The features inside the area the query asked about (give or take ``slack_km``), and
    the ones set aside with how far outside they are. Without an area shape nothing is set aside."""
    if area is None or area.shape is None:
        return list(features), []
    kept: list[OsmFeature] = []
    outside: list[dict] = []
    for feature in features:
        beyond = area.distance_outside_km(feature)
        if beyond is not None and beyond > AREA_TOLERANCE_KM + slack_km:
            outside.append({"ref": feature.ref, "name": feature.name, "km_outside": round(beyond, 1)})
        else:
            kept.append(feature)
    return kept, outside


def _outside_note(outside: list[dict], context: dict[str, Any]) -> str:
    if not outside:
        return ""
    context["outside_area"] = len(outside)
    context["outside_examples"] = outside[:MAX_OUTSIDE_LISTED]
    far = max(o["km_outside"] for o in outside)
    return f"; {len(outside)} returned feature(s) outside the area set aside (up to {far:,.0f} km away)"


def _specificity(count: int) -> float:
    """1 for a single hit, 1/sqrt(n) for n hits, never below 0.2."""
    return max(0.2, 1.0 / math.sqrt(max(1, count)))


# ---------------------------------------------------------------------------- operations


class OsmOps:
    """The three operations over one Overpass client, under one set of limits.

    Each has a ``plan_*`` step (compile, check guards; no network) and an execution
    step, so a caller knows the exact QL even when the request then fails.
    """

    def __init__(
        self,
        client: OverpassClient | None,
        limits: QueryLimits = DEFAULT_LIMITS,
        *,
        resolve_area: AreaResolver | None = None,
        local: LocalIndex | None = None,
        offline: bool = False,
    ) -> None:
        self.client = client
        self.limits = limits
        self.resolve_area = resolve_area
        self.local = local
        self.offline = offline

    @classmethod
    def from_context(cls, ctx: Any) -> OsmOps:
        """Ops for a run: limits from ``osm_*`` settings, ``overpass_url``, the run's net client,
        the shared offline gazetteer for ``area_name``, and the local index named by the
        ``osm_db`` setting (opened once per process)."""
        from .areas import area_resolver

        limits = QueryLimits.from_settings(ctx.settings)
        client = OverpassClient.from_context(ctx, server_timeout_s=limits.timeout_s)
        db = ctx.settings.get("osm_db")
        local = None
        if db:
            from .local import open_index

            local = ctx.resources.get(f"osm_index:{db}", lambda: open_index(str(db)))
        return cls(client, limits, resolve_area=area_resolver(ctx), local=local, offline=bool(ctx.offline))

    # ------------------------------------------------------------ where answers come from
    def uses_local(self, plan: CompiledQuery) -> bool:
        """Whether the local index answers ``plan``: it holds the whole area, or (in an
        offline run, where Overpass cannot answer) a part of it. Raw QL always needs Overpass."""
        if self.local is None or plan.kind == "raw" or plan.area is None or plan.area.shape is None:
            return False
        shape = plan.area.shape
        return self.local.covers(shape) or (self.offline and self.local.covers(shape, partial=True))

    def _fetch(self, plan: CompiledQuery, **hints: Any) -> OverpassAnswer:
        """The features behind ``plan``: from the local index when it covers the area, else Overpass."""
        if not self.uses_local(plan):
            if self.client is None:
                raise OsmQueryError("no local OSM index covers this area and no Overpass client is configured")
            return self.client.run(plan.ql)
        from .local import features_in, named_near, near_any
        from .local.store import in_area

        local = self.local
        assert local is not None and plan.area is not None and plan.area.shape is not None
        shape = plan.area.shape
        if plan.kind == "search":
            features = features_in(local, plan.sets["a"], shape)
        elif plan.kind == "proximity":
            a, b = plan.sets["a"], plan.sets["b"]
            anchors = features_in(local, b, shape)
            found = near_any(local, a, anchors, hints["within_m"])
            a_area = hints.get("a_area")
            found_a = [f for f, _, _ in found if a_area is None or in_area(f, a_area)]
            near = near_any(local, b, found_a, hints["within_m"])
            near_refs = {f.ref for f, _, _ in near}
            features = found_a + [f for f in anchors if f.ref in near_refs and f.ref not in {x.ref for x in found_a}]
        elif plan.kind == "verify":
            features = named_near(local, shape, hints["search"])
        else:  # raw is excluded by uses_local; run_combo reads the index itself
            raise OsmQueryError(f"the local index cannot answer a {plan.kind} query")
        return OverpassAnswer(
            features=features,
            query=plan.ql,
            endpoint=f"{local.backend}:{local.location}",
            raw_elements=len(features),
        )

    def source(self, plan: CompiledQuery) -> str:
        """Where ``plan`` would be answered: the local index's name or the Overpass URL."""
        if self.uses_local(plan):
            assert self.local is not None
            return f"{self.local.backend}:{self.local.location}"
        return self.client.url if self.client is not None else "nowhere"

    # ------------------------------------------------------------ find
    def plan_find(self, query: FeatureQuery) -> CompiledQuery:
        return compile_query(query, self.limits, resolve_area=self.resolve_area)

    def find_features(self, query: FeatureQuery) -> OsmResult:
        """Features matching ``query`` in its area."""
        return self.run_find(self.plan_find(query))

    def run_find(self, plan: CompiledQuery) -> OsmResult:
        query = plan.sets["a"]
        answer = self._fetch(plan)
        base = BASE_CONFIDENCE["name" if query.name else "name_pattern" if query.name_pattern else "tags"]
        features, outside = within_area(answer.features, plan.area)
        features = features[: plan.limit]
        factor = _specificity(len(features))
        matches = [OsmMatch(f, base * factor) for f in features]
        area = plan.area.description if plan.area else "the area"
        context: dict[str, Any] = {"area": area}
        summary = f"{len(matches)} OSM feature(s) {query.describe()} in {area}" + _outside_note(outside, context)
        return OsmResult("search", plan.ql, matches, answer, summary, context)

    # ------------------------------------------------------------ raw
    def plan_raw(self, ql: str) -> CompiledQuery:
        return validate_raw_ql(ql, self.limits)

    def run_raw(self, plan: CompiledQuery) -> OsmResult:
        answer = self._fetch(plan)
        features = answer.features[: plan.limit]
        factor = _specificity(len(features))
        matches = [OsmMatch(f, BASE_CONFIDENCE["raw"] * factor) for f in features]
        return OsmResult("raw", plan.ql, matches, answer, f"{len(matches)} OSM feature(s) from a raw query")

    # ------------------------------------------------------------ proximity
    def plan_proximity(self, a: FeatureQuery, b: FeatureQuery, within_m: float) -> CompiledQuery:
        return compile_proximity(a, b, within_m, self.limits, resolve_area=self.resolve_area)

    def proximity(self, a: FeatureQuery, b: FeatureQuery, within_m: float) -> OsmResult:
        """Features A within ``within_m`` metres of some feature B in B's area, each paired
        with its nearest B."""
        return self.run_proximity(self.plan_proximity(a, b, within_m), within_m)

    def run_proximity(self, plan: CompiledQuery, within_m: float) -> OsmResult:
        a, b = plan.sets["a"], plan.sets["b"]
        a_area = None
        if a.has_area:
            from .query import search_area

            a_search = search_area(a, self.limits, self.resolve_area)
            a_area = a_search.shape if a_search else None
        answer = self._fetch(plan, within_m=within_m, a_area=a_area)
        found_a: list[OsmFeature] = []
        found_b: list[OsmFeature] = []
        inside, outside = within_area(answer.features, plan.area, within_m / 1000.0)
        for feature in inside:
            if a.matches(feature.osm_type, feature.tags):
                found_a.append(feature)
            elif b.matches(feature.osm_type, feature.tags):
                found_b.append(feature)
        found_a = found_a[: plan.limit]
        factor = _specificity(len(found_a))
        matches: list[OsmMatch] = []
        for feature in found_a:
            nearest, distance_m = None, None
            for other in found_b:
                d = other.distance_km(feature.lat, feature.lon) * 1000.0
                if distance_m is None or d < distance_m:
                    nearest, distance_m = other, d
            matches.append(
                OsmMatch(feature, BASE_CONFIDENCE["proximity"] * factor, near=nearest, near_distance_m=distance_m)
            )
        matches.extend(OsmMatch(f, 0.0, role="b") for f in found_b)
        area = plan.area.description if plan.area else "the area"
        context: dict[str, Any] = {"area": area, "within_m": within_m}
        summary = f"{len(found_a)} {a.describe()} within {within_m:,.0f} m of {b.describe()} in {area}"
        summary += _outside_note(outside, context)
        return OsmResult("proximity", plan.ql, matches, answer, summary, context)

    # ------------------------------------------------------------ verify
    def plan_verify(self, lat: float, lon: float, text: str, radius_km: float) -> tuple[CompiledQuery, NameKey]:
        if not text or len(text) > MAX_VERIFY_TEXT:
            raise OsmQueryError(f"text must be 1 to {MAX_VERIFY_TEXT} characters")
        if not (math.isfinite(radius_km) and radius_km > 0):
            raise OsmQueryError("radius_km must be a positive number")
        key = name_key(text)
        if not key.full:
            raise OsmQueryError(f"no letters or digits to look for in {text!r}")
        search = key.core or key.full
        if len(search.replace(" ", "")) < 2:
            raise OsmQueryError(f"'{text}' has too little besides the street-type word to search for")
        try:
            around = Around(lat=lat, lon=lon, radius_m=radius_km * 1000.0)
        except ValueError as exc:
            raise OsmQueryError(f"invalid candidate point: {describe_validation_error(exc)}") from None
        return compile_name_search(around, tolerant_name_regex(search), self.limits), key

    def verify_candidate(self, lat: float, lon: float, text: str, radius_km: float = 1.0) -> OsmResult:
        """Features named like ``text`` within ``radius_km`` of (lat, lon), best first."""
        plan, key = self.plan_verify(lat, lon, text, radius_km)
        return self.run_verify(plan, key, lat, lon, text, radius_km)

    def run_verify(
        self, plan: CompiledQuery, key: NameKey, lat: float, lon: float, text: str, radius_km: float
    ) -> OsmResult:
        import re

        answer = self._fetch(plan, search=key.core or key.full)
        name_keys = re.compile(NAME_KEYS_REGEX)
        matches: list[OsmMatch] = []
        # a feature is evidence for this candidate only if it lies within the radius asked about
        inside, outside = within_area(answer.features, plan.area)
        for feature in inside:
            best = (0.0, None, None)
            for tag, value in feature.tags.items():
                if not name_keys.match(tag):
                    continue
                quality = match_quality(key, value) * NAME_TAG_WEIGHT.get(tag, 1.0)
                if quality > best[0]:
                    best = (quality, value, tag)
            quality, value, tag = best
            if quality < MIN_MATCH_QUALITY:
                continue
            distance = feature.distance_km(lat, lon)
            closeness = 1.0 - 0.5 * min(1.0, distance / radius_km)
            confidence = min(MAX_CONFIDENCE, quality * closeness)
            matches.append(
                OsmMatch(
                    feature, confidence, distance_km=distance, quality=quality, matched_text=value, matched_tag=tag
                )
            )
        matches.sort(key=lambda m: (-m.confidence, m.distance_km or 0.0))
        matches = matches[: plan.limit]
        context = {
            "candidate": {"lat": lat, "lon": lon},
            "radius_km": radius_km,
            "query_text": text,
            "searched": key.core or key.full,
        }
        if matches:
            best = matches[0]
            summary = f"'{text}' found in OSM near {lat:.5f},{lon:.5f}: {best.describe()}" + (
                f" (+{len(matches) - 1} more)" if len(matches) > 1 else ""
            )
        else:
            summary = f"no OSM feature named like '{text}' within {radius_km:g} km of {lat:.5f},{lon:.5f}"
        summary += _outside_note(outside, context)
        return OsmResult("verify", plan.ql, matches, answer, summary, context)

    # ------------------------------------------------------------ combinations
    def plan_combo(self, specs: Sequence[FeatureQuery], within_m: float, area_query: FeatureQuery) -> CompiledQuery:
        from .combo import compile_combo

        return compile_combo(specs, within_m, area_query, self.limits, resolve_area=self.resolve_area)

    def combo(self, specs: Sequence[FeatureQuery], within_m: float, area_query: FeatureQuery) -> Any:
        """Places where a feature of every spec lies within ``within_m`` of the others (see :mod:`.combo`)."""
        return self.run_combo(self.plan_combo(specs, within_m, area_query), within_m)

    def run_combo(self, plan: CompiledQuery, within_m: float) -> Any:
        from .combo import ComboResult, find_combos

        specs = [plan.sets[f"s{i}"] for i in range(len(plan.sets))]
        assert plan.area is not None
        if self.uses_local(plan):
            from .local import features_in, near_any
            from .local.store import in_area

            local = self.local
            assert local is not None and plan.area.shape is not None
            shape = plan.area.shape
            first = features_in(local, specs[0], shape)
            sets = [first]
            for spec in specs[1:]:
                near = near_any(local, spec, sets[0], within_m)
                sets.append([f for f, _, _ in near if in_area(f, shape)])
            endpoint = f"{local.backend}:{local.location}"
        else:
            answer = self._fetch(plan)
            sets = [[f for f in answer.features if spec.matches(f.osm_type, f.tags)] for spec in specs]
            endpoint = answer.endpoint
        combos = find_combos(sets, within_m, plan.limit)
        return ComboResult(
            query=plan.ql,
            combos=combos,
            specs=specs,
            within_m=within_m,
            area=plan.area.description,
            endpoint=endpoint,
            set_sizes=[len(s) for s in sets],
        )
