"""Reading every script: RapidOCR finds the lines, each line is read by an engine that knows its script.

RapidOCR's detector is script-blind and fast; its recogniser reads Chinese, Japanese
and Latin only. So a read goes:

1. RapidOCR detects and recognises every line, keeping the boxes whose text came back
   empty (see :meth:`RapidOcrBackend.read_boxes`);
2. a line is *suspect* when RapidOCR read nothing in it, read it unsurely, or read
   letters of another script into it (Greek "ΘΕΣΣΑΛΟΝΙΚΗ" comes back "OEΣΣAΛONIKH");
   confidently read Latin and CJK lines, nearly all text on most photos, cost nothing more;
3. the script of a suspect line is decided by its own models: one model per installed
   script reads it, most likely scripts first (those already seen in the image, then the
   commonest on signs), until one reads it surely (tens of milliseconds a model);
4. a line of a script other than Latin is read again with every installed model of that
   script (Russian, Ukrainian, Belarusian, Bulgarian, Serbian for Cyrillic) and replaces
   RapidOCR's reading when it is surer.

The quad never changes, so boxes stay in the pixels of the image read (and map to the
root image exactly as before). Work is bounded per call (``max_lines``), not by time,
so a read is reproducible.
"""

from __future__ import annotations

import itertools
import threading
import unicodedata
from collections import Counter
from typing import Any

import numpy as np
from PIL import Image

from .backend import OcrBackend, TextMap
from .lines import OcrLine
from .rapid import RapidOcrBackend
from .tesseract import RAPIDOCR_SCRIPTS, LineRead, TesseractEngine, readable_scripts, shared_engine

#: RapidOCR lines read less surely than this are offered to the script engines (it
#: reads Thai "จอมทอง" as "aeunec" at 0.86).
UNSURE = 0.9
#: A script model reading a line this surely ends the search for its script.
SURE = 0.88
#: A line RapidOCR read nothing in is replaced by a Tesseract reading at least this sure.
ACCEPT_EMPTY = 0.7
#: ... a line RapidOCR read unsurely needs a reading this much surer than RapidOCR's.
MARGIN = 0.05
#: A box whose read text would fill less than this share of its width holds unread text.
SPARSE = 0.4
#: Lines thinner than this (px) are not worth a second engine.
MIN_HEIGHT = 8.0
#: Script-engine reads per backend call (a deterministic work cap).
MAX_LINES = 24


def _script(ch: str) -> str | None:
    """ISO 15924 code of a letter, through the clue module's table (one source of truth)."""
    from ..clues.scripts import char_script

    return char_script(ch)


def dominant_script(text: str) -> tuple[str | None, float]:
    """The script most letters of ``text`` are in, and its share of the letters."""
    counts = Counter(s for s in (_script(ch) for ch in text) if s is not None)
    if not counts:
        return None, 0.0
    script, n = counts.most_common(1)[0]
    return script, n / sum(counts.values())


def foreign_letters(text: str) -> bool:
    """Whether RapidOCR put letters of a script it does not read into a line (a misread)."""
    return any(_script(ch) not in (None, *RAPIDOCR_SCRIPTS) for ch in text if ch.isalpha())


#: Scripts with many look-alike letters: a line one reads surely, the other may read better.
_TWINS = {"Cyrl": "Grek", "Grek": "Cyrl"}


def plausible(text: str) -> bool:
    """Whether a model's output looks like writing rather than a model "reading" a line of
    another script: such output mixes the script's own digits into its letters (Thai
    "๐ภอ๑๒๐ลหม") and repeats one letter ("นนนทททน"); words on signs do neither."""
    chars = [ch for ch in text if not ch.isspace()]
    if not chars:
        return False
    native_digit = [unicodedata.category(ch) == "Nd" and not ch.isascii() for ch in chars]
    mixed = sum(
        1
        for i, is_digit in enumerate(native_digit)
        if is_digit and any(0 <= j < len(chars) and chars[j].isalpha() for j in (i - 1, i + 1))
    )
    if mixed >= 2:
        return False
    run = 1
    for a, b in itertools.pairwise(chars):
        run = run + 1 if a == b and a.isalpha() else 1
        if run >= 3:
            return False
    return True


def _crop(image: Image.Image, line: OcrLine) -> Image.Image | None:
    x0, y0, x1, y1 = line.box
    height = y1 - y0
    if height < MIN_HEIGHT or x1 - x0 < 0.6 * height:
        return None
    pad = 0.08 * height
    box = (
        max(0, int(x0 - pad)),
        max(0, int(y0 - pad)),
        min(image.width, int(np.ceil(x1 + pad))),
        min(image.height, int(np.ceil(y1 + pad))),
    )
    if box[2] - box[0] < 4 or box[3] - box[1] < 4:
        return None
    return image.crop(box)


class ScriptRouter(OcrBackend):
    """RapidOCR's boxes, each read by the engine that reads its script."""

    name = "rapidocr+tesseract"
    extra = "ocr"
    modules = ("rapidocr", "onnxruntime", "tesserocr")

    def __init__(
        self,
        primary: RapidOcrBackend,
        engine: TesseractEngine,
        scripts: dict[str, tuple[str, ...]] | None = None,
        *,
        max_lines: int = MAX_LINES,
    ) -> None:
        super().__init__()
        # results are named after the primary engine; lines another engine read say so themselves
        self.name = primary.name  # type: ignore[misc]
        self.primary = primary
        self.engine = engine
        self.scripts = scripts if scripts is not None else readable_scripts()
        self.max_lines = max_lines
        # scripts are probed one model each, in the table's order (commonest on signs first)
        self.probe = [script for script in self.scripts]
        self.rereads = 0
        self._stats_lock = threading.Lock()

    def _load(self) -> Any:
        self.primary.load()
        return self.primary

    def _read(self, rgb: np.ndarray) -> list[OcrLine]:  # pragma: no cover - read() is overridden
        return self.read(Image.fromarray(rgb))

    def read(self, image: Image.Image) -> list[OcrLine]:
        return self.read_with_map(image)[0]

    def read_with_map(self, image: Image.Image) -> tuple[list[OcrLine], TextMap | None]:
        if image.mode != "RGB":
            image = image.convert("RGB")
        if image.width < 2 or image.height < 2:
            return [], None
        self.load()
        lines, text_map = self.primary.read_boxes_with_map(image)
        return self._route(image, lines), text_map

    def _route(self, image: Image.Image, lines: list[OcrLine]) -> list[OcrLine]:
        budget = self.max_lines
        seen: list[str] = []  # scripts already found in this image: tried first on its other lines
        out = []
        for line in lines:
            why = self.suspect(line) if budget > 0 and self.probe else None
            if why is not None:
                crop = _crop(image, line)
                if crop is not None:
                    budget -= 1
                    line = self.reread(crop, line, why, seen)
            if line.text.strip():
                out.append(line)
        return out

    @staticmethod
    def suspect(line: OcrLine) -> str | None:
        """Why RapidOCR's reading of this box may be another script's text, or None: it
        read nothing ("empty"), letters of another script ("foreign"), far less text than
        the box holds ("sparse": "12" out of "Пловдив 12 км", the recogniser skipped what
        it could not read), or read unsurely ("unsure")."""
        text = line.text.strip()
        if not text:
            return "empty"
        if foreign_letters(text):
            return "foreign"
        x0, y0, x1, y1 = line.box
        height, width = max(y1 - y0, 1.0), max(x1 - x0, 1.0)
        # a Latin letter or digit is about 0.55 box heights wide, a CJK character about 0.9
        units = sum(1.6 if _script(ch) in ("Hani", "Hira", "Kana") else 1.0 for ch in text if not ch.isspace())
        units += 0.5 * text.count(" ")
        if units * 0.55 * height < SPARSE * width:
            return "sparse"
        return "unsure" if line.confidence < UNSURE else None

    def decide_script(self, crop: Image.Image, first: list[str] | None = None) -> tuple[str, LineRead] | None:
        """The script of a line, and its reading, by asking one model per script.

        Each model reads the line; a model whose output is mostly its own script, looks
        like writing (:func:`plausible`) and is the surest wins. Models compete better
        alone than combined in one Tesseract call (which lets the first language "read"
        other scripts' lines), and a sure reading (>= ``SURE``) stops the search, so a
        Cyrillic sign costs one or two reads. Scripts found earlier in the same image are
        tried first; a script whose first model reads the line fairly well also gets its
        other languages' models (Ukrainian "і" is not in the Russian model)."""
        order = [s for s in (first or []) if s in self.scripts]
        order += [s for s in self.probe if s not in order]
        best: tuple[str, LineRead] | None = None
        for script in order:
            languages = self.scripts[script]
            read = self.engine.read_line(crop, languages[0])
            if not self._fits(read, script):
                continue
            if read.confidence < SURE and len(languages) > 1 and read.confidence >= 0.4:
                full = self.engine.read_line(crop, "+".join(languages))
                if self._fits(full, script) and full.confidence > read.confidence:
                    read = full
            if best is None or read.confidence > best[1].confidence:
                best = (script, read)
            if read.confidence >= SURE:
                break
        twin = _TWINS.get(best[0]) if best else None
        if best and twin in self.scripts and twin not in order[: order.index(best[0])]:
            # Greek "Πάτρα" is also Cyrillic "Патра" to a model: the twin script decides
            read = self.engine.read_line(crop, self.scripts[twin][0])
            if self._fits(read, twin) and read.confidence > best[1].confidence:
                best = (twin, read)
        return best

    @staticmethod
    def _fits(read: LineRead, script: str) -> bool:
        found, share = dominant_script(read.text)
        return found == script and share >= 0.6 and plausible(read.text)

    def reread(self, crop: Image.Image, line: OcrLine, why: str = "empty", seen: list[str] | None = None) -> OcrLine:
        """The better of RapidOCR's reading and the script engine's for one line."""
        decided = self.decide_script(crop, seen)
        if decided is None:
            return line
        script, best = decided
        languages = "+".join(self.scripts[script])
        if languages != best.languages:
            full = self.engine.read_line(crop, languages)
            full_script, _ = dominant_script(full.text)
            if full_script == script and full.confidence >= best.confidence - 0.02:
                best = full
        with self._stats_lock:
            self.rereads += 1
        if why == "empty":
            take = best.confidence >= ACCEPT_EMPTY
        elif why == "foreign":
            take = best.confidence >= ACCEPT_EMPTY - 0.1
        elif why == "sparse":
            take = best.confidence >= ACCEPT_EMPTY and len(best.text) > len(line.text)
        else:
            take = best.confidence >= max(ACCEPT_EMPTY, line.confidence + MARGIN)
        if sum(ch.isalpha() for ch in best.text) < 2:
            take = False  # one letter on a texture (a door edge "read" as Tamil) is not text
        if not take:
            return line
        if seen is not None and script not in seen:
            seen.append(script)
        text = unicodedata.normalize("NFC", best.text)
        return OcrLine(text, best.confidence, line.quad, engine=f"tesseract:{best.languages}")

    def describe(self) -> dict[str, Any]:
        info = self.primary.describe()
        info.update(
            scripts={script: list(langs) for script, langs in self.scripts.items()},
            tesseract_models_loaded=self.engine.loads,
            rereads=self.rereads,
        )
        return info


_ROUTERS: dict[int, ScriptRouter] = {}
_ROUTERS_LOCK = threading.Lock()


def with_scripts(backend: OcrBackend) -> OcrBackend:
    """``backend`` with Tesseract reading the scripts it cannot, when this machine has
    Tesseract (and it is not switched off); else ``backend`` itself, unchanged."""
    if not isinstance(backend, RapidOcrBackend):
        return backend
    engine = shared_engine()
    scripts = readable_scripts()
    if engine is None or not scripts:
        return backend
    with _ROUTERS_LOCK:
        router = _ROUTERS.get(id(backend))
        if router is None or router.engine is not engine or router.scripts != scripts:
            router = _ROUTERS[id(backend)] = ScriptRouter(backend, engine, scripts)
        return router
