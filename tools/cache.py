"""Where geosleuth keeps derived data and HTTP caches on disk."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """``$GEOSLEUTH_CACHE_DIR``, else ``$XDG_CACHE_HOME/geosleuth``, else ``~/.cache/geosleuth``."""
    explicit = os.environ.get("GEOSLEUTH_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "geosleuth"


def writable_dir(path: Path | None) -> Path | None:
    """Create ``path`` if needed; None when it cannot be written (read-only home, sandbox)."""
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
        return path
    except OSError:
        return None
