"""Build a chat-format SFT dataset from (image, lat, lon[, reasoning, country, city]) rows.

Rows come from a CSV file (header ``image,lat,lon[,reasoning,country,city,id]``), a JSONL
file (the same keys; ``latitude``/``longitude`` also read), or a folder of photos whose
EXIF holds GPS. Every row becomes one example in ``<out>/train.jsonl``::

    {"id": "...",
     "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                  {"role": "user", "content": [{"type": "text", "text": QUESTION}, {"type": "image"}]},
                  {"role": "assistant", "content": "<answer>{GeoLocSFT JSON}</answer>"}],
     "images": ["images/<id>.jpg"],
     "meta": {"lat": ..., "lon": ..., "region": ..., "reasoning": ..., ...}}

The assistant turn is :func:`agent.models.protocol.format_answer`, the form the agent's
parser reads, so what the model learns is what the agent understands. Images are
re-encoded (EXIF orientation applied, RGB, metadata dropped so no GPS reaches the
model) with the longer side set to ``size`` pixels. Rows that cannot be used are
listed in ``<out>/report.json`` with the reason: ``missing_file``, ``unreadable_image``,
``missing_coordinates``, ``bad_coordinates``, ``duplicate_image`` (same SHA-256 of the
file's bytes as an earlier kept row, whatever its name) or ``bad_row``.

The same input gives byte-identical output.
"""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from tools.errors import GeoSleuthError, ImageInputError, ImageNotFoundError, NotAFileError
from tools.exif import read_exif
from tools.image_files import IMAGE_SUFFIXES
from tools.images import load_image

from ..models.protocol import format_answer
from .prompts import QUESTION, SYSTEM_PROMPT

__all__ = [
    "DATASET_FORMAT",
    "DEFAULT_SIZE",
    "REJECT_REASONS",
    "BuildReport",
    "DatasetError",
    "Rejection",
    "Row",
    "build_dataset",
    "load_examples",
    "prompt_conversation",
    "read_rows",
]

DATASET_FORMAT = "geosleuth-sft-data"
DATASET_VERSION = 1
DEFAULT_SIZE = 448
REJECT_REASONS = (
    "missing_file",
    "unreadable_image",
    "missing_coordinates",
    "bad_coordinates",
    "duplicate_image",
    "bad_row",
)
_LAT_KEYS = ("lat", "latitude")
_LON_KEYS = ("lon", "lng", "long", "longitude")
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")
_OWN_FILES = {"train.jsonl", "report.json", "images"}


class DatasetError(GeoSleuthError, ValueError):
    """Rows or a dataset directory cannot be used at all (unreadable file, no image column, ...)."""


@dataclass
class Row:
    """One input row, as read: coordinates are still raw (validated by the builder)."""

    where: str
    image: Path | None
    lat: Any = None
    lon: Any = None
    reasoning: str = ""
    country: str = ""
    city: str = ""
    id: str = ""
    problem: str = ""  # set by the reader when the row itself is unusable (bad JSON, ...)
    note: str = ""  # added to a rejection's detail (e.g. "no GPS in EXIF")
    unreadable: str = ""  # the folder reader could not decode the image


@dataclass
class Rejection:
    where: str
    image: str | None
    reason: str
    detail: str


@dataclass
class BuildReport:
    """What a build wrote and what it left out."""

    out: Path
    source: str
    size: int
    rows: int
    examples: int
    rejected: list[Rejection] = field(default_factory=list)
    teacher: dict[str, Any] | None = None

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(r.reason for r in self.rejected)
        return {reason: counts[reason] for reason in REJECT_REASONS if counts[reason]}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": DATASET_FORMAT,
            "version": DATASET_VERSION,
            "source": self.source,
            "size": self.size,
            "rows": self.rows,
            "examples": self.examples,
            "counts": self.counts,
            "rejected": [asdict(r) for r in self.rejected],
            "teacher": self.teacher,
        }

    def summary(self, limit: int = 20) -> str:
        """A few lines for a terminal: kept/rejected counts and the first rejections."""
        lines = [f"{self.examples} examples from {self.rows} rows written to {self.out}"]
        if self.rejected:
            counts = ", ".join(f"{reason.replace('_', ' ')} {n}" for reason, n in self.counts.items())
            lines.append(f"rejected {len(self.rejected)}: {counts}")
            for r in self.rejected[:limit]:
                lines.append(f"  {r.where}: {r.reason.replace('_', ' ')}: {r.detail}")
            if len(self.rejected) > limit:
                lines.append(f"  ... and {len(self.rejected) - limit} more (see report.json)")
        if self.teacher:
            t = self.teacher
            lines.append(f"teacher: asked {t['asked']}, wrote {t['written']}, failed {t['failed']}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------- reading rows


def _first(record: dict[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        if key in record and record[key] not in (None, ""):
            return record[key]
    return None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _row_from_record(record: dict[str, Any], where: str, base: Path) -> Row:
    lowered = {str(k).strip().lower(): v for k, v in record.items()}
    image = _first(lowered, ("image", "path", "file", "image_path"))
    if isinstance(image, list):  # several views of one place: the first one is the row's image
        image = image[0] if image else None
    path = None
    if image not in (None, ""):
        path = Path(str(image)).expanduser()
        if not path.is_absolute():
            path = base / path
    return Row(
        where=where,
        image=path,
        lat=_first(lowered, _LAT_KEYS),
        lon=_first(lowered, _LON_KEYS),
        reasoning=_text(_first(lowered, ("reasoning", "thinking", "caption"))),
        country=_text(lowered.get("country")),
        city=_text(lowered.get("city")),
        id=_text(lowered.get("id")),
        problem="" if path is not None else "no image path",
    )


def _read_csv(path: Path) -> list[Row]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        columns = {c.strip().lower() for c in reader.fieldnames or []}
        if not columns & {"image", "path", "file", "image_path"}:
            raise DatasetError(f"{path}: no 'image' column (columns: {', '.join(sorted(columns)) or 'none'})")
        if not columns & set(_LAT_KEYS) or not columns & set(_LON_KEYS):
            raise DatasetError(f"{path}: needs 'lat' and 'lon' columns (or 'latitude' and 'longitude')")
        return [_row_from_record(rec, f"{path.name}:{reader.line_num}", path.parent) for rec in reader]


def _read_jsonl(path: Path) -> list[Row]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append(Row(where=where, image=None, problem=f"not JSON: {exc.msg}"))
            continue
        if not isinstance(record, dict):
            rows.append(Row(where=where, image=None, problem="not a JSON object"))
            continue
        rows.append(_row_from_record(record, where, path.parent))
    return rows


def _read_folder(path: Path) -> list[Row]:
    rows = []
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES):
        row = Row(where=str(file.relative_to(path)), image=file)
        try:
            loaded = load_image(file)
        except ImageInputError as exc:
            row.unreadable = str(exc)
            rows.append(row)
            continue
        gps = read_exif(loaded.exif).gps
        if gps is not None:
            row.lat, row.lon = gps.lat, gps.lon
        else:
            row.note = "no GPS in EXIF"
        rows.append(row)
    return rows


def read_rows(source: str | Path) -> list[Row]:
    """Rows from a CSV file, a JSONL file, or a folder of photos with GPS in their EXIF.

    Relative image paths are read against the file's folder. Bad rows are returned,
    not raised, so the builder can report them; a source that cannot be read at all
    raises :class:`DatasetError`.
    """
    path = Path(source).expanduser()
    if not path.exists():
        raise DatasetError(f"rows not found: {path}")
    if path.is_dir():
        return _read_folder(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(path)
        if suffix in (".jsonl", ".ndjson", ".json"):
            return _read_jsonl(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"cannot read rows from {path}: {exc}") from exc
    raise DatasetError(f"{path}: rows must be a .csv or .jsonl file, or a folder of photos")


# ---------------------------------------------------------------------------- validation


def parse_coordinate(value: Any, axis: str) -> float:
    """A latitude (axis "lat") or longitude as a float, or ValueError saying what is wrong."""
    limit = 90.0 if axis == "lat" else 180.0
    if value is None or (isinstance(value, str) and not value.strip()):
        raise LookupError(f"no {axis}")
    if isinstance(value, bool):
        raise ValueError(f"{axis} {value!r} is not a number")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ValueError(f"{axis} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{axis} {value!r} is not a finite number")
    if not -limit <= number <= limit:
        raise ValueError(f"{axis} {number:g} is out of range [-{limit:g}, {limit:g}]")
    return number


def unique_id(base: str, taken: set[str]) -> str:
    """``base`` made file-name safe and unique among ``taken`` (which it joins)."""
    base = _SAFE_ID.sub("_", base).strip("._-")[:80] or "row"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate


def resize_longest(image: Image.Image, size: int, *, upscale: bool = True) -> Image.Image:
    """The image scaled so its longer side is ``size`` pixels (never upscaled when ``upscale`` is false)."""
    longest = max(image.size)
    if longest == size or (longest < size and not upscale):
        return image
    scale = size / longest
    target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(target, Image.Resampling.LANCZOS)


def save_training_image(image: Image.Image, path: Path, size: int, *, upscale: bool = True) -> None:
    """Write an RGB JPEG without metadata (no EXIF, so no GPS) at the training size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    resize_longest(image.convert("RGB"), size, upscale=upscale).save(path, "JPEG", quality=90)


def region_name(city: str = "", country: str = "") -> str:
    return ", ".join(p for p in (city.strip(), country.strip()) if p)


def names_sentence(region: str) -> str:
    """The only reasoning a row with names but no reasoning honestly supports."""
    return f"The photo was taken in {region}." if region else ""


def answer_example(
    example_id: str,
    image: str,
    lat: float,
    lon: float,
    *,
    region: str = "",
    thinking: str = "",
    system_prompt: str = SYSTEM_PROMPT,
    question: str = QUESTION,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One single-turn example: system, user (image + question), assistant (the answer)."""
    return {
        "id": example_id,
        "messages": [
            {"role": "system", "content": system_prompt},
            {"role": "user", "content": [{"type": "text", "text": question}, {"type": "image"}]},
            {"role": "assistant", "content": format_answer(lat, lon, region=region, thinking=thinking)},
        ],
        "images": [image],
        "meta": {"lat": lat, "lon": lon, "region": region, **(meta or {})},
    }


def prepare_output(out: Path) -> None:
    """Create ``out``, or clear what an earlier build wrote there; refuse a foreign non-empty folder."""
    if out.exists() and not out.is_dir():
        raise DatasetError(f"output {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / "report.json").is_file():
            raise DatasetError(f"output folder {out} is not empty and was not written by geosleuth sft")
        for name in _OWN_FILES:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    (out / "images").mkdir(parents=True, exist_ok=True)


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n")


def write_report(out: Path, report: dict[str, Any]) -> None:
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@dataclass
class _Accepted:
    row: Row
    id: str
    lat: float
    lon: float
    sha256: str
    image: str  # relative path inside the dataset


def build_dataset(
    rows: str | Path | Sequence[Row],
    out: str | Path,
    *,
    size: int = DEFAULT_SIZE,
    upscale: bool = True,
    teacher: Any = None,
    teacher_concurrency: int = 4,
    system_prompt: str = SYSTEM_PROMPT,
    question: str = QUESTION,
) -> BuildReport:
    """Validate rows, write ``train.jsonl``, ``images/`` and ``report.json`` into ``out``.

    Args:
        rows: a CSV/JSONL file, a folder of geotagged photos, or rows from :func:`read_rows`.
        size: the longer side of every written image, in pixels.
        upscale: also enlarge images smaller than ``size`` (default: every image gets the same scale).
        teacher: a LangChain chat model that writes reasoning for rows without it, given the
            image and the true coordinates (see :mod:`agent.sft.teacher`); ``None`` to skip.
    """
    if not isinstance(size, int) or size < 28:
        raise DatasetError(f"image size must be an integer of at least 28 pixels, got {size!r}")
    source = str(rows) if isinstance(rows, (str, Path)) else "<rows>"
    row_list = read_rows(rows) if isinstance(rows, (str, Path)) else list(rows)
    out = Path(out).expanduser()
    prepare_output(out)

    rejected: list[Rejection] = []
    accepted: list[_Accepted] = []
    seen: dict[str, str] = {}
    taken: set[str] = set()
    for row in row_list:
        label = str(row.image) if row.image else None

        def reject(reason: str, detail: str, row: Row = row, label: str | None = label) -> None:
            rejected.append(Rejection(row.where, label, reason, detail))

        if row.problem:
            reject("bad_row", row.problem)
            continue
        if row.unreadable:
            reject("unreadable_image", row.unreadable)
            continue
        try:
            lat = parse_coordinate(row.lat, "lat")
            lon = parse_coordinate(row.lon, "lon")
        except LookupError as exc:
            reject(
                "missing_coordinates", f"{exc}" + (" (no GPS in EXIF)" if row.lat is None and row.lon is None else "")
            )
            continue
        except ValueError as exc:
            reject("bad_coordinates", str(exc))
            continue
        try:
            loaded = load_image(row.image)
        except (ImageNotFoundError, NotAFileError) as exc:
            reject("missing_file", str(exc))
            continue
        except ImageInputError as exc:
            reject("unreadable_image", str(exc))
            continue
        if loaded.sha256 in seen:
            reject("duplicate_image", f"same content as {seen[loaded.sha256]}")
            continue
        seen[loaded.sha256] = row.where
        example_id = unique_id(row.id or (row.image.stem if row.image else "row"), taken)
        relative = f"images/{example_id}.jpg"
        save_training_image(loaded.image, out / relative, size, upscale=upscale)
        accepted.append(_Accepted(row, example_id, lat, lon, loaded.sha256, relative))

    teacher_report = None
    taught: dict[str, str] = {}
    if teacher is not None:
        from .teacher import teach

        wanted = [a for a in accepted if not a.row.reasoning]
        taught, teacher_report = teach(
            teacher,
            [(a.id, out / a.image, a.lat, a.lon, region_name(a.row.city, a.row.country)) for a in wanted],
            max_concurrency=teacher_concurrency,
        )

    examples = []
    for a in accepted:
        region = region_name(a.row.city, a.row.country)
        if a.row.reasoning:
            thinking, origin = a.row.reasoning, "row"
        elif a.id in taught:
            thinking, origin = taught[a.id], "teacher"
        else:
            thinking = names_sentence(region)
            origin = "names" if thinking else ""
        meta = {
            "country": a.row.country,
            "city": a.row.city,
            "reasoning": thinking,
            "reasoning_source": origin,
            "source": str(a.row.image),
            "sha256": a.sha256,
        }
        examples.append(
            answer_example(
                a.id,
                a.image,
                a.lat,
                a.lon,
                region=region,
                thinking=thinking,
                system_prompt=system_prompt,
                question=question,
                meta=meta,
            )
        )
    write_jsonl(out / "train.jsonl", examples)
    report = BuildReport(out, source, size, len(row_list), len(examples), rejected, teacher_report)
    write_report(out, report.to_dict())
    return report


# ---------------------------------------------------------------------------- reading datasets


def load_examples(dataset: str | Path) -> list[dict[str, Any]]:
    """The examples of a dataset folder (``train.jsonl``), each with ``root`` set to the folder."""
    root = Path(dataset).expanduser()
    path = root / "train.jsonl" if root.is_dir() else root
    if not path.is_file():
        raise DatasetError(
            f"no SFT dataset at {root} (expected {path.name}; build one with `geosleuth sft build-data`)"
        )
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            example = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: not JSON: {exc.msg}") from None
        if not isinstance(example, dict) or not isinstance(example.get("messages"), list):
            raise DatasetError(f"{path}:{number}: an example needs a 'messages' list")
        example["root"] = str(path.parent)
        examples.append(example)
    return examples


def example_images(example: dict[str, Any]) -> list[Image.Image]:
    """The example's images, loaded as RGB."""
    root = Path(example.get("root", "."))
    images = []
    for name in example.get("images") or []:
        path = root / name
        try:
            with Image.open(path) as im:
                images.append(im.convert("RGB"))
        except OSError as exc:
            raise DatasetError(f"example {example.get('id')}: cannot read image {path}: {exc}") from exc
    return images


def prompt_conversation(example: dict[str, Any], *, upto: int | None = None) -> list[dict[str, Any]]:
    """The example as a :class:`~agent.models.hf_runtime.TransformersRuntime` conversation
    (image blocks carry PIL images), cut before the last assistant turn (or before
    message ``upto``), ready for ``runtime.generate``."""
    messages = example["messages"]
    if upto is None:
        last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=len(messages))
        upto = last
    images = iter(example_images(example))
    conversation = []
    for message in messages[:upto]:
        content = message["content"]
        if isinstance(content, list):
            blocks = []
            for block in content:
                if block.get("type") == "image":
                    blocks.append({"type": "image", "image": next(images)})
                else:
                    blocks.append({"type": "text", "text": block.get("text", "")})
            content = blocks
        conversation.append({"role": message["role"], "content": content})
    return conversation
