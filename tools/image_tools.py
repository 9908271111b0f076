"""Think-with-image tools: crop, zoom, rotate, enhance. Each returns a new handle.

Boxes are ``[x0, y0, x1, y1]`` in one of three unit systems, because models differ:
fractions of width/height (default), pixels, or per-mille (0..1000, as Qwen-VL style
models emit). Derived images remember how their pixels map to the original, so text
read on a zoomed crop is reported at the right place in the photo.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from PIL import Image
from pydantic import BaseModel, Field, field_validator

from .base import GeoTool
from .errors import GeoSleuthError
from .evidence import Observation
from .image_ops import enhance, resample, rotate
from .images import RegisteredImage

ImageHandle = Annotated[str, Field(pattern=r"^img:\d+$", description="An image handle such as 'img:0'.")]
BoxUnits = Literal["fraction", "pixels", "per_mille"]

#: Derived images are capped at this many pixels on their longest side.
MAX_DERIVED_SIDE = 4096


class BoxError(GeoSleuthError, ValueError):
    """A crop box is empty, inverted or entirely outside the image."""


def resolve_box(box: list[float], units: BoxUnits, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Turn a box in any unit into integer pixels clipped to the image."""
    width, height = size
    x0, y0, x1, y1 = box
    if units == "fraction":
        x0, x1, y0, y1 = x0 * width, x1 * width, y0 * height, y1 * height
    elif units == "per_mille":
        x0, x1, y0, y1 = (
            x0 * width / 1000,
            x1 * width / 1000,
            y0 * height / 1000,
            y1 * height / 1000,
        )
    if x1 <= x0 or y1 <= y0:
        raise BoxError(f"box {box} ({units}) is empty or inverted: need x0 < x1 and y0 < y1")
    left, top = max(0, round(x0)), max(0, round(y0))
    right, bottom = min(width, round(x1)), min(height, round(y1))
    if right - left < 1 or bottom - top < 1:
        raise BoxError(f"box {box} ({units}) lies outside the {width}x{height} image")
    return left, top, right, bottom


def resize_for_detail(image: Image.Image, factor: float, max_side: int = MAX_DERIVED_SIDE) -> Image.Image:
    """Scale by ``factor`` with Lanczos, capping the longest side."""
    longest = max(image.size)
    factor = min(factor, max_side / longest) if longest * factor > max_side else factor
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return resample(image, size)


def _describe(entry: RegisteredImage, what: str) -> str:
    return f"{entry.handle}: {what} ({entry.image.width}x{entry.image.height} px)"


def _derived_observation(entry: RegisteredImage, what: str) -> Observation:
    return Observation(
        text=_describe(entry, what),
        images=[entry.handle],
        data={"image": entry.info()},
    )


class BoxArgs(BaseModel):
    image: ImageHandle
    box: list[float] = Field(description="[x0, y0, x1, y1] region to cut out.", min_length=4, max_length=4)
    units: BoxUnits = Field(
        default="fraction",
        description="fraction of width/height (0..1), pixels, or per_mille (0..1000).",
    )


class ZoomArgs(BoxArgs):
    box: list[float] | None = Field(  # type: ignore[assignment]
        default=None,
        description="[x0, y0, x1, y1] region to enlarge; the whole image when omitted.",
        min_length=4,
        max_length=4,
    )
    factor: float = Field(default=2.0, gt=0.0, le=8.0, description="Magnification (Lanczos resampling).")


class RotateArgs(BaseModel):
    image: ImageHandle
    degrees: float = Field(description="Clockwise rotation in degrees, e.g. 90 to stand a sideways sign upright.")

    @field_validator("degrees")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not -360.0 <= value <= 360.0:
            raise ValueError("degrees must be within -360..360")
        return value


class EnhanceArgs(BaseModel):
    image: ImageHandle
    contrast: float = Field(
        default=1.0,
        ge=0.0,
        le=5.0,
        description="1 keeps contrast; 1.5-2 helps faded text.",
    )
    sharpness: float = Field(default=1.0, ge=0.0, le=5.0, description="1 keeps sharpness; 2 sharpens.")
    autocontrast: bool = Field(default=False, description="Stretch the histogram (ignores 1% outliers).")
    grayscale: bool = False
    invert: bool = Field(default=False, description="Negative image: light text on dark signs.")


class CropTool(GeoTool):
    name: str = "crop"
    description: str = "Cut a region out of an image to look at it on its own. Returns a new image handle."
    args_schema: type[BaseModel] = BoxArgs
    kind: ClassVar[str] = "image"

    def execute(self, image: str, box: list[float], units: BoxUnits = "fraction") -> Observation:
        parent = self.ctx.images.get(image)
        left, top, right, bottom = resolve_box(box, units, parent.size)
        op = {"op": "crop", "box": [left, top, right, bottom]}
        entry = self.ctx.images.add_derived(
            parent.image.crop((left, top, right, bottom)),
            image,
            op,
            (1.0, 1.0, left, top),
        )
        return _derived_observation(entry, f"crop of {image} at [{left},{top},{right},{bottom}]")


class ZoomTool(GeoTool):
    name: str = "zoom"
    description: str = (
        "Enlarge a region of an image (Lanczos resampling) to read small text or see details. "
        "Returns a new image handle."
    )
    args_schema: type[BaseModel] = ZoomArgs
    kind: ClassVar[str] = "image"

    def execute(
        self,
        image: str,
        box: list[float] | None = None,
        units: BoxUnits = "fraction",
        factor: float = 2.0,
    ) -> Observation:
        parent = self.ctx.images.get(image)
        left, top, right, bottom = resolve_box(box, units, parent.size) if box else (0, 0, *parent.size)
        region = parent.image.crop((left, top, right, bottom))
        zoomed = resize_for_detail(region, factor)
        scale_x, scale_y = region.width / zoomed.width, region.height / zoomed.height
        op = {
            "op": "zoom",
            "box": [left, top, right, bottom],
            "factor": round(zoomed.width / region.width, 4),
        }
        entry = self.ctx.images.add_derived(zoomed, image, op, (scale_x, scale_y, left, top))
        return _derived_observation(entry, f"{op['factor']}x zoom of {image} at [{left},{top},{right},{bottom}]")


class RotateTool(GeoTool):
    name: str = "rotate"
    description: str = "Rotate an image clockwise by some degrees (e.g. to read tilted or sideways text)."
    args_schema: type[BaseModel] = RotateArgs
    kind: ClassVar[str] = "image"

    def execute(self, image: str, degrees: float) -> Observation:
        parent = self.ctx.images.get(image)
        entry = self.ctx.images.add_derived(
            rotate(parent.image, degrees), image, {"op": "rotate", "degrees": degrees}, None
        )
        return _derived_observation(entry, f"{image} rotated {degrees:g} degrees clockwise")


class EnhanceTool(GeoTool):
    name: str = "enhance"
    description: str = (
        "Adjust contrast/sharpness, stretch the histogram, grey or invert an image to make faint text legible."
    )
    args_schema: type[BaseModel] = EnhanceArgs
    kind: ClassVar[str] = "image"

    def execute(self, image: str, **settings: Any) -> Observation:
        args = EnhanceArgs(image=image, **settings)
        parent = self.ctx.images.get(image)
        out = enhance(parent.image, **args.model_dump(exclude={"image"}))
        op = {"op": "enhance", **args.model_dump(exclude={"image"})}
        entry = self.ctx.images.add_derived(out, image, op, (1.0, 1.0, 0.0, 0.0))
        changed = ", ".join(k for k, v in op.items() if k != "op" and v not in (False, 1.0)) or "no change"
        return _derived_observation(entry, f"{image} enhanced ({changed})")
