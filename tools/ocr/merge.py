"""Merging the reads of several passes, and spotting overlay text along the frame edge.

The same sign is usually read several times (overview, tile, zoom), with slightly
different boxes, splits and spellings. Duplicates are judged by place (one box mostly
inside the other) *and* text (similar, or one contained in the other), and the most
confident read wins; a longer read that contains a shorter one of similar confidence
replaces it, so "NO PASSING ZONE" beats three separate words.
"""

from __future__ import annotations

import unicodedata
from difflib import SequenceMatcher

from .lines import Box, box_area, intersection, iou, overlap_of_smaller
from .result import ReadLine

#: Two reads are the same text when their normalised similarity reaches this.
SAME_TEXT = 0.6
#: ... and the smaller box lies at least this much inside the other.
SAME_PLACE = 0.5
#: A longer read replaces a shorter one it contains unless it is this much less confident.
REPLACE_MARGIN = 0.15


def normalize_text(text: str) -> str:
    """Case-folded letters and digits only (NFKC), for comparing reads and quotes."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def text_similarity(a: str, b: str) -> float:
    """0..1 similarity of two texts after :func:`normalize_text`."""
    na, nb = normalize_text(a), normalize_text(b)
    if not na or not nb:
        return 0.0
    return SequenceMatcher(None, na, nb, autojunk=False).ratio()


def _verdict(candidate: ReadLine, kept: ReadLine) -> str:
    """'same', 'fragment', 'supersedes', 'conflict' or 'distinct' for a weaker candidate."""
    if overlap_of_smaller(candidate.box, kept.box) < SAME_PLACE:
        return "distinct"
    nc, nk = normalize_text(candidate.text), normalize_text(kept.text)
    if not nc or nc in nk:
        return "fragment"
    if nk and nk in nc:  # the weaker read holds more text: "Peña B" vs "Peña Blanca"
        return "supersedes" if candidate.raw_confidence >= kept.raw_confidence - REPLACE_MARGIN else "same"
    matcher = SequenceMatcher(None, nc, nk, autojunk=False)
    if matcher.ratio() >= SAME_TEXT:
        return "same"
    inside = intersection(candidate.box, kept.box) / max(box_area(candidate.box), 1e-9)
    if len(nc) < len(nk) and inside >= 0.7:
        # A partial misread of the kept line ("masbron" inside "Øresundsbron"): most of
        # its characters appear, in order, in the kept text.
        matched = sum(block.size for block in matcher.get_matching_blocks())
        if matched >= SAME_TEXT * len(nc):
            return "fragment"
    if iou(candidate.box, kept.box) >= 0.5:
        return "conflict"
    return "distinct"


def merge_lines(lines: list[ReadLine]) -> list[ReadLine]:
    """Drop duplicate reads of the same text, keeping the best one of each.

    Reads are visited from most to least confident (a higher-resolution read wins a
    tie); each either duplicates a kept one (which then counts one more ``support``),
    replaces kept fragments it contains, or is kept as new text.
    """
    ordered = sorted(lines, key=lambda line: (round(line.raw_confidence, 2), line.scale), reverse=True)
    kept: list[ReadLine] = []
    for candidate in ordered:
        if not normalize_text(candidate.text):
            continue
        verdicts = [(_verdict(candidate, other), other) for other in kept]
        duplicates = [other for verdict, other in verdicts if verdict in ("same", "fragment", "conflict")]
        if duplicates:
            for other in duplicates:
                other.support += 1
            continue
        replaced = [other for verdict, other in verdicts if verdict == "supersedes"]
        if replaced:
            candidate.support += sum(other.support for other in replaced)
            kept = [other for other in kept if all(other is not r for r in replaced)]
        kept.append(candidate)
    return kept


def in_edge_band(box: Box, frame: tuple[float, float], band: float) -> bool:
    """True when the box lies wholly within the frame's edge band on one side.

    The band is ``band`` times the frame's *shorter* side, the same width on all four
    sides: channel logos, timestamps, page counters, watermarks and subtitles in video
    screenshots sit there, a fixed distance from the border whatever the aspect ratio.
    A real sign cut by the frame usually extends further in and is not flagged.
    """
    width, height = frame
    if width <= 0 or height <= 0 or band <= 0:
        return False
    margin = band * min(width, height)
    x0, y0, x1, y1 = box
    return x1 <= margin or y1 <= margin or x0 >= width - margin or y0 >= height - margin


def reading_order(lines: list[ReadLine]) -> list[ReadLine]:
    """Top to bottom, then left to right, with lines whose centres are within 0.3 of a box
    height treated as one row.

    Detector boxes are padded to about 1.5 times the glyph height, so the boxes of two
    stacked lines overlap and their centres are often only half a box height apart."""
    if not lines:
        return []
    by_top = sorted(lines, key=lambda line: (line.box[1] + line.box[3]) / 2)
    rows: list[list[ReadLine]] = []
    for line in by_top:
        centre = (line.box[1] + line.box[3]) / 2
        height = line.box[3] - line.box[1]
        if rows:
            last = rows[-1][-1]
            last_centre = (last.box[1] + last.box[3]) / 2
            if abs(centre - last_centre) <= 0.3 * max(height, last.box[3] - last.box[1]):
                rows[-1].append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda item: item.box[0])]
