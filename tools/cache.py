"""Where geosleuth keeps derived data and HTTP caches on disk."""

from __future__ import annotations

import os
import sys
import tempfile
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
    """Create ``path`` if needed; None when it cannot be written (read-only home, sandbox).

    The probe file has a name of its own for each call: with one shared name, a thread
    (or process) removing its probe made a concurrent call's removal fail, and that call
    took a writable folder for a read-only one (a paused review went unstored)."""
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".write-test-", dir=path)
        os.close(handle)
        os.unlink(probe)
        return path
    except OSError:
        return None


def progress(message: str) -> None:
    """One line on stderr about slow one-time work, so a first run is not mistaken for a
    hang (``GEOSLEUTH_QUIET=1`` silences it)."""
    if os.environ.get("GEOSLEUTH_QUIET", "").strip().lower() in ("1", "true", "yes", "on"):
        return
    print(f"geosleuth: {message}", file=sys.stderr, flush=True)


#: How long a process waits for another one building the same cache before building
#: it itself (a build takes about 30 s on a small machine).
BUILD_WAIT_S = 600.0


def _load_arrays(path: Path | None) -> dict[str, np.ndarray] | None:
    if path is None or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError):
        return None  # corrupt or partial: rebuilt


def cached_arrays(
    directory: Path | None,
    name: str,
    build: Callable[[], dict[str, np.ndarray]],
    *,
    what: str | None = None,
    expected_s: float | None = None,
) -> dict[str, np.ndarray]:
    """Arrays from ``<directory>/<name>.npz``, built and written there on first use.

    The build happens once, under a file lock: other processes starting at the same time
    wait for it and then load what it wrote, instead of each rebuilding (four processes
    on a cold cache cost one build, not four). A corrupt or partial file is rebuilt; an
    unwritable directory means building every time (slower, never wrong). The file is
    written to a temporary name and renamed, so no process ever reads half a file. When
    ``what`` names the data, a build says so on stderr before it starts and when it is
    done (see :func:`progress`).
    """
    folder = writable_dir(directory)
    path = folder / f"{name}.npz" if folder is not None else None
    found = _load_arrays(path)
    if found is not None:
        return found
    announced = _announced(build, what, expected_s, folder)
    if path is None:
        return announced()
    from filelock import FileLock, Timeout

    lock = FileLock(str(path.with_name(f"{name}.lock")))
    try:
        with lock.acquire(timeout=BUILD_WAIT_S):
            found = _load_arrays(path)  # built by another process while this one waited
            if found is not None:
                return found
            return _build_and_write(path, announced)
    except Timeout:  # a build elsewhere takes far too long: do not wait for ever
        return _build_and_write(path, announced)


def _announced(
    build: Callable[[], dict[str, np.ndarray]], what: str | None, expected_s: float | None, folder: Path | None
) -> Callable[[], dict[str, np.ndarray]]:
    """``build`` wrapped to say on stderr that it starts and how long it took (when ``what`` is given)."""
    if not what:
        return build

    def run() -> dict[str, np.ndarray]:
        started = time.perf_counter()
        where = f" in {folder}" if folder is not None else " (cache directory not writable: every run rebuilds it)"
        about = f", about {expected_s:.0f} s" if expected_s else ""
        progress(f"building the {what}{where} (first run only{about})...")
        arrays = build()
        progress(f"{what} built in {time.perf_counter() - started:.1f} s")
        return arrays

    return run


def _build_and_write(path: Path, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    arrays = build()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
    try:
        np.savez(tmp, **arrays)
        tmp.replace(path)
    except OSError:
        pass  # a full disk costs a rebuild next time, never a wrong answer
    return arrays
