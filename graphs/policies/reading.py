"""Reading plays: read the text of every image, then analyse what was read.

OCR runs once per original image (its zoom passes are part of the tool); every new
line of text is then analysed once, with its box and evidence id, so each clue points
back to the pixels it came from.
"""

from __future__ import annotations

from typing import Any

from tools.registry import ToolKind

from ..policy import RunView
from .playbook import Play

READ_TOOL = "read_text"
ANALYZE_TOOL = "analyze_text"


class ReadTextPlay(Play):
    name = "read text"

    def calls(self, view: RunView) -> list[tuple[str, dict[str, Any]]]:
        if READ_TOOL not in view.tools:
            return []
        todo = [r.handle for r in view.images.roots() if not view.has_called(READ_TOOL, image=r.handle)]
        return [(READ_TOOL, {"image": handle}) for handle in todo[: view.calls_left(ToolKind.OCR)]]


class AnalyzeTextPlay(Play):
    name = "analyse text"

    def calls(self, view: RunView) -> list[tuple[str, dict[str, Any]]]:
        if ANALYZE_TOOL not in view.tools or view.calls_left("text") == 0:
            return []
        done = {
            span.get("evidence")
            for obs in view.observations
            if obs.tool == ANALYZE_TOOL
            for span in obs.arguments.get("texts", [])
            if isinstance(span, dict)
        }
        spans = [
            {
                "text": e.value,
                "image": e.image,
                "bbox": e.bbox,
                # the reader's own confidence: clue extraction applies the edge penalty once itself
                "confidence": float(e.details.get("raw_confidence", e.confidence)),
                "evidence": e.id,
                "edge": bool(e.details.get("edge", False)),
            }
            for e in view.evidence
            if e.kind == "ocr_text" and e.id not in done
        ]
        return [(ANALYZE_TOOL, {"texts": spans})] if spans else []
