"""What the user already knows: a free-text hint, countries, a bounding box, and
shadows measured in the photo (with the capture time, when the metadata lacks it).

A hint becomes evidence of kind ``hint`` at the start of a run, so it narrows the
country priors and the verification of candidates like any other clue, and it is
listed with the evidence in the answer (an investigator must see what was assumed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pycountry
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .evidence import Evidence, GeoRef, ToolSource
from .geo import haversine_km, spherical_mean
from .sun.clock import parse_time
from .sun.shadow import ShadowMeasurement, coerce_measurement

if TYPE_CHECKING:
    from .places import PlaceIndex


def country_code(name_or_code: str) -> str:
    """ISO 3166-1 alpha-2 code for a code or name ('DE', 'DEU', 'Germany'); ConfigError if unknown."""
    try:
        return pycountry.countries.lookup(name_or_code.strip()).alpha_2
    except LookupError:
        raise ConfigError(f"unknown country {name_or_code!r}: use an ISO code or an English country name") from None


class Hint(BaseModel):
    """Prior knowledge about where the image is. All fields optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str | None = Field(default=None, description="Free text, e.g. 'somewhere in Bavaria'.")
    countries: tuple[str, ...] = Field(default=(), description="ISO codes or English names of possible countries.")
    bbox: tuple[float, float, float, float] | None = Field(default=None, description="(south, west, north, east).")
    shadows: tuple[ShadowMeasurement, ...] = Field(
        default=(), description="Shadows measured in the photo: 'HEIGHT:LENGTH[@BEARING]' texts or dicts."
    )
    time: str | None = Field(
        default=None, description="When the photo was taken, if the user knows (ISO, with Z/offset/zone or local)."
    )

    @field_validator("shadows", mode="before")
    @classmethod
    def _shadows(cls, value: Any) -> tuple[ShadowMeasurement, ...]:
        if value is None:
            return ()
        if isinstance(value, (str, dict, ShadowMeasurement)):
            value = [value]
        return tuple(coerce_measurement(v) for v in value)

    @field_validator("time")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is not None:
            parse_time(value)  # a clear error now rather than a failed sun check later
        return value

    @field_validator("countries", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple, set, frozenset)) or not all(isinstance(v, str) for v in value):
            raise ValueError("countries must be ISO codes or English country names (a string or a list of strings)")
        return tuple(country_code(v) for v in value)

    @model_validator(mode="after")
    def _box(self) -> Hint:
        if self.bbox is not None:
            south, west, north, east = self.bbox
            if not (-90 <= south < north <= 90 and -180 <= west <= 180 and -180 <= east <= 180):
                raise ValueError("bbox must be (south, west, north, east) with south < north, in degrees")
        return self

    @classmethod
    def coerce(cls, value: Hint | str | Mapping[str, Any] | None = None, **fields: Any) -> Hint | None:
        """Accept a Hint, a text, a dict of fields, and keyword fields (``country=``, ``bbox=``)."""
        if "country" in fields:
            fields["countries"] = fields.pop("country")
        fields = {k: v for k, v in fields.items() if v is not None}
        if value is None and not fields:
            return None
        try:
            if isinstance(value, Hint):
                return value.model_copy(update=fields) if fields else value
            if isinstance(value, str):
                return cls(text=value, **fields)
            if isinstance(value, Mapping):
                data = dict(value)
                if "country" in data:
                    data["countries"] = data.pop("country")
                return cls(**{**data, **fields})
            if value is None:
                return cls(**fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ConfigError(f"invalid hint: {'.'.join(map(str, first['loc'])) or 'hint'}: {first['msg']}") from None
        raise ConfigError(f"hint must be a string, a dict or a Hint, not {type(value).__name__}")

    def is_empty(self) -> bool:
        return not (self.text or self.countries or self.bbox or self.shadows or self.time)

    def to_evidence(self, places: PlaceIndex | None = None) -> list[Evidence]:
        """The hint as evidence. Free text is read with the place index when one is given:
        "somewhere in Bavaria" becomes the region Bavaria (its country, centre and extent)."""
        source = ToolSource(tool="hint", arguments=self.model_dump(mode="json", exclude_none=True))
        out: list[Evidence] = []
        if self.text and places is not None:
            out.extend(_text_hint(self.text, places, source))
        if self.countries:
            out.append(
                Evidence(
                    kind="hint",
                    value="country is one of " + ", ".join(self.countries),
                    confidence=0.9,
                    source=source,
                    provenance="user hint",
                    countries={c: 1.0 for c in self.countries},
                )
            )
        if self.bbox:
            south, west, north, east = self.bbox
            east_unwrapped = east if east >= west else east + 360.0
            corners = [(south, west), (north, west), (south, east_unwrapped), (north, east_unwrapped)]
            lat, lon = spherical_mean(corners)
            radius = max(haversine_km(lat, lon, c[0], c[1]) for c in corners)
            ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
            out.append(
                Evidence(
                    kind="hint",
                    value=f"inside box S{south} W{west} N{north} E{east}",
                    confidence=0.9,
                    source=source,
                    provenance="user hint",
                    geo=GeoRef(lat=lat, lon=lon, radius_km=radius, geometry={"type": "Polygon", "coordinates": [ring]}),
                    details={"bbox": list(self.bbox)},
                )
            )
        if self.shadows or self.time:
            out.append(self._sun_evidence(source))
        return out

    def _sun_evidence(self, source: ToolSource) -> Evidence:
        """The shadows and time as stated (the sun check itself runs once the time is known)."""
        parts = [m.describe() for m in self.shadows]
        if self.time:
            parts.append(f"taken {parse_time(self.time).describe()}")
        return Evidence(
            kind="hint",
            value="sun: " + "; ".join(parts),
            confidence=0.9,
            source=source,
            provenance="user hint",
            details={
                "shadows": [m.model_dump(mode="json", exclude_none=True) for m in self.shadows],
                "time": self.time,
            },
        )


def _text_hint(text: str, places: PlaceIndex, source: ToolSource) -> list[Evidence]:
    """The most prominent place each name in the hint text can be (hints name regions and
    countries more often than villages, so larger places win)."""
    out = []
    for hit in places.find(text):
        candidates = [places.place(i) for i in hit.places]
        best = max(candidates, key=lambda p: ({"country": 2, "region": 1}.get(p.kind, 0), p.population))
        if best.kind == "city" and best.population < 1000:
            continue
        details = {"key": hit.key, "place_kind": best.kind, "country_code": best.country_code}
        if best.kind == "region":
            details["region"] = best.name
        out.append(
            Evidence(
                kind="hint",
                value=f"hint '{text}' -> {best.describe()}",
                confidence=0.9,
                source=source,
                provenance="user hint, read with the GeoNames gazetteer",
                geo=GeoRef(lat=best.lat, lon=best.lon, radius_km=best.radius_km),
                countries={best.country_code: 1.0},
                details=details,
            )
        )
    return out
