"""Reading all the text of a registered image, at the scales that make it legible.

One pass over a whole photo cannot read everything: a 12-megapixel photo must be
shrunk before detection (full size would take many seconds and gigabytes), which makes
small text unreadable, while a 1280 px video frame has signs only a few pixels high.
So the procedure is:

1. **overview**: the image (or the requested region) scaled so its longest side is
   ``det_side`` (small images are enlarged), read once;
2. **zoom**: every line that came back small or unsure is re-read on a crop of the
   *full-resolution* image around it, scaled (Lanczos) so its text is about
   ``zoom_text_height`` pixels high. Each zoom is registered as a derived image, so it
   has an ``img:N`` handle and its boxes map back to the original photo;
3. **spots**: the detector sees text far smaller than it can make a box of (8 px
   text in a 12 MP photo is under 3 px high in the overview, yet its probability is
   near 1), so every patch of the overview's text-probability map that no read
   explains is zoomed like a small line: the overview's one detection decides where
   the full-resolution pixels are worth reading, instead of detecting everywhere;
4. **tiles**, only when the engine gives no probability map (or the overview shrinks
   the image more than ``tile_below_scale``): overlapping tiles read at ``tile_gain``
   times the overview scale; textured tiles go first, flat ones (sky, walls) are
   skipped; small or unsure lines they find get zooms of their own;
5. all reads are mapped to root-image pixels, filtered by confidence, merged (the best
   read of each text wins), and text along the frame edge (logos, timestamps,
   subtitles) is flagged and down-weighted.

Every pass after the overview runs only while the *pixel budget* allows: the passes may
feed at most ``pixel_budget_mp`` megapixels to the recogniser, most useful first. The
budget counts work, not seconds, so the same image is read the same way on a fast or a
busy machine (evaluations and replays stay reproducible); ``time_budget_s`` is only a
safety net for pathological cases, estimated from the measured pixel rate.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy import ndimage

from ..errors import ConfigError
from ..image_tools import resize_for_detail
from ..images import ImageRegistry, RegisteredImage
from .backend import OcrBackend, TextMap
from .lines import Box, OcrLine, box_area, intersection, map_quad, overlap_of_smaller
from .merge import in_edge_band, merge_lines, normalize_text, reading_order
from .result import ReadLine, ReadResult

#: Seconds one backend call costs whatever the image size (session run, crops, Python).
_CALL_OVERHEAD_S = 0.03
#: A read cut by a tile border is dropped when a whole read covers this share of its box.
_CUT_COVERED = 0.25
#: Grey-level step (|dx| + |dy|, 0..510) that counts as a strong edge when ranking tiles.
_STRONG_EDGE = 40.0


@dataclass(frozen=True)
class ReadOptions:
    """Knobs of :func:`read_image`. The defaults suit a 2-core CPU and RapidOCR."""

    zoom: bool = True
    #: Longest side of the overview pass, in pixels.
    det_side: int = 1280
    #: Images smaller than this (longest side) are enlarged for the overview.
    min_side: int = 640
    #: Never enlarge the original's pixels more than this.
    max_upscale: float = 4.0
    #: Zooms scale text to about this many pixels high (PP-OCR recognises at 48 px).
    zoom_text_height: float = 48.0
    #: Text smaller than this (px, as read) gets a zoom even when confidently read.
    small_text: float = 20.0
    #: Lines read with less confidence than this get a zoom.
    low_confidence: float = 0.85
    #: Most zoomed regions read (and registered) per call.
    max_zooms: int = 8
    #: Longest side of a zoomed region, in pixels.
    max_zoom_side: int = 1600
    #: Probability above which a map pixel counts as text (the detector's own binarisation level).
    spot_threshold: float = 0.3
    #: A patch of the map is zoomed only when its peak probability reaches this.
    spot_min_peak: float = 0.6
    #: Most unexplained text patches zoomed (and registered) per call.
    max_spots: int = 12
    #: Spots only when the overview shrank the image at least this much: read near full
    #: size, a patch no read explains is texture (foliage, brickwork), not small text.
    spot_max_scale: float = 0.75
    #: A patch must be this many times longer than it is thick to be a line of text
    #: (either way: vertical CJK lines count); round blobs are texture.
    spot_elongation: float = 2.0
    #: Tiles run even with a text map when the overview shrinks the image below this
    #: scale (over ~30 MP): text there may be too small for the map to show.
    tile_below_scale: float = 0.22
    #: Tile when the original's longest side exceeds ``tile_trigger * det_side``.
    tile_trigger: float = 1.5
    #: Tiles are read at this multiple of the overview scale (never above full size).
    tile_gain: float = 2.0
    max_tiles: int = 6
    #: Share of strong-edge pixels (on the overview) below which a tile is flat and skipped.
    min_tile_edges: float = 0.0003
    #: Width of the band along each side of the frame where text counts as overlay,
    #: as a share of the frame's shorter side.
    edge_band: float = 0.10
    #: Confidence multiplier for edge text.
    edge_penalty: float = 0.6
    #: Lines whose recogniser confidence is below this are dropped.
    min_confidence: float = 0.5
    #: Lines of one or two letters/digits need at least this confidence: on textures
    #: (foliage, brickwork) recognisers "read" single characters at 0.5-0.7.
    short_text_confidence: float = 0.8
    #: Megapixels the passes after the overview may read in all (deterministic work cap;
    #: about 2.5 s of RapidOCR on a 2-core CPU).
    pixel_budget_mp: float = 9.0
    #: Safety net: no further pass starts when it would end after this many seconds.
    time_budget_s: float = 12.0

    def __post_init__(self) -> None:
        checks = {
            "det_side": self.det_side >= 64,
            "min_side": self.min_side >= 1,
            "max_upscale": self.max_upscale >= 1.0,
            "zoom_text_height": self.zoom_text_height > 0,
            "max_zooms": self.max_zooms >= 0,
            "spot_threshold": 0.0 < self.spot_threshold < 1.0,
            "spot_min_peak": 0.0 <= self.spot_min_peak <= 1.0,
            "max_spots": self.max_spots >= 0,
            "spot_max_scale": self.spot_max_scale > 0,
            "spot_elongation": self.spot_elongation >= 1.0,
            "tile_below_scale": 0.0 <= self.tile_below_scale <= 1.0,
            "max_zoom_side": self.max_zoom_side >= 64,
            "tile_trigger": self.tile_trigger >= 1.0,
            "tile_gain": self.tile_gain > 1.0,
            "max_tiles": self.max_tiles >= 0,
            "min_tile_edges": 0.0 <= self.min_tile_edges <= 1.0,
            "edge_band": 0.0 <= self.edge_band < 0.5,
            "edge_penalty": 0.0 <= self.edge_penalty <= 1.0,
            "min_confidence": 0.0 <= self.min_confidence <= 1.0,
            "short_text_confidence": 0.0 <= self.short_text_confidence <= 1.0,
            "pixel_budget_mp": self.pixel_budget_mp >= 0 and math.isfinite(self.pixel_budget_mp),
            "time_budget_s": self.time_budget_s > 0 and math.isfinite(self.time_budget_s),
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ConfigError(f"invalid OCR read option(s): {', '.join(f'{n}={getattr(self, n)!r}' for n in bad)}")


@dataclass
class _Read:
    """One backend line, its quad mapped into pixels of the image being read ("work" pixels)."""

    line: OcrLine
    read_on: str
    scale: float
    stage: str
    #: Touches a border of its tile that lies inside the image: the text may go on.
    cut: bool = False

    @property
    def size_read(self) -> float:
        """Text height in pixels of the image it was read on."""
        return self.line.text_size * self.scale


@dataclass
class _Zoom:
    box: Box
    scale: float
    need: float
    members: list[_Read] = field(default_factory=list)


def _clip(box: Box, window: Box) -> Box:
    return (
        max(window[0], box[0]),
        max(window[1], box[1]),
        min(window[2], box[2]),
        min(window[3], box[3]),
    )


def _int_box(box: Box) -> tuple[int, int, int, int]:
    return (math.floor(box[0]), math.floor(box[1]), math.ceil(box[2]), math.ceil(box[3]))


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class _Session:
    """State of one :func:`read_image` call."""

    def __init__(
        self,
        images: ImageRegistry,
        entry: RegisteredImage,
        backend: OcrBackend,
        window: tuple[int, int, int, int],
        options: ReadOptions,
    ) -> None:
        self.images = images
        self.entry = entry
        self.backend = backend
        self.window = window
        self.options = options
        self.start = time.perf_counter()
        self.reads: list[_Read] = []
        self.stages: list[dict[str, object]] = []
        self.zoom_images: list[str] = []
        self.zoom_boxes: list[Box] = []
        self.skipped: list[str] = []
        self.rate: float | None = None  # seconds per pixel, measured on large passes
        self.spent_pixels = 0.0  # pixels read by the passes after the overview
        self.overview: Image.Image | None = None
        self.overview_scale = 1.0
        self.text_map: TextMap | None = None
        self.spots = 0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def affordable(self, pixels: float) -> str | None:
        """None when a pass over ``pixels`` may run, else which budget stops it."""
        if self.spent_pixels + pixels > self.options.pixel_budget_mp * 1e6:
            return "pixel budget"
        estimate = _CALL_OVERHEAD_S + (self.rate or 0.0) * pixels
        if self.elapsed() + estimate > self.options.time_budget_s:
            return "time budget"
        return None

    def run_pass(self, stage: str, box: tuple[int, int, int, int], scale: float, *, register: bool) -> list[_Read]:
        """Read ``box`` (work pixels) scaled by ``scale``; optionally register it as a zoom."""
        work = self.entry.image
        left, top, right, bottom = box
        full = (left, top, right, bottom) == (0, 0, work.width, work.height)
        region = work if full else work.crop(box)
        max_side = max(self.options.max_zoom_side, self.options.det_side) if register else 1 << 16
        image = region if abs(scale - 1.0) < 1e-3 else resize_for_detail(region, scale, max_side=max_side)
        sx, sy = image.width / region.width, image.height / region.height
        read_on = self.entry.handle
        if register:
            op = {"op": "zoom", "box": [left, top, right, bottom], "factor": round(sx, 4), "by": "read_text"}
            derived = self.images.add_derived(image, self.entry.handle, op, (1 / sx, 1 / sy, left, top))
            read_on = derived.handle
            self.zoom_images.append(read_on)
            self.zoom_boxes.append((left, top, right, bottom))
        if stage == "overview":
            self.overview, self.overview_scale = image, sx
        began = time.perf_counter()
        if stage == "overview":
            lines, self.text_map = self.backend.read_with_map(image)
        else:
            lines = self.backend.read(image)
        seconds = time.perf_counter() - began
        pixels = image.width * image.height
        if pixels >= 250_000:
            self.rate = max(self.rate or 0.0, max(0.0, seconds - _CALL_OVERHEAD_S) / pixels)
        reads = []
        inner = (left > self.window[0], top > self.window[1], right < self.window[2], bottom < self.window[3])
        for line in lines:
            text = _clean(line.text)
            if not text:
                continue
            quad = map_quad(line.quad, 1 / sx, 1 / sy, left, top)
            read = _Read(OcrLine(text, line.confidence, quad, line.engine), read_on, (sx + sy) / 2, stage)
            if stage == "tile":
                x0, y0, x1, y1 = line.box
                touches = (x0 <= 2, y0 <= 2, x1 >= image.width - 2, y1 >= image.height - 2)
                read.cut = any(t and i for t, i in zip(touches, inner))
            reads.append(read)
        self.stages.append(
            {
                "stage": stage,
                "box": [left, top, right, bottom],
                "scale": round((sx + sy) / 2, 4),
                "image": read_on,
                "size": [image.width, image.height],
                "seconds": round(seconds, 3),
                "lines": len(reads),
            }
        )
        self.reads.extend(reads)
        return reads

    # -- zooms ---------------------------------------------------------------------

    def zoom_plan(self, reads: list[_Read]) -> list[_Zoom]:
        """Regions around small or unsure lines worth re-reading closer, most needed first."""
        o = self.options
        candidates: list[_Zoom] = []
        for read in reads:
            small = read.size_read < o.small_text
            unsure = read.line.confidence < o.low_confidence
            if not (small or unsure):
                continue
            height = read.line.text_size
            scale = min(o.max_upscale, max(o.zoom_text_height / height, 1.25 * read.scale))
            if scale < 1.2 * read.scale:
                continue  # already read at the largest scale allowed: a zoom adds nothing
            x0, y0, x1, y1 = read.line.box
            pad_x, pad_y = 1.5 * height + 2, 0.6 * height + 2
            box = _clip((x0 - pad_x, y0 - pad_y, x1 + pad_x, y1 + pad_y), self.window)
            if any(overlap_of_smaller(box, done) > 0.8 for done in self.zoom_boxes):
                continue
            need = (1.0 - read.line.confidence) + max(0.0, 1.0 - read.size_read / o.zoom_text_height)
            candidates.append(_Zoom(box, scale, need, [read]))
        return self._grouped(candidates)

    def _grouped(self, candidates: list[_Zoom]) -> list[_Zoom]:
        """Overlapping regions of similar scale merged into one zoom, most needed first,
        each scale capped so the zoom stays within ``max_zoom_side``."""
        o = self.options
        candidates.sort(key=lambda z: z.need, reverse=True)
        merged: list[_Zoom] = []
        for cand in candidates:
            for group in merged:
                if overlap_of_smaller(cand.box, group.box) > 0 and max(cand.scale, group.scale) <= 2 * min(
                    cand.scale, group.scale
                ):
                    group.box = (
                        min(group.box[0], cand.box[0]),
                        min(group.box[1], cand.box[1]),
                        max(group.box[2], cand.box[2]),
                        max(group.box[3], cand.box[3]),
                    )
                    group.scale = max(group.scale, cand.scale)
                    group.members.extend(cand.members)
                    break
            else:
                merged.append(cand)
        for group in merged:
            longest = max(group.box[2] - group.box[0], group.box[3] - group.box[1])
            group.scale = min(group.scale, o.max_zoom_side / max(longest, 1.0))
        # a zoom must read closer than its lines were read (spots: than the overview)
        return [g for g in merged if g.scale >= 1.2 * min((m.scale for m in g.members), default=self.overview_scale)]

    def run_zooms(self, reads: list[_Read], stage: str) -> None:
        for zoom in self.zoom_plan(reads):
            if len(self.zoom_images) >= self.options.max_zooms:
                self.skipped.append(f"{stage}: zoom cap of {self.options.max_zooms} reached")
                return
            self.zoom_into(zoom, stage)

    def zoom_into(self, zoom: _Zoom, stage: str) -> list[_Read] | None:
        """Read one planned zoom at full resolution, or None when it is degenerate, already
        covered by an earlier zoom, or over the budget (which is noted in ``skipped``)."""
        box = _int_box(zoom.box)
        if box[2] - box[0] < 2 or box[3] - box[1] < 2:
            return None
        if any(overlap_of_smaller(zoom.box, done) > 0.8 for done in self.zoom_boxes):
            return None
        pixels = (box[2] - box[0]) * (box[3] - box[1]) * zoom.scale**2
        refusal = self.affordable(pixels)
        if refusal:
            self.skipped.append(f"{stage} at {list(box)}: {refusal}")
            return None
        self.spent_pixels += pixels
        return self.run_pass(stage, box, zoom.scale, register=True)

    # -- spots ---------------------------------------------------------------------

    def spot_plan(self) -> list[_Zoom]:
        """Zooms on the patches of the overview's text map that no read explains.

        A patch is a connected region above ``spot_threshold`` whose peak reaches
        ``spot_min_peak``; its height on the map gives the text height, hence the zoom
        scale that brings that text to ``zoom_text_height``. Patches covered by a read
        (the overview's own lines, their zooms) were read already."""
        o = self.options
        text_map = self.text_map
        if text_map is None or o.max_spots == 0 or self.overview_scale > o.spot_max_scale:
            return []
        prob = np.asarray(text_map.prob, dtype=np.float32)
        labels, count = ndimage.label(prob > o.spot_threshold)
        if count == 0:
            return []
        peaks = ndimage.maximum(prob, labels, index=np.arange(1, count + 1))
        read_boxes = [read.line.box for read in self.reads]
        left, top = self.window[0], self.window[1]
        s = self.overview_scale
        candidates: list[_Zoom] = []
        for index, found in enumerate(ndimage.find_objects(labels)):
            if found is None or peaks[index] < o.spot_min_peak:
                continue
            rows, cols = found
            thick, long = sorted((rows.stop - rows.start, cols.stop - cols.start))
            if thick * long < 3 or long < o.spot_elongation * thick:
                continue  # a pixel or two, or a round blob: noise or texture, not a line
            x0, y0, x1, y1 = text_map.to_image((cols.start, rows.start, cols.stop, rows.stop))
            box = (left + x0 / s, top + y0 / s, left + x1 / s, top + y1 / s)
            if any(overlap_of_smaller(box, seen) > 0.5 for seen in read_boxes):
                continue
            # the map's patch hugs the letters' cores; the text itself is a little taller
            height = max(1.0, 1.3 * (box[3] - box[1]))
            scale = min(o.max_upscale, max(o.zoom_text_height / height, 1.25 * s))
            if scale < 1.2 * s:
                continue
            pad_x, pad_y = 1.5 * height + 4, 0.8 * height + 4
            padded = _clip((box[0] - pad_x, box[1] - pad_y, box[2] + pad_x, box[3] + pad_y), self.window)
            need = float(peaks[index]) * min(1.0, (box[2] - box[0]) / max(height, 1.0) / 4.0)
            candidates.append(_Zoom(padded, scale, need))
        return self._grouped(candidates)

    def run_spots(self) -> list[_Read]:
        found: list[_Read] = []
        for spot in self.spot_plan():
            if self.spots >= self.options.max_spots:
                self.skipped.append(f"spots: cap of {self.options.max_spots} reached")
                break
            reads = self.zoom_into(spot, "spot")
            if reads is not None:
                self.spots += 1
                found.extend(reads)
        return found

    def wants_tiles(self) -> bool:
        """Tiles are the fallback for engines without a text map, and for images so
        large that the overview's map cannot show their small text."""
        return self.text_map is None or self.overview_scale < self.options.tile_below_scale

    # -- tiles ---------------------------------------------------------------------

    def tile_plan(self) -> tuple[list[tuple[int, int, int, int]], float]:
        o = self.options
        left, top, right, bottom = self.window
        width, height = right - left, bottom - top
        scale = min(1.0, self.overview_scale * o.tile_gain)
        if max(width, height) <= o.tile_trigger * o.det_side or scale <= self.overview_scale * 1.2:
            return [], scale
        nx = max(1, math.ceil(width * scale / o.det_side))
        ny = max(1, math.ceil(height * scale / o.det_side))
        tw, th = width / nx, height / ny
        overlap = max(24.0 / scale, 0.05 * max(tw, th))
        tiles = []
        for j in range(ny):
            for i in range(nx):
                box = (
                    left + i * tw - overlap,
                    top + j * th - overlap,
                    left + (i + 1) * tw + overlap,
                    top + (j + 1) * th + overlap,
                )
                tiles.append(_int_box(_clip(box, self.window)))
        textures = [self._texture(tile) for tile in tiles]
        ranked = sorted(zip(textures, tiles), key=lambda item: item[0], reverse=True)
        chosen = [tile for texture, tile in ranked if texture >= o.min_tile_edges][: o.max_tiles]
        skipped = len(tiles) - len(chosen)
        if skipped:
            self.skipped.append(f"tiles: {skipped} flat or over the cap of {o.max_tiles}")
        return chosen, scale

    def _texture(self, box: tuple[int, int, int, int]) -> float:
        """Share of pixels of ``box`` on the overview with a strong grey gradient.

        Text always has strong edges, even a small sign on a plain wall; a mean gradient
        would drown that sign in the wall, a share of strong edges does not."""
        if self.overview is None:
            return float("inf")
        s = self.overview_scale
        x0, y0 = self.window[0], self.window[1]
        crop = self.overview.crop(
            (
                round((box[0] - x0) * s),
                round((box[1] - y0) * s),
                round((box[2] - x0) * s),
                round((box[3] - y0) * s),
            )
        )
        grey = np.asarray(crop.convert("L"), dtype=np.float32)
        if grey.shape[0] < 2 or grey.shape[1] < 2:
            return 0.0
        gradient = np.abs(np.diff(grey, axis=0))[:, :-1] + np.abs(np.diff(grey, axis=1))[:-1, :]
        return float((gradient > _STRONG_EDGE).mean())

    def run_tiles(self) -> list[_Read]:
        tiles, scale = self.tile_plan()
        found: list[_Read] = []
        for tile in tiles:
            pixels = (tile[2] - tile[0]) * (tile[3] - tile[1]) * scale**2
            refusal = self.affordable(pixels)
            if refusal:
                self.skipped.append(f"tile at {list(tile)}: {refusal}")
                continue
            self.spent_pixels += pixels
            found.extend(self.run_pass("tile", tile, scale, register=False))
        return found

    # -- result --------------------------------------------------------------------

    def _floor(self, text: str) -> float:
        """Least confidence a line must have: higher for one or two characters."""
        floor = self.options.min_confidence
        if len(normalize_text(text)) <= 2:
            floor = max(floor, self.options.short_text_confidence)
        return floor

    def finish(self) -> ReadResult:
        o = self.options
        entry = self.entry
        to_root = entry.to_root
        if to_root is not None:
            root = self.images.root_of(entry.handle)
            image_handle, frame = root.handle, root.size
            sx, sy, ox, oy = to_root
        else:  # e.g. a rotated derivative: boxes stay in its own pixels
            root = None
            image_handle, frame = entry.handle, entry.size
            sx, sy, ox, oy = 1.0, 1.0, 0.0, 0.0
        kept = [read for read in self.reads if read.line.confidence >= self._floor(read.line.text)]
        whole = [read for read in kept if not read.cut]
        lines = []
        for read in kept:
            if read.cut and any(
                intersection(read.line.box, other.line.box) >= _CUT_COVERED * box_area(read.line.box) for other in whole
            ):
                continue  # a piece of text a tile border cut through; another pass read it whole
            quad = map_quad(read.line.quad, sx, sy, ox, oy)
            mapped = OcrLine(read.line.text, read.line.confidence, quad)
            lines.append(
                ReadLine(
                    text=read.line.text,
                    confidence=read.line.confidence,
                    raw_confidence=read.line.confidence,
                    box=mapped.box,
                    quad=quad,
                    image=image_handle,
                    read_on=read.read_on,
                    scale=read.scale / ((sx + sy) / 2),
                    stage=read.stage,
                    engine=read.line.engine,
                )
            )
        merged = merge_lines(lines)
        for line in merged:
            line.edge = in_edge_band(line.box, frame, o.edge_band)
            if line.edge:
                line.confidence = line.raw_confidence * o.edge_penalty
        full = self.window == (0, 0, entry.image.width, entry.image.height)
        return ReadResult(
            image=entry.handle,
            root=root.handle if root is not None else None,
            backend=self.backend.name,
            size=entry.size,
            region=None if full else list(self.window),
            lines=reading_order(merged),
            zoom_images=list(self.zoom_images),
            stages=self.stages,
            elapsed_s=self.elapsed(),
            budget_exhausted=any("budget" in s for s in self.skipped),
            skipped=self.skipped,
        )


def overview_scale(size: tuple[int, int], options: ReadOptions) -> float:
    """Scale of the overview pass for a region of ``size``: shrink to ``det_side``,
    enlarge tiny images to ``min_side``, leave the rest alone."""
    longest = max(size)
    if longest > options.det_side:
        return options.det_side / longest
    if longest < options.min_side:
        return min(options.max_upscale, options.min_side / longest)
    return 1.0


def read_image(
    images: ImageRegistry,
    handle: str,
    backend: OcrBackend,
    *,
    region: tuple[int, int, int, int] | None = None,
    options: ReadOptions | None = None,
) -> ReadResult:
    """Read the text of a registered image (or of ``region``, in its pixels) at several scales.

    Returns merged lines with boxes in root-image pixels, the handles of the zoomed
    regions it registered, and a record of every pass. Raises only for bad input
    (unknown handle) or an unavailable backend; an image without text gives no lines.
    """
    options = options or ReadOptions()
    entry = images.get(handle)
    width, height = entry.size
    window = region or (0, 0, width, height)
    session = _Session(images, entry, backend, window, options)
    left, top, right, bottom = window
    session.run_pass("overview", window, overview_scale((right - left, bottom - top), options), register=False)
    if options.zoom:
        session.run_zooms(list(session.reads), "zoom")
        session.run_spots()
        if session.wants_tiles():
            found = session.run_tiles()
            if found:
                session.run_zooms(found, "zoom")
    return session.finish()
