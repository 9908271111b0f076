"""Text read from an image (or typed by a model), as the text-clue tools take it.

OCR turns each line it reads into ``ocr_text`` evidence; clue extraction takes the
same lines as ``TextSpan`` values so that every clue it finds keeps the image, the box
and the OCR evidence id it came from.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator


class TextSpan(BaseModel):
    """One line or block of text and where it was seen."""

    text: str = Field(min_length=1, max_length=2000)
    image: str | None = Field(default=None, description="Root image handle, e.g. 'img:0'.")
    bbox: list[float] | None = Field(default=None, description="[x0, y0, x1, y1] in root-image pixels.")
    confidence: float = Field(default=1.0, ge=0.0, le=1.0, description="How sure the reader was of the text.")
    evidence: str | None = Field(default=None, description="Id of the ocr_text evidence this span is.")
    edge: bool = Field(default=False, description="Near the frame edge: maybe a watermark or UI overlay.")

    @field_validator("bbox")
    @classmethod
    def _four_numbers(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and len(value) != 4:
            raise ValueError("bbox must be [x0, y0, x1, y1]")
        return value
