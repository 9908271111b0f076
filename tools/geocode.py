"""Forward geocoding of a named answer: "Paris, France" -> a point with a radius.

Models in the GeoReasoner tradition answer with names (``{country, city}``) rather
than coordinates; the graph needs a point to aggregate. This resolves the names with
the offline place index, preferring the most populous place that agrees with the
coarser names given (a city inside the named region and country), and falls back to
the region's or country's centre with its own, larger radius — so a coarse answer
stays honestly coarse.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError
from .hints import country_code
from .normalize import normalize
from .places import Place, PlaceIndex


@dataclass(frozen=True)
class Geocoded:
    lat: float
    lon: float
    radius_km: float
    granularity: str  # "city", "region" or "country"
    name: str
    country_code: str
    region: str | None = None


def _code(country: str | None, places: PlaceIndex) -> str | None:
    if not country:
        return None
    try:
        return country_code(country)
    except ConfigError:
        pass
    ids = places.lookup(normalize(country))
    found = [places.place(i) for i in ids]
    return next((p.country_code for p in found if p.kind == "country"), None)


def _pick(places: PlaceIndex, name: str, kind: str, cc: str | None, region: str | None) -> Place | None:
    found = [places.place(i) for i in places.lookup(normalize(name))]
    found = [p for p in found if p.kind == kind and (cc is None or p.country_code == cc)]
    if region and kind == "city":
        inside = [p for p in found if p.region and normalize(p.region) == normalize(region)]
        found = inside or found
    return max(found, key=lambda p: p.population, default=None)


def _as_result(place: Place) -> Geocoded:
    return Geocoded(place.lat, place.lon, place.radius_km, place.kind, place.name, place.country_code, place.region)


def geocode(
    places: PlaceIndex,
    *,
    country: str | None = None,
    region: str | None = None,
    city: str | None = None,
    text: str | None = None,
) -> Geocoded | None:
    """The finest place the names agree on, or None when nothing resolves.

    ``text`` is a comma-separated name ("Anshun, Guizhou, China"), read as city,
    region, country from the left when the structured fields are empty.
    """
    if text and not (country or region or city):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if len(parts) >= 3:
            city, region, country = parts[0], parts[-2], parts[-1]
        elif len(parts) == 2:
            city, country = parts
        elif parts:
            city = parts[0]
    cc = _code(country, places)
    if city:
        place = _pick(places, city, "city", cc, region)
        if place is None and cc is None:
            # a lone name may be a region or a country ("Bavaria", "Japan")
            place = _pick(places, city, "region", None, None) or _pick(places, city, "country", None, None)
        if place is not None:
            return _as_result(place)
    if region:
        place = _pick(places, region, "region", cc, None)
        if place is not None:
            return _as_result(place)
    if cc:
        info = places.gazetteer.country(cc)
        if info is not None:
            return Geocoded(info.lat, info.lon, info.radius_km, "country", info.name, cc)
    return None
