"""OCR: backends (RapidOCR, EasyOCR), multi-scale reading of registered images, the ``read_text`` tool.

Importing this package loads no model and imports neither onnxruntime nor torch:
backends load their engines on first use, once per process.

    from tools.ocr import ReadTextTool, read_image, get_backend
    result = read_image(ctx.images, "img:0", get_backend("rapidocr"))
"""

from .backend import OcrBackend, OcrBackendUnavailableError, UnknownOcrBackendError
from .easy import EasyOcrBackend
from .lines import Box, OcrLine, Quad
from .merge import in_edge_band, merge_lines, normalize_text, text_similarity
from .multiscale import ReadOptions, read_image
from .rapid import RapidOcrBackend
from .registry import BACKENDS, DEFAULT_BACKEND, available_backends, get_backend, resolve_backend_name
from .result import ReadLine, ReadResult
from .routing import ScriptRouter, with_scripts
from .tesseract import TesseractEngine, readable_scripts, unreadable_scripts
from .tool import ReadTextArgs, ReadTextTool

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "Box",
    "EasyOcrBackend",
    "OcrBackend",
    "OcrBackendUnavailableError",
    "OcrLine",
    "Quad",
    "RapidOcrBackend",
    "ReadLine",
    "ReadOptions",
    "ReadResult",
    "ReadTextArgs",
    "ReadTextTool",
    "ScriptRouter",
    "TesseractEngine",
    "UnknownOcrBackendError",
    "available_backends",
    "get_backend",
    "in_edge_band",
    "merge_lines",
    "normalize_text",
    "read_image",
    "readable_scripts",
    "resolve_backend_name",
    "text_similarity",
    "unreadable_scripts",
    "with_scripts",
]
