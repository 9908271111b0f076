"""What an OCR backend reads, and the little box geometry the reading procedure needs.

An :class:`OcrLine` is one line of text with the quadrilateral it was found in, in the
pixels of the image the backend was given. Keeping the quad (not only the box) matters
for tilted signs: the text *size* that decides whether a zoom helps is the quad's short
side, which an axis-aligned box overstates for rotated text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]
Box = tuple[float, float, float, float]


def _finite_point(point: Sequence[float]) -> Point:
    x, y = float(point[0]), float(point[1])
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"quad point {point!r} is not finite")
    return (x, y)


def to_quad(points: Iterable[Sequence[float]]) -> Quad:
    """Four ``(x, y)`` points (top-left, top-right, bottom-right, bottom-left) as floats.

    Backends hand back numpy arrays, nested lists or tuples; this is the one place
    that normalises them, so everything downstream can rely on plain floats.
    """
    pts = [_finite_point(p) for p in points]
    if len(pts) != 4:
        raise ValueError(f"a text quad needs 4 points, got {len(pts)}")
    return (pts[0], pts[1], pts[2], pts[3])


def quad_box(quad: Quad) -> Box:
    """The axis-aligned ``[x0, y0, x1, y1]`` box around a quad."""
    xs = [p[0] for p in quad]
    ys = [p[1] for p in quad]
    return (min(xs), min(ys), max(xs), max(ys))


@dataclass(frozen=True)
class OcrLine:
    """One line of text as a backend read it.

    ``confidence`` is the recogniser's own score in [0, 1]; ``quad`` is in pixels of
    the image given to the backend, points clockwise from the top-left.
    """

    text: str
    confidence: float
    quad: Quad
    #: Which engine read the text when a backend combines several ("tesseract:rus"); "" otherwise.
    engine: str = ""

    def __post_init__(self) -> None:
        confidence = float(self.confidence)
        if not math.isfinite(confidence):
            confidence = 0.0
        object.__setattr__(self, "confidence", min(1.0, max(0.0, confidence)))
        object.__setattr__(self, "quad", to_quad(self.quad))

    @property
    def box(self) -> Box:
        """``(x0, y0, x1, y1)`` around the quad."""
        return quad_box(self.quad)

    @property
    def text_size(self) -> float:
        """The height of the glyphs in pixels: the quad's shorter side.

        For horizontal text that is the line height; for a vertical CJK banner it is
        the column width, which is what decides legibility either way.
        """
        tl, tr, br, bl = self.quad
        width = (math.dist(tl, tr) + math.dist(bl, br)) / 2
        height = (math.dist(tl, bl) + math.dist(tr, br)) / 2
        return max(1e-6, min(width, height))


def map_quad(quad: Quad, scale_x: float, scale_y: float, offset_x: float, offset_y: float) -> Quad:
    """Apply ``x' = x * sx + ox`` (and likewise for y) to every point."""
    return to_quad((x * scale_x + offset_x, y * scale_y + offset_y) for x, y in quad)


def box_area(box: Sequence[float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def intersection(a: Sequence[float], b: Sequence[float]) -> float:
    """Area shared by two ``[x0, y0, x1, y1]`` boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes (0 when either is empty)."""
    inter = intersection(a, b)
    union = box_area(a) + box_area(b) - inter
    return inter / union if union > 0 else 0.0


def overlap_of_smaller(a: Sequence[float], b: Sequence[float]) -> float:
    """Share of the smaller box covered by the other: 1 when one box holds the other.

    Two reads of the same sign at different scales rarely have the same extent (a zoom
    may split one line in two), so duplicates are judged by containment, not IoU.
    """
    smaller = min(box_area(a), box_area(b))
    return intersection(a, b) / smaller if smaller > 0 else 0.0
