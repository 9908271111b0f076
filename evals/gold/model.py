"""What gold resolution and judging produce: a resolved gold place, its area, a judgement; the thresholds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Granularity = Literal["country", "region", "county", "city", "site", "border", "unresolved"]

#: Extent of a county located by its seat: a typical county is 1,000-5,000 km².
COUNTY_RADIUS_KM = 40.0
#: Extent of a site located at a small named place (a station named after its village).
SITE_RADIUS_KM = 3.0
#: A border answer is right within this distance of the other side's populated places.
BORDER_KM = 100.0
#: Added to a gold radius when judging by distance: the field's city (25 km) and street-ish thresholds.
MARGIN_KM: dict[str, float] = {"site": 5.0, "county": 25.0, "city": 25.0}
#: Least radius when a gold is judged at a coarser point-level than it names (a city asked as a county).
LEVEL_RADIUS_KM = {"site": SITE_RADIUS_KM, "city": 10.0, "county": COUNTY_RADIUS_KM}
#: Codes GeoNames keeps apart from a country some answers name as their container ("Taiwan, China").
CONTAINER_ALIASES: dict[str, frozenset[str]] = {"CN": frozenset({"TW", "HK", "MO"})}
#: How far a county, site or town may lie from the point of the city said to contain it.
#: Chinese prefecture-level cities span 100-200 km, so this is loose: it only picks among
#: same-named places, the region container does the rest.
CITY_CONTAINS_KM = 150.0
MAX_CANDIDATES = 8
POP_WEIGHT = 0.3
#: Two equally good readings are ambiguous unless one place is this many times larger.
AMBIGUOUS_POP_RATIO = 3.0


class Area(BaseModel):
    """A point-and-radius extent of one level of a gold answer (its site, county or city)."""

    name: str
    lat: float
    lon: float
    radius_km: float


class GoldPlace(BaseModel):
    """A gold answer resolved to a place of known granularity.

    ``radius_km`` is how far from ``lat``/``lon`` a prediction may be and still be "at" the
    place (before the judge's margin). ``areas`` keeps every point-level reading of the
    answer (its site, county, city) so that the judge can score a station answer at city
    level when the question asked for a city. ``bbox`` (south, west, north, east) marks a
    directional part of a country or region; ``sides`` the two sides of a border, as
    country codes ("BO") or region codes ("CN.11").
    """

    answer: str
    granularity: Granularity
    name: str | None = None
    country_code: str | None = None
    region: str | None = Field(default=None, description="First-level region as the gazetteer writes it.")
    region_code: str | None = Field(default=None, description="Gazetteer region code, 'CC.admin1' as reverse() gives.")
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    countries: list[str] = Field(default_factory=list)
    note: str = ""
    areas: dict[str, Area] = Field(default_factory=dict)
    bbox: tuple[float, float, float, float] | None = None
    sides: list[str] = Field(default_factory=list)

    @property
    def resolved(self) -> bool:
        return self.granularity != "unresolved"


class Judgement(BaseModel):
    """A prediction scored against a gold place. ``correct`` is None when the gold could not
    be resolved: such items are reported apart, never counted as right or wrong."""

    correct: bool | None
    level: str
    reason: str
    distance_km: float | None = None


def unresolved_gold(answer: str, note: str) -> GoldPlace:
    return GoldPlace(answer=answer, granularity="unresolved", note=note)
