"""The ``analyze_text`` tool: every clue in text read from the image, as evidence.

It joins the clue families: place names (gazetteer), street-type words, and the
country clues of ``tools.clues`` (phone numbers, domains, postcodes, script, language,
currency). A model can call it with plain strings; the heuristic playbook passes the
OCR lines with their boxes and evidence ids, so every clue points back to where it
was read.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from .base import GeoTool
from .evidence import Evidence, Observation, ToolSource
from .gazetteer import Gazetteer
from .place_clues import place_evidence
from .places import PlaceIndex
from .streets import find_street_words
from .tampering import split_tampering
from .text import TextSpan


class AnalyzeTextArgs(BaseModel):
    texts: list[TextSpan | str] = Field(
        min_length=1, max_length=500, description="Text lines to analyse: strings, or spans with image/bbox."
    )


def place_index(ctx: Any) -> PlaceIndex:
    """The process-wide place index (shares the gazetteer)."""
    gazetteer = ctx.resources.get("gazetteer", lambda: Gazetteer(ctx.cache_dir))
    return ctx.resources.get("place_index", lambda: PlaceIndex(gazetteer))


def street_evidence(spans: list[TextSpan], tool: str) -> list[Evidence]:
    out: dict[tuple[str | None, str], Evidence] = {}
    for span in spans:
        for match in find_street_words(span.text):
            key = (span.image, match.word)
            confidence = round(0.6 * span.confidence * (0.5 if span.edge else 1.0), 4)
            if key in out and out[key].confidence >= confidence:
                continue
            out[key] = Evidence(
                kind="street_type",
                value=f"street word '{match.word}' ({match.language})",
                confidence=confidence,
                image=span.image,
                bbox=span.bbox,
                source=ToolSource(tool=tool, arguments={}),
                provenance="street naming conventions (tools/streets.py)",
                countries=match.countries,
                details={"from": [span.evidence] if span.evidence else [], "language": match.language},
            )
    return list(out.values())


def other_clues(spans: list[TextSpan], tool: str) -> list[Evidence]:
    try:
        from .clues import extract_clues
    except ImportError:  # pragma: no cover - the clue package is part of the distribution
        return []
    return extract_clues(spans, tool=tool)


class AnalyzeTextTool(GeoTool):
    name: str = "analyze_text"
    description: str = (
        "Find location clues in text read from the image: place names (offline gazetteer, all scripts), "
        "street-type words, phone numbers, web domains, postcodes, language, script and currency. "
        "Each clue lists the countries it points to; place names list the places they may be."
    )
    args_schema: type[BaseModel] = AnalyzeTextArgs
    kind: ClassVar[str] = "text"

    def execute(self, texts: list[Any]) -> Observation:
        read = [TextSpan(text=t) if isinstance(t, str) else TextSpan.model_validate(t) for t in texts]
        # text addressed to the tool ("ignore previous instructions ...") is evidence of
        # tampering, not of place: none of its words become place, language or country clues
        spans, tampering = split_tampering(read, self.name)
        found = list(tampering)
        found += place_evidence(spans, place_index(self.ctx), tool=self.name)
        found += street_evidence(spans, self.name)
        found += other_clues(spans, self.name)
        found.sort(key=lambda e: -e.confidence)
        lines = [e.brief() for e in found[:20]]
        if len(found) > 20:
            lines.append(f"... and {len(found) - 20} weaker clues")
        text = "\n".join(lines) if lines else "no location clues in this text"
        data = {"spans": len(read), "clues": len(found) - len(tampering), "tampering": len(tampering)}
        return Observation(text=text, evidence=found, data=data)
