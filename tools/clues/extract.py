"""``extract_clues``: text spans -> evidence with country priors.

Why one entry point over small modules: every family (phones, URLs, postcodes, prices,
scripts, languages) has its own reasons and data, but the rules that turn findings into
evidence are shared and must not drift apart:

* a span's characters are explained once: families run from the most specific pattern
  to the least (URLs and e-mails, international phone numbers, postcodes, prices,
  national phone numbers), each skipping text an earlier one claimed;
* the same clue seen twice (a phone number on a sign and on a van, or in two frames)
  is one Evidence that lists every span it came from;
* script and language are summaries of a whole image, one Evidence each per image;
* confidence = the clue's own reliability x the reading quality of its best span
  (OCR confidence, cut for spans at the frame edge, which may be overlays);
* a clue with no country information is not evidence of anything here, so it is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

from tools.evidence import Evidence, ToolSource
from tools.text import TextSpan

from .currency import find_currencies
from .domains import find_domains
from .language import language_clue
from .model import Claims, Clue
from .phones import find_international_phones, find_national_phones
from .postcodes import find_postcodes
from .scripts import script_clue


def span_clues(span: TextSpan) -> list[Clue]:
    """Every per-span clue (phone, URL, e-mail, postcode, currency) in one span."""
    claims = Claims()
    out: list[Clue] = []
    out += find_domains(span, claims)
    out += find_international_phones(span, claims)
    out += find_postcodes(span, claims)
    out += find_currencies(span, claims)
    out += find_national_phones(span, claims)
    return out


def _by_image(spans: Iterable[TextSpan]) -> dict[str | None, list[TextSpan]]:
    groups: dict[str | None, list[TextSpan]] = {}
    for span in spans:
        groups.setdefault(span.image, []).append(span)
    return groups


def _merge(clues: list[Clue]) -> list[Clue]:
    merged: dict[tuple[str | None, str, str], Clue] = {}
    for clue in clues:
        image = clue.spans[0].image if clue.spans else None
        key = (image, clue.kind, clue.key)
        seen = merged.get(key)
        if seen is None:
            merged[key] = clue
            continue
        if clue.reading_quality() * clue.reliability > seen.reading_quality() * seen.reliability:
            clue.spans = seen.spans + [s for s in clue.spans if all(s is not t for t in seen.spans)]
            merged[key] = clue
        else:
            seen.spans += [s for s in clue.spans if all(s is not t for t in seen.spans)]
    return list(merged.values())


def _bbox(spans: list[TextSpan]) -> list[float] | None:
    # TextSpan does not check its box's shape; Evidence does, so a malformed one is left out.
    boxes = [s.bbox for s in spans if s.bbox is not None and len(s.bbox) == 4]
    if not boxes:
        return None
    if len(boxes) == 1:
        return list(boxes[0])
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


def to_evidence(clue: Clue, tool: str = "analyze_text") -> Evidence:
    """The Evidence for one clue: confidence, image, box, provenance and the spans it came from."""
    confidence = max(0.0, min(1.0, clue.reliability * clue.reading_quality()))
    details = {"from": [s.evidence for s in clue.spans if s.evidence is not None], **clue.details}
    if len(clue.spans) > 1:
        details["sightings"] = len(clue.spans)
    if clue.spans and all(s.edge for s in clue.spans):
        details["edge"] = True
    return Evidence(
        kind=clue.kind,
        value=clue.value,
        confidence=round(confidence, 4),
        image=clue.spans[0].image if clue.spans else None,
        bbox=_bbox(clue.spans),
        source=ToolSource(tool=tool, arguments={}),
        provenance=clue.provenance,
        countries=clue.countries,
        details=details,
    )


def extract_clues(spans: list[TextSpan], *, tool: str = "analyze_text") -> list[Evidence]:
    """Phone numbers, URLs, e-mails, postcodes, currencies, scripts and languages in ``spans``.

    Returns one Evidence per distinct clue, each with a country prior, the confidence
    the clue deserves on its own, and the image, box and OCR evidence ids it came from.
    Per-span clues come first, in span order, then one script and one language clue per
    image.
    """
    clues: list[Clue] = []
    for span in spans:
        clues.extend(span_clues(span))
    for group in _by_image(spans).values():
        for summary in (script_clue(group), language_clue(group)):
            if summary is not None:
                clues.append(summary)
    return [to_evidence(clue, tool) for clue in _merge(clues) if clue.countries]
