"""Checking an uploaded photo before anything is stored.

The content decides what a file is (its bytes are decoded, the name and the declared type
are ignored); size and pixel limits are checked before decoding, so a 60 MB file or a
decompression bomb is refused without being unpacked. The client's file name is kept only
as a label, cleaned of control characters and cut short; it never becomes a path.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from tools.errors import EmptyImageError, GeoSleuthError, ImageTooLargeError
from tools.images import load_image

from .errors import ApiError

MEDIA_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
    "HEIF": "image/heif",
    "AVIF": "image/avif",
}


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    format: str
    media_type: str
    width: int
    height: int


def clean_filename(name: str | None) -> str:
    """A label for display: no path parts, no control characters, at most 120 characters."""
    text = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C").strip()
    return text[:120] or "photo"


def check_image(data: bytes, *, max_bytes: int, max_pixels: int) -> CheckedImage:
    """The photo's format and size, or an ApiError saying why it is refused."""
    if not data:
        raise ApiError(400, "empty_file", "the uploaded file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise ApiError(413, "too_large", f"the upload is {len(data):,} bytes, over the limit of {max_bytes:,}")
    try:
        loaded = load_image(data, max_pixels=max_pixels, max_bytes=max_bytes)
    except EmptyImageError as exc:
        raise ApiError(400, "empty_image", str(exc)) from None
    except ImageTooLargeError as exc:
        raise ApiError(413, "too_many_pixels", str(exc)) from None
    except GeoSleuthError as exc:
        raise ApiError(415, "not_an_image", str(exc)) from None
    fmt = (loaded.format or "").upper()
    if fmt not in MEDIA_TYPES:
        raise ApiError(415, "unsupported_format", f"images in format {fmt or 'unknown'} are not accepted")
    width, height = loaded.original_size
    return CheckedImage(data, fmt, MEDIA_TYPES[fmt], width, height)
