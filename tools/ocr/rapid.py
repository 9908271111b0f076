"""RapidOCR backend: PaddleOCR's PP-OCR models on onnxruntime, bundled with the wheel.

Why it is the default: its det/rec models ship inside the ``rapidocr`` wheel (no
download, ever), one recogniser reads Chinese, Japanese kana/kanji and Latin scripts
with diacritics, and onnxruntime on two CPU cores detects a 1280 px frame in a few
tenths of a second.

The engine is configured so that it never touches the network and never resizes on
its own: model files are passed by path (RapidOCR only downloads when it has to
resolve a model name), visualisation (the only user of its downloadable fonts) is
never called, and the reading procedure decides every scale, with ``max_side`` only
a guard against a caller feeding a huge image directly.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .backend import OcrBackend
from .lines import OcrLine


def default_threads() -> int:
    """onnxruntime intra-op threads: the cores this process may use, at most 4.

    More threads than cores only adds contention; beyond 4 the small PP-OCR models
    gain little. ``GEOSLEUTH_OCR_THREADS`` overrides.
    """
    env = os.environ.get("GEOSLEUTH_OCR_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def _bundled_model(models_dir: Path, task: str) -> Path | None:
    """The wheel's model file for ``task`` (det, rec, cls); the newest version when several."""
    found = sorted(p for p in models_dir.glob(f"*{task}*.onnx") if p.is_file() and p.stat().st_size > 0)
    return found[-1] if found else None


class RapidOcrBackend(OcrBackend):
    """PP-OCR detection + direction classifier + recognition through ``rapidocr``."""

    name = "rapidocr"
    extra = "ocr"
    modules = ("rapidocr", "onnxruntime")

    def __init__(
        self,
        *,
        threads: int | None = None,
        box_thresh: float = 0.4,
        use_angle_cls: bool = True,
        max_side: int = 2048,
    ) -> None:
        """``box_thresh`` is the detector's box score threshold; slightly below RapidOCR's
        0.5 so faint or small text is returned (with a low confidence) and can be zoomed."""
        super().__init__()
        self.threads = threads or default_threads()
        self.box_thresh = box_thresh
        self.use_angle_cls = use_angle_cls
        self.max_side = max_side
        self.models: dict[str, str] = {}

    def _load(self) -> Any:
        import rapidocr

        models_dir = Path(rapidocr.__file__).resolve().parent / "models"
        paths = {task: _bundled_model(models_dir, task) for task in ("det", "rec", "cls")}
        missing = [task for task, path in paths.items() if path is None]
        if missing:
            raise self.unavailable(f"bundled {'/'.join(missing)} model(s) missing from {models_dir}")
        self.models = {task: str(path) for task, path in paths.items()}
        params = {
            "Global.log_level": "error",
            "Global.text_score": 0.0,
            "Global.use_cls": self.use_angle_cls,
            "Global.max_side_len": 100_000,
            "Global.min_side_len": 32,
            "Det.model_path": self.models["det"],
            "Det.limit_type": "max",
            "Det.limit_side_len": self.max_side,
            "Det.box_thresh": self.box_thresh,
            "Rec.model_path": self.models["rec"],
            "Cls.model_path": self.models["cls"],
            "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        engine = rapidocr.RapidOCR(params=params)
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        # RapidOCR builds its sessions on first use; build them now so the load is paid
        # (and counted) once, here, rather than inside the first timed read.
        for loader in ("_load_det_model", "_load_cls_model", "_load_rec_model"):
            build = getattr(engine, loader, None)
            if callable(build):
                build()
        return engine

    def _read(self, rgb: np.ndarray) -> list[OcrLine]:
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        result = self._engine(bgr)
        return self._lines(result)

    def read_boxes(self, image: Image.Image) -> list[OcrLine]:
        """Every box the detector found, *including* those the recogniser read as nothing.

        RapidOCR drops boxes whose text came back empty, and those are exactly the lines
        of scripts its recogniser does not know (Cyrillic, Hangul, Thai, ...): another
        engine can read them in the same box. Empty boxes come back with text "" and
        confidence 0.
        """
        if image.mode != "RGB":
            image = image.convert("RGB")
        if image.width < 2 or image.height < 2:
            return []
        self.load()
        bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        with self._read_lock:
            return self._all_boxes(bgr)

    def _all_boxes(self, bgr: np.ndarray) -> list[OcrLine]:
        engine = self._engine
        try:
            from rapidocr.utils.process_img import map_boxes_to_original

            work, record = engine.preprocess_img(bgr)
            det, _cls, rec, _crops = engine.run_ocr_steps(work, record)
        except (AttributeError, ImportError, TypeError):  # another rapidocr layout: only the read lines
            return self._lines(engine(bgr))
        if det.boxes is None or rec.txts is None or rec.scores is None or len(det.boxes) != len(rec.txts):
            return []
        boxes = map_boxes_to_original(det.boxes, record, bgr.shape[0], bgr.shape[1])
        out = []
        for box, text, score in zip(boxes, rec.txts, rec.scores):
            text = str(text).strip()
            out.append(OcrLine(text, float(score) if text else 0.0, tuple(map(tuple, box))))  # type: ignore[arg-type]
        return out

    @staticmethod
    def _lines(result: Any) -> list[OcrLine]:
        boxes, texts, scores = (
            getattr(result, "boxes", None),
            getattr(result, "txts", None),
            getattr(result, "scores", None),
        )
        if boxes is None or texts is None or scores is None:
            return []
        return [
            OcrLine(str(text), float(score), tuple(map(tuple, box)))  # type: ignore[arg-type]
            for box, text, score in zip(boxes, texts, scores)
        ]

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(threads=self.threads, box_thresh=self.box_thresh, models=dict(self.models))
        return info
