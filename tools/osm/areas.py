"""Place names as search areas, resolved offline with the gazetteer.

A model asking for cafés "in Lisbon" must not make us send "Lisbon" to Overpass (an
``area[name=...]`` lookup is unbounded, ambiguous and slow): the name is resolved here,
offline, to a point and a radius that scales with the place's size, and only the
resulting bbox goes into the query. "Porto, PT" or "Lisbon, Portugal" picks the reading
in that country (or first-level region).
"""

from __future__ import annotations

from typing import Any

from ..gazetteer import Gazetteer
from ..normalize import normalize
from ..places import Place, PlaceIndex
from .ql import OsmQueryError
from .query import AreaResolver, ResolvedArea

#: A town at least this big wins over a region or country of the same name ("Lisbon").
TOWN_PREFERENCE_POPULATION = 10_000


def _qualifies(place: Place, qualifier: str, index: PlaceIndex) -> bool:
    key = normalize(qualifier)
    if len(key) == 2 and key.isalpha():
        return place.country_code == key.upper()
    if place.region and normalize(place.region) == key:
        return True
    countries = {index.place(i).country_code for i in index.lookup(key) if index.place(i).kind == "country"}
    return place.country_code in countries


def resolve_area_name(name: str, index: PlaceIndex) -> ResolvedArea:
    """The place a name most likely means, as a point with a radius.

    Among the places the name may be (after any ", country" or ", region" qualifiers),
    the largest town of at least 10 000 people wins; failing that, the most populous
    reading of any kind (a region, a country). Raises :class:`OsmQueryError` when no
    place has that name.
    """
    parts = [p.strip() for p in name.split(",") if p.strip()]
    if not parts:
        raise OsmQueryError("area_name is empty")
    key = normalize(parts[0])
    places = [index.place(i) for i in dict.fromkeys(index.lookup(key))] if key else []
    if not places:
        raise OsmQueryError(f"no place named '{parts[0]}' in the offline gazetteer; give a bbox or around instead")
    for qualifier in parts[1:]:
        places = [p for p in places if _qualifies(p, qualifier, index)]
        if not places:
            raise OsmQueryError(f"no place named '{parts[0]}' in '{qualifier}' in the offline gazetteer")
    towns = [p for p in places if p.kind == "city" and p.population >= TOWN_PREFERENCE_POPULATION]
    best = max(towns or places, key=lambda p: (p.population, index.is_primary_name(key, p.id), -p.id))
    return ResolvedArea(
        query=name,
        name=best.name,
        kind=best.kind,
        country_code=best.country_code,
        lat=best.lat,
        lon=best.lon,
        radius_km=best.radius_km,
    )


def area_resolver(ctx: Any) -> AreaResolver:
    """A resolver over the run's shared gazetteer and place index (loaded on first use,
    under the same resource keys the text tools use, so they are loaded once)."""

    def resolve(name: str) -> ResolvedArea:
        gazetteer = ctx.resources.get("gazetteer", lambda: Gazetteer(ctx.cache_dir))
        index = ctx.resources.get("place_index", lambda: PlaceIndex(gazetteer))
        return resolve_area_name(name, index)

    return resolve
