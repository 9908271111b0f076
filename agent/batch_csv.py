"""One CSV layout for results of many images: ``locate`` over several images, ``trace export
--format csv``, and later ``eval`` and the workspace all write these columns, so a sheet made
by one can be read, sorted and joined with a sheet made by another.

Columns: ``image, lat, lon, radius_km, confidence, country_code, country, region, city,
top_evidence, trace_file, error``. An image without an answer has empty coordinates (never
a made-up point) and its reason in ``top_evidence``; an image that could not be read has
its error. Text read from photos is untrusted: a cell that a spreadsheet would run as a
formula (starting with ``= + - @``, a tab or a carriage return) is written with a leading
apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any, TextIO

from .location import Location

COLUMNS = (
    "image",
    "lat",
    "lon",
    "radius_km",
    "confidence",
    "country_code",
    "country",
    "region",
    "city",
    "top_evidence",
    "trace_file",
    "error",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".")
    text = " ".join(str(value).split())
    return "'" + text if text.startswith(_FORMULA_START) else text


def top_evidence(location: Location) -> str:
    """The strongest evidence behind the answer, one line ("[ev:4] place_name 'lisboa' -> ... (0.73)");
    for no answer, the reason."""
    if location.lat is None or location.lon is None:
        return f"no answer: {location.reason or 'no evidence'}"
    cited = [e for e in location.supporting_evidence() if e.confidence > 0]
    if not cited:
        return location.summary
    best = max(cited, key=lambda e: e.confidence)
    return f"[{best.id}] {best.kind} {best.value} ({best.confidence:.2f})"


def values(image: str, location: Location | None = None, *, error: str | None = None) -> dict[str, Any]:
    """One result's columns as typed values (numbers, None for empty): the CSV's cells
    before quoting, and the GeoJSON's properties."""
    if location is None:
        return {**dict.fromkeys(COLUMNS), "image": image, "error": error or "failed"}
    found: dict[str, Any] = {
        "image": image,
        "lat": None if location.lat is None else round(location.lat, 6),
        "lon": None if location.lon is None else round(location.lon, 6),
        "radius_km": None if location.radius_km is None else round(location.radius_km, 3),
        "confidence": round(location.confidence, 4),
        "country_code": location.country_code,
        "country": location.country,
        "region": location.region,
        "city": location.city,
        "top_evidence": top_evidence(location),
        "trace_file": location.trace_path,
        "error": error,
    }
    return {key: found.get(key) for key in COLUMNS}


def row(image: str, location: Location | None = None, *, error: str | None = None) -> dict[str, str]:
    """One CSV row: a located image, or an image that failed with ``error``."""
    return {key: cell(value) for key, value in values(image, location, error=error).items()}


def write_rows(rows: Iterable[dict[str, str]], out: TextIO) -> None:
    """Write a header and the rows (RFC 4180 quoting)."""
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def to_csv(rows: Iterable[dict[str, str]]) -> str:
    """The rows as CSV text, header first."""
    buffer = io.StringIO()
    write_rows(rows, buffer)
    return buffer.getvalue()


def read_rows(text: str) -> list[dict[str, str]]:
    """Rows of a CSV written by :func:`write_rows` (for tools that merge sheets)."""
    return list(csv.DictReader(io.StringIO(text)))
