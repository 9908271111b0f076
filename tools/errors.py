"""Typed errors. Every error a user can provoke with bad input is a ``GeoSleuthError``.

They live in the leaf layer so that every layer can raise and catch them without
importing upward. Messages are one line and name the offending input, because the
CLI prints them as they are.
"""

from __future__ import annotations


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


class EmptyImageError(ImageInputError):
    """The file or buffer holds zero bytes."""


class NotAnImageError(ImageInputError):
    """The bytes are not an image format Pillow (or pillow-heif) can read."""


class TruncatedImageError(ImageInputError):
    """The image header is fine but the pixel data ends early or is corrupt."""


class ImageTooLargeError(ImageInputError):
    """More pixels than the configured limit: refused before decoding (decompression-bomb guard)."""


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
