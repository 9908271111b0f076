"""The evidence vocabulary every layer speaks: Evidence, Candidate, Observation.

These are pydantic models because they cross every edge of the system: they are
shown to the model, written to traces, exported by investigators and returned to
users inside ``Location``. Keep them honest and specific: an Evidence says what was
seen, where, by which tool with which arguments, and what it implies.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Kinds of evidence the built-in tools produce. Other tools may add their own.
EVIDENCE_KINDS = (
    "exif",
    "ocr_text",
    "place_name",
    "phone",
    "url",
    "email",
    "postcode",
    "currency",
    "language",
    "script",
    "search_hit",
    "osm_feature",
    "model_observation",
    "hint",
    "sun",
    "tampering",
    # knowledge tools (research): a page's passage, Wikipedia/Wikidata, a landmark near a
    # point, a page showing the same image, a model's answer from memory
    "page_passage",
    "wiki_summary",
    "wiki_fact",
    "landmark",
    "image_match",
    "model_knowledge",
)


class ToolSource(BaseModel):
    """Which tool produced a piece of evidence, and with which arguments."""

    model_config = ConfigDict(frozen=True)

    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class GeoRef(BaseModel):
    """Where a piece of evidence points on Earth: a point with an uncertainty radius,
    optionally with the exact shape (GeoJSON geometry) it came from."""

    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    radius_km: float | None = Field(default=None, ge=0.0)
    geometry: dict[str, Any] | None = None

    @field_validator("lat", "lon")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("coordinates must be finite numbers")
        return value


class Evidence(BaseModel):
    """One observed fact that bears on where the image was taken.

    ``countries`` is a prior over ISO 3166-1 alpha-2 codes implied by this fact alone
    (a Cyrillic sign makes RU/UA/BY/BG/... likelier); values need not sum to one.
    ``bbox`` is ``[x0, y0, x1, y1]`` in pixels of ``image``.
    """

    id: str | None = None
    kind: str
    value: str
    confidence: float = Field(ge=0.0, le=1.0)
    image: str | None = None
    bbox: list[float] | None = None
    source: ToolSource
    provenance: str | None = None
    geo: GeoRef | None = None
    countries: dict[str, float] | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @field_validator("bbox")
    @classmethod
    def _bbox_shape(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and len(value) != 4:
            raise ValueError("bbox must be [x0, y0, x1, y1]")
        return value

    @field_validator("countries")
    @classmethod
    def _country_codes(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return None
        cleaned: dict[str, float] = {}
        for code, weight in value.items():
            if len(code) != 2 or not code.isalpha():
                raise ValueError(f"country code {code!r} is not ISO 3166-1 alpha-2")
            if weight < 0 or not math.isfinite(weight):
                raise ValueError(f"country weight for {code} must be a finite number >= 0")
            cleaned[code.upper()] = float(weight)
        return cleaned

    def brief(self) -> str:
        """A one-line description for people and models."""
        where = f" in {self.image}" if self.image else ""
        if self.bbox is not None and self.image:
            box = ",".join(str(round(v)) for v in self.bbox)
            where = f" in {self.image} at [{box}]"
        return f"{self.kind}: {self.value}{where} (confidence {self.confidence:.2f})"


class Candidate(BaseModel):
    """A possible location. ``sources`` are ids of the evidence that supports it.

    ``radius_km`` is how far from the point the place could reasonably be (a city
    candidate a few km, a country centroid hundreds); consensus uses it for spread.
    """

    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    label: str = ""
    score: float = Field(ge=0.0)
    sources: list[str] = Field(default_factory=list)
    radius_km: float = Field(default=1.0, ge=0.0)
    country_code: str | None = None
    region: str | None = None
    city: str | None = None
    proposer: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @field_validator("lat", "lon", "score", "radius_km")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class Observation(BaseModel):
    """What a tool hands back: a short text for the model, structured evidence,
    new image handles, and an error field instead of an exception.

    ``data`` holds the tool's raw structured output so that a trace can answer the
    call again on replay without running the tool.
    """

    tool: str = ""
    arguments: dict[str, Any] = Field(default_factory=dict)
    text: str = ""
    evidence: list[Evidence] = Field(default_factory=list)
    images: list[str] = Field(default_factory=list)
    error: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    #: How the call went rather than what it found (seconds, cache hits, attempts, the
    #: endpoint that answered). The trace keeps it in the step's ``meta``, apart from
    #: ``data``, so two runs of the same call compare equal.
    meta: dict[str, Any] = Field(default_factory=dict, exclude=True)

    @property
    def ok(self) -> bool:
        return self.error is None

    @model_validator(mode="after")
    def _text_for_errors(self) -> Observation:
        if self.error and not self.text:
            self.text = f"error: {self.error}"
        return self

    @classmethod
    def failure(cls, tool: str, arguments: dict[str, Any], error: str) -> Observation:
        return cls(tool=tool, arguments=arguments, error=error, text=f"{tool} failed: {error}")
