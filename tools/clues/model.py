"""The clue modules' shared vocabulary: ``Clue`` (one finding, before it becomes Evidence)
and how much a span's reading can be trusted.

Why a separate internal type: several spans can show the same clue (a phone number on
a sign and again on a van), and the extractor merges them into one Evidence. Keeping the
clue's own reliability apart from the quality of the text it was read from lets the
merge take the best reading without compounding the clue's reliability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tools.text import TextSpan

#: A span near the frame edge may be a channel logo, a watermark or a player's UI; the
#: text is real but probably says nothing about where the footage was shot.
EDGE_FACTOR = 0.35


@dataclass
class Clue:
    """One finding from one or more spans.

    ``key`` identifies the clue within its kind for merging (an E.164 number, a domain,
    a postcode with its country); ``reliability`` is how far the clue alone should be
    trusted when read perfectly; ``countries`` is its prior over ISO codes.
    """

    kind: str
    key: str
    value: str
    reliability: float
    countries: dict[str, float]
    provenance: str
    spans: list[TextSpan]
    details: dict[str, Any] = field(default_factory=dict)
    start: int = -1
    end: int = -1
    #: Reading quality when the clue pools many spans (script, language); else the best span's.
    quality: float | None = None

    def reading_quality(self) -> float:
        if self.quality is not None:
            return self.quality
        return max((span_quality(s) for s in self.spans), default=0.0)


def span_quality(span: TextSpan) -> float:
    """How much a reading of this span can be trusted, in [0, 1].

    The square root of the OCR confidence: OCR engines report low confidences for text
    they read correctly, and a misread character usually breaks a phone number, domain
    or postcode pattern altogether, so a match is itself some sign the reading is right.
    Edge spans are cut by ``EDGE_FACTOR``.
    """
    quality = math.sqrt(max(0.0, min(1.0, span.confidence)))
    return quality * (EDGE_FACTOR if span.edge else 1.0)


def specificity(n: int) -> float:
    """How much a clue shared by ``n`` countries narrows things down, 1 for a single country."""
    return 1.0 / (1.0 + 0.4 * math.log(max(1, n)))


class Claims:
    """Character ranges of one span already explained by a clue.

    Families run in order of how specific their patterns are (URLs, international phone
    numbers, postcodes, prices, national phone numbers), and a later family skips text an
    earlier one explained, so '〒100-0001' is a postcode and not also a phone number.
    """

    def __init__(self) -> None:
        self._ranges: list[tuple[int, int]] = []

    def free(self, start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in self._ranges)

    def claim(self, start: int, end: int) -> None:
        self._ranges.append((start, end))
