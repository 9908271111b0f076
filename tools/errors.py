"""Typed errors. Every error a user can provoke with bad input is a ``GeoSleuthError``.

They live in the leaf layer so that every layer can raise and catch them without
importing upward. Messages are one line and name the offending input, because the
CLI prints them as they are.
"""

from __future__ import annotations

from typing import Any


class GeoSleuthError(Exception):
    """Base class of every error geosleuth raises on purpose."""


class ConfigError(GeoSleuthError, ValueError):
    """A setting, budget, strategy or hint has a value that cannot be used."""


class ImageInputError(GeoSleuthError):
    """An image given to the agent cannot be used; ``source`` says which one."""

    def __init__(self, message: str, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class ImageNotFoundError(ImageInputError, FileNotFoundError):
    """The path does not exist."""


class NotAFileError(ImageInputError, IsADirectoryError):
    """The path exists but is a directory (or another non-file)."""


class UnreadableFileError(ImageInputError, OSError):
    """The path exists but cannot be read (no permission, an I/O error)."""


class EmptyImageError(ImageInputError):
    """The file or buffer holds zero bytes."""


class NotAnImageError(ImageInputError):
    """The bytes are not an image format Pillow (or pillow-heif) can read."""


class TruncatedImageError(ImageInputError):
    """The image header is fine but the pixel data ends early or is corrupt."""


class ImageTooLargeError(ImageInputError):
    """More pixels or bytes than the configured limits: refused before decoding
    (decompression-bomb guard) or before reading (size limit)."""


class UnsupportedInputError(GeoSleuthError, TypeError):
    """``locate`` was given an object that is neither a path, bytes, a file object nor an image."""


class UnknownImageHandleError(GeoSleuthError, KeyError):
    """A tool was asked for an ``img:N`` handle that this run never registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class TraceError(GeoSleuthError):
    """A trace file cannot be read: wrong format, unknown version, or a corrupt line."""


class RunError(GeoSleuthError):
    """The run itself failed unexpectedly; the trace up to the failure is kept."""


class ModelError(GeoSleuthError):
    """A model cannot be configured, loaded or reached (bad spec, missing weights, server down)."""


class ReplayDivergenceError(TraceError):
    """Strict replay met a call the trace does not hold: the run took another path."""


def describe_validation_error(exc: Any, limit: int = 3) -> str:
    """One line naming each offending field, the rule it broke and the value given, from a
    pydantic ``ValidationError`` (duck-typed: this module imports nothing), instead of
    pydantic's "1 validation error for FeatureQuery" heading."""
    try:
        errors = list(exc.errors())
    except Exception:  # noqa: BLE001 - not a validation error after all
        return " ".join(str(exc).split())
    parts = []
    for error in errors[:limit]:
        field = ".".join(str(p) for p in error.get("loc", ())) or "arguments"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        given = error.get("input")
        shown = ""
        if field != "arguments" and not isinstance(given, (dict, list)) and given is not None:
            text = repr(given)
            shown = f" (got {text[:40] + '...' if len(text) > 40 else text})"
        parts.append(f"{field}: {message}{shown}")
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more")
    return "; ".join(parts)
