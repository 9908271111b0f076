"""The ``read_text`` tool: multi-scale OCR of an image handle, as ``ocr_text`` evidence."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from ..base import GeoTool
from ..evidence import Evidence, Observation, ToolSource
from ..image_tools import BoxUnits, ImageHandle, resolve_box
from ..tool_settings import OcrSettings
from .multiscale import ReadOptions, read_image
from .registry import get_backend, resolve_backend_name
from .result import ReadLine, ReadResult
from .routing import ScriptRouter, with_scripts
from .tesseract import unreadable_scripts

logger = logging.getLogger(__name__)
_WARNED = False

#: Lines listed in the observation text (all of them are in the evidence and data).
MAX_LISTED_LINES = 40
#: Characters of one line's text shown in the listing.
MAX_LISTED_CHARS = 80
#: Safety-net seconds for one read; ``ctx.settings["ocr_time_budget_s"]`` overrides. The
#: work itself is capped by ReadOptions.pixel_budget_mp, so results do not depend on load.
DEFAULT_TIME_BUDGET_S = ReadOptions().time_budget_s


class ReadTextArgs(BaseModel):
    image: ImageHandle
    region: list[float] | None = Field(
        default=None,
        min_length=4,
        max_length=4,
        description="[x0, y0, x1, y1] part of the image to read; the whole image when omitted.",
    )
    units: BoxUnits = Field(
        default="fraction",
        description="Units of region: fraction of width/height (0..1), pixels, or per_mille (0..1000).",
    )
    backend: Literal["auto", "rapidocr", "easyocr"] = Field(
        default="auto",
        description="OCR engine; auto uses the configured default.",
    )
    zoom: bool = Field(
        default=True,
        description="Also re-read small, unclear or unboxed text on zoomed full-resolution crops (slower, finds more).",
    )
    min_confidence: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Drop lines read less surely than this (lines of one or two characters need at least 0.8).",
    )


def _listing_line(line: ReadLine) -> str:
    box = ",".join(str(round(v)) for v in line.box)
    text = line.text if len(line.text) <= MAX_LISTED_CHARS else line.text[: MAX_LISTED_CHARS - 1] + "…"
    flag = " edge" if line.edge else ""
    return f"{line.image} [{box}] {text!r} {line.confidence:.2f}{flag}"


def listing(result: ReadResult) -> str:
    """A compact text for a model: one line per text read, most confident kept when long."""
    where = result.image + (f" region {result.region}" if result.region else "")
    zooms = f"; zoomed into {', '.join(result.zoom_images)}" if result.zoom_images else ""
    note = ""
    if result.unreadable_scripts:
        note = (
            f"\nnote: this machine cannot read {', '.join(result.unreadable_scripts)} text "
            "(install tesseract-ocr and its language packs)"
        )
    if not result.lines:
        return f"no text found in {where} ({result.backend}{zooms}){note}"
    shown = result.lines
    hidden = 0
    if len(shown) > MAX_LISTED_LINES:
        keep = sorted(shown, key=lambda line: line.confidence, reverse=True)[:MAX_LISTED_LINES]
        kept_ids = {id(line) for line in keep}
        hidden = len(shown) - len(keep)
        shown = [line for line in shown if id(line) in kept_ids]
    count = len(result.lines)
    header = f"read {count} line{'s' if count != 1 else ''} of text in {where} ({result.backend}{zooms})"
    if any(line.edge for line in result.lines):
        header += "; 'edge' = along the frame border, maybe a logo or overlay"
    body = [_listing_line(line) for line in shown]
    if hidden:
        body.append(f"... {hidden} less confident line{'s' if hidden != 1 else ''} not listed")
    return "\n".join([header, *body]) + note


class ReadTextTool(GeoTool):
    name: str = "read_text"
    description: str = (
        "Read the text in an image (signs, shop fronts, plates, overlays) with OCR, zooming into small text. "
        "Returns each line with its box in original-image pixels and a confidence; zoomed regions come back "
        "as new image handles."
    )
    args_schema: type[BaseModel] = ReadTextArgs
    kind: ClassVar[str] = "ocr"
    settings_model: ClassVar[type[BaseModel] | None] = OcrSettings

    def execute(
        self,
        image: str,
        region: list[float] | None = None,
        units: BoxUnits = "fraction",
        backend: str = "auto",
        zoom: bool = True,
        min_confidence: float = 0.5,
    ) -> Observation:
        entry = self.ctx.images.get(image)
        window = resolve_box(region, units, entry.size) if region is not None else None
        name = resolve_backend_name(backend, self.ctx.settings)
        engine = self.ctx.resources.get(f"ocr:{name}", lambda: get_backend(name))
        if str(self.ctx.settings.get("ocr_scripts", "auto")).lower() not in ("off", "false", "0", "no"):
            engine = with_scripts(engine)
        budget = float(self.ctx.settings.get("ocr_time_budget_s") or DEFAULT_TIME_BUDGET_S)
        options = ReadOptions(zoom=zoom, min_confidence=min_confidence, time_budget_s=budget)
        result = read_image(self.ctx.images, image, engine, region=window, options=options)
        if not isinstance(engine, ScriptRouter):
            self._note_unreadable(result)
        arguments: dict[str, Any] = {
            "image": image,
            "region": region,
            "units": units,
            "backend": name,
            "zoom": zoom,
            "min_confidence": min_confidence,
        }
        source = ToolSource(tool=self.name, arguments=arguments)
        evidence = [
            Evidence(
                kind="ocr_text",
                value=line.text,
                confidence=round(line.confidence, 4),
                image=line.image,
                bbox=[round(v, 1) for v in line.box],
                source=source,
                provenance=f"{line.engine or result.backend} on {line.read_on}",
                details={
                    "backend": result.backend,
                    "read_on": line.read_on,
                    "scale": round(line.scale, 4),
                    "edge": line.edge,
                    "quad": [[round(x, 1), round(y, 1)] for x, y in line.quad],
                    "raw_confidence": round(line.raw_confidence, 4),
                    "stage": line.stage,
                    **({"engine": line.engine} if line.engine else {}),
                },
            )
            for line in result.lines
        ]
        return Observation(
            text=listing(result),
            evidence=evidence,
            images=list(result.zoom_images),
            data=result.to_json(),
            meta=result.timing(),
        )

    def _note_unreadable(self, result: ReadResult) -> None:
        """Say once per run (and once per process in the log) which scripts cannot be read here."""
        global _WARNED
        if getattr(self.ctx, "_told_unreadable_scripts", False):
            return
        missing = unreadable_scripts()
        if not missing:
            return
        result.unreadable_scripts = missing
        self.ctx._told_unreadable_scripts = True  # type: ignore[attr-defined]
        if not _WARNED:
            _WARNED = True
            logger.warning("OCR cannot read %s text on this machine (Tesseract is not available)", ", ".join(missing))
