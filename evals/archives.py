"""Images inside zip archives, addressed as if the archive were a folder.

OSV-5M ships its test images as ``images/test/00.zip`` … ``04.zip`` holding ``{id}.jpg``;
unpacking 210 000 files first is a chore and doubles the disk. An item's image path
``…/00.zip/123.jpg`` names member ``123.jpg`` of ``…/00.zip``; :func:`image_input` turns
such a path into the member's bytes at the moment the agent needs them, and leaves a
real file's path as it is.
"""

from __future__ import annotations

import functools
import threading
import zipfile
from pathlib import Path

from tools.errors import GeoSleuthError

_lock = threading.Lock()


class ArchiveError(GeoSleuthError, ValueError):
    """An image named inside a zip archive cannot be read."""


@functools.lru_cache(maxsize=16)
def _open(archive: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(archive)  # reads the central directory once; members are read on demand


def split_archive_path(path: Path) -> tuple[Path, str] | None:
    """``(archive, member)`` when ``path`` runs through a ``.zip`` file, else None."""
    parts = path.parts
    for i in range(len(parts) - 1, 0, -1):
        head = Path(*parts[:i])
        if head.suffix.lower() == ".zip" and head.is_file():
            return head, "/".join(parts[i:])
    return None


def image_input(path: Path) -> Path | bytes:
    """The path itself for a file on disk, else the bytes of the zip member it names."""
    if path.exists():
        return path
    split = split_archive_path(path)
    if split is None:
        return path  # the agent reports the missing file with its usual typed error
    archive, member = split
    try:
        with _lock:
            handle = _open(str(archive))
        return handle.read(member)
    except KeyError:
        raise ArchiveError(f"{archive} holds no {member}") from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"cannot read {member} from {archive}: {exc}") from None


def zip_members(archive: Path) -> dict[str, str]:
    """Member paths of an archive by file name (``123.jpg`` → ``test/00/123.jpg``)."""
    try:
        names = _open(str(archive)).namelist()
    except (OSError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"{archive} is not a readable zip archive: {exc}") from None
    return {name.rsplit("/", 1)[-1]: name for name in names if not name.endswith("/")}
