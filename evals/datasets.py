"""Loading evaluation datasets into ``EvalItem`` lists.

Four forms, recognised from the path:

* GeoBrowse JSONL (``gold_image_answer`` field; ``image`` may be a list): truth is a
  gold place name, the item carries the prompt and the expert solution;
* our photo JSONL (``id, image, lat, lon``);
* a CSV with columns ``image, lat, lon`` (``id`` optional);
* a folder of photos: truth comes from each photo's EXIF GPS (photos without GPS are
  left out and listed), and the run must switch metadata use off.

Image paths are relative to the dataset file's folder. A malformed row raises a
``DatasetError`` naming the file and line.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tools.errors import GeoSleuthError

from .items import EvalItem, Truth

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".heic", ".heif", ".avif"}


class DatasetError(GeoSleuthError, ValueError):
    """A dataset file or folder cannot be read as one of the supported forms."""


def _images(value: Any, base: Path, where: str) -> list[Path]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise DatasetError(f"{where}: 'image' must be a path or a list of paths")
    return [base / v for v in values]


def _item(data: dict[str, Any], where: str, **fields: Any) -> EvalItem:
    try:
        return EvalItem(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DatasetError(f"{where}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def _jsonl(path: Path) -> list[EvalItem]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or "image" not in row:
            raise DatasetError(f"{where}: each line must be an object with an 'image'")
        images = _images(row["image"], path.parent, where)
        if "gold_image_answer" in row:  # GeoBrowse
            items.append(
                _item(
                    row,
                    where,
                    id=str(row.get("question_id", number)),
                    images=images,
                    truth=Truth(answer=str(row["gold_image_answer"])),
                    prompt=row.get("prompt"),
                    solution=row.get("image_solution"),
                    source=row.get("source"),
                    extra={k: v for k, v in row.items() if k in ("level",)},
                )
            )
        else:
            if "lat" not in row or "lon" not in row:
                raise DatasetError(f"{where}: needs 'lat' and 'lon' (or GeoBrowse's 'gold_image_answer')")
            try:
                truth = Truth(lat=row["lat"], lon=row["lon"])
            except ValidationError:
                raise DatasetError(f"{where}: lat/lon out of range: {row['lat']}, {row['lon']}") from None
            items.append(
                _item(
                    row,
                    where,
                    id=str(row.get("id", number)),
                    images=images,
                    truth=truth,
                    prompt=row.get("prompt"),
                    source=row.get("source"),
                )
            )
    return items


def _csv(path: Path) -> list[EvalItem]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"image", "lat", "lon"} - set(reader.fieldnames or [])
        if missing:
            raise DatasetError(f"{path}: CSV needs the columns image, lat, lon (missing {', '.join(sorted(missing))})")
        items = []
        for number, row in enumerate(reader, start=2):
            where = f"{path}:{number}"
            try:
                truth = Truth(lat=float(row["lat"]), lon=float(row["lon"]))
            except (ValueError, ValidationError):
                raise DatasetError(f"{where}: bad lat/lon {row['lat']!r}, {row['lon']!r}") from None
            items.append(
                _item(
                    row,
                    where,
                    id=row.get("id") or str(number - 1),
                    images=_images(row["image"], path.parent, where),
                    truth=truth,
                )
            )
    return items


def _folder(path: Path) -> tuple[list[EvalItem], list[str]]:
    from PIL import Image

    from tools.exif import read_exif

    items, skipped = [], []
    for file in sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
        try:
            with Image.open(file) as image:
                gps = read_exif(image.getexif()).gps
        except Exception as exc:  # noqa: BLE001 - one unreadable file must not stop the listing
            skipped.append(f"{file.name}: unreadable ({type(exc).__name__})")
            continue
        if gps is None:
            skipped.append(f"{file.name}: no GPS in EXIF")
            continue
        items.append(
            EvalItem(
                id=str(file.relative_to(path)),
                images=[file],
                truth=Truth(lat=gps.lat, lon=gps.lon),
                extra={"truth_from": "exif"},
            )
        )
    return items, skipped


def load_dataset(path: str | Path) -> tuple[list[EvalItem], dict[str, Any]]:
    """Items and facts about the dataset (``kind``, ``skipped`` rows, ``needs_no_metadata``)."""
    source = Path(path)
    if not source.exists():
        raise DatasetError(f"dataset not found: {source}")
    if source.is_dir():
        items, skipped = _folder(source)
        return items, {"kind": "folder", "skipped": skipped, "needs_no_metadata": True}
    suffix = source.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        items = _jsonl(source)
        kind = "geobrowse" if items and items[0].truth.answer else "photos"
    elif suffix == ".csv":
        items, kind = _csv(source), "csv"
    else:
        raise DatasetError(f"{source}: unknown dataset form (expected .jsonl, .csv or a folder of photos)")
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        raise DatasetError(f"{source}: duplicate item ids {', '.join(duplicates[:5])}")
    return items, {"kind": kind, "skipped": [], "needs_no_metadata": False}
