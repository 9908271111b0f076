"""Compare the OCR backends on real images and on a rendered set with known text.

    python -m evals.ocr_compare --out runs/ocr            # rapidocr, rapidocr without zoom, easyocr
    python -m evals.ocr_compare --out runs/ocr --configs rapidocr --limit 10

Each configuration runs the full multi-scale read (:func:`tools.ocr.read_image`, the
path the ``read_text`` tool takes) in its own subprocess, so that its peak memory is
its own. Figures per dataset: seconds per image (median, p95, models already loaded),
peak RSS of the process, lines found; on the rendered set exact-line recall, character
error rate and whether the box of an exact read lands on the rendered text (so a wrong
mapping to root pixels shows); on GeoBrowse the share of items whose expert solution
quotes a text (“…”, "…", 「…」) that the OCR output contains. Real images come from
``../shared/data`` (or ``GEOSLEUTH_DATA_DIR``) and are skipped with a note when absent;
the rendered set is written under ``--out`` and needs only a Latin font (CJK strings
are added when ``fc-list :lang=zh`` finds a CJK font).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import resource
import subprocess
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tools.ocr.lines import overlap_of_smaller
from tools.ocr.merge import normalize_text

from .fonts import cjk_font, latin_font

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CONFIGS = ("rapidocr", "rapidocr:nozoom", "easyocr")
#: Images of at least this many pixels get their own row (the 8-12 MP photos).
LARGE_PIXELS = 7_500_000

LATIN_STRINGS = (
    "RUA AUGUSTA",
    "Café de la Gare",
    "Zürich Hauptbahnhof",
    "Łódź Fabryczna",
    "Peña Blanca",
    "Øresundsbron",
    "Hôtel de Ville",
    "Náměstí Míru",
    "Bäckerei Müller",
    "Farmácia São João",
    "Şişli Belediyesi",
    "Rynek Główny",
    "Via Garibaldi 12",
    "Hrvatska pošta",
    "Ålesund sentrum",
    "Köln Messe/Deutz",
    "Jalan Sudirman",
    "Calle Mayor 5",
    "PHARMACIE",
    "Tel. 021 345 678",
    "OPEN 24H",
    "Smørrebrød & Kaffe",
    "Ayasofya Camii",
    "Straße des 17. Juni",
)
CJK_STRINGS = ("北京路", "中山公园", "東京駅", "新宿区役所", "ラーメン", "上海银行", "中国移动", "大阪城公園")


def data_dir() -> Path:
    """``GEOSLEUTH_DATA_DIR`` or ``../shared/data`` beside the checkout."""
    env = os.environ.get("GEOSLEUTH_DATA_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data"


# -- the rendered set ---------------------------------------------------------------


@dataclass
class Truth:
    text: str
    box: list[float]


@dataclass
class ImageItem:
    dataset: str
    name: str
    path: str
    truths: list[Truth] = field(default_factory=list)
    item: str | None = None  # GeoBrowse question id (several images can share one)
    kind: str = ""


def _font(size: int, cjk: bool = False) -> ImageFont.FreeTypeFont:
    path = cjk_font() if cjk else latin_font(True)
    if path is None:
        raise RuntimeError("no font found to render the synthetic set (install fonts-dejavu-core)")
    return ImageFont.truetype(path, size)


def _background(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A street-ish backdrop: sky, wall, noise and dark windows, so detection has clutter."""
    width, height = size
    sky_rows = int(height * rng.uniform(0.15, 0.35))
    sky = np.array([rng.randint(110, 200), rng.randint(150, 215), rng.randint(190, 250)], dtype=np.float32)
    wall = np.array([rng.randint(110, 220) for _ in range(3)], dtype=np.float32)
    rows = np.where(np.arange(height) < sky_rows, 0, 1)[:, None, None]
    arr = np.where(rows == 0, sky, wall) * np.linspace(1.0, 0.85, height, dtype=np.float32)[:, None, None]
    arr = np.broadcast_to(arr, (height, width, 3)).copy()
    arr += np.random.default_rng(rng.randint(0, 2**31)).normal(0, 5, arr.shape).astype(np.float32)
    image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    scale = width / 1280
    for _ in range(rng.randint(4, 9)):
        w, h = int(rng.randint(50, 140) * scale), int(rng.randint(70, 180) * scale)
        x, y = rng.randint(0, max(1, width - w)), rng.randint(sky_rows, max(sky_rows + 1, height - h))
        draw.rectangle([x, y, x + w, y + h], fill=tuple(rng.randint(25, 90) for _ in range(3)))
    return image


def _rotate_point(x: float, y: float, size: tuple[int, int], new_size: tuple[int, int], degrees: float) -> tuple:
    """Where (x, y) of a layer lands after PIL's counter-clockwise ``rotate(degrees, expand=True)``."""
    theta = math.radians(degrees)
    dx, dy = x - size[0] / 2, y - size[1] / 2
    return (
        new_size[0] / 2 + dx * math.cos(theta) + dy * math.sin(theta),
        new_size[1] / 2 - dx * math.sin(theta) + dy * math.cos(theta),
    )


def _sign(
    canvas: Image.Image,
    texts: list[str],
    font_size: int,
    at: tuple[int, int],
    rng: random.Random,
    degrees: float = 0.0,
    cjk: bool = False,
) -> list[Truth]:
    """Paste a shop-front board with ``texts`` (one per row) at ``at``; return the ink boxes."""
    font = _font(font_size, cjk)
    probe = ImageDraw.Draw(canvas)
    boxes = [probe.textbbox((0, 0), text, font=font) for text in texts]
    pad = font_size // 2
    width = max(b[2] - b[0] for b in boxes) + 2 * pad
    row = int(font_size * 1.35)
    height = row * len(texts) + 2 * pad
    board_colour = tuple(rng.choice([(20, 60, 140), (150, 20, 30), (245, 245, 240), (20, 110, 60), (30, 30, 30)]))
    ink = (250, 250, 250) if sum(board_colour) < 400 else (20, 20, 20)
    layer = Image.new("RGBA", (width, height), (*board_colour, 255))
    draw = ImageDraw.Draw(layer)
    ink_boxes = []
    for i, (text, box) in enumerate(zip(texts, boxes)):
        x, y = pad - box[0], pad + i * row - box[1]
        draw.text((x, y), text, font=font, fill=ink)
        ink_boxes.append(draw.textbbox((x, y), text, font=font))
    rotated = layer.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True) if degrees else layer
    canvas.paste(rotated, at, rotated)
    truths = []
    for text, (x0, y0, x1, y1) in zip(texts, ink_boxes):
        corners = [
            _rotate_point(px, py, layer.size, rotated.size, degrees)
            for px, py in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
        ]
        xs, ys = [c[0] + at[0] for c in corners], [c[1] + at[1] for c in corners]
        truths.append(Truth(text, [min(xs), min(ys), max(xs), max(ys)]))
    return truths


def _degrade(image: Image.Image, rng: random.Random) -> Image.Image:
    arr = np.asarray(image).astype(np.float32)
    arr += np.random.default_rng(rng.randint(0, 2**31)).normal(0, 20, arr.shape).astype(np.float32)
    noisy = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return noisy.filter(ImageFilter.GaussianBlur(1.0))


def render_synthetic(out_dir: Path, *, seed: int = 11) -> list[ImageItem]:
    """Render the synthetic set into ``out_dir`` and return its items with truth boxes.

    Kinds: ``shop`` (1280x800 boards rotated up to 6 degrees), ``tiny`` (a 1280x800
    frame with one ordinary board and one whose text is 9-12 px high), ``noisy``
    (grain, blur, JPEG quality 30), ``small`` (640x480), ``large`` (12 MP photos with a
    big board and one line 8-10 px high, under 3 px in a 1280 px overview) and ``cjk``
    (when a CJK font exists).
    """
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    pool = list(LATIN_STRINGS)
    rng.shuffle(pool)
    strings = iter(pool * 6)
    items: list[ImageItem] = []

    def save(image: Image.Image, name: str, truths: list[Truth], kind: str, quality: int = 92) -> None:
        path = out_dir / f"{name}.jpg"
        image.save(path, "JPEG", quality=quality)
        items.append(ImageItem("synthetic", name, str(path), truths, kind=kind))

    for i in range(12):
        canvas = _background((1280, 800), rng)
        texts = [next(strings)] + ([next(strings)] if rng.random() < 0.5 else [])
        size = rng.randint(34, 64)
        truths = _sign(canvas, texts, size, (rng.randint(20, 520), rng.randint(60, 480)), rng, rng.uniform(-6, 6))
        save(canvas, f"shop_{i:02d}", truths, "shop")
    for i in range(6):
        canvas = _background((1280, 800), rng)
        truths = _sign(canvas, [next(strings)], 40, (rng.randint(20, 500), rng.randint(60, 300)), rng)
        truths += _sign(
            canvas, [next(strings)], rng.randint(12, 16), (rng.randint(20, 900), rng.randint(450, 700)), rng
        )
        save(canvas, f"tiny_{i:02d}", truths, "tiny")
    for i in range(6):
        canvas = _background((1280, 800), rng)
        truths = _sign(canvas, [next(strings)], rng.randint(28, 44), (rng.randint(20, 560), rng.randint(60, 560)), rng)
        save(_degrade(canvas, rng), f"noisy_{i:02d}", truths, "noisy", quality=30)
    for i in range(3):
        canvas = _background((640, 480), rng)
        truths = _sign(canvas, [next(strings)], rng.randint(16, 22), (rng.randint(10, 200), rng.randint(40, 320)), rng)
        save(canvas, f"small_{i:02d}", truths, "small")
    for i in range(3):
        canvas = _background((4000, 3000), rng)
        truths = _sign(canvas, [next(strings)], 150, (rng.randint(100, 1500), rng.randint(500, 900)), rng)
        truths += _sign(
            canvas, [next(strings)], rng.randint(11, 13), (rng.randint(200, 3000), rng.randint(1900, 2700)), rng
        )
        save(canvas, f"large_{i:02d}", truths, "large", quality=90)
    if cjk_font():
        cjk = list(CJK_STRINGS)
        rng.shuffle(cjk)
        for i, text in enumerate(cjk[:6]):
            canvas = _background((1280, 800), rng)
            at = (rng.randint(20, 700), rng.randint(60, 560))
            size = rng.randint(36, 64) if i < 4 else rng.randint(14, 18)
            truths = _sign(canvas, [text], size, at, rng, rng.uniform(-3, 3), cjk=True)
            save(canvas, f"cjk_{i:02d}", truths, "cjk")
    return items


# -- real images --------------------------------------------------------------------


def real_items(root: Path) -> tuple[list[ImageItem], dict[str, list[str]], list[str]]:
    """GeoBrowse and photo items, the quotes of each GeoBrowse item, and notes on what is missing."""
    items: list[ImageItem] = []
    quotes: dict[str, list[str]] = {}
    notes: list[str] = []
    geobrowse = root / "geobrowse" / "level1.jsonl"
    if geobrowse.exists():
        for raw in geobrowse.read_text(encoding="utf-8").splitlines():
            if not raw.strip():
                continue
            row = json.loads(raw)
            qid = str(row["question_id"])
            paths = row["image"] if isinstance(row["image"], list) else [row["image"]]
            for rel in paths:
                path = geobrowse.parent / rel
                items.append(ImageItem("geobrowse", path.name, str(path), item=qid))
            quotes[qid] = solution_quotes(row.get("image_solution") or "")
    else:
        notes.append(f"GeoBrowse skipped: {geobrowse} not found")
    photos = root / "photos" / "images"
    if photos.is_dir():
        for path in sorted(photos.glob("*.jpg")):
            items.append(ImageItem("photos", path.name, str(path)))
    else:
        notes.append(f"photos skipped: {photos} not found")
    return items, quotes, notes


_QUOTES = re.compile(r"“([^”]{1,80})”|\"([^\"]{1,80})\"|「([^」]{1,80})」")


def fold(text: str) -> str:
    """:func:`normalize_text` without diacritics: an OCR that reads "AREA" for "ÁREA" found the quote."""
    decomposed = unicodedata.normalize("NFKD", text)
    return normalize_text("".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def solution_quotes(solution: str) -> list[str]:
    """Texts an expert quoted in a solution: “…”, "…" or 「…」, with letters or digits."""
    found = []
    for match in _QUOTES.finditer(solution):
        text = next(group for group in match.groups() if group is not None)
        if normalize_text(text):
            found.append(text)
    return found


# -- worker: one configuration in its own process ------------------------------------


def _rss_mb() -> float:
    """Peak resident memory of this process so far, in MB.

    ``VmHWM`` from ``/proc`` is reset by ``exec``; ``ru_maxrss`` is not on Linux, so in
    a worker it would report the parent's peak (the parent renders 12 MP images)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(config: str, manifest: Path, out: Path) -> None:
    """Read every manifest image with one configuration; write JSONL results and a summary."""
    from tools.images import ImageRegistry, load_image
    from tools.ocr import ReadOptions, get_backend, read_image

    name, _, variant = config.partition(":")
    items = [
        ImageItem(**{**row, "truths": [Truth(**t) for t in row["truths"]]}) for row in json.loads(manifest.read_text())
    ]
    summary: dict[str, Any] = {"config": config, "rss_start_mb": _rss_mb()}
    backend = get_backend(name)
    try:
        backend.load()
    except Exception as exc:  # noqa: BLE001 - report any failure to load as a skipped configuration
        summary["error"] = f"{type(exc).__name__}: {exc}"
        out.with_suffix(".json").write_text(json.dumps(summary))
        return
    summary["load_seconds"] = backend.load_seconds
    summary["rss_loaded_mb"] = _rss_mb()
    options = ReadOptions(zoom=variant != "nozoom")
    with out.open("w", encoding="utf-8") as handle:
        for item in items:
            registry = ImageRegistry()
            entry = registry.add_loaded(load_image(item.path))
            began = time.perf_counter()
            result = read_image(registry, entry.handle, backend, options=options)
            seconds = time.perf_counter() - began
            row = {
                "dataset": item.dataset,
                "name": item.name,
                "seconds": seconds,
                "size": list(entry.size),
                "budget_exhausted": result.budget_exhausted,
                "zooms": len(result.zoom_images),
                "lines": [
                    {
                        "text": line.text,
                        "box": list(line.box),
                        "confidence": line.confidence,
                        "raw_confidence": line.raw_confidence,
                        "edge": line.edge,
                    }
                    for line in result.lines
                ],
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            handle.flush()
    summary["rss_peak_mb"] = _rss_mb()
    out.with_suffix(".json").write_text(json.dumps(summary))


# -- metrics -------------------------------------------------------------------------


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions), O(len(a) * len(b))."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _spaces(text: str) -> str:
    return " ".join(text.split())


def synthetic_scores(item: ImageItem, lines: list[dict[str, Any]]) -> dict[str, float]:
    """Exact lines, edit distance and box agreement of one rendered image against its truth."""
    exact = distance = length = box_ok = 0
    for truth in item.truths:
        target = _spaces(truth.text)
        hits = [line for line in lines if _spaces(line["text"]) == target]
        if hits:
            exact += 1
            if any(overlap_of_smaller(hit["box"], truth.box) >= 0.7 for hit in hits):
                box_ok += 1
        over = [line for line in lines if overlap_of_smaller(line["box"], truth.box) >= 0.5]
        over.sort(key=lambda line: (line["box"][1], line["box"][0]))
        distance += levenshtein(_spaces(" ".join(line["text"] for line in over)), target)
        length += len(target)
    return {"truths": len(item.truths), "exact": exact, "distance": distance, "length": length, "box_ok": box_ok}


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def summarise(
    config: str,
    items: list[ImageItem],
    rows: list[dict[str, Any]],
    worker: dict[str, Any],
    quotes: dict[str, list[str]],
) -> list[dict[str, Any]]:
    """One table row per dataset (plus a row for the large photos)."""
    by_name = {(r["dataset"], r["name"]): r for r in rows}
    groups: dict[str, list[tuple[ImageItem, dict[str, Any]]]] = {}
    for item in items:
        row = by_name.get((item.dataset, item.name))
        if row is None:
            continue
        groups.setdefault(item.dataset, []).append((item, row))
        if row["size"][0] * row["size"][1] >= LARGE_PIXELS:
            groups.setdefault("large (>= 7.5 MP: photos + synthetic 12 MP)", []).append((item, row))
    table = []
    for dataset, pairs in groups.items():
        seconds = [row["seconds"] for _, row in pairs]
        entry: dict[str, Any] = {
            "config": config,
            "dataset": dataset,
            "images": len(pairs),
            "median_s": _percentile(seconds, 50),
            "p95_s": _percentile(seconds, 95),
            "max_s": max(seconds),
            "lines": sum(len(row["lines"]) for _, row in pairs),
            "peak_rss_mb": worker.get("rss_peak_mb"),
            "load_s": worker.get("load_seconds"),
        }
        truths = [synthetic_scores(item, row["lines"]) for item, row in pairs if item.truths]
        if truths:
            total = sum(t["truths"] for t in truths)
            entry["exact_recall"] = sum(t["exact"] for t in truths) / total
            entry["cer"] = sum(t["distance"] for t in truths) / max(1, sum(t["length"] for t in truths))
            exact = sum(t["exact"] for t in truths)
            entry["box_ok"] = sum(t["box_ok"] for t in truths) / exact if exact else float("nan")
        if dataset == "geobrowse":
            texts: dict[str, str] = {}
            for item, row in pairs:
                texts[item.item or ""] = texts.get(item.item or "", "") + "".join(
                    fold(line["text"]) for line in row["lines"]
                )
            quoted = [qid for qid, qs in quotes.items() if qs and qid in texts]
            hit = [qid for qid in quoted if any(fold(q) in texts[qid] for q in quotes[qid])]
            entry["quote_hits"] = f"{len(hit)}/{len(quoted)}"
            entry["quote_hit_items"] = hit
        table.append(entry)
    return table


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def markdown(table: list[dict[str, Any]], notes: list[str], command: str) -> str:
    header = (
        "| dataset | config | images | s/img median | s/img p95 | lines | exact-line recall | CER | box ok "
        "| quotes found | peak RSS MB | model load s |"
    )
    rule = "|" + "---|" * 12
    order = {"synthetic": 0, "geobrowse": 1, "photos": 2}
    body = []
    for row in sorted(table, key=lambda r: (order.get(r["dataset"], 3), r["dataset"], r["config"])):
        body.append(
            "| "
            + " | ".join(
                [
                    row["dataset"],
                    row["config"],
                    str(row["images"]),
                    _fmt(row["median_s"]),
                    _fmt(row["p95_s"]),
                    str(row["lines"]),
                    _fmt(row.get("exact_recall")),
                    _fmt(row.get("cer"), 3),
                    _fmt(row.get("box_ok")),
                    row.get("quote_hits", "–"),
                    _fmt(row["peak_rss_mb"], 0),
                    _fmt(row["load_s"]),
                ]
            )
            + " |"
        )
    text = [f"# OCR backends compared\n\n`{command}`\n", header, rule, *body, ""]
    text.append(
        "Seconds are per image for the whole multi-scale read (overview, zooms, text-map spots or, for "
        "engines without a map, tiles, within the pixel budget), "
        "models loaded beforehand. *box ok*: share of exact reads whose box covers the rendered text "
        "(root-image pixels). *quotes found*: GeoBrowse items whose expert solution quotes a text that the "
        "OCR output of the item's images contains (letters and digits, case and accents folded), "
        "over items with a quote."
    )
    text.extend(f"\n- {note}" for note in notes)
    return "\n".join(text) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.ocr_compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the rendered set, raw results and table")
    parser.add_argument("--configs", default=",".join(DEFAULT_CONFIGS), help="backend[:nozoom], comma-separated")
    parser.add_argument("--limit", type=int, default=0, help="at most this many real images per dataset (0: all)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--manifest", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out: Path = args.out
    if args.worker:
        run_worker(args.worker, args.manifest, out)
        return 0

    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    items = render_synthetic(out / "synthetic", seed=args.seed)
    if not cjk_font():
        notes.append("no CJK font on this machine (fc-list :lang=zh is empty): the rendered set is Latin only")
    root = data_dir()
    quotes: dict[str, list[str]] = {}
    if root.is_dir():
        real, quotes, missing = real_items(root)
        notes.extend(missing)
        if args.limit:
            kept: dict[str, int] = {}
            limited = []
            for item in real:
                kept[item.dataset] = kept.get(item.dataset, 0) + 1
                if kept[item.dataset] <= args.limit:
                    limited.append(item)
            real = limited
        items += real
    else:
        notes.append(f"real images skipped: {root} not found")
    manifest = out / "manifest.json"
    manifest.write_text(json.dumps([asdict(item) for item in items], ensure_ascii=False, indent=1))

    table: list[dict[str, Any]] = []
    for config in [c.strip() for c in args.configs.split(",") if c.strip()]:
        result = out / f"results_{config.replace(':', '_')}.jsonl"
        print(f"running {config} on {len(items)} images ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "evals.ocr_compare",
                "--out",
                str(result),
                "--worker",
                config,
                "--manifest",
                str(manifest),
            ],
            check=True,
            cwd=REPO,
        )
        worker = json.loads(result.with_suffix(".json").read_text())
        if "error" in worker:
            notes.append(f"{config} skipped: {worker['error']}")
            continue
        rows = [json.loads(line) for line in result.read_text(encoding="utf-8").splitlines() if line.strip()]
        print(f"  {config}: {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
        table.extend(summarise(config, items, rows, worker, quotes))

    command = "python -m evals.ocr_compare " + " ".join(argv if argv is not None else sys.argv[1:])
    report = markdown(table, notes, command)
    (out / "ocr_compare.md").write_text(report, encoding="utf-8")
    (out / "ocr_compare.json").write_text(json.dumps(table, ensure_ascii=False, indent=1, default=str))
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
