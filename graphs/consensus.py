"""Consensus: many scored candidates in, one answer with confidence and radius out.

Three strategies, all pure functions of the candidates (so a recorded run can be
re-aggregated under another strategy without any model or network):

* ``cluster`` - cluster the candidates on the sphere, take the heaviest cluster and
  its weighted geometric median.
* ``hierarchical`` - vote country, then region within the winning country, then city
  within the winning region; answer at the deepest level that has votes.
* ``best`` - the single highest-scored candidate.

Confidence and radius are never constants. Confidence multiplies three things:
*agreement* (the winning group's share of all candidate weight), *strength* (a
noisy-or of the scores of the candidates the point rests on: several independent
supports beat one; broader candidates in agreement add to the share, not to this), and
*precision* (an answer that only pins down a large area is worth less:
``precision(r) = 1/(1 + r/250 km)``, so only answers with a radius under 250 km can
reach 0.5, and a country-sized answer stays well below it).
The radius combines the spread of the supporting candidates with their own radii.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tools.errors import ConfigError
from tools.evidence import Candidate
from tools.gazetteer import Gazetteer
from tools.geo import geometric_median, haversine_km, weighted_quantile

from .state import ConsensusResult

#: Candidates closer than this (plus their radii) are taken to agree.
DEFAULT_LINK_KM = 50.0
#: Granularity by radius: above these a candidate only speaks for a region / a country.
CITY_MAX_RADIUS_KM = 30.0
REGION_MAX_RADIUS_KM = 200.0


def precision(radius_km: float) -> float:
    return 1.0 / (1.0 + max(radius_km, 0.0) / 250.0)


def noisy_or(scores: Sequence[float]) -> float:
    product = 1.0
    for s in scores:
        product *= 1.0 - min(max(s, 0.0), 1.0)
    return 1.0 - product


def support_key(candidate: Candidate, index: int) -> tuple:
    """What a candidate's support rests on. Candidates with the same key are copies of one
    another (the same proposer putting the same place on the same evidence twice) and
    count once; a candidate that cites nothing is its own support. Samples of a model are
    separate proposers: K samples agreeing is the self-consistency multi-sample inference
    looks for, not a copy."""
    if not candidate.sources:
        return ("#", index)
    where = (round(candidate.lat, 4), round(candidate.lon, 4), candidate.radius_km)
    return (frozenset(candidate.sources), *where, candidate.proposer)


def independent_weight(candidates: Sequence[Candidate]) -> float:
    """Summed score of the candidates with copies counted once (the best of each)."""
    best: dict[tuple, float] = {}
    for index, candidate in enumerate(candidates):
        key = support_key(candidate, index)
        best[key] = max(best.get(key, 0.0), candidate.score)
    return sum(best.values())


def independent_count(candidates: Sequence[Candidate]) -> int:
    """How many independent supports, copies counted once."""
    return len({support_key(c, i) for i, c in enumerate(candidates)})


def independent_strength(candidates: Sequence[Candidate]) -> float:
    """Noisy-or over *independent* supports: candidates resting on the same evidence (two
    readings of one place name, say) count once, with the best of their scores."""
    best: dict[frozenset[str], float] = {}
    for index, candidate in enumerate(candidates):
        key = frozenset(candidate.sources) or frozenset({f"#{index}"})
        best[key] = max(best.get(key, 0.0), candidate.score)
    return noisy_or(list(best.values()))


def compatible(a: Candidate, b: Candidate, link_km: float = DEFAULT_LINK_KM) -> bool:
    """Two candidates agree when they are within the link distance or their radii overlap.

    A country- or region-sized candidate is a disc only roughly: it agrees with a
    candidate in the same country (when both know their country), wherever that is.
    """
    coarse = a if a.radius_km >= b.radius_km else b
    if coarse.radius_km > REGION_MAX_RADIUS_KM and a.country_code and b.country_code:
        return a.country_code == b.country_code
    return haversine_km(a.lat, a.lon, b.lat, b.lon) <= max(link_km, a.radius_km + b.radius_km)


def _rank(candidates: Sequence[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (-c.score, c.radius_km, c.label))


def _core_point(core: Sequence[Candidate]) -> tuple[float, float, float]:
    """Weighted geometric median of the candidates an answer rests on, and its radius:
    the spread of those candidates around it combined with their own radii."""
    points = [(c.lat, c.lon) for c in core]
    weights = [c.score for c in core]
    lat, lon = geometric_median(points, weights)
    distances = [haversine_km(lat, lon, p_lat, p_lon) for p_lat, p_lon in points]
    spread = weighted_quantile(distances, weights, 0.68)
    intrinsic = weighted_quantile([c.radius_km for c in core], weights, 0.5)
    return lat, lon, math.hypot(spread, intrinsic)


def _fill_place(result: ConsensusResult, gazetteer: Gazetteer | None) -> ConsensusResult:
    if gazetteer is None or not result.answered:
        return result
    assert result.lat is not None and result.lon is not None
    place = gazetteer.reverse(result.lat, result.lon)
    radius = result.radius_km or 0.0
    result.country_code = result.country_code or place.country_code
    result.country = result.country or place.country
    if radius <= REGION_MAX_RADIUS_KM:
        result.region = result.region or place.region
    if radius <= CITY_MAX_RADIUS_KM:
        result.city = result.city or place.city
    return result


def _cluster_reason(core: list[Candidate], shared: int, n_clusters: int, agreement: float, radius: float) -> str:
    independent = independent_count(core)
    if independent == 1:
        text = f"single candidate '{core[0].label}'" if core[0].label else "a single candidate"
        if len(core) > 1:
            text += f" (proposed {len(core)} times from the same evidence)"
    else:
        text = f"{independent} candidates agree within {radius:.3g} km"
        if len(core) > independent:
            text += f" ({len(core) - independent} repeat{'s' if len(core) - independent > 1 else ''} counted once)"
    if shared:
        text += f", backed by {shared} broader one{'s' if shared > 1 else ''}"
    if n_clusters > 1:
        text += f"; {n_clusters} clusters in all, this one holds {agreement:.0%} of the weight"
    return text


def _no_answer(strategy: str, ranked: list[Candidate], reason: str) -> ConsensusResult:
    return ConsensusResult(strategy=strategy, ranked=ranked, reason=reason)


@dataclass
class _Cluster:
    core: list[int]
    shared: list[int]

    def members(self) -> list[int]:
        return self.core + self.shared


def cluster_consensus(
    candidates: Sequence[Candidate], gazetteer: Gazetteer | None = None, *, link_km: float = DEFAULT_LINK_KM
) -> ConsensusResult:
    """Weighted geometric median of the heaviest spherical cluster.

    Precise candidates (small radius) seed clusters first. A coarse candidate (a
    country centroid) that is compatible with several clusters supports each of them
    without merging them, so "somewhere in China" never averages Harbin with Kunming.
    """
    ranked = _rank(candidates)
    usable = [c for c in ranked if c.score > 0]
    if not usable:
        return _no_answer("cluster", ranked, "no candidate with a positive score")
    order = sorted(range(len(usable)), key=lambda i: (usable[i].radius_km, -usable[i].score, i))
    clusters: list[_Cluster] = []
    finest = usable[order[0]].radius_km
    for i in order:
        cand = usable[i]
        homes = [c for c in clusters if compatible(usable[c.core[0]], cand, link_km)]
        coarse = cand.radius_km > max(4.0 * finest, CITY_MAX_RADIUS_KM) and bool(homes)
        if coarse:
            for cluster in homes:
                cluster.shared.append(i)
        elif homes:
            homes[0].core.append(i)
        else:
            clusters.append(_Cluster(core=[i], shared=[]))
    keys = {i: support_key(c, i) for i, c in enumerate(usable)}
    total = independent_weight(usable)

    def weight(cluster: _Cluster) -> float:
        # copies (the same evidence proposing the same place twice) count once
        best: dict[tuple, float] = {}
        for i in cluster.members():
            best[keys[i]] = max(best.get(keys[i], 0.0), usable[i].score)
        return sum(best.values())

    clusters.sort(key=lambda c: (-weight(c), usable[c.core[0]].radius_km))
    best = clusters[0]
    core = [usable[i] for i in best.core]
    lat, lon, radius = _core_point(core)
    agreement = weight(best) / total
    strength = independent_strength(core)  # broad supporters vouch for the country, not the point
    confidence = agreement * strength * precision(radius)
    winner_ids = {id(usable[i]) for i in best.members()}
    support = [k for k, c in enumerate(ranked) if id(c) in winner_ids]
    result = ConsensusResult(
        strategy="cluster",
        lat=lat,
        lon=lon,
        confidence=round(min(1.0, confidence), 4),
        radius_km=round(radius, 3),
        ranked=ranked,
        support=support,
        reason=_cluster_reason(core, len(best.shared), len(clusters), agreement, radius),
        details={
            "clusters": [
                {
                    "core": [usable[i].label for i in c.core],
                    "shared": [usable[i].label for i in c.shared],
                    "weight": weight(c),
                }
                for c in clusters
            ],
            "agreement": agreement,
            "strength": strength,
            "precision": precision(radius),
            "link_km": link_km,
        },
    )
    return _fill_place(result, gazetteer)


def _admin(c: Candidate, gazetteer: Gazetteer | None) -> tuple[str | None, str | None, str | None]:
    country, region, city = c.country_code, c.region, c.city
    if gazetteer is not None and (country is None or (region is None and c.radius_km <= REGION_MAX_RADIUS_KM)):
        place = gazetteer.reverse(c.lat, c.lon)
        country = country or place.country_code
        region = region or place.region or place.region_code
        city = city or place.city
    if c.radius_km > REGION_MAX_RADIUS_KM:
        region = None
    if c.radius_km > CITY_MAX_RADIUS_KM:
        city = None
    return country, region, city


def hierarchical_consensus(candidates: Sequence[Candidate], gazetteer: Gazetteer | None = None) -> ConsensusResult:
    """Vote country, then region, then city; answer at the deepest level with votes."""
    ranked = _rank(candidates)
    seen: set[tuple] = set()
    distinct = []  # copies vote once (ranked is best first, so each keeps its best score)
    for index, candidate in enumerate(ranked):
        key = support_key(candidate, index)
        if candidate.score > 0 and key not in seen:
            seen.add(key)
            distinct.append(candidate)
    usable = [(c, *_admin(c, gazetteer)) for c in distinct]
    if not usable:
        return _no_answer("hierarchical", ranked, "no candidate with a positive score")

    def vote(items: list, level: int) -> tuple[str | None, float, list]:
        tally: dict[str, float] = defaultdict(float)
        for item in items:
            if item[level] is not None:
                tally[item[level]] += item[0].score
        if not tally:
            return None, 0.0, items
        winner = max(sorted(tally), key=lambda k: tally[k])
        share = tally[winner] / sum(tally.values())
        return winner, share, [item for item in items if item[level] == winner]

    country, share_country, in_country = vote(usable, 1)
    if country is None:
        return _no_answer("hierarchical", ranked, "no candidate could be placed in a country")
    level_names = ["country"]
    shares = [share_country]
    group = in_country
    region, share_region, in_region = vote(in_country, 2)
    city = None
    if region is not None:
        level_names.append("region")
        shares.append(share_region)
        group = in_region
        city, share_city, in_city = vote(in_region, 3)
        if city is not None:
            level_names.append("city")
            shares.append(share_city)
            group = in_city
    # The answer point comes from the most specific members of the winning group.
    finest = min(c.radius_km for c, *_ in group)
    core = [c for c, *_ in group if c.radius_km <= max(4.0 * finest, CITY_MAX_RADIUS_KM)]
    lat, lon, radius = _core_point(core)
    agreement = math.prod(shares)
    strength = independent_strength(core)
    confidence = agreement * min(1.0, strength) * precision(radius)
    chosen = {id(c) for c, *_ in in_country}
    result = ConsensusResult(
        strategy="hierarchical",
        lat=lat,
        lon=lon,
        confidence=round(min(1.0, confidence), 4),
        radius_km=round(radius, 3),
        country_code=country,
        region=region if region and "." not in region else None,
        city=city,
        ranked=ranked,
        support=[k for k, c in enumerate(ranked) if id(c) in chosen],
        reason=f"vote settled at {level_names[-1]} level: "
        + ", ".join(f"{n} {v} ({s:.0%})" for n, v, s in zip(level_names, [country, region, city], shares) if v),
        details={"levels": level_names, "shares": shares, "strength": strength},
    )
    if gazetteer is not None:
        info = gazetteer.country(country)
        result.country = info.name if info else None
    return _fill_place(result, gazetteer)


def best_consensus(
    candidates: Sequence[Candidate], gazetteer: Gazetteer | None = None, *, link_km: float = DEFAULT_LINK_KM
) -> ConsensusResult:
    """The single best-scored candidate; confidence from how much of the rest agrees with it."""
    ranked = _rank(candidates)
    usable = [c for c in ranked if c.score > 0]
    if not usable:
        return _no_answer("best", ranked, "no candidate with a positive score")
    top = usable[0]
    agreeing = [c for c in usable if compatible(top, c, link_km)]
    agreement = independent_weight(agreeing) / independent_weight(usable)
    confidence = agreement * min(1.0, top.score) * precision(top.radius_km)
    result = ConsensusResult(
        strategy="best",
        lat=top.lat,
        lon=top.lon,
        confidence=round(min(1.0, confidence), 4),
        radius_km=round(top.radius_km, 3),
        country_code=top.country_code,
        region=top.region,
        city=top.city,
        ranked=ranked,
        support=[0],
        reason=f"best single candidate {top.label or 'unnamed'} (score {top.score:.2f}); "
        f"{independent_count(agreeing) - 1} other(s) agree with it",
        details={"agreement": agreement},
    )
    return _fill_place(result, gazetteer)


STRATEGIES: dict[str, Callable[..., ConsensusResult]] = {
    "cluster": cluster_consensus,
    "hierarchical": hierarchical_consensus,
    "best": best_consensus,
}


def aggregate(
    candidates: Sequence[Candidate], strategy: str = "cluster", gazetteer: Gazetteer | None = None, **options: float
) -> ConsensusResult:
    """Run a named strategy. ``ConfigError`` for an unknown name."""
    try:
        fn = STRATEGIES[strategy]
    except KeyError:
        raise ConfigError(f"unknown consensus strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}") from None
    return fn(candidates, gazetteer, **options)
