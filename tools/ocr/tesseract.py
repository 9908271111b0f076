"""Tesseract as a line recogniser for the scripts RapidOCR's bundled models cannot read.

RapidOCR's detector finds text of any script, but its one recogniser reads only
Chinese, Japanese and Latin: a Cyrillic, Greek, Hangul, Arabic, Thai or Devanagari
line comes back empty, or as look-alike Latin ("OEΣΣAΛONIKH"). Tesseract's LSTM
models, one per language from Debian's ``tesseract-ocr-*`` packages, read those lines
well once a detector has cut them out. The binding is ``tesserocr`` (the C++ API
in-process): a model loads once per process and a line costs tens of milliseconds,
where spawning the ``tesseract`` program per line would cost more than the reading.

Nothing here downloads anything: the models are the ``*.traineddata`` files that the
system's packages installed (``TESSDATA_PREFIX`` or the usual Debian folders).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

#: Scripts RapidOCR's bundled recogniser reads (ISO 15924).
RAPIDOCR_SCRIPTS = ("Latn", "Hani", "Hira", "Kana")

#: Script -> Tesseract languages that read it, most useful on signs first. The first
#: installed one is the script's probe model; all installed ones read a line once the
#: script is decided (a Ukrainian "і" or a Serbian "ђ" is not in the Russian model).
SCRIPT_LANGUAGES: dict[str, tuple[str, ...]] = {
    "Cyrl": ("rus", "ukr", "bel", "bul", "srp", "mkd", "kaz"),
    "Grek": ("ell",),
    "Hang": ("kor",),
    "Arab": ("ara", "fas", "urd"),
    "Hebr": ("heb",),
    "Thai": ("tha",),
    "Deva": ("hin", "mar", "nep"),
    "Geor": ("kat",),
    "Armn": ("hye",),
    "Beng": ("ben",),
    "Guru": ("pan",),
    "Gujr": ("guj",),
    "Orya": ("ori",),
    "Taml": ("tam",),
    "Telu": ("tel",),
    "Knda": ("kan",),
    "Mlym": ("mal",),
    "Sinh": ("sin",),
    "Ethi": ("amh",),
    "Khmr": ("khm",),
    "Laoo": ("lao",),
    "Mymr": ("mya",),
}

#: Script names for messages (``geosleuth doctor``, the "cannot read" note).
SCRIPT_NAMES = {
    "Latn": "Latin",
    "Hani": "Chinese characters",
    "Hira": "Hiragana",
    "Kana": "Katakana",
    "Cyrl": "Cyrillic",
    "Grek": "Greek",
    "Hang": "Hangul",
    "Arab": "Arabic",
    "Hebr": "Hebrew",
    "Thai": "Thai",
    "Deva": "Devanagari",
    "Beng": "Bengali",
    "Guru": "Gurmukhi",
    "Gujr": "Gujarati",
    "Orya": "Odia",
    "Taml": "Tamil",
    "Telu": "Telugu",
    "Knda": "Kannada",
    "Mlym": "Malayalam",
    "Sinh": "Sinhala",
    "Geor": "Georgian",
    "Armn": "Armenian",
    "Ethi": "Ethiopic",
    "Khmr": "Khmer",
    "Laoo": "Lao",
    "Mymr": "Myanmar",
}

#: Debian's folders for the language packs, newest Tesseract first.
_TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)
#: Height (px) of a line's ink band before recognition: Tesseract's LSTM models read
#: glyphs 20-35 px high best; much larger Arabic or Greek lines come back empty.
_TEXT_HEIGHT = 32
#: A line read as nothing is tried once more this small (Arabic models read nothing
#: with their tall alif and low dots scaled to 28 px or more).
_SMALL_TEXT_HEIGHT = 22
#: Widest crop handed to Tesseract (a long line at 40 px is still far narrower).
_MAX_WIDTH = 2400


def tessdata_dir() -> Path | None:
    """The folder with ``*.traineddata`` files: ``TESSDATA_PREFIX`` or a system default."""
    env = os.environ.get("TESSDATA_PREFIX", "").strip()
    candidates = [env, str(Path(env) / "tessdata")] if env else []
    for folder in [*candidates, *_TESSDATA_DIRS]:
        path = Path(folder)
        if path.is_dir() and any(path.glob("*.traineddata")):
            return path
    return None


def disabled() -> bool:
    """``GEOSLEUTH_TESSERACT=off`` (or 0/false/no) switches the engine off for this process."""
    return os.environ.get("GEOSLEUTH_TESSERACT", "").strip().lower() in {"0", "off", "false", "no"}


def binding_installed() -> bool:
    try:
        return importlib.util.find_spec("tesserocr") is not None
    except (ImportError, ValueError):
        return False


def installed_languages() -> list[str]:
    folder = tessdata_dir()
    return list(_languages_in(str(folder))) if folder is not None else []


@lru_cache(maxsize=8)
def _languages_in(folder: str) -> tuple[str, ...]:
    return tuple(sorted(p.name[: -len(".traineddata")] for p in Path(folder).glob("*.traineddata")))


def readable_scripts() -> dict[str, tuple[str, ...]]:
    """Script -> the installed Tesseract languages that read it (scripts with none left out)."""
    if disabled() or not binding_installed():
        return {}
    have = set(installed_languages())
    out = {}
    for script, languages in SCRIPT_LANGUAGES.items():
        found = tuple(lang for lang in languages if lang in have)
        if found:
            out[script] = found
    return out


def unreadable_scripts() -> list[str]:
    """Scripts of :data:`SCRIPT_LANGUAGES` that this machine cannot read (names, sorted)."""
    readable = readable_scripts()
    return [SCRIPT_NAMES[s] for s in SCRIPT_LANGUAGES if s not in readable]


@dataclass(frozen=True)
class LineRead:
    """One line as Tesseract read it: text, mean word confidence in [0, 1], the model used."""

    text: str
    confidence: float
    languages: str


def _unspaced(ch: str) -> bool:
    code = ord(ch)
    return 0x0E00 <= code <= 0x0EFF or 0x1000 <= code <= 0x109F or 0x1780 <= code <= 0x17FF


def clean_text(text: str) -> str:
    """Collapse whitespace; drop the spaces Tesseract puts between Thai/Lao/Khmer/Myanmar
    letters and before combining marks, which those scripts never write."""
    words = text.split()
    if not words:
        return ""
    out = words[0]
    for word in words[1:]:
        if (out and _unspaced(out[-1])) and _unspaced(word[0]):
            out += word
        else:
            out += " " + word
    return out


def _otsu(pixels: np.ndarray) -> float:
    hist = np.bincount(pixels.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 128.0
    levels = np.arange(256)
    weight = np.cumsum(hist)
    mean = np.cumsum(hist * levels)
    between = (mean[-1] * weight - mean * total) ** 2 / np.maximum(weight * (total - weight), 1e-9)
    return float(np.argmax(between))


def ink_band(grey: np.ndarray) -> tuple[int, int]:
    """Rows of the main line of dark text in a light crop.

    A detector's box is padded, so it often holds a strip of the line above or below;
    Tesseract, told to read one line, then reads nothing. The band is the run of rows
    with ink that holds the most ink, joined with runs close to it (dots and marks above
    and below Arabic, Thai and Devanagari letters)."""
    dark = grey < _otsu(grey)
    rows = dark.mean(axis=1)
    inked = rows > 0.01
    runs: list[list[int]] = []
    for y, on in enumerate(inked):
        if on and runs and runs[-1][1] == y:
            runs[-1][1] = y + 1
        elif on:
            runs.append([y, y + 1])
    if not runs:
        return 0, grey.shape[0]
    weight = [float(rows[a:b].sum()) for a, b in runs]
    main = int(np.argmax(weight))
    start, end = runs[main]
    gap = max(2, int(0.12 * (end - start)))
    for a, b in runs[main + 1 :]:
        if a - end > gap:
            break
        end = b
    for a, b in reversed(runs[:main]):
        if start - b > gap:
            break
        start = a
    return start, end


def prepare(crop: Image.Image, text_height: float = 0) -> Image.Image:
    """A line crop as Tesseract reads it best: grey, dark text on light, cut to the line's
    own rows, glyphs about 32 px high, with a margin of the line's own background."""
    grey = crop.convert("L")
    if grey.height < 4 or grey.width < 4:
        return grey
    pixels = np.asarray(grey)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if float(np.median(border)) < 128:  # light text on a dark board
        grey = ImageOps.invert(grey)
        pixels = 255 - pixels
    top, bottom = ink_band(pixels)
    if bottom - top >= 4:
        grey = grey.crop((0, top, grey.width, bottom))
    scale = min((text_height or _TEXT_HEIGHT) / max(grey.height, 1.0), _MAX_WIDTH / grey.width, 6.0)
    if abs(scale - 1.0) > 0.05:
        grey = grey.resize(
            (max(2, round(grey.width * scale)), max(2, round(grey.height * scale))), Image.Resampling.LANCZOS
        )
    background = int(np.percentile(np.asarray(grey), 90))
    pad = max(10, grey.height // 2)
    return ImageOps.expand(grey, border=pad, fill=background)


class TesseractEngine:
    """Loaded Tesseract models (one API object per language set), shared by a process.

    tesserocr API objects are not thread-safe, so each is used under one lock; a model
    loads on first use (about 0.1 s per language) and stays loaded.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or tessdata_dir()
        self._apis: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.loads = 0

    def _api(self, languages: str) -> Any:
        api = self._apis.get(languages)
        if api is None:
            import tesserocr

            api = tesserocr.PyTessBaseAPI(path=str(self.folder), lang=languages, psm=tesserocr.PSM.SINGLE_LINE)
            self._apis[languages] = api
            self.loads += 1
        return api

    def read_line(self, crop: Image.Image, languages: str) -> LineRead:
        """Read one line with the models ``languages`` ("rus" or "rus+ukr")."""
        with self._lock:
            api = self._api(languages)
            for height in (_TEXT_HEIGHT, _SMALL_TEXT_HEIGHT):
                api.SetImage(prepare(crop, height))
                text = api.GetUTF8Text()
                confidences = [c for c in api.AllWordConfidences() if c >= 0]
                if text.strip():
                    break
        text = clean_text(text)
        confidence = (sum(confidences) / len(confidences) / 100.0) if confidences and text else 0.0
        return LineRead(text, max(0.0, min(1.0, confidence)), languages)

    def close(self) -> None:
        with self._lock:
            for api in self._apis.values():
                api.End()
            self._apis.clear()


_ENGINE: TesseractEngine | None = None
_ENGINE_LOCK = threading.Lock()


def shared_engine() -> TesseractEngine | None:
    """The process-wide engine, or None when Tesseract cannot run here (or is switched off)."""
    global _ENGINE
    if disabled() or not binding_installed() or tessdata_dir() is None:
        return None
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = TesseractEngine()
        return _ENGINE


@lru_cache(maxsize=1)
def tesseract_version() -> str | None:
    if not binding_installed():
        return None
    try:
        import tesserocr

        return str(tesserocr.tesseract_version()).splitlines()[0]
    except Exception:  # noqa: BLE001 - a broken binding is reported as missing
        return None
