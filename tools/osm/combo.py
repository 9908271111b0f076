"""Feature combinations: places where several kinds of feature lie within D metres of each other.

"A pharmacy, a bus stop and a cafe within 150 m": each *spec* (tags and/or a name
pattern) gives a set of features in the area; a *combination* takes one feature from
each set, all different, every pair within ``within_m`` metres (measured between the
nearest points of their shapes). Combinations are ranked by compactness: the smallest
greatest pairwise distance first, then the smallest sum of distances.

The search is the same whichever source gave the features: a local index (which hands
over each set already narrowed to the neighbourhood of the first) or Overpass, for which
:func:`compile_combo` writes one query that narrows every set by the others (the QL an
investigator can also paste into Overpass Turbo).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shapely import STRtree
from shapely.geometry import box

from ..evidence import Evidence, GeoRef, ToolSource
from .features import OsmFeature
from .local.store import expand_box, feature_distance_m, sort_key
from .ql import OsmQueryError
from .query import DEFAULT_LIMITS, AreaResolver, CompiledQuery, FeatureQuery, QueryLimits, _num, _union, search_area

MIN_SPECS = 2
MAX_SPECS = 6
#: Nearest candidates per set tried around each anchor (bounds the search in dense places).
MAX_NEIGHBOURS = 8
#: Confidence of the most compact combination: a place where all of it exists, not proof.
BASE_CONFIDENCE = 0.5


@dataclass
class Combo:
    """One combination: a feature per spec, with its pairwise distances."""

    features: list[OsmFeature]
    diameter_m: float
    total_m: float
    distances: dict[tuple[int, int], float] = field(default_factory=dict)

    @property
    def refs(self) -> list[str]:
        return [f.ref for f in self.features]

    def centre(self) -> tuple[float, float]:
        lat = sum(f.lat for f in self.features) / len(self.features)
        lon = sum(f.lon for f in self.features) / len(self.features)
        return lat, lon

    def label(self) -> str:
        return " + ".join(f.label() for f in self.features) + f" (within {self.diameter_m:.0f} m)"

    def to_dict(self) -> dict[str, Any]:
        lat, lon = self.centre()
        return {
            "lat": round(lat, 7),
            "lon": round(lon, 7),
            "diameter_m": round(self.diameter_m, 1),
            "total_m": round(self.total_m, 1),
            "elements": [
                {"osm_type": f.osm_type, "osm_id": f.osm_id, "name": f.name, "url": f.url} for f in self.features
            ],
            "features": [f.to_dict() for f in self.features],
        }


def compile_combo(
    specs: Sequence[FeatureQuery],
    within_m: float,
    area_query: FeatureQuery,
    limits: QueryLimits = DEFAULT_LIMITS,
    *,
    resolve_area: AreaResolver | None = None,
) -> CompiledQuery:
    """The Overpass QL of a combination search; ``area_query`` carries the area.

    Set 0 is searched in the area, each further set around all the sets before it,
    then each earlier set is narrowed to what lies around the later ones::

        (node[amenity=pharmacy](area); way[...](area);)->.s0;
        (node[highway=bus_stop](area)(around.s0:150); ...)->.s1;
        (node[amenity=cafe](area)(around.s0:150)(around.s1:150); ...)->.s2;
        (node.s0(around.s1:150)(around.s2:150); ...)->.s0;
        (node.s1(around.s0:150)(around.s2:150); ...)->.s1;
        .s0 out geom N; .s1 out geom N; .s2 out geom N;
    """
    if not MIN_SPECS <= len(specs) <= MAX_SPECS:
        raise OsmQueryError(f"give {MIN_SPECS} to {MAX_SPECS} feature specs")
    if not math.isfinite(within_m) or within_m <= 0:
        raise OsmQueryError("within_m must be a positive number of metres")
    if within_m > limits.max_within_m:
        raise OsmQueryError(f"within_m {within_m:,.0f} m is over the {limits.max_within_m:,.0f} m limit")
    area = search_area(area_query, limits, resolve_area)
    if area is None:
        raise OsmQueryError("a combination search needs an area: bbox, around or area_name")
    d = _num(within_m)
    lines = [limits.header()]
    for i, spec in enumerate(specs):
        around = "".join(f"(around.s{j}:{d})" for j in range(i))
        lines.append(_union([f"{t}{spec.filters()}{area.filter}{around}" for t in spec.types], f"s{i}"))
    for i, spec in enumerate(specs[:-1]):
        around = "".join(f"(around.s{j}:{d})" for j in range(len(specs)) if j != i)
        lines.append(_union([f"{t}.s{i}{around}" for t in spec.types], f"s{i}"))
    limit = limits.max_results
    lines += [f".s{i} out geom {limit};" for i in range(len(specs))]
    sets = {f"s{i}": spec for i, spec in enumerate(specs)}
    return CompiledQuery("\n".join(lines) + "\n", "combo", limits.result_limit(area_query.limit), area, sets)


def find_combos(sets: Sequence[Sequence[OsmFeature]], within_m: float, limit: int = 50) -> list[Combo]:
    """Every most-compact combination, one per feature of the smallest set, ranked.

    For each feature of the smallest set (the anchor) the nearest few candidates of
    every other set within ``within_m`` are tried together; the tuple with the smallest
    diameter (then total distance) whose pairs are all within ``within_m`` is kept.
    Combinations with the same elements are reported once.
    """
    if any(not s for s in sets):
        return []
    anchor_set = min(range(len(sets)), key=lambda i: (len(sets[i]), i))
    trees = {}
    for i, features in enumerate(sets):
        if i != anchor_set:
            trees[i] = STRtree([f.geometry for f in features])
    cache: dict[tuple[str, str], float] = {}

    def distance(a: OsmFeature, b: OsmFeature) -> float:
        key = (a.ref, b.ref) if a.ref <= b.ref else (b.ref, a.ref)
        if key not in cache:
            cache[key] = feature_distance_m(a, b)
        return cache[key]

    found: dict[frozenset[str], Combo] = {}
    for anchor in sorted(sets[anchor_set], key=sort_key):
        west, south, east, north = anchor.geometry.bounds
        s, w, n, e = expand_box((south, west, north, east), within_m)
        reach = box(w, s, e, n)
        options: dict[int, list[OsmFeature]] = {}
        for i, tree in trees.items():
            near = []
            for j in tree.query(reach):
                feature = sets[i][int(j)]
                if feature.ref == anchor.ref:
                    continue
                d = distance(anchor, feature)
                if d <= within_m:
                    near.append((d, sort_key(feature), feature))
            near.sort(key=lambda item: item[:2])
            options[i] = [f for _, _, f in near[:MAX_NEIGHBOURS]]
            if not options[i]:
                break
        else:
            best = _best_tuple(anchor, anchor_set, options, len(sets), within_m, distance)
            if best is not None and frozenset(best.refs) not in found:
                found[frozenset(best.refs)] = best
    ranked = sorted(found.values(), key=lambda c: (round(c.diameter_m, 6), round(c.total_m, 6), c.refs))
    return ranked[:limit]


def _best_tuple(
    anchor: OsmFeature,
    anchor_set: int,
    options: dict[int, list[OsmFeature]],
    count: int,
    within_m: float,
    distance: Any,
) -> Combo | None:
    order = [i for i in range(count) if i != anchor_set]
    best: Combo | None = None
    for choice in itertools.product(*(options[i] for i in order)):
        chosen = dict(zip(order, choice))
        chosen[anchor_set] = anchor
        features = [chosen[i] for i in range(count)]
        if len({f.ref for f in features}) < count:
            continue
        pairs: dict[tuple[int, int], float] = {}
        ok = True
        for a, b in itertools.combinations(range(count), 2):
            d = distance(features[a], features[b])
            if d > within_m:
                ok = False
                break
            pairs[(a, b)] = d
        if not ok:
            continue
        combo = Combo(features, max(pairs.values()), sum(pairs.values()), pairs)
        if best is None or (combo.diameter_m, combo.total_m, combo.refs) < (best.diameter_m, best.total_m, best.refs):
            best = combo
    return best


@dataclass
class ComboResult:
    """The answer to a combination search, shaped like :class:`tools.osm.ops.OsmResult`."""

    query: str
    combos: list[Combo]
    specs: list[FeatureQuery]
    within_m: float
    area: str
    endpoint: str | None = None
    set_sizes: list[int] = field(default_factory=list)

    kind: str = "combo"

    @property
    def summary(self) -> str:
        what = ", ".join(spec.describe() for spec in self.specs)
        return f"{len(self.combos)} place(s) with {what} all within {self.within_m:,.0f} m in {self.area}"

    def evidence(self, source: ToolSource) -> list[Evidence]:
        """One ``osm_feature`` evidence per combination, at its centre; the most compact
        and the only one count most."""
        out = []
        factor = max(0.2, 1.0 / math.sqrt(max(1, len(self.combos))))
        for rank, combo in enumerate(self.combos):
            lat, lon = combo.centre()
            compact = 1.0 - 0.5 * min(1.0, combo.diameter_m / self.within_m)
            out.append(
                Evidence(
                    kind="osm_feature",
                    value=combo.label(),
                    confidence=round(BASE_CONFIDENCE * factor * compact, 4),
                    source=source,
                    provenance=combo.features[0].url,
                    geo=GeoRef(lat=lat, lon=lon, radius_km=round(max(0.05, combo.diameter_m / 2000.0), 4)),
                    details={
                        "combo_rank": rank + 1,
                        "diameter_m": round(combo.diameter_m, 1),
                        "elements": [f"{f.osm_type}/{f.osm_id}" for f in combo.features],
                        "urls": [f.url for f in combo.features],
                        "area": self.area,
                    },
                )
            )
        return out

    def geojson(self) -> dict[str, Any]:
        """A FeatureCollection: every element of every combination, tagged with its rank and spec."""
        items = []
        for rank, combo in enumerate(self.combos):
            for spec_index, feature in enumerate(combo.features):
                items.append(
                    feature.to_geojson(combo_rank=rank + 1, spec=spec_index, diameter_m=round(combo.diameter_m, 1))
                )
        return {"type": "FeatureCollection", "features": items}

    def meta(self) -> dict[str, Any]:
        """Which store or endpoint answered (kept apart from what it found)."""
        return {"endpoint": self.endpoint}

    def data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "query": self.query,
            "count": len(self.combos),
            "within_m": self.within_m,
            "area": self.area,
            "set_sizes": self.set_sizes,
            "combos": [c.to_dict() for c in self.combos],
        }
