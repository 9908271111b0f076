"""Where geosleuth keeps derived data and HTTP caches on disk."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


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


def progress(message: str) -> None:
    """One line on stderr about slow one-time work, so a first run is not mistaken for a
    hang (``GEOSLEUTH_QUIET=1`` silences it)."""
    if os.environ.get("GEOSLEUTH_QUIET", "").strip().lower() in ("1", "true", "yes", "on"):
        return
    print(f"geosleuth: {message}", file=sys.stderr, flush=True)


def cached_arrays(
    directory: Path | None,
    name: str,
    build: Callable[[], dict[str, np.ndarray]],
    *,
    what: str | None = None,
    expected_s: float | None = None,
) -> dict[str, np.ndarray]:
    """Arrays from ``<directory>/<name>.npz``, built and written there on first use.

    A corrupt or partial file is rebuilt; an unwritable directory means building every
    time (slower, never wrong). The file is written to a temporary name and renamed, so
    concurrent processes never read half a file. When ``what`` names the data, a build
    says so on stderr before it starts and when it is done (see :func:`progress`).
    """
    folder = writable_dir(directory)
    path = folder / f"{name}.npz" if folder is not None else None
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except (OSError, ValueError):
            pass
    started = time.perf_counter()
    if what:
        where = f" in {folder}" if folder is not None else " (cache directory not writable: every run rebuilds it)"
        about = f", about {expected_s:.0f} s" if expected_s else ""
        progress(f"building the {what}{where} (first run only{about})...")
    arrays = build()
    if what:
        progress(f"{what} built in {time.perf_counter() - started:.1f} s")
    if path is not None:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)
    return arrays
