"""One self-contained HTML page per run: what the agent saw, read, found and concluded.

The page needs no network: images are data URIs, the map is an inline SVG with coastlines
and borders from packaged Natural Earth data (``agent.map_view``), styles and the one small
script are inline. Everything taken from the trace (OCR text, web snippets, OSM tags, file
names) is untrusted and is HTML-escaped; a Content-Security-Policy allows only the page's
own script (by hash) and data: images, so even a missed escape could not run injected script
or fetch anything.

Pixels are not stored in traces: the input images are re-read from the paths in the header
(checked against the recorded sha256), and crops and zooms are re-derived from them with the
operations their ``image`` steps record (checked against their sha256 where recorded). The
steps' pixel maps (``to_root``) place boxes found on a crop onto the photo. Every size and box
taken from a trace is bounded before pixels are allocated for it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from graphs.trace import Trace
from tools.errors import GeoSleuthError, TraceError
from tools.evidence import Evidence
from tools.image_tools import MAX_DERIVED_SIDE
from tools.images import DEFAULT_MAX_PIXELS, load_image

from .exports import RunLike, as_location, as_trace, solution_text
from .location import Location
from .map_view import CSS as MAP_CSS
from .map_view import MapCircle, MapPoint, links_html, local_view, map_figure, world_view
from .trace_view import parse_time, step_summary

ROOT_SIDE = 1600  # embedded input images are downscaled to this (boxes use original pixels)
CROP_SIDE = 480
MAX_CROPS = 40
MAX_STEP_JSON = 20_000


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


# -- images --------------------------------------------------------------------------------


@dataclass
class ImageEntry:
    """One handle of the run, as its ``image`` step recorded it: size, lineage, pixel map."""

    handle: str
    width: int = 0
    height: int = 0
    parent: str | None = None
    operation: dict[str, Any] | None = None
    sha256: str | None = None
    source: str | None = None
    path: str | None = None
    step: int | None = None
    to_root: tuple[float, float, float, float] | None = (1.0, 1.0, 0.0, 0.0)
    pixels: Image.Image | None = None
    note: str = ""
    boxes: list[tuple[list[float], list[Evidence]]] = field(default_factory=list)

    @property
    def number(self) -> int:
        tail = self.handle.rsplit(":", 1)[-1]
        return int(tail) if tail.isdigit() else 1 << 30


def _affine(value: Any) -> tuple[float, float, float, float] | None:
    """A recorded pixel map, if it is four finite numbers with a positive scale."""
    if value is None or len(value) != 4 or not all(math.isfinite(v) for v in value):
        return None
    sx, sy, ox, oy = (float(v) for v in value)
    return (sx, sy, ox, oy) if sx > 0 and sy > 0 else None


def _absolute(value: Any) -> str | None:
    """The recorded path when it is absolute (where the run read the file), else None."""
    return value if isinstance(value, str) and value and Path(value).is_absolute() else None


def image_registry(trace: Trace) -> dict[str, ImageEntry]:
    """Every handle the run registered, from its ``image`` steps (inputs and the images tools
    made: crops, zooms, rotations, enhancements, OCR zoom passes), with the header's record of
    where each input came from. Sizes are checked here, before any pixels are made."""
    sources = {str(i.get("handle")): i for i in trace.header.images if isinstance(i, dict)}
    entries: dict[str, ImageEntry] = {}
    for step in trace.images():
        if step.handle in entries:
            continue
        info = sources.get(step.handle, {}) if step.parent is None else {}
        entries[step.handle] = ImageEntry(
            handle=step.handle,
            width=step.width,
            height=step.height,
            parent=step.parent,
            operation=dict(step.operation) if step.operation else None,
            sha256=step.sha256 or None,
            source=info.get("source") or info.get("path") or step.path,
            path=_absolute(info.get("path") or step.path),
            step=step.made_by,
            to_root=(1.0, 1.0, 0.0, 0.0) if step.parent is None else _affine(step.to_root),
        )
    for handle, info in sources.items():  # an input the steps do not list (a trace cut short)
        if handle not in entries:
            entries[handle] = ImageEntry(
                handle=handle,
                width=int(info.get("width") or 0),
                height=int(info.get("height") or 0),
                sha256=info.get("sha256"),
                source=info.get("source") or info.get("path"),
                path=_absolute(info.get("path")),
            )
    for entry in entries.values():
        _check_size(entry, entries)
    return entries


def _check_size(entry: ImageEntry, entries: dict[str, ImageEntry]) -> None:
    """Refuse a recorded size no run can have made (a crafted or corrupt trace): the report
    would otherwise allocate it when it re-derives the image. An input is bounded as image
    loading bounds it; a derived image by what its parent allows: a crop or enhancement is no
    larger than the parent, a rotation no wider than its diagonal, a zoom no longer a side than
    the tools' largest zoom."""
    if entry.width * entry.height > DEFAULT_MAX_PIXELS:
        raise TraceError(
            f"image {entry.handle} is recorded as {entry.width}x{entry.height} pixels, "
            f"more than any image a run accepts ({DEFAULT_MAX_PIXELS:,} pixels)"
        )
    parent = entries.get(entry.parent) if entry.parent else None
    if parent is None:
        return
    side = max(MAX_DERIVED_SIDE, math.ceil(math.hypot(parent.width, parent.height)) + 2)
    if entry.width > side or entry.height > side:
        raise TraceError(
            f"image {entry.handle} is recorded as {entry.width}x{entry.height} pixels, larger than "
            f"anything a tool makes from {parent.handle} ({parent.width}x{parent.height}; at most {side} a side)"
        )


def _root_of(entry: ImageEntry, entries: dict[str, ImageEntry]) -> ImageEntry:
    seen = set()
    while entry.parent and entry.parent in entries and entry.handle not in seen:
        seen.add(entry.handle)
        entry = entries[entry.parent]
    return entry


def image_places(entry: ImageEntry, trace: Trace, image_dirs: Sequence[str | os.PathLike] = ()) -> list[Path]:
    """Where an input image may be, in order: the absolute path the header recorded, the
    path as it was given (relative to this directory), the trace's folder (the path
    relative to it, then the file name), then each ``image_dirs`` folder."""
    places: list[Path] = []
    if entry.path:
        places.append(Path(entry.path))
    source = entry.source or ""
    if source and not source.startswith("<"):
        given = Path(source).expanduser()
        places.append(given)
        if trace.path is not None:
            folder = trace.path.resolve().parent
            if not given.is_absolute():
                places.append(folder / given)
            places.append(folder / given.name)
        places += [Path(d).expanduser() / given.name for d in image_dirs]
    elif entry.path:
        name = Path(entry.path).name
        if trace.path is not None:
            places.append(trace.path.resolve().parent / name)
        places += [Path(d).expanduser() / name for d in image_dirs]
    return list(dict.fromkeys(places))


def _load_root(entry: ImageEntry, trace: Trace, image_dirs: Sequence[str | os.PathLike]) -> None:
    source = entry.source or ""
    if not entry.path and (not source or source.startswith("<")):
        entry.note = f"the run was given {source or 'an image'} in memory; the trace holds no pixels"
        return
    mismatch = False
    for place in image_places(entry, trace, image_dirs):
        try:
            data = place.read_bytes()
        except OSError:
            continue
        if entry.sha256 and hashlib.sha256(data).hexdigest() != entry.sha256:
            mismatch = True
            continue
        try:
            entry.pixels = load_image(data).image
        except GeoSleuthError as exc:
            entry.note = f"{place}: {exc}"
            return
        entry.note = f"re-read from {place}, sha256 verified" if entry.sha256 else f"re-read from {place}"
        return
    shown = source or entry.path
    entry.note = (
        f"{shown} has changed since the run (sha256 differs)"
        if mismatch
        else f"{shown} not found (looked at the recorded path, the trace's folder and --images folders)"
    )


def _box_within(box: Any, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """A recorded crop box as whole pixels clamped to the parent (a box reaching past the
    image would make PIL allocate all of it); None when it is not a usable box."""
    if not isinstance(box, (list, tuple)) or len(box) != 4:
        return None
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in box):
        return None
    left, top = max(0, min(size[0], round(box[0]))), max(0, min(size[1], round(box[1])))
    right, bottom = max(0, min(size[0], round(box[2]))), max(0, min(size[1], round(box[3])))
    return (left, top, right, bottom) if right > left and bottom > top else None


def _factor(value: Any) -> float:
    """An enhancement factor from the trace, kept to the range the enhance tool accepts."""
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return 1.0
    return min(10.0, max(0.0, float(value)))


def _derive(entry: ImageEntry, parent: Image.Image) -> Image.Image | None:
    """Redo the recorded operation (mirrors tools/image_tools.py and the OCR zoom passes)."""
    op = entry.operation or {}
    kind, box = op.get("op"), _box_within(op.get("box"), parent.size)
    if kind in ("crop", "zoom") and box is not None:
        region = parent.crop(box)
        size = (entry.width or region.width, entry.height or region.height)
        if size == region.size:
            return region
        gap = 3.0 if size[0] < region.width else None
        return region.resize(size, Image.Resampling.LANCZOS, reducing_gap=gap)
    if kind == "rotate":
        degrees = op.get("degrees") or 0
        if not isinstance(degrees, (int, float)) or not math.isfinite(degrees):
            return None
        return parent.rotate(-float(degrees), resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255))
    if kind == "enhance":
        out = parent
        if op.get("grayscale"):
            out = ImageOps.grayscale(out).convert("RGB")
        if op.get("autocontrast"):
            out = ImageOps.autocontrast(out, cutoff=1)
        contrast, sharpness = _factor(op.get("contrast")), _factor(op.get("sharpness"))
        if contrast != 1.0:
            out = ImageEnhance.Contrast(out).enhance(contrast)
        if sharpness != 1.0:
            out = ImageEnhance.Sharpness(out).enhance(sharpness)
            if sharpness > 1.5:
                out = out.filter(ImageFilter.UnsharpMask(radius=2, percent=int(60 * sharpness), threshold=3))
        return ImageOps.invert(out) if op.get("invert") else out
    return None


def _pixels(entry: ImageEntry, entries: dict[str, ImageEntry]) -> Image.Image | None:
    if entry.pixels is not None or entry.parent is None:
        return entry.pixels
    parent = entries.get(entry.parent)
    base = _pixels(parent, entries) if parent is not None else None
    if base is None:
        entry.note = entry.note or "not shown: the image it was made from is not available"
        return None
    entry.pixels = _derive(entry, base)
    if entry.pixels is None:
        entry.note = f"not shown: cannot redo operation {(entry.operation or {}).get('op')!r}"
    elif entry.sha256:
        same = hashlib.sha256(entry.pixels.tobytes()).hexdigest() == entry.sha256
        entry.note = "re-derived, pixels verified" if same else "re-derived (approximately: pixels differ slightly)"
    else:
        entry.note = "re-derived from its parent"
    return entry.pixels


def _data_uri(image: Image.Image, side: int) -> str:
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    copy.convert("RGB").save(buffer, "JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# -- overlays ------------------------------------------------------------------------------


def _place_boxes(evidence: list[Evidence], entries: dict[str, ImageEntry]) -> dict[int, ImageEntry | None]:
    """Attach each boxed evidence to the image it is drawn on (the photo, through the crop's
    pixel map, when there is one); returns that image per evidence (None: handle unknown)."""
    placed: dict[int, ImageEntry | None] = {}
    for item in evidence:
        if not item.image or item.bbox is None:
            continue
        entry = entries.get(item.image)
        placed[id(item)] = entry
        if entry is None:
            continue
        box, target = list(item.bbox), entry
        if entry.parent is not None and entry.to_root is not None:
            sx, sy, ox, oy = entry.to_root
            box = [box[0] * sx + ox, box[1] * sy + oy, box[2] * sx + ox, box[3] * sy + oy]
            target = _root_of(entry, entries)
            placed[id(item)] = target
        key = [round(v, 1) for v in box]
        if item.kind != "ocr_text":  # derived clues share their text's box: mark it, don't redraw
            same = next((b for b in target.boxes if b[0] == key), None)
            if same is not None:
                same[1].append(item)
                continue
        target.boxes.append((key, [item]))
    return placed


def _overlay(entry: ImageEntry, crops: list[ImageEntry], shown_px: int) -> str:
    """SVG in the image's own pixel space (so boxes need no scaling), strokes and labels sized
    for the width the page shows it at."""
    w, h = entry.width or 1, entry.height or 1
    per_px = max(w, h) / shown_px
    stroke, font = 1.5 * per_px, 11 * per_px
    parts = [f'<svg class="overlay" viewBox="0 0 {w} {h}" preserveAspectRatio="none" aria-hidden="true">']
    for crop in crops:
        sx, sy, ox, oy = crop.to_root or (1, 1, 0, 0)
        x1, y1 = crop.width * sx + ox, crop.height * sy + oy
        parts.append(
            f'<rect class="crop" x="{ox:.1f}" y="{oy:.1f}" width="{x1 - ox:.1f}" height="{y1 - oy:.1f}" '
            f'stroke-width="{stroke:.1f}"><title>{esc(crop.handle)}: {esc(_op_text(crop))}</title></rect>'
        )
    for box, items in entry.boxes:
        ids = " ".join(str(i.id) for i in items if i.id)
        cls = "ocr" if any(i.kind == "ocr_text" for i in items) else "other"
        title = "\n".join(f"{i.id} {i.kind}: {i.value}" for i in items)
        parts.append(
            f'<g class="boxgroup"><rect class="box {cls}" data-ev="{esc(ids)}" x="{box[0]:.1f}" y="{box[1]:.1f}" '
            f'width="{max(1.0, box[2] - box[0]):.1f}" height="{max(1.0, box[3] - box[1]):.1f}" '
            f'stroke-width="{stroke:.1f}"><title>{esc(title)}</title></rect>'
            f'<text x="{box[0]:.1f}" y="{max(font, box[1] - stroke):.1f}" font-size="{font:.0f}">'
            f"{esc(items[0].id or '')}</text></g>"
        )
    return "".join(parts) + "</svg>"


def _op_text(entry: ImageEntry) -> str:
    op = dict(entry.operation or {})
    kind = op.pop("op", "derived")
    by = op.pop("by", None)
    args = ", ".join(f"{k}={v}" for k, v in op.items())
    step = f" at step #{entry.step}" if entry.step is not None else ""
    return f"{kind} of {entry.parent} ({args}){' by ' + by if by else ''}{step}"


def _figure(entry: ImageEntry, side: int, crops: list[ImageEntry], cls: str) -> str:
    shown_px = 1150 if cls == "root" else 300
    caption = f"{esc(entry.handle)} · {entry.width}×{entry.height}"
    caption += f" · {esc(entry.source)}" if entry.parent is None else f" · {esc(_op_text(entry))}"
    note = f'<div class="note">{esc(entry.note)}</div>' if entry.note else ""
    if entry.pixels is None:
        body = f'<div class="placeholder">{esc(entry.handle)}: pixels not available</div>'
    else:
        body = (
            f'<div class="frame"><img class="{cls}" src="{_data_uri(entry.pixels, side)}" '
            f'alt="{esc(entry.handle)}" data-handle="{esc(entry.handle)}">{_overlay(entry, crops, shown_px)}</div>'
        )
    return f'<figure class="{cls}-fig">{body}<figcaption>{caption}</figcaption>{note}</figure>'


# -- evidence, candidates, map -------------------------------------------------------------


def provenance_link(provenance: str | None) -> str:
    """A link for web and OSM provenance (http(s) only, never javascript: and the like), else text."""
    if not provenance:
        return ""
    text = provenance.strip()
    parts = text.split("/")
    if len(parts) == 2 and parts[0] in ("node", "way", "relation") and parts[1].isdigit():
        text = f"https://www.openstreetmap.org/{text}"
    if text.lower().startswith(("https://", "http://")) and not any(c.isspace() for c in text):
        return f'<a href="{esc(text)}" rel="noopener noreferrer nofollow" target="_blank">{esc(provenance)}</a>'
    return esc(provenance)


def _evidence_list(evidence: list[Evidence], placed: dict[int, ImageEntry | None], shown: set[str]) -> str:
    rows = []
    for item in evidence:
        where = esc(item.image or "")
        if item.bbox is not None:
            where += " [" + ",".join(str(round(v)) for v in item.bbox) + "]"
            target = placed.get(id(item))
            if target is None:
                where += " (unknown image: box not drawn)"
            elif target.handle not in shown:
                where += f" (box not drawn: {esc(target.handle)} not shown)"
            elif target.handle != item.image:
                where += f" (drawn on {esc(target.handle)})"
        args = json.dumps(item.source.arguments, ensure_ascii=False)[:200]
        rows.append(
            f'<li id="{esc(_anchor(item.id))}" data-ev="{esc(item.id or "")}"><span class="id">{esc(item.id)}</span> '
            f'<span class="kind">{esc(item.kind)}</span> <span class="value">{esc(item.value)}</span> '
            f'<span class="conf">{item.confidence:.2f}</span> <span class="where">{where}</span> '
            f'<span class="src">via {esc(item.source.tool)} {esc(args)}</span> '
            f'<span class="prov">{provenance_link(item.provenance)}</span></li>'
        )
    return f'<ol class="evidence">{"".join(rows)}</ol>' if rows else "<p>No evidence was found.</p>"


def _anchor(evidence_id: str | None) -> str:
    return "ev-" + "".join(c if c.isalnum() else "-" for c in str(evidence_id or ""))


def _candidates(loc: Location) -> str:
    if not loc.candidates:
        return "<p>No candidates.</p>"
    rows = []
    for rank, c in enumerate(loc.candidates, start=1):
        sources = " ".join(f'<a href="#{esc(_anchor(s))}">{esc(s)}</a>' for s in c.sources)
        rows.append(
            f"<tr><td>{rank}</td><td>{esc(c.label)}</td><td>{c.lat:.5f}, {c.lon:.5f}</td><td>{c.score:.3g}</td>"
            f"<td>{c.radius_km:.3g} km</td><td>{esc(c.country_code or '')}</td><td>{sources}</td>"
            f'<td class="links">{links_html(c.lat, c.lon)}</td></tr>'
        )
    head = (
        "<tr><th>#</th><th>label</th><th>lat, lon</th><th>score</th><th>radius</th><th>cc</th><th>evidence</th>"
        "<th>look at it</th></tr>"
    )
    return f'<table class="candidates">{head}{"".join(rows)}</table>'


def _map_points(loc: Location) -> list[MapPoint]:
    points = [
        MapPoint(item.geo.lat, item.geo.lon, f"{item.id} {item.value}", "evidence", evidence_id=item.id)
        for item in loc.evidence
        if item.geo is not None and item.confidence > 0
    ]
    points += [
        MapPoint(c.lat, c.lon, f"{rank}. {c.label} score {c.score:.3g}", "candidate", rank=rank)
        for rank, c in enumerate(loc.candidates, start=1)
    ]
    if loc.lat is not None and loc.lon is not None:
        points.append(MapPoint(loc.lat, loc.lon, "answer", "answer"))
    return points


def _uncertainty(loc: Location) -> MapCircle | None:
    if loc.lat is None or loc.lon is None or not loc.radius_km:
        return None
    return MapCircle(loc.lat, loc.lon, loc.radius_km)


def _world_map(loc: Location) -> str:
    return map_figure(
        world_view(), _map_points(loc), _uncertainty(loc), label="world map", caption="the world", kind="world"
    )


def _local_map(loc: Location) -> str:
    """A view round the answer, scaled in km, wide enough for the circle."""
    if loc.lat is None or loc.lon is None:
        return ""
    half_km = max(1.6 * (loc.radius_km or 0.0), 2.0)
    view = local_view(loc.lat, loc.lon, half_km)
    outside = sum(not view.inside(c.lat, c.lon) for c in loc.candidates)
    caption = f"±{half_km:.3g} km round the answer" + (
        f"; {outside} candidate(s) lie outside this view (see the world map)" if outside else ""
    )
    return map_figure(
        view, _map_points(loc), _uncertainty(loc), label="map round the answer", caption=caption, kind="local"
    )


# -- timeline and page ---------------------------------------------------------------------


def _timeline(trace: Trace) -> str:
    origin = next((t for t in (parse_time(s.timing.start) for s in trace.steps) if t is not None), None)
    rows = []
    for step in trace.steps:
        when = parse_time(step.timing.start)
        rel = f"+{(when - origin).total_seconds():.2f}s" if when and origin else "?"
        record = step.model_dump(mode="json", exclude={"type"})
        full = json.dumps(record, ensure_ascii=False, indent=1)
        if len(full) > MAX_STEP_JSON:
            full = full[:MAX_STEP_JSON] + f"\n… ({len(full) - MAX_STEP_JSON} more characters in the trace)"
        rows.append(
            f'<tr class="step {esc(step.kind)}"><td>#{step.index}</td><td>{rel}</td><td>{esc(step.node)}</td>'
            f"<td>{esc(step.kind)}</td><td>{esc(step.name)}</td><td>{step.timing.duration_s:.2f}s</td>"
            f"<td><details><summary>{esc(step_summary(step, 140))}</summary><pre>{esc(full)}</pre></details></td></tr>"
        )
    head = "<tr><th>#</th><th>time</th><th>node</th><th>kind</th><th>name</th><th>took</th><th>what</th></tr>"
    return f'<table class="timeline">{head}{"".join(rows)}</table>'


def _answer(loc: Location, trace: Trace) -> str:
    final = trace.final
    status = ""
    if final is None or final.status != "ok":
        why = "unfinished" if final is None else f"{final.status} {final.error.message if final.error else ''}"
        status = f'<p class="warn">Run status: {esc(why)}</p>'

    if loc.lat is None or loc.lon is None:
        return f'{status}<p class="noanswer">No answer: {esc(loc.reason or "no evidence")}</p>'
    place = ", ".join(dict.fromkeys(x for x in (loc.city, loc.region, loc.country) if x))
    radius = f" ±{loc.radius_km:.3g} km" if loc.radius_km is not None else ""
    return (
        f'{status}<p class="answer"><span id="answer-coords">{loc.lat:.5f}, {loc.lon:.5f}</span>{radius} · '
        f"confidence {loc.confidence:.2f} · {esc(place)} {esc(loc.country_code or '')} · "
        f"{links_html(loc.lat, loc.lon)}</p>"
        f'<p class="summary">{esc(loc.summary)}</p>'
    )


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1em;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;border-bottom:1px solid #ddd;margin-top:1.6em}
.frame{position:relative;display:inline-block;max-width:100%}.frame img{display:block;max-width:100%;height:auto}
.overlay{position:absolute;left:0;top:0;width:100%;height:100%;pointer-events:none}
.overlay rect{fill:none;pointer-events:all}.box.ocr{stroke:#ff2d55}.box.other{stroke:#ff9500}
.crop{stroke:#0a84ff;stroke-dasharray:8 5}.overlay text{fill:#ff2d55;paint-order:stroke;stroke:#fff;stroke-width:3px}
.hl,.box.hl{stroke:#30d158!important;fill:rgba(48,209,88,.15)!important}li.hl{background:#e6f9ec}
.crops{display:flex;flex-wrap:wrap;gap:12px}.crops figure{margin:0;max-width:300px}
.placeholder{background:#eee;color:#666;padding:2em;text-align:center}.note,figcaption{color:#666;font-size:12px}
.evidence li{margin:.2em 0}.kind{font-weight:600}.value{background:#f4f4f4;padding:0 .3em;white-space:pre-wrap}
.conf,.where,.src{color:#666;font-size:12px}table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;
padding:.2em .5em;text-align:left;vertical-align:top}pre{white-space:pre-wrap;max-height:24em;overflow:auto;
background:#f8f8f8;font-size:12px}.maps{display:flex;flex-wrap:wrap;gap:12px}
.mapfig{margin:0}.map.world{width:720px;max-width:100%}.map.local{width:420px;max-width:100%}
.answer p{font-size:1.1em}
#answer-coords{font-weight:700}.warn,.noanswer{color:#b00}.step.error td{color:#b00}
"""

_JS = """
function mark(ids,on){ids.split(' ').forEach(function(id){if(!id)return;
document.querySelectorAll('[data-ev~="'+CSS.escape(id)+'"]').forEach(function(e){e.classList.toggle('hl',on)})})}
document.querySelectorAll('[data-ev]').forEach(function(el){
el.addEventListener('mouseenter',function(){mark(el.getAttribute('data-ev'),true)});
el.addEventListener('mouseleave',function(){mark(el.getAttribute('data-ev'),false)})});
"""


_WHY_CSS = """
table.attribution{border-collapse:collapse;font-size:13px;margin:.5em 0}
table.attribution td,table.attribution th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}
tr.spof{background:#fdecea}tr.held{color:#555}p.warn{color:#a00}ul.minimal{font-size:13px}
"""


def _why(tr: Any) -> str:
    """How much the answer rests on each piece of evidence (leave-one-out, from the trace)."""
    from .explain import attribution_html, explain

    try:
        return attribution_html(explain(tr))
    except GeoSleuthError as exc:
        return f'<section id="why-this-answer"><h2>Why this answer</h2><p>Not available: {esc(str(exc))}</p></section>'


def render_html(
    trace: RunLike, *, image_dirs: Sequence[str | os.PathLike] = (), missing: list[str] | None = None
) -> str:
    """The run as one self-contained HTML page. ``image_dirs`` are further places to look for
    the input images when the paths recorded in the trace do not resolve here; ``missing``,
    when given, receives one line per input image that could not be shown, and why."""
    tr = as_trace(trace)
    loc = as_location(tr)
    entries = image_registry(tr)
    for entry in entries.values():
        if entry.parent is None:
            _load_root(entry, tr, image_dirs)
            if entry.pixels is None and missing is not None:
                missing.append(f"{entry.handle}: {entry.note}")
    placed = _place_boxes(loc.evidence, entries)
    roots = [e for e in sorted(entries.values(), key=lambda e: e.number) if e.parent is None]
    derived = [e for e in sorted(entries.values(), key=lambda e: e.number) if e.parent is not None]
    for entry in derived[:MAX_CROPS]:
        _pixels(entry, entries)
    shots = "".join(
        _figure(root, ROOT_SIDE, [d for d in derived if d.to_root and _root_of(d, entries) is root], "root")
        for root in roots
    )
    crops = "".join(_figure(e, CROP_SIDE, [], "crop") for e in derived[:MAX_CROPS])
    shown = {e.handle for e in [*roots, *derived[:MAX_CROPS]] if e.pixels is not None}
    if len(derived) > MAX_CROPS:
        crops += f"<p>… and {len(derived) - MAX_CROPS} more derived images (see the timeline).</p>"
    config = tr.header.config
    policy = tr.header.policy.get("name")
    steps = solution_text(tr).splitlines()
    solution = "".join(f"<li>{esc(s.split('. ', 1)[-1])}</li>" for s in steps)
    script_hash = base64.b64encode(hashlib.sha256(_JS.encode()).digest()).decode()
    csp = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'"
    )
    run_id = tr.header.run_id
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>geosleuth run {esc(run_id)}</title><style>{_CSS}{MAP_CSS}{_WHY_CSS}</style></head><body>
<h1>geosleuth run {esc(run_id)}</h1>
<p class="meta">created {esc(tr.header.created)} · policy {esc(policy)} · strategy {esc(config.get("strategy"))}
 · metadata {"on" if config.get("use_metadata") else "off"} · {len(tr.steps)} steps · geosleuth
 {esc(tr.header.versions.get("geosleuth"))}</p>
<section id="answer"><h2>Answer</h2>{_answer(loc, tr)}</section>
<section id="images"><h2>Image{"s" if len(roots) > 1 else ""}</h2>{shots or "<p>No input image recorded.</p>"}</section>
<section id="crops"><h2>Crops and zooms ({len(derived)})</h2>
<div class="crops">{crops or "<p>None.</p>"}</div></section>
<section id="evidence"><h2>Evidence ({len(loc.evidence)})</h2>{_evidence_list(loc.evidence, placed, shown)}</section>
<section id="candidates"><h2>Candidates ({len(loc.candidates)})</h2>{_candidates(loc)}</section>
{_why(tr)}
<section id="map"><h2>Map</h2><div class="maps">{_world_map(loc)}{_local_map(loc)}</div></section>
<section id="solution"><h2>Key steps</h2><ol>{solution}</ol></section>
<section id="timeline"><h2>Timeline</h2>{_timeline(tr)}</section>
<script>{_JS}</script>
</body></html>
"""
