"""``geocode``: a name into coordinates, or coordinates into a name.

The offline gazetteer answers first (:mod:`tools.geocode` is this tool's offline
backend, :meth:`tools.gazetteer.Gazetteer.reverse` its reverse one): cities, regions and
countries need nothing to leave the machine. Names it does not know (a street, a
building, a small village) go to Nominatim when the run is online, following its usage
policy (https://operations.osmfoundation.org/policies/nominatim/): at most one request
a second (the network client's per-host pacing), an identifying User-Agent, answers
cached. Response format: https://nominatim.org/release-docs/latest/api/Search/ and
https://nominatim.org/release-docs/latest/api/Reverse/ (``format=jsonv2``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from ..base import GeoTool
from ..evidence import Evidence, GeoRef, Observation, ToolSource
from ..geocode import Geocoded, geocode
from ..net import BadResponseError, NetError
from ..text_tool import place_index
from .settings import KnowledgeSettings

NOMINATIM_URL = "https://nominatim.openstreetmap.org"
Source = Literal["auto", "offline", "nominatim"]


class GeocodeArgs(BaseModel):
    query: str | None = Field(
        default=None, max_length=300, description="A place name: 'Anshun, Guizhou, China', 'Rua Augusta, Lisbon'."
    )
    lat: float | None = Field(default=None, ge=-90, le=90, description="With lon: what is at this point.")
    lon: float | None = Field(default=None, ge=-180, le=180)
    source: Source = Field(
        default="auto", description="auto: the offline gazetteer, then Nominatim when online; or one of them only."
    )

    @model_validator(mode="after")
    def _one_of(self) -> GeocodeArgs:
        if not self.query and (self.lat is None or self.lon is None):
            raise ValueError("give a query, or lat and lon to reverse-geocode")
        return self


class GeocodeTool(GeoTool):
    name: str = "geocode"
    description: str = (
        "Turn a place name into coordinates (offline gazetteer first, then OpenStreetMap's Nominatim when online), "
        "or coordinates into the country, region and town they lie in."
    )
    args_schema: type[BaseModel] = GeocodeArgs
    kind: ClassVar[str] = "knowledge"
    online: ClassVar[bool] = True
    settings_model: ClassVar[type[BaseModel] | None] = KnowledgeSettings

    def _offline(self, query: str | None, lat: float | None, lon: float | None) -> dict[str, Any] | None:
        if query:
            found: Geocoded | None = geocode(place_index(self.ctx), text=query)
            if found is None:
                return None
            return {
                "name": found.name,
                "lat": found.lat,
                "lon": found.lon,
                "radius_km": found.radius_km,
                "granularity": found.granularity,
                "country_code": found.country_code,
                "region": found.region,
                "source": "gazetteer",
            }
        place = place_index(self.ctx).gazetteer.reverse(float(lat), float(lon))  # type: ignore[arg-type]
        if place.country_code is None:
            return None
        names = [p for p in (place.city, place.region, place.country) if p]
        return {
            "name": ", ".join(dict.fromkeys(names)),
            "lat": lat,
            "lon": lon,
            "city": place.city,
            "region": place.region,
            "country_code": place.country_code,
            "source": "gazetteer",
        }

    def leaves_machine(self, arguments: dict[str, Any]) -> bool:
        source = arguments.get("source") or "auto"
        if source == "offline":
            return False
        if source == "nominatim":
            return True
        try:
            return self._offline(arguments.get("query"), arguments.get("lat"), arguments.get("lon")) is None
        except Exception:  # noqa: BLE001 - unsure means "it may leave"
            return True

    def _nominatim(self, query: str | None, lat: float | None, lon: float | None) -> list[dict[str, Any]]:
        base = str(self.ctx.settings.get("nominatim_url") or NOMINATIM_URL).rstrip("/")
        net = self.ctx.net()
        if query:
            params = {"q": query, "format": "jsonv2", "limit": 5, "addressdetails": 1}
            payload = net.get_json(f"{base}/search", params=params, service="nominatim").data
            if not isinstance(payload, list):
                raise BadResponseError("nominatim: a search answers a JSON list")
            rows = payload
        else:
            params = {"lat": lat, "lon": lon, "format": "jsonv2", "addressdetails": 1}
            payload = net.get_json(f"{base}/reverse", params=params, service="nominatim").data
            if not isinstance(payload, dict):
                raise BadResponseError("nominatim: a reverse lookup answers a JSON object")
            if payload.get("error"):
                return []
            rows = [payload]
        out = []
        for row in rows:
            if not isinstance(row, dict) or "lat" not in row or "lon" not in row:
                raise BadResponseError("nominatim: a result without lat/lon")
            address = row.get("address") or {}
            box = row.get("boundingbox")
            out.append(
                {
                    "name": str(row.get("display_name") or row.get("name") or ""),
                    "lat": float(row["lat"]),
                    "lon": float(row["lon"]),
                    "country_code": str(address.get("country_code") or "").upper() or None,
                    "region": address.get("state"),
                    "city": address.get("city") or address.get("town") or address.get("village"),
                    "osm": f"{row.get('osm_type')}/{row.get('osm_id')}" if row.get("osm_type") else None,
                    "type": row.get("addresstype") or row.get("type"),
                    "bbox": [float(v) for v in box] if isinstance(box, list) and len(box) == 4 else None,
                    "source": "nominatim",
                }
            )
        return out

    def execute(
        self, query: str | None = None, lat: float | None = None, lon: float | None = None, source: Source = "auto"
    ) -> Observation:
        arguments = {"query": query, "lat": lat, "lon": lon, "source": source}
        found: list[dict[str, Any]] = []
        if source in ("auto", "offline"):
            hit = self._offline(query, lat, lon)
            found = [hit] if hit else []
        if not found and source in ("auto", "nominatim"):
            try:
                found = self._nominatim(query, lat, lon)
            except NetError as exc:
                kind = getattr(exc, "kind", "error")
                kind = "network" if kind == "error" else kind
                return Observation(error=f"{kind}: {exc}", text=f"geocode failed: {kind}: {exc}", data=arguments)
            except (TypeError, ValueError) as exc:
                error = f"bad_response: nominatim: {exc}"
                return Observation(error=error, text=f"geocode failed: {error}", data=arguments)
        asked = query or f"{lat:.5f}, {lon:.5f}"
        if not found:
            return Observation(text=f"geocode: nothing found for {asked!r}", data={**arguments, "results": []})
        tool_source = ToolSource(tool=self.name, arguments=arguments)
        evidence, lines = [], [f"geocode {asked!r}:"]
        for rank, row in enumerate(found):
            osm = row.get("osm")
            provenance = f"https://www.openstreetmap.org/{osm}" if osm else "geonames (offline gazetteer)"
            radius = row.get("radius_km") or (5.0 if row.get("source") == "nominatim" else None)
            evidence.append(
                Evidence(
                    kind="place_name",
                    value=row["name"],
                    confidence=round(0.6 / (1 + rank), 4),
                    source=tool_source,
                    provenance=provenance,
                    geo=GeoRef(lat=row["lat"], lon=row["lon"], radius_km=radius),
                    countries={row["country_code"]: 1.0} if row.get("country_code") else None,
                    details={k: v for k, v in row.items() if k not in ("name", "lat", "lon") and v is not None},
                )
            )
            lines.append(f"{rank + 1}. {row['name']} — {row['lat']:.5f}, {row['lon']:.5f} ({row['source']})")
        return Observation(text="\n".join(lines), evidence=evidence, data={**arguments, "results": found})
