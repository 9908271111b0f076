"""The OCR backend interface: read a PIL image, get :class:`~tools.ocr.lines.OcrLine` values.

A backend wraps one OCR engine. Its models are heavy (hundreds of MB, seconds to
load), so a backend object loads them lazily on the first :meth:`OcrBackend.read`,
exactly once, under a lock; creating or importing a backend costs nothing. Reads are
serialised per backend: the engines already use every core of a small machine, and
RapidOCR mutates per-call state, so two threads reading at once would only contend.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from ..errors import ConfigError, GeoSleuthError
from .lines import OcrLine


class OcrBackendUnavailableError(GeoSleuthError):
    """An OCR backend's package or model files are not installed; the message names the pip extra."""

    def __init__(self, message: str, backend: str, extra: str | None = None) -> None:
        super().__init__(message)
        self.backend = backend
        self.extra = extra


class UnknownOcrBackendError(ConfigError):
    """An OCR backend name that geosleuth does not know."""


@dataclass(frozen=True)
class TextMap:
    """The detector's per-pixel text probability for one read image.

    ``prob`` is float32 in 0..1, ``prob.shape == (rows, cols)``; one map pixel covers
    ``image_width / cols`` by ``image_height / rows`` image pixels. A detector sees text
    here long before it can make a box of it: 8 px text shrunk into a 1280 px overview
    is under 3 px high, too small for a box, yet scores near 1. The reading procedure
    uses the map to decide where a closer look is worth its cost.
    """

    prob: Any
    image_size: tuple[int, int]

    def to_image(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """A box in map pixels, in pixels of the image that was read."""
        rows, cols = self.prob.shape
        fx, fy = self.image_size[0] / cols, self.image_size[1] / rows
        return (box[0] * fx, box[1] * fy, box[2] * fx, box[3] * fy)


class OcrBackend(ABC):
    """One OCR engine behind a small, uniform interface.

    Subclasses set ``name``, ``extra`` (the ``geosleuth[...]`` pip extra that installs
    them) and ``modules`` (import names that must be present), and implement
    :meth:`_load` and :meth:`_read`. ``loads`` counts model loads, so a caller can check
    that a long-running process loaded the models once.
    """

    name: ClassVar[str] = "base"
    extra: ClassVar[str] = ""
    modules: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self._engine: Any = None
        self._load_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self.loads = 0
        self.load_seconds: float | None = None

    @classmethod
    def missing_modules(cls) -> list[str]:
        """Import names of this backend that are not installed (found without importing them)."""
        missing = []
        for module in cls.modules:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                missing.append(module)
        return missing

    @classmethod
    def is_installed(cls) -> bool:
        return not cls.missing_modules()

    @classmethod
    def unavailable(cls, why: str) -> OcrBackendUnavailableError:
        return OcrBackendUnavailableError(
            f"OCR backend {cls.name!r} is not available: {why}; install it with pip install 'geosleuth[{cls.extra}]'",
            cls.name,
            cls.extra,
        )

    @property
    def loaded(self) -> bool:
        return self._engine is not None

    def load(self) -> None:
        """Load the models now (idempotent). Raises :class:`OcrBackendUnavailableError`."""
        if self._engine is not None:
            return
        with self._load_lock:
            if self._engine is not None:
                return
            missing = self.missing_modules()
            if missing:
                raise self.unavailable(f"missing Python package(s) {', '.join(missing)}")
            start = time.perf_counter()
            engine = self._load()
            self.load_seconds = time.perf_counter() - start
            self.loads += 1
            self._engine = engine

    def read(self, image: Image.Image) -> list[OcrLine]:
        """Every line of text the engine finds, whatever its confidence, in ``image``'s pixels.

        Low-confidence lines are returned on purpose: the reading procedure uses them as
        places worth a closer look, and filters by confidence only at the end.
        """
        if image.mode != "RGB":
            image = image.convert("RGB")
        if image.width < 2 or image.height < 2:
            return []
        self.load()
        rgb = np.asarray(image)
        with self._read_lock:
            lines = self._read(rgb)
        return [line for line in lines if line.text.strip()]

    def read_with_map(self, image: Image.Image) -> tuple[list[OcrLine], TextMap | None]:
        """:meth:`read`, plus the detector's text-probability map when the engine has one.

        Engines without a dense detector (or whose map cannot be aligned with the
        image) give ``None``; the reading procedure then falls back to tiling.
        """
        return self.read(image), None

    def describe(self) -> dict[str, Any]:
        """JSON-safe facts about the backend (for traces and reports)."""
        return {"name": self.name, "loaded": self.loaded, "loads": self.loads, "load_seconds": self.load_seconds}

    @abstractmethod
    def _load(self) -> Any:
        """Build the engine (models loaded). Raise ``self.unavailable(...)`` when it cannot."""

    @abstractmethod
    def _read(self, rgb: np.ndarray) -> list[OcrLine]:
        """Read an HxWx3 uint8 RGB array."""
