"""Which files count as images when a folder or a list of photos is given.

One definition for every layer that walks a folder (``geosleuth locate`` over a folder,
``eval`` on a folder of geotagged photos, the SFT data builder), so a photo one command
picks up is never skipped by another. Judged by suffix, not by content: reading every
file's header would make listing a folder of 200 000 photos as slow as opening each one,
and a file that is not really an image fails later with a typed error naming it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".heic", ".heif", ".avif"})


def is_image_name(path: str | Path) -> bool:
    """True when the file name has one of :data:`IMAGE_SUFFIXES` (any letter case)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def image_files_in(folder: Path) -> Iterator[Path]:
    """The image files under ``folder`` and its subfolders, in a stable sorted order;
    hidden files and folders (``.git``, ``.thumbnails``, macOS ``._`` forks) are left out."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).parts
        if any(part.startswith(".") for part in relative):
            continue
        if is_image_name(path) and path.is_file():
            yield path
