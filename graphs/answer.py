"""The ``answer`` tool: how a model hands its final candidates to the graph.

Making the answer a tool call (not free text) means every backend — native tool calls,
the text protocol, a GeoLocSFT JSON reply — ends in the same structured form, and
the graph never parses model text. The tool is bound to the model with the other
tools so its schema is in the prompt; it is never executed by ``act``: the policy
reads its arguments and turns them into candidates here.
"""

from __future__ import annotations

import math
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field, ValidationError

from tools.evidence import Candidate
from tools.geocode import geocode
from tools.places import PlaceIndex

ANSWER_TOOL = "answer"

#: How far from the point a model's coordinate guess may be when it gives no radius:
#: a model's exact coordinates are rarely better than a town.
DEFAULT_POINT_RADIUS_KM = 25.0


class AnswerCandidate(BaseModel):
    """One candidate location: coordinates, or place names to look up offline."""

    lat: float | None = Field(default=None, ge=-90.0, le=90.0, description="Latitude in decimal degrees.")
    lon: float | None = Field(default=None, ge=-180.0, le=180.0, description="Longitude in decimal degrees.")
    label: str = Field(default="", description="Place name, e.g. 'Porto, Portugal'.")
    country: str | None = Field(default=None, description="Country name or ISO code (when no coordinates).")
    region: str | None = Field(default=None, description="First-level region (when no coordinates).")
    city: str | None = Field(default=None, description="City or town (when no coordinates).")
    confidence: float = Field(default=0.5, ge=0.0, le=1.0, description="How sure you are, 0..1.")
    reasons: str = Field(default="", description="The evidence this candidate rests on.")


class AnswerArgs(BaseModel):
    """Your final answer: one or more candidate locations, most likely first."""

    candidates: list[AnswerCandidate] = Field(min_length=1, max_length=10)
    thinking: str = Field(default="", description="Your reasoning, briefly.")


class AnswerTool(BaseTool):
    """Bound to the model so it knows how to answer; the graph reads the call instead
    of running it."""

    name: str = ANSWER_TOOL
    description: str = (
        "Give your final answer: candidate locations (lat/lon, or country/region/city names), "
        "most likely first, each with a confidence and the evidence it rests on."
    )
    args_schema: type[BaseModel] = AnswerArgs

    def _run(self, **kwargs: Any) -> str:
        return "answer recorded"


def answer_candidates(
    arguments: dict[str, Any], places: PlaceIndex | None, *, sources: list[str] | None = None
) -> tuple[list[Candidate], list[str]]:
    """Candidates from an ``answer`` call's arguments, and what could not be used.

    Scores are the model's confidences scaled by rank (the first candidate counts most)
    so consensus weighs a model's hedges below its main answer.
    """
    problems: list[str] = []
    try:
        args = AnswerArgs.model_validate(arguments)
    except ValidationError as exc:
        # keep the valid candidates of a partly broken answer
        raw = arguments.get("candidates") if isinstance(arguments, dict) else None
        items = []
        for entry in raw if isinstance(raw, list) else []:
            try:
                items.append(AnswerCandidate.model_validate(entry))
            except ValidationError as inner:
                error = inner.errors()[0]
                field = ".".join(str(p) for p in error["loc"]) or "candidate"
                label = entry.get("label") if isinstance(entry, dict) else None
                name = f"{label!r} " if label else ""
                problems.append(f"candidate {name}dropped: {field}={error.get('input')!r} rejected ({error['msg']})")
        if not items:
            return [], [*problems, f"unusable answer: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}"]
        args = AnswerArgs(candidates=items[:10], thinking=str(arguments.get("thinking", "")))
    out: list[Candidate] = []
    for rank, item in enumerate(args.candidates):
        point = _locate(item, places)
        if point is None:
            problems.append(f"candidate {item.label or item.city or item.country or rank} has no place I can find")
            continue
        lat, lon, radius, names = point
        score = max(item.confidence, 0.05) / (1.0 + 0.5 * rank)
        out.append(
            Candidate(
                lat=lat,
                lon=lon,
                label=item.label or names.get("label", ""),
                score=score,
                sources=list(sources or []),
                radius_km=radius,
                country_code=names.get("country_code"),
                region=item.region or names.get("region"),
                city=item.city or names.get("city"),
                details={"model_confidence": item.confidence, "reasons": item.reasons, "rank": rank},
            )
        )
    return out, problems


def _locate(item: AnswerCandidate, places: PlaceIndex | None) -> tuple[float, float, float, dict[str, Any]] | None:
    if item.lat is not None and item.lon is not None and math.isfinite(item.lat) and math.isfinite(item.lon):
        return item.lat, item.lon, DEFAULT_POINT_RADIUS_KM, {}
    if places is None:
        return None
    found = geocode(places, country=item.country, region=item.region, city=item.city, text=item.label or None)
    if found is None:
        return None
    names: dict[str, Any] = {"label": found.name, "country_code": found.country_code, "region": found.region}
    if found.granularity == "city":
        names["city"] = found.name
    return found.lat, found.lon, found.radius_km, names
