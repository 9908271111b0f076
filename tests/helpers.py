"""Builders for test images and small graph setups."""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from pathlib import Path

from PIL import Image

#: ``../shared/data`` beside the checkout, or ``GEOSLEUTH_DATA_DIR``.
SHARED_DATA = Path(
    os.environ.get("GEOSLEUTH_DATA_DIR") or Path(__file__).resolve().parent.parent.parent / "shared" / "data"
)
PHOTOS = SHARED_DATA / "photos"


def dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 4)
    return float(degrees), float(minutes), seconds


def jpeg_with_gps(
    lat: float,
    lon: float,
    *,
    size: tuple[int, int] = (320, 240),
    color: str = "skyblue",
    extra_gps: dict | None = None,
    make: str | None = "TestMaker",
    model: str | None = "TestCam 1",
) -> bytes:
    """A small JPEG whose EXIF holds a GPS position, written the way cameras do (DMS + refs)."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W", 4: dms(lon)})
    gps.update(extra_gps or {})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=90)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that declares huge dimensions (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def load_photos() -> list[dict]:
    path = PHOTOS / "photos.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
