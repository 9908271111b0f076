"""Pixel operations that derive one image from another, shared by the image tools,
OCR zoom passes and replay (which rebuilds a recorded derived image only on demand).

An operation is the JSON-able dict the trace records (``{"op": "crop", "box": [...]}``);
together with the recorded output size it fixes the pixels exactly.
"""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from .errors import GeoSleuthError


class UnknownOperationError(GeoSleuthError, ValueError):
    """A recorded image operation this version cannot rebuild."""


def resample(region: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Lanczos resize to an exact size (a copy when the size is unchanged)."""
    if size == region.size:
        return region.copy()
    shrinking = size[0] < region.width
    return region.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0 if shrinking else None)


def rotate(image: Image.Image, degrees: float) -> Image.Image:
    return image.rotate(-degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255))


def enhance(
    image: Image.Image,
    *,
    contrast: float = 1.0,
    sharpness: float = 1.0,
    autocontrast: bool = False,
    grayscale: bool = False,
    invert: bool = False,
) -> Image.Image:
    out = image
    if grayscale:
        out = ImageOps.grayscale(out).convert("RGB")
    if autocontrast:
        out = ImageOps.autocontrast(out, cutoff=1)
    if contrast != 1.0:
        out = ImageEnhance.Contrast(out).enhance(contrast)
    if sharpness != 1.0:
        out = ImageEnhance.Sharpness(out).enhance(sharpness)
        if sharpness > 1.5:
            out = out.filter(ImageFilter.UnsharpMask(radius=2, percent=int(60 * sharpness), threshold=3))
    if invert:
        out = ImageOps.invert(out)
    return out.copy()


_ENHANCE_KEYS = ("contrast", "sharpness", "autocontrast", "grayscale", "invert")


def apply_operation(parent: Image.Image, operation: dict[str, Any], size: tuple[int, int]) -> Image.Image:
    """The image ``operation`` made from ``parent`` (``size`` is the recorded result size)."""
    op = operation.get("op")
    if op in ("crop", "zoom"):
        box = operation.get("box") or [0, 0, parent.width, parent.height]
        left, top, right, bottom = (int(v) for v in box)
        full = (left, top, right, bottom) == (0, 0, parent.width, parent.height)
        region = parent if full else parent.crop((left, top, right, bottom))
        return resample(region, size)
    if op == "rotate":
        return rotate(parent, float(operation.get("degrees", 0.0)))
    if op == "enhance":
        return enhance(parent, **{k: operation[k] for k in _ENHANCE_KEYS if k in operation})
    raise UnknownOperationError(f"cannot rebuild an image made by operation {op!r}")
