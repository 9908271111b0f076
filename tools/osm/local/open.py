"""A local OSM index from what a user names: a file path (SQLite) or a ``postgresql://`` DSN."""

from __future__ import annotations

import os
from typing import Any

from .sqlite_index import SqliteIndex
from .store import LocalIndex


def is_postgres(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def open_index(db: str | os.PathLike[str]) -> LocalIndex:
    """Open an imported index; raises :class:`~.sqlite_index.OsmIndexError` when there is none."""
    text = os.fspath(db)
    if is_postgres(text):
        from .postgis_index import PostgisIndex

        return PostgisIndex(text)
    return SqliteIndex(text)


def import_extract(extract: str | os.PathLike[str], db: str | os.PathLike[str], **options: Any) -> LocalIndex:
    """Import an extract into the index named by ``db`` (see the two stores for options)."""
    text = os.fspath(db)
    if is_postgres(text):
        from .postgis_index import PostgisIndex

        options.pop("batch", None)
        options.pop("stop_after", None)
        return PostgisIndex.import_extract(extract, text, **options)
    return SqliteIndex.import_extract(extract, text, **options)
