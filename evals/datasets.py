"""Loading evaluation datasets into ``EvalItem`` lists.

The forms, recognised from the path and a table's header (``fmt`` forces one):

* GeoBrowse JSONL (``gold_image_answer`` field; ``image`` may be a list): truth is a
  gold place name, the item carries the prompt and the expert solution;
* GeoBrowse's own CSVs (Level 1 ``question_id,date,creator,prompt,image,gold_answer,
  solution,…``; Level 2 ``…,gold_image_answer,gold_text_answer,image_solution,…``), whose
  images are ``images/{question_id}.png``, ``{question_id}(1).png`` …;
* our photo JSONL (``id, image, lat, lon``);
* a CSV with columns ``image, lat, lon`` (``id`` optional);
* the places365 CSVs of Im2GPS3k, YFCC4k and MP-16 (``IMG_ID,AUTHOR,LAT,LON,S3_Label,…``;
  the benchmark is named from the file name, since the three share the header);
* OSV-5M's ``test.csv`` (``id,latitude,longitude,…,country,region,sub-region,city,…``),
  images ``{id}.jpg`` in a folder or in the split's zip archives; its own admin columns
  travel with each item (``extra["admin"]``) and score country/region/city accuracy;
* a folder of photos: truth comes from each photo's EXIF GPS (photos without GPS are
  left out and listed), and the run must switch metadata use off.

Image paths are relative to the dataset file's folder unless ``images`` names another
folder or a zip archive. A malformed row raises a ``DatasetError`` naming the file and line.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tools.errors import GeoSleuthError
from tools.image_files import IMAGE_SUFFIXES

from .archives import zip_members
from .items import EvalItem, Truth


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
                    extra={k: v for k, v in row.items() if k in ("level", "gold_text_answer", "text_solution")},
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


#: Names ``--format`` accepts. ``places365`` reads Im2GPS3k, YFCC4k and MP-16 alike.
FORMATS = ("geobrowse", "geobrowse-csv", "photos", "csv", "places365", "osv5m", "folder")
_PLACES365_NAMES = (("im2gps3k", "im2gps3k"), ("yfcc4k", "yfcc4k"), ("yfcc", "yfcc"), ("mp16", "mp16"))


class ImageFinder:
    """Where a dataset's image names lead: a folder, a zip archive, or a folder of zip
    archives (OSV-5M's ``images/test/00.zip`` …), looked up by file name."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._members: dict[str, Path] | None = None

    def _index(self) -> dict[str, Path]:
        if self._members is None:
            archives = [self.base] if self.base.is_file() else sorted(self.base.rglob("*.zip"))
            self._members = {}
            for archive in archives:
                for name, member in zip_members(archive).items():
                    self._members.setdefault(name, archive / member)
        return self._members

    def __call__(self, name: str) -> Path:
        if self.base.is_dir():
            direct = self.base / name
            if direct.exists():
                return direct
        found = self._index().get(name.rsplit("/", 1)[-1])
        return found if found is not None else self.base / name


def _table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        first = fh.readline()
        fh.seek(0)
        delimiter = "\t" if "\t" in first and "," not in first else ","
        reader = csv.DictReader(fh, delimiter=delimiter)
        return list(reader.fieldnames or []), list(reader)


def _point(row: dict[str, str], lat: str, lon: str, where: str) -> Truth:
    try:
        return Truth(lat=float(row[lat]), lon=float(row[lon]))
    except (ValueError, TypeError, ValidationError):
        raise DatasetError(f"{where}: bad {lat}/{lon} {row.get(lat)!r}, {row.get(lon)!r}") from None


def _places365(path: Path, rows: list[dict[str, str]], find: ImageFinder, kind: str) -> list[EvalItem]:
    items = []
    for number, row in enumerate(rows, start=2):
        where = f"{path}:{number}"
        name = (row.get("IMG_ID") or "").strip()
        if not name:
            raise DatasetError(f"{where}: empty IMG_ID")
        extra = {"author": row["AUTHOR"]} if row.get("AUTHOR") else {}
        items.append(
            _item(
                row,
                where,
                id=name,
                images=[find(name)],
                truth=_point(row, "LAT", "LON", where),
                source=kind,
                extra=extra,
            )
        )
    return items


def _osv5m(path: Path, rows: list[dict[str, str]], find: ImageFinder) -> list[EvalItem]:
    items = []
    for number, row in enumerate(rows, start=2):
        where = f"{path}:{number}"
        ident = (row.get("id") or "").strip()
        if not ident:
            raise DatasetError(f"{where}: empty id")
        admin = {
            key.replace("-", "_"): row[key].strip()
            for key in ("country", "region", "sub-region", "city")
            if (row.get(key) or "").strip() and row[key].strip().lower() != "nan"
        }
        items.append(
            _item(
                row,
                where,
                id=ident,
                images=[find(f"{ident}.jpg")],
                truth=_point(row, "latitude", "longitude", where),
                source="osv5m",
                extra={"admin": admin} if admin else {},
            )
        )
    return items


def _geobrowse_images(folder: Path, qid: str, listed: str, where: str) -> list[Path]:
    """GeoBrowse names its files ``{qid}.png``, ``{qid}(1).png`` …; the CSV's ``image``
    column holds the names they had when pasted (often ``image.png``)."""
    pattern = re.compile(rf"^{re.escape(qid)}(?:\((\d+)\))?$")
    found = []
    if folder.is_dir():
        for file in folder.iterdir():
            match = pattern.match(file.stem)
            if match and file.suffix.lower() in IMAGE_SUFFIXES:
                found.append((int(match.group(1) or 0), file))
    if found:
        return [file for _, file in sorted(found)]
    names = [n.strip() for n in listed.split(",") if n.strip()]
    if not names:
        raise DatasetError(f"{where}: no image for question {qid}")
    return [folder / n for n in names]


def _geobrowse_csv(path: Path, rows: list[dict[str, str]], images: Path) -> list[EvalItem]:
    items = []
    for number, row in enumerate(rows, start=2):
        where = f"{path}:{number}"
        qid = (row.get("question_id") or "").strip()
        answer = (row.get("gold_image_answer") or row.get("gold_answer") or "").strip()
        if not qid or not answer:
            raise DatasetError(f"{where}: needs a question_id and a gold answer")
        level2 = "gold_text_answer" in row
        extra: dict[str, Any] = {"level": "level2" if level2 else "level1"}
        if level2 and row.get("gold_text_answer"):
            extra["gold_text_answer"] = row["gold_text_answer"]
        if level2 and row.get("text_solution"):
            extra["text_solution"] = row["text_solution"]
        items.append(
            _item(
                row,
                where,
                id=qid,
                images=_geobrowse_images(images, qid, row.get("image") or "", where),
                truth=Truth(answer=answer),
                prompt=row.get("prompt") or None,
                solution=row.get("image_solution") or row.get("solution") or None,
                source=row.get("image_source") or row.get("source") or None,
                extra=extra,
            )
        )
    return items


def _table_kind(path: Path, header: list[str]) -> str:
    columns = set(header)
    if {"IMG_ID", "LAT", "LON"} <= columns:
        return "places365"
    if {"id", "latitude", "longitude"} <= columns:
        return "osv5m"
    if {"question_id", "prompt", "image"} <= columns and columns & {"gold_answer", "gold_image_answer"}:
        return "geobrowse-csv"
    if {"lat", "lon"} <= columns:
        return "csv"  # its reader names a missing image column
    raise DatasetError(
        f"{path}: unknown table header ({', '.join(header[:8])}…); expected image,lat,lon, "
        "IMG_ID,AUTHOR,LAT,LON,… (Im2GPS3k/YFCC4k/MP-16), id,latitude,longitude,… (OSV-5M) "
        "or GeoBrowse's question_id,…,prompt,image,gold_answer,…"
    )


def _benchmark_name(path: Path) -> str:
    name = path.name.lower()
    return next((kind for key, kind in _PLACES365_NAMES if key in name), "places365")


def _check_first_image(source: Path, items: list[EvalItem]) -> None:
    from .archives import split_archive_path

    if not items:
        return
    first = items[0].images[0]
    if not first.exists() and split_archive_path(first) is None:
        raise DatasetError(
            f"{source}: the first item's image {first} does not exist; "
            "pass --images DIR|ZIP with the benchmark's images"
        )


def load_dataset(
    path: str | Path, *, images: str | Path | None = None, fmt: str | None = None
) -> tuple[list[EvalItem], dict[str, Any]]:
    """Items and facts about the dataset (``kind``: the form, or the benchmark for
    places365 tables — im2gps3k, yfcc4k, mp16; ``skipped`` rows; ``needs_no_metadata``).

    ``images`` is the folder or zip archive the rows' image names are relative to (the
    dataset file's folder by default; ``images/`` beside a GeoBrowse CSV); ``fmt`` one of
    :data:`FORMATS` instead of detecting the form.
    """
    source = Path(path)
    if fmt is not None and fmt not in FORMATS:
        raise DatasetError(f"unknown dataset format {fmt!r}; choose from {', '.join(FORMATS)}")
    if not source.exists():
        raise DatasetError(f"dataset not found: {source}")
    image_base = Path(images) if images is not None else None
    if image_base is not None and not image_base.exists():
        raise DatasetError(f"image folder or archive not found: {image_base}")
    if source.is_dir() or fmt == "folder":
        if not source.is_dir():
            raise DatasetError(f"{source}: the folder format needs a folder of photos")
        items, skipped = _folder(source)
        return items, {"kind": "folder", "skipped": skipped, "needs_no_metadata": True}
    suffix = source.suffix.lower()
    if fmt in ("geobrowse", "photos") or (fmt is None and suffix in (".jsonl", ".ndjson", ".json")):
        items = _jsonl(source)
        kind = "geobrowse" if items and items[0].truth.answer else "photos"
        if image_base is not None:
            items = [
                i.model_copy(update={"images": [image_base / p.relative_to(source.parent) for p in i.images]})
                for i in items
            ]
    elif fmt is not None or suffix in (".csv", ".tsv"):
        header, rows = _table(source)
        kind = _table_kind(source, header) if fmt is None else fmt
        find = ImageFinder(image_base or source.parent)
        if kind == "csv":
            items = (
                _csv(source)
                if image_base is None
                else [
                    i.model_copy(update={"images": [find(str(p.relative_to(source.parent))) for p in i.images]})
                    for i in _csv(source)
                ]
            )
        elif kind == "places365":
            _require(source, header, {"IMG_ID", "LAT", "LON"})
            kind = _benchmark_name(source)
            items = _places365(source, rows, find, kind)
        elif kind == "osv5m":
            _require(source, header, {"id", "latitude", "longitude"})
            items = _osv5m(source, rows, find)
        elif kind == "geobrowse-csv":
            _require(source, header, {"question_id", "image"})
            items = _geobrowse_csv(source, rows, image_base or source.parent / "images")
            kind = "geobrowse"
        else:
            raise DatasetError(f"{source}: format {kind!r} is not a table")
        if kind != "csv":
            _check_first_image(source, items)
    else:
        raise DatasetError(f"{source}: unknown dataset form (expected .jsonl, .csv or a folder of photos)")
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        duplicates = sorted({i for i in ids if i in seen or seen.add(i)})
        raise DatasetError(f"{source}: duplicate item ids {', '.join(duplicates[:5])}")
    return items, {"kind": kind, "skipped": [], "needs_no_metadata": False}


def _require(path: Path, header: list[str], columns: set[str]) -> None:
    missing = columns - set(header)
    if missing:
        raise DatasetError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
