"""Clues that are not independent must not be counted as if they were.

The script of a sign and the language of the same sign are one observation seen
twice (Greek letters nearly always spell Greek), so when an image has both, the
language clue counts for half. Used wherever country priors are combined.
"""

from __future__ import annotations

from collections.abc import Iterable

from tools.evidence import Evidence

LANGUAGE_WITH_SCRIPT = 0.5


def independence_weights(evidence: Iterable[Evidence]) -> dict[str, float]:
    """Evidence id -> multiplier on its confidence when combining priors (1.0 if absent)."""
    items = list(evidence)
    scripted_images = {e.image for e in items if e.kind == "script"}
    return {
        e.id: LANGUAGE_WITH_SCRIPT
        for e in items
        if e.id is not None and e.kind == "language" and e.image in scripted_images
    }
