"""A batch's results as JSON Lines (written as jobs finish) and as GeoJSON (at the end).

The JSONL file is the one to trust when a batch of thousands is killed: each finished
job is one line, flushed and fsynced before the next is reported, opened for appending
so an earlier batch's lines are never lost. The GeoJSON has the batch CSV's columns
(:mod:`agent.batch_csv`) as each point's properties (typed, unquoted), so a map layer and a sheet made
from one batch say the same thing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tools.errors import GeoSleuthError

from .batch import BatchOutcome


class JsonLines:
    """An append-only JSONL file, each line on disk before :meth:`write` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise GeoSleuthError(f"cannot write {path}: {exc.strerror or exc}") from None

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def record(outcome: BatchOutcome) -> dict[str, Any]:
    """One JSONL line: which photos, and the full Location (trace left out) or the error."""
    location = None if outcome.location is None else json.loads(outcome.location.to_json(indent=None))
    return {"images": list(outcome.job.images), "location": location, "error": outcome.error}


def feature_collection(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection with a feature per result (:func:`agent.batch_csv.values`):
    a point at the answer, or no geometry (RFC 7946 allows null) for a photo without an
    answer or that failed."""
    features = []
    for properties in rows:
        lat, lon = properties["lat"], properties["lon"]
        geometry = None if lat is None or lon is None else {"type": "Point", "coordinates": [lon, lat]}
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return {"type": "FeatureCollection", "features": features}
