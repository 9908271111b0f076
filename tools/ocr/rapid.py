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

from .backend import OcrBackend, TextMap
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


class _DetectorWithMap:
    """Stands in for RapidOCR's text detector and keeps what its last call saw.

    RapidOCR throws the detector's probability map away once it has made boxes; this
    wrapper keeps the map (and the shape of the image it was computed for) so a read
    costs one detection, not two. Everything else is passed through unchanged.
    """

    def __init__(self, detector: Any) -> None:
        self._detector = detector
        self._session = detector.session
        detector.session = self._run_session
        self.last_map: np.ndarray | None = None
        self.last_shape: tuple[int, int] | None = None

    def _run_session(self, tensor: Any) -> Any:
        preds = self._session(tensor)
        self.last_map = np.asarray(preds)[0, 0].astype(np.float32, copy=False)
        return preds

    def __call__(self, img: np.ndarray) -> Any:
        self.last_map, self.last_shape = None, (int(img.shape[0]), int(img.shape[1]))
        return self._detector(img)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._detector, name)

    def take(self) -> tuple[np.ndarray | None, tuple[int, int] | None]:
        found, shape = self.last_map, self.last_shape
        self.last_map, self.last_shape = None, None
        return found, shape


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
        detector = getattr(engine, "text_det", None)
        if detector is not None and callable(getattr(detector, "session", None)):
            engine.text_det = _DetectorWithMap(detector)
        return engine

    def read_with_map(self, image: Image.Image) -> tuple[list[OcrLine], TextMap | None]:
        return self._with_map(image, lambda rgb: self._read(rgb), keep_empty=False)

    def read_boxes_with_map(self, image: Image.Image) -> tuple[list[OcrLine], TextMap | None]:
        """:meth:`read_boxes` plus the detector's text map (see :meth:`read_with_map`)."""
        return self._with_map(
            image, lambda rgb: self._all_boxes(np.ascontiguousarray(rgb[:, :, ::-1])), keep_empty=True
        )

    def _with_map(self, image: Image.Image, run: Any, *, keep_empty: bool) -> tuple[list[OcrLine], TextMap | None]:
        if image.mode != "RGB":
            image = image.convert("RGB")
        if image.width < 2 or image.height < 2:
            return [], None
        self.load()
        detector = getattr(self._engine, "text_det", None)
        with self._read_lock:
            if isinstance(detector, _DetectorWithMap):
                detector.take()
            lines = run(np.asarray(image))
            prob, shape = detector.take() if isinstance(detector, _DetectorWithMap) else (None, None)
        if not keep_empty:
            lines = [line for line in lines if line.text.strip()]
        if prob is None or shape != (image.height, image.width):
            return lines, None  # RapidOCR padded or resized the input itself: the map would not align
        return lines, TextMap(prob, image.size)

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
        return self.read_boxes_with_map(image)[0]

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
