"""Metadata: read every original image's EXIF first; propose its GPS positions."""

from __future__ import annotations

from typing import Any

from tools.evidence import Candidate

from ..policy import RunView
from .playbook import Lane, Play


class MetadataPlay(Play):
    """Read every original image's EXIF first (ingest normally has already)."""

    name = "metadata"

    def calls(self, view: RunView) -> list[tuple[str, dict[str, Any]]]:
        if not view.use_metadata or "read_metadata" not in view.tools:
            return []
        return [
            ("read_metadata", {"image": root.handle})
            for root in view.images.roots()
            if not view.has_called("read_metadata", image=root.handle)
        ]


class MetadataLane(Lane):
    """EXIF GPS positions, one candidate per image."""

    name = "metadata"

    def candidates(self, view: RunView) -> list[Candidate]:
        out = []
        for item in view.evidence:
            if item.kind == "exif" and item.geo is not None and item.details.get("field") == "gps":
                out.append(
                    Candidate(
                        lat=item.geo.lat,
                        lon=item.geo.lon,
                        label=f"EXIF GPS of {item.image}",
                        score=item.confidence,
                        sources=[item.id] if item.id else [],
                        radius_km=item.geo.radius_km or 0.05,
                    )
                )
        return out
