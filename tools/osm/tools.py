"""The OpenStreetMap tools a model or the playbook calls: ``osm_search``, ``osm_proximity``
and ``osm_verify`` (budget kind "osm").

Every failure comes back as an observation with ``error`` set and a hint for the model
(offline, rate limited, server busy, refused query), never as an exception; an empty
answer is a successful observation that says nothing was found. ``data`` keeps the QL
that was (or would have been) sent and the matched features with their geometry, so a
trace can replay the call and an investigator can rerun the query on overpass-turbo.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..base import GeoTool
from ..errors import GeoSleuthError
from ..evidence import Observation, ToolSource
from ..net import NetError
from ..tool_settings import OsmSettings
from .client import net_message
from .ql import OsmQueryError
from .query import Around, BBox, FeatureQuery, OsmType, TagValue

MAX_TEXT_LINES = 10
_HINTS = {
    "offline": "OpenStreetMap is unreachable in this run; go on without it.",
    "rate_limited": "Overpass is rate-limiting us; try again later or go on without it.",
    "service": "the Overpass server failed; try a smaller area or go on without it.",
    "overpass_runtime": "the query was too heavy for the server; search a smaller area or add filters.",
    "bad_response": "the server's answer was unusable; go on without it.",
    "timeout": "the server did not answer in time; search a smaller area or go on without it.",
    "too_large": "the answer was too large; search a smaller area, add filters or lower the limit.",
    "bad_query": "fix the arguments and call again.",
    "error": "the request failed; go on without it.",
}


class OsmSearchArgs(FeatureQuery):
    """Arguments of ``osm_search``: a structured query, or raw QL where the run allows it."""

    raw_ql: str | None = Field(
        default=None,
        description=(
            "Raw Overpass QL. Refused unless the run enables raw queries; it must have a bbox or around filter "
            "on every statement. Prefer the structured fields."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> OsmSearchArgs:
        self._check_consistency(require_filter=self.raw_ql is None)
        structured = self.tags or self.name or self.name_pattern or self.has_area
        if self.raw_ql is not None and structured:
            raise ValueError("give raw_ql alone, or the structured fields without raw_ql")
        return self


class FeatureSpec(BaseModel):
    """Which features, without an area (the proximity tool takes one area for both sets)."""

    model_config = ConfigDict(extra="forbid")

    tags: dict[str, TagValue] = Field(
        default_factory=dict,
        description='OSM tags, key -> value; a list matches any value, null any value at all: {"amenity": "pharmacy"}.',
    )
    name: str | None = Field(default=None, description="Exact name tag.")
    name_pattern: str | None = Field(default=None, description="Text the name contains (case-insensitive, literal).")
    types: list[OsmType] = Field(
        default_factory=lambda: ["node", "way", "relation"], min_length=1, description="node, way and/or relation."
    )


class OsmProximityArgs(BaseModel):
    """Arguments of ``osm_proximity``."""

    model_config = ConfigDict(extra="forbid")

    find: FeatureSpec = Field(description="The features you are looking for (A), e.g. {'tags': {'amenity': 'cafe'}}.")
    near: FeatureSpec = Field(
        description="The anchor features (B) they must be near, e.g. {'tags': {'railway': 'tram_stop'}}."
    )
    within_m: float = Field(gt=0, le=5_000, description="Greatest distance in metres between A and B (at most 5000).")
    bbox: BBox | None = Field(
        default=None, description="Search area {south, west, north, east} in degrees (a [s, w, n, e] list works too)."
    )
    around: Around | None = Field(default=None, description="Search area as a circle {lat, lon, radius_m}.")
    area_name: str | None = Field(
        default=None, max_length=200, description="Search area as a town name resolved offline, e.g. 'Lisbon'."
    )
    limit: int | None = Field(default=None, ge=1, le=10_000, description="Most A features to return (default 50).")
    geometry: bool = Field(default=False, description="Return full shapes instead of centre points.")


class OsmVerifyArgs(BaseModel):
    """Arguments of ``osm_verify``."""

    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, description="Latitude of the candidate location.")
    lon: float = Field(ge=-180, le=180, description="Longitude of the candidate location.")
    text: str = Field(
        min_length=1,
        max_length=120,
        description="A name read in the image: a street ('Rua Augusta'), a shop or a station. Case, accents and "
        "the street-type word do not need to match.",
    )
    radius_km: float = Field(default=1.0, gt=0, le=50, description="How far from the candidate to look, in km.")


class _OsmTool(GeoTool):
    kind: ClassVar[str] = "osm"
    online: ClassVar[bool] = True
    settings_model: ClassVar[type[BaseModel] | None] = OsmSettings

    def _ops(self) -> Any:
        from .ops import OsmOps

        return OsmOps.from_context(self.ctx)

    def _plan(self, ops: Any, arguments: dict[str, Any]) -> Any:
        """The compiled query a call with ``arguments`` would run (no I/O)."""
        raise NotImplementedError

    def leaves_machine(self, arguments: dict[str, Any]) -> bool:
        """Whether this call would go to Overpass (True) or is answered by the local index
        named by ``osm_db`` (False). A call refused before running (bad arguments, an area
        over the limits) sends nothing either."""
        try:
            ops = self._ops()
            plan = self._plan(ops, arguments)
        except (OsmQueryError, ValidationError, ValueError, GeoSleuthError):
            return False
        return not ops.uses_local(plan)

    def _failure(self, exc: Exception, query: str | None) -> Observation:
        if isinstance(exc, ValidationError):
            kind = "bad_query"
            message = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}" for err in exc.errors()
            )
        else:
            kind = getattr(exc, "kind", "error") if isinstance(exc, (NetError, OsmQueryError)) else "error"
            message = net_message(exc)
        hint = _HINTS.get(kind, _HINTS["error"])
        return Observation(
            error=f"{kind}: {message}",
            text=f"{self.name} failed ({kind}): {message} — {hint}",
            data={"error_kind": kind, "query": query},
        )

    def _observe(self, result: Any, arguments: dict[str, Any]) -> Observation:
        evidence = result.evidence(ToolSource(tool=self.name, arguments=arguments))
        lines = [result.summary]
        lines += [f"- {e.value} (confidence {e.confidence:.2f}) {e.provenance}" for e in evidence[:MAX_TEXT_LINES]]
        if len(evidence) > MAX_TEXT_LINES:
            lines.append(f"... and {len(evidence) - MAX_TEXT_LINES} more")
        return Observation(text="\n".join(lines), evidence=evidence, data=result.data(), meta=result.meta())


class OsmSearchTool(_OsmTool):
    name: str = "osm_search"
    description: str = (
        "Find OpenStreetMap features (shops, stations, streets, landmarks) by tags and/or name inside one bounded "
        "area: a bbox, a circle (around) or a town name (area_name). Use it to list places where something seen "
        "in the image exists, e.g. tags={'amenity': 'pharmacy'}, name_pattern='Estácio', area_name='Lisbon'."
    )
    args_schema: type[BaseModel] = OsmSearchArgs

    def _plan(self, ops: Any, arguments: dict[str, Any]) -> Any:
        args = OsmSearchArgs.model_validate(arguments)
        if args.raw_ql is not None:
            return ops.plan_raw(args.raw_ql)
        return ops.plan_find(FeatureQuery.model_validate(args.model_dump(exclude={"raw_ql"})))

    def execute(self, **kwargs: Any) -> Observation:
        query: str | None = None
        try:
            args = OsmSearchArgs.model_validate(kwargs)
            ops = self._ops()
            if args.raw_ql is not None:
                plan = ops.plan_raw(args.raw_ql)
                query = plan.ql
                result = ops.run_raw(plan)
            else:
                feature_query = FeatureQuery.model_validate(args.model_dump(exclude={"raw_ql"}))
                plan = ops.plan_find(feature_query)
                query = plan.ql
                result = ops.run_find(plan)
        except (NetError, OsmQueryError, ValidationError) as exc:
            return self._failure(exc, query)
        return self._observe(result, args.model_dump(mode="json", exclude_none=True))


class OsmProximityTool(_OsmTool):
    name: str = "osm_proximity"
    description: str = (
        "Find OpenStreetMap features of one kind within a distance of features of another kind, in one area "
        "(e.g. a pharmacy within 100 m of a tram stop in Lisbon). Use it when the image shows two things "
        "together; each result names the nearby anchor and the distance."
    )
    args_schema: type[BaseModel] = OsmProximityArgs

    @staticmethod
    def _queries(args: OsmProximityArgs) -> tuple[FeatureQuery, FeatureQuery]:
        area = {"bbox": args.bbox, "around": args.around, "area_name": args.area_name}
        a = FeatureQuery.model_validate({**args.find.model_dump(), "limit": args.limit, "geometry": args.geometry})
        b = FeatureQuery.model_validate({**args.near.model_dump(), **{k: v for k, v in area.items() if v}})
        return a, b

    def _plan(self, ops: Any, arguments: dict[str, Any]) -> Any:
        args = OsmProximityArgs.model_validate(arguments)
        a, b = self._queries(args)
        return ops.plan_proximity(a, b, args.within_m)

    def execute(self, **kwargs: Any) -> Observation:
        query: str | None = None
        try:
            args = OsmProximityArgs.model_validate(kwargs)
            a, b = self._queries(args)
            ops = self._ops()
            plan = ops.plan_proximity(a, b, args.within_m)
            query = plan.ql
            result = ops.run_proximity(plan, args.within_m)
        except (NetError, OsmQueryError, ValidationError) as exc:
            return self._failure(exc, query)
        return self._observe(result, args.model_dump(mode="json", exclude_none=True))


class OsmVerifyTool(_OsmTool):
    name: str = "osm_verify"
    description: str = (
        "Check whether a name read in the image (a street, shop or station name) exists in OpenStreetMap near a "
        "candidate location. A match close to the candidate supports it; no match within the radius is weak "
        "evidence against it (OSM is incomplete)."
    )
    args_schema: type[BaseModel] = OsmVerifyArgs

    def _plan(self, ops: Any, arguments: dict[str, Any]) -> Any:
        args = OsmVerifyArgs.model_validate(arguments)
        return ops.plan_verify(args.lat, args.lon, args.text, args.radius_km)[0]

    def execute(self, **kwargs: Any) -> Observation:
        query: str | None = None
        try:
            args = OsmVerifyArgs.model_validate(kwargs)
            ops = self._ops()
            plan, key = ops.plan_verify(args.lat, args.lon, args.text, args.radius_km)
            query = plan.ql
            result = ops.run_verify(plan, key, args.lat, args.lon, args.text, args.radius_km)
        except (NetError, OsmQueryError, ValidationError) as exc:
            return self._failure(exc, query)
        return self._observe(result, args.model_dump(mode="json"))


class OsmComboArgs(BaseModel):
    """Arguments of ``osm_combo``."""

    model_config = ConfigDict(extra="forbid")

    features: list[FeatureSpec] = Field(
        min_length=2,
        max_length=6,
        description="2 to 6 kinds of feature that must all be close together, e.g. [{'tags': {'amenity': "
        "'pharmacy'}}, {'tags': {'highway': 'bus_stop'}}, {'tags': {'amenity': 'cafe'}}].",
    )
    within_m: float = Field(gt=0, le=5_000, description="Greatest distance in metres between any two of them.")
    bbox: BBox | None = Field(default=None, description="Search area {south, west, north, east} in degrees.")
    around: Around | None = Field(default=None, description="Search area as a circle {lat, lon, radius_m}.")
    area_name: str | None = Field(
        default=None, max_length=200, description="Search area as a town name, e.g. 'Lisbon'."
    )
    limit: int | None = Field(default=None, ge=1, le=500, description="Most places to return (default 50).")

    def queries(self) -> tuple[list[FeatureQuery], FeatureQuery]:
        """One query per spec, and a query that carries the area (and limit)."""
        specs = [FeatureQuery.model_validate(spec.model_dump()) for spec in self.features]
        area = {"bbox": self.bbox, "around": self.around, "area_name": self.area_name}
        carrier = FeatureQuery.model_validate(
            {"tags": {"area": None}, "limit": self.limit, **{k: v for k, v in area.items() if v is not None}}
        )
        return specs, carrier


class OsmComboTool(_OsmTool):
    name: str = "osm_combo"
    description: str = (
        "Find places where several kinds of OpenStreetMap feature are all within a distance of each other in one "
        "area (e.g. a pharmacy, a bus stop and a cafe within 150 m in Lisbon). Use it when the image shows several "
        "things together; results are ranked by how close together they are, each with its OSM elements."
    )
    args_schema: type[BaseModel] = OsmComboArgs

    def _plan(self, ops: Any, arguments: dict[str, Any]) -> Any:
        args = OsmComboArgs.model_validate(arguments)
        specs, carrier = args.queries()
        return ops.plan_combo(specs, args.within_m, carrier)

    def execute(self, **kwargs: Any) -> Observation:
        query: str | None = None
        try:
            args = OsmComboArgs.model_validate(kwargs)
            specs, carrier = args.queries()
            ops = self._ops()
            plan = ops.plan_combo(specs, args.within_m, carrier)
            query = plan.ql
            result = ops.run_combo(plan, args.within_m)
        except (NetError, OsmQueryError, ValidationError) as exc:
            return self._failure(exc, query)
        return self._observe(result, args.model_dump(mode="json", exclude_none=True))
