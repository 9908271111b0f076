"""geosleuth: agentic image geolocation that answers with its evidence.

The public API in one place, so users write ``from geosleuth import Agent, Location``
whatever the internal package layout (``agent``, ``graphs``, ``tools``, ``evals``)::

    from geosleuth import Agent

    loc = Agent().locate("photo.jpg")
    print(loc.lat, loc.lon, loc.radius_km, loc.confidence)

Everything here is re-exported from the layer that defines it; nothing else is promised.
"""

from agent import (
    Agent,
    Budget,
    ConfigError,
    EmptyImageError,
    GeoSleuthError,
    Hint,
    ImageInputError,
    ImageNotFoundError,
    ImageTooLargeError,
    Location,
    NotAFileError,
    NotAnImageError,
    RunError,
    Settings,
    TraceError,
    TruncatedImageError,
    UnsupportedInputError,
)
from agent.question import Answer
from agent.review import PendingReview
from graphs.review import ReviewDecision
from graphs.trace import read_trace
from tools.errors import ReplayDivergenceError
from tools.evidence import Candidate, Evidence

__all__ = [
    "Agent",
    "Answer",
    "Budget",
    "Candidate",
    "ConfigError",
    "EmptyImageError",
    "Evidence",
    "GeoSleuthError",
    "Hint",
    "ImageInputError",
    "ImageNotFoundError",
    "ImageTooLargeError",
    "Location",
    "NotAFileError",
    "NotAnImageError",
    "PendingReview",
    "ReplayDivergenceError",
    "ReviewDecision",
    "RunError",
    "Settings",
    "TraceError",
    "TruncatedImageError",
    "UnsupportedInputError",
    "__version__",
    "read_trace",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("geosleuth")
    except PackageNotFoundError:  # a checkout that is not installed
        return "unknown"


__version__ = _version()
