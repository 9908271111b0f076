"""One naming scheme for every trace file: a readable stem of the image plus a short unique suffix.

Why: ``run-0000.jsonl`` says nothing about which photo a trace belongs to, and a second
batch in the same folder overwrote the first batch's traces. Every writer (``locate``,
``eval``, the workspace) names a trace :func:`trace_name` (``lisbon-street-3f9a1c.jsonl``:
the image's file name, slugified and bounded, then six hex digits) and creates it with
:func:`create_trace_file`, which opens the file *exclusively* — an existing file is never
touched — and draws a new suffix when the name is taken (two runs of the same photo, two
processes racing for a folder).
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tools.errors import GeoSleuthError

#: Longest stem kept from an image name (the suffix and ".jsonl" come on top).
MAX_STEM = 40
SUFFIX_HEX = 6
#: Names tried before giving up (a collision of a fresh 24-bit suffix is rare; a folder
#: that refuses every new file is not going to accept the 20th try either).
MAX_TRIES = 20
DEFAULT_STEM = "run"


def slugify(text: str, max_length: int = MAX_STEM) -> str:
    """Lower-case ASCII words joined by hyphens: "Rua Augusta (2).JPG" -> "rua-augusta-2-jpg".

    Accents are folded ("Açaí" -> "acai"); scripts without an ASCII form keep their
    letters (a Chinese file name stays readable); anything unsafe in a file name goes.
    Cut at a word boundary within ``max_length``.
    """
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    slug = "-".join(re.findall(r"[^\W_]+", folded.lower()))
    if len(slug) > max_length:
        cut = slug[:max_length]
        slug = cut.rsplit("-", 1)[0] if "-" in cut[max_length // 2 :] else cut
    return slug.strip("-")


def image_stem(image: Any) -> str:
    """The readable part of a trace name for an input: the file name without its extension
    for a path, the first image's for several, :data:`DEFAULT_STEM` for pixels in memory."""
    if isinstance(image, (list, tuple)) and image:
        first = image_stem(image[0])
        return f"{first}-and-{len(image) - 1}-more" if len(image) > 1 else first
    if isinstance(image, (str, os.PathLike)):
        name = Path(image).name
        stem = slugify(Path(name).stem if Path(name).suffix else name)
        return stem or DEFAULT_STEM
    name = getattr(image, "name", None)  # an open file
    if isinstance(name, str) and name:
        return image_stem(name)
    return DEFAULT_STEM


def trace_name(image: Any, suffix: str | None = None, extension: str = ".jsonl") -> str:
    """``<stem>-<suffix><extension>``; ``suffix`` defaults to fresh random hex digits."""
    stem = slugify(image_stem(image), MAX_STEM) or DEFAULT_STEM
    return f"{stem}-{suffix or secrets.token_hex(SUFFIX_HEX // 2)}{extension}"


def create_trace_file(
    folder: str | os.PathLike,
    image: Any,
    *,
    extension: str = ".jsonl",
    suffixes: Callable[[], str] | None = None,
) -> Path:
    """Create a new, empty trace file for ``image`` in ``folder`` (made if missing) and return
    its path. The file is created exclusively: an existing file is never opened or
    truncated, and a taken name is retried with a new suffix. ``suffixes`` replaces the
    random suffix source (tests)."""
    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GeoSleuthError(f"cannot create trace folder {target}: {exc.strerror or exc}") from None
    draw = suffixes or (lambda: secrets.token_hex(SUFFIX_HEX // 2))
    for _ in range(MAX_TRIES):
        path = target / trace_name(image, draw(), extension)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        except OSError as exc:
            raise GeoSleuthError(f"cannot create trace file {path}: {exc.strerror or exc}") from None
        os.close(fd)
        return path
    raise GeoSleuthError(f"no free trace name for {image_stem(image)!r} in {target} after {MAX_TRIES} tries")


def trace_names_for(images: Sequence[Any], folder: str | os.PathLike) -> list[Path]:
    """One new trace file per input (see :func:`create_trace_file`)."""
    return [create_trace_file(folder, image) for image in images]
