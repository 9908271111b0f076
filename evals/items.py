"""What an evaluation item is, whatever dataset it came from.

Truth is either a point (photo datasets: lat/lon) or a gold place name of mixed
granularity (GeoBrowse: "Japan", "Anshun City, Guizhou Province"); an item can carry
the question asked and, for GeoBrowse, the expert's reasoning trace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator


class Truth(BaseModel):
    """Where the image really is: a point, a gold answer text, or both."""

    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    answer: str | None = Field(default=None, description="Gold place name (GeoBrowse gold_image_answer).")

    @model_validator(mode="after")
    def _something(self) -> Truth:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        if self.lat is None and not self.answer:
            raise ValueError("a truth needs a point or a gold answer")
        return self

    @property
    def point(self) -> tuple[float, float] | None:
        return (self.lat, self.lon) if self.lat is not None and self.lon is not None else None


class EvalItem(BaseModel):
    """One thing to locate: one image or several views of one place, and its truth."""

    id: str
    images: list[Path] = Field(min_length=1)
    truth: Truth
    prompt: str | None = Field(default=None, description="The question asked (GeoBrowse prompt).")
    solution: str | None = Field(default=None, description="Expert reasoning trace ('1. ... 2. ...').")
    source: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
