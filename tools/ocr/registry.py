"""Which OCR backends exist, which one "auto" means, and one instance of each per process.

Backend objects are process-wide singletons so that every run, every Agent and every
``ToolContext`` in a process shares one set of loaded models: OCR models are the
heaviest thing a run touches, and loading them twice doubles memory for nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from .backend import OcrBackend, OcrBackendUnavailableError, UnknownOcrBackendError
from .easy import EasyOcrBackend
from .rapid import RapidOcrBackend

#: Backend classes by name.
BACKENDS: dict[str, type[OcrBackend]] = {
    RapidOcrBackend.name: RapidOcrBackend,
    EasyOcrBackend.name: EasyOcrBackend,
}

#: What "auto" means when neither the run settings nor ``GEOSLEUTH_OCR_BACKEND`` say:
#: RapidOCR reads CJK and Latin with bundled weights and is several times faster on a
#: CPU than EasyOCR (see ``python -m evals.ocr_compare``).
DEFAULT_BACKEND = RapidOcrBackend.name

_instances: dict[str, OcrBackend] = {}
_instances_lock = threading.Lock()


def available_backends() -> list[str]:
    """Names of the backends whose Python packages are installed (models not checked)."""
    return [name for name, cls in BACKENDS.items() if cls.is_installed()]


def resolve_backend_name(requested: str = "auto", settings: Mapping[str, Any] | None = None) -> str:
    """Turn ``"auto"`` (or an explicit name) into a backend name.

    ``"auto"`` means the run setting ``ocr_backend``, else ``GEOSLEUTH_OCR_BACKEND``,
    else :data:`DEFAULT_BACKEND`; if that one is not installed, any installed backend,
    so that a machine with only one of them still reads text. An explicit name is
    returned as it is, so that asking for a missing backend fails loudly.
    """
    name = (requested or "auto").strip().lower()
    if name != "auto":
        if name not in BACKENDS:
            raise UnknownOcrBackendError(
                f"unknown OCR backend {requested!r}; choose one of auto, {', '.join(BACKENDS)}"
            )
        return name
    configured = str((settings or {}).get("ocr_backend") or os.environ.get("GEOSLEUTH_OCR_BACKEND") or "").strip()
    preferred = configured.lower() if configured and configured.lower() != "auto" else DEFAULT_BACKEND
    if preferred not in BACKENDS:
        raise UnknownOcrBackendError(
            f"unknown OCR backend {configured!r} in settings/GEOSLEUTH_OCR_BACKEND; choose one of {', '.join(BACKENDS)}"
        )
    if BACKENDS[preferred].is_installed():
        return preferred
    for other in available_backends():
        return other
    extras = " or ".join(f"geosleuth[{cls.extra}]" for cls in BACKENDS.values())
    raise OcrBackendUnavailableError(
        f"no OCR backend is installed ({', '.join(BACKENDS)}); install {extras}", preferred
    )


def get_backend(name: str) -> OcrBackend:
    """The process-wide backend object for ``name`` (models load on its first read)."""
    cls = BACKENDS.get(name)
    if cls is None:
        raise UnknownOcrBackendError(f"unknown OCR backend {name!r}; choose one of {', '.join(BACKENDS)}")
    with _instances_lock:
        backend = _instances.get(name)
        if backend is None:
            backend = _instances[name] = cls()
        return backend
