"""The user-facing layer: ``Agent``, ``Location``, settings and the CLI."""

from graphs.budget import Budget
from tools.errors import (
    ConfigError,
    EmptyImageError,
    GeoSleuthError,
    ImageInputError,
    ImageNotFoundError,
    ImageTooLargeError,
    NotAFileError,
    NotAnImageError,
    RunError,
    TraceError,
    TruncatedImageError,
    UnsupportedInputError,
)
from tools.hints import Hint

from .agent import Agent
from .location import Location
from .settings import Settings

__all__ = [
    "Agent",
    "Budget",
    "ConfigError",
    "EmptyImageError",
    "GeoSleuthError",
    "Hint",
    "ImageInputError",
    "ImageNotFoundError",
    "ImageTooLargeError",
    "Location",
    "NotAFileError",
    "NotAnImageError",
    "RunError",
    "Settings",
    "TraceError",
    "TruncatedImageError",
    "UnsupportedInputError",
]
