"""The metadata tool: an image's EXIF as evidence an investigator can cite."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from .base import GeoTool
from .evidence import Evidence, GeoRef, Observation, ToolSource
from .exif import read_exif
from .image_tools import ImageHandle


class MetadataArgs(BaseModel):
    image: ImageHandle


class MetadataTool(GeoTool):
    name: str = "read_metadata"
    description: str = "Read an original image's EXIF: GPS position, capture time, camera and editing software."
    args_schema: type[BaseModel] = MetadataArgs
    kind: ClassVar[str] = "metadata"
    reads_metadata: ClassVar[bool] = True

    def execute(self, image: str) -> Observation:
        root = self.ctx.images.root_of(image)
        report = read_exif(root.exif)
        source = ToolSource(tool=self.name, arguments={"image": image})
        provenance = f"EXIF of {root.source}"
        evidence: list[Evidence] = []
        lines: list[str] = []
        edited = report.edited_with
        if report.gps:
            gps = report.gps
            notes = list(gps.notes)
            confidence = gps.confidence
            if edited:
                notes.append(f"file was saved by {edited}; metadata may not be original")
                confidence = min(confidence, 0.8)
            value = f"GPS {gps.lat:.6f}, {gps.lon:.6f}"
            evidence.append(
                Evidence(
                    kind="exif",
                    value=value,
                    confidence=confidence,
                    image=root.handle,
                    source=source,
                    provenance=provenance,
                    geo=GeoRef(lat=gps.lat, lon=gps.lon, radius_km=gps.radius_km),
                    details={
                        "field": "gps",
                        "altitude_m": gps.altitude_m,
                        "datum": gps.datum,
                        "utc_time": gps.utc_time.isoformat() if gps.utc_time else None,
                        "notes": notes,
                    },
                )
            )
            lines.append(value + (f" ({'; '.join(notes)})" if notes else ""))
        if report.taken:
            when = report.taken.isoformat(sep=" ") + (
                f" {report.utc_offset}" if report.utc_offset else " (local time, offset unknown)"
            )
            evidence.append(
                Evidence(
                    kind="exif",
                    value=f"taken {when}",
                    confidence=0.9,
                    image=root.handle,
                    source=source,
                    provenance=provenance,
                    details={"field": "time", "taken": report.taken.isoformat(), "utc_offset": report.utc_offset},
                )
            )
            lines.append(f"taken {when}")
        if report.camera or report.software:
            what = ", ".join(
                p
                for p in (
                    report.camera,
                    report.lens,
                    report.software and f"software {report.software}",
                )
                if p
            )
            evidence.append(
                Evidence(
                    kind="exif",
                    value=f"camera {what}",
                    confidence=0.9,
                    image=root.handle,
                    source=source,
                    provenance=provenance,
                    details={"field": "camera", "edited_with": edited},
                )
            )
            lines.append(f"camera {what}")
        if not lines:
            lines.append("no usable EXIF metadata")
        if report.problems:
            lines.append("problems: " + "; ".join(report.problems))
        data = {
            "gps": None
            if not report.gps
            else {
                "lat": report.gps.lat,
                "lon": report.gps.lon,
                "radius_km": report.gps.radius_km,
            },
            "problems": report.problems,
        }
        return Observation(
            text=f"{root.handle} metadata: " + "; ".join(lines),
            evidence=evidence,
            data=data,
        )
