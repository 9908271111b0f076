"""The outcome of reading an image: merged lines in root-image pixels, and how it was read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .lines import Box, Quad


def _r(value: float, digits: int = 1) -> float:
    return round(float(value), digits)


@dataclass
class ReadLine:
    """One line of text after merging all passes.

    ``box``/``quad`` are in pixels of ``image`` (the root image whenever the handle
    read maps back to it); ``read_on`` is the handle of the image the winning read was
    made on (a zoom handle, or the handle asked for when it was read on an overview or
    a tile of it); ``scale`` is how many pixels of that read image one pixel of
    ``image`` covered, so a reader can tell a 3x zoom from a downscaled overview.
    ``confidence`` is ``raw_confidence`` reduced for text along the frame edge.
    """

    text: str
    confidence: float
    raw_confidence: float
    box: Box
    quad: Quad
    image: str
    read_on: str
    scale: float
    stage: str
    edge: bool = False
    support: int = 1
    #: The engine that read the text when the backend combines several ("tesseract:rus").
    engine: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "confidence": round(self.confidence, 4),
            "raw_confidence": round(self.raw_confidence, 4),
            "box": [_r(v) for v in self.box],
            "quad": [[_r(x), _r(y)] for x, y in self.quad],
            "image": self.image,
            "read_on": self.read_on,
            "scale": round(self.scale, 4),
            "stage": self.stage,
            "edge": self.edge,
            "support": self.support,
            **({"engine": self.engine} if self.engine else {}),
        }


@dataclass
class ReadResult:
    """Everything one multi-scale read produced, JSON-safe through :meth:`to_json`."""

    image: str
    root: str | None
    backend: str
    size: tuple[int, int]
    region: list[int] | None = None
    lines: list[ReadLine] = field(default_factory=list)
    zoom_images: list[str] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0
    budget_exhausted: bool = False
    skipped: list[str] = field(default_factory=list)
    #: Scripts this machine cannot read (no Tesseract, or its models missing).
    unreadable_scripts: list[str] = field(default_factory=list)

    def timing(self) -> dict[str, Any]:
        """How long the read took, overall and per pass (kept apart from what it read)."""
        return {
            "elapsed_s": round(self.elapsed_s, 3),
            "stage_seconds": [stage.get("seconds") for stage in self.stages],
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "root": self.root,
            "backend": self.backend,
            "size": list(self.size),
            "region": self.region,
            "lines": [line.to_json() for line in self.lines],
            "zoom_images": list(self.zoom_images),
            "stages": [{k: v for k, v in stage.items() if k != "seconds"} for stage in self.stages],
            "budget_exhausted": self.budget_exhausted,
            "skipped": list(self.skipped),
            **({"unreadable_scripts": list(self.unreadable_scripts)} if self.unreadable_scripts else {}),
        }
