"""The embedded local index: one SQLite file with an R*Tree, written from an extract by pyosmium.

Layout (``schema_version`` 2; a file of another version is refused, to be imported again):

* ``features(fid, osm_type, osm_id, name, names_glued, kinds, tags, geom)``: one row per
  kept element (see :mod:`.selection`), tags as JSON, the raw shape as WKB (a way's line,
  a relation's multipolygon), ``names_glued`` the folded names for the name prefilter,
  ``kinds`` its feature-key tags (amenity=cafe, ...) in one delimited string, so a tag
  filter is a substring test on the rows the R*Tree returns;
* ``features_rtree``: an R*Tree of each shape's bounding box, keyed by ``fid``;
* ``meta``: the source file, the import's progress marker and the extract's bounds.

Importing reads the file once (twice with multipolygons: libosmium assembles their
areas) and commits every ``batch`` elements together with the number of objects read
so far. A killed import is resumed by running it again: the objects already committed
are skipped, so it continues where the last commit left it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import LineString, Point

from ...errors import GeoSleuthError
from .selection import FEATURE_KEYS, INCLUDE_KEYS, glued_names, wanted
from .store import Box, LocalIndex, Prefilter, Row

SCHEMA_VERSION = "2"
DEFAULT_BATCH = 20_000
_TYPE_CODE = {"node": "n", "way": "w", "relation": "r"}
_CODE_TYPE = {v: k for k, v in _TYPE_CODE.items()}
#: Separators of the ``kinds`` column (ASCII unit and record separators: never in OSM tags).
_SEP, _EQ = "\x1f", "\x1e"


def _kinds(tags: dict[str, str]) -> str:
    """The feature-key tags as ``<US>amenity<RS>cafe<US>shop<RS>bakery<US>``."""
    return _SEP + "".join(f"{key}{_EQ}{tags[key]}{_SEP}" for key in FEATURE_KEYS if key in tags)


class OsmIndexError(GeoSleuthError):
    """A local OSM index could not be opened, imported or queried."""


class ImportInterrupted(OsmIndexError):
    """An import stopped before the end (a test's stand-in for a kill); run it again to resume."""


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS features (
    fid INTEGER PRIMARY KEY,
    osm_type TEXT NOT NULL,
    osm_id INTEGER NOT NULL,
    name TEXT,
    names_glued TEXT,
    kinds TEXT NOT NULL,
    tags TEXT NOT NULL,
    geom BLOB NOT NULL,
    UNIQUE (osm_type, osm_id)
);
CREATE VIRTUAL TABLE IF NOT EXISTS features_rtree USING rtree(fid, min_lon, max_lon, min_lat, max_lat);
"""
INDEXES = """
CREATE INDEX IF NOT EXISTS features_name ON features (name);
"""


def _source_id(path: Path) -> str:
    stat = path.stat()
    return json.dumps({"name": path.name, "size": stat.st_size, "mtime": int(stat.st_mtime)})


def _header_box(path: Path) -> Box | None:
    import osmium

    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    try:
        header_box = reader.header().box()
    finally:
        reader.close()
    if not header_box.valid():
        return None
    bl, tr = header_box.bottom_left, header_box.top_right
    return (bl.lat, bl.lon, tr.lat, tr.lon)


def _way_line(way: Any) -> LineString | Point | None:
    coords = []
    for node in way.nodes:
        location = node.location
        if not location.valid():
            continue
        point = (location.lon, location.lat)
        if not coords or coords[-1] != point:
            coords.append(point)
    if not coords:
        return None
    return Point(coords[0]) if len(coords) == 1 else LineString(coords)


def _elements(path: Path) -> Iterator[tuple[str, int, dict[str, str], Any] | None]:
    """Every object pyosmium reads, in file order, as (type, id, tags, raw shape), or None
    for objects the index does not keep (so positions count every object read)."""
    import osmium

    processor = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_areas()
        .with_filter(osmium.filter.KeyFilter(*INCLUDE_KEYS))
    )
    wkb = osmium.geom.WKBFactory()
    for obj in processor:
        if obj.is_node():
            tags = dict(obj.tags)
            if not wanted(tags) or not obj.location.valid():
                yield None
                continue
            yield "node", obj.id, tags, (obj.location.lon, obj.location.lat)
        elif obj.is_way():
            tags = dict(obj.tags)
            geometry = _way_line(obj) if wanted(tags) else None
            yield None if geometry is None or isinstance(geometry, Point) else ("way", obj.id, tags, geometry)
        elif obj.is_area():
            tags = dict(obj.tags)
            # libosmium assembles multipolygon and boundary relations only, and drops their type tag
            if obj.from_way() or not wanted(tags):
                yield None
                continue
            try:
                geometry = shapely.from_wkb(bytes.fromhex(wkb.create_multipolygon(obj)))
            except (RuntimeError, shapely.errors.ShapelyError):
                yield None
                continue
            yield "relation", obj.orig_id(), tags, geometry
        else:
            yield None


def _progress(enabled: bool, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(desc=desc, unit=" objects", unit_scale=True, disable=not enabled, file=sys.stderr, mininterval=1.0)


class SqliteIndex(LocalIndex):
    """A local OSM index in one SQLite file."""

    backend = "sqlite"

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise OsmIndexError(f"no OSM index at {self.path} (make one with: geosleuth osm import EXTRACT --db PATH)")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(str(self.path), check_same_thread=False)
            if create:
                self.conn.executescript(SCHEMA)
            elif self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
                raise sqlite3.DatabaseError("it has no meta table")
        except sqlite3.DatabaseError as exc:
            raise OsmIndexError(f"{self.path} is not a geosleuth OSM index: {exc}") from None
        self._bounds: Box | None = None
        self._lock = threading.Lock()
        version = self.meta("schema_version")
        if version is not None and version != SCHEMA_VERSION:
            self.conn.close()
            raise OsmIndexError(
                f"the OSM index at {self.path} has layout {version}, this version reads {SCHEMA_VERSION}: "
                "import the extract again with --replace"
            )
        if not create and self.meta("complete") != "1":
            raise OsmIndexError(
                f"the OSM index at {self.path} is incomplete (an import was interrupted): "
                "run the import again to finish it"
            )

    @property
    def location(self) -> str:
        return str(self.path)

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------ import
    @classmethod
    def import_extract(
        cls,
        extract: str | os.PathLike[str],
        db: str | os.PathLike[str],
        *,
        batch: int = DEFAULT_BATCH,
        progress: bool = True,
        replace: bool = False,
        stop_after: int | None = None,
    ) -> SqliteIndex:
        """Import ``extract`` (.osm.pbf, .osm, .osm.bz2, ...) into the SQLite file ``db``.

        Resumes an interrupted import of the same file; refuses to mix two extracts in
        one file unless ``replace``. ``stop_after`` stops after that many objects as a kill
        would (for tests of resuming).
        """
        source = Path(extract)
        if not source.is_file():
            raise OsmIndexError(f"no extract at {source}")
        target = Path(db)
        if replace and target.exists():
            target.unlink()
        index = cls(target, create=True)
        conn = index.conn
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        ident = _source_id(source)
        previous = index.meta("source")
        if previous is not None and previous != ident:
            index.close()
            raise OsmIndexError(f"{target} holds another extract ({previous}); use --replace or another --db")
        if index.meta("complete") == "1":
            return index
        if previous is None:
            index._set_meta("schema_version", SCHEMA_VERSION)
            index._set_meta("source", ident)
            index._set_meta("position", "0")
            index._set_meta("started", str(time.time()))
            conn.commit()
        done = int(index.meta("position") or 0)
        position = 0
        pending: list[tuple[Any, ...]] = []
        bar = _progress(progress, f"importing {source.name}")
        bar.update(done)
        try:
            for item in _elements(source):
                position += 1
                if position <= done:
                    continue
                bar.update(1)
                if item is not None:
                    pending.append(index._record(*item))
                if stop_after is not None and position - done >= stop_after:
                    conn.rollback()  # as a kill would: what was not committed is lost
                    raise ImportInterrupted(f"stopped after {position} objects")
                if len(pending) >= batch:
                    index._write(pending)
                    index._set_meta("position", str(position))
                    conn.commit()
                    pending = []
        except ImportInterrupted:
            bar.close()
            index.close()
            raise
        except (RuntimeError, ValueError, OSError) as exc:  # libosmium: unreadable or truncated file
            bar.close()
            conn.rollback()
            index.close()
            raise OsmIndexError(f"could not read {source}: {exc}") from None
        bar.close()
        index._write(pending)
        index._set_meta("position", str(position))
        conn.executescript(INDEXES)
        extent = conn.execute(
            "SELECT min(min_lat), min(min_lon), max(max_lat), max(max_lon) FROM features_rtree"
        ).fetchone()
        bounds = _header_box(source) or (tuple(extent) if extent and extent[0] is not None else None)
        index._set_meta("bounds", json.dumps(bounds))
        index._set_meta("finished", str(time.time()))
        index._set_meta("complete", "1")
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("ANALYZE")
        return index

    def _record(self, osm_type: str, osm_id: int, tags: dict[str, str], shape: Any) -> tuple[Any, ...]:
        """One row: a node's shape comes as (lon, lat) and is written as WKB directly."""
        if isinstance(shape, tuple):
            lon, lat = shape
            wkb, bounds = struct.pack("<BIdd", 1, 1, lon, lat), (lon, lat, lon, lat)
        else:
            wkb, bounds = shapely.to_wkb(shape), shape.bounds
        return (
            _TYPE_CODE[osm_type],
            int(osm_id),
            tags.get("name"),
            glued_names(tags) or None,
            _kinds(tags),
            json.dumps(tags, ensure_ascii=False, separators=(",", ":")),
            wkb,
            bounds,
        )

    def _write(self, records: list[tuple[Any, ...]]) -> None:
        """Insert rows and their R*Tree boxes (fids assigned here, so both go in as batches)."""
        if not records:
            return
        start = self.conn.execute("SELECT coalesce(max(fid), 0) + 1 FROM features").fetchone()[0]
        self.conn.executemany(
            "INSERT OR REPLACE INTO features (fid, osm_type, osm_id, name, names_glued, kinds, tags, geom) "
            "VALUES (?,?,?,?,?,?,?,?)",
            [(start + i, *record[:-1]) for i, record in enumerate(records)],
        )
        self.conn.executemany(
            "INSERT OR REPLACE INTO features_rtree VALUES (?,?,?,?,?)",
            [(start + i, r[-1][0], r[-1][2], r[-1][1], r[-1][3]) for i, r in enumerate(records)],
        )

    # ------------------------------------------------------------ queries
    def bounds(self) -> Box | None:
        if self._bounds is None:
            raw = self.meta("bounds")
            value = json.loads(raw) if raw else None
            self._bounds = tuple(value) if value else None  # type: ignore[assignment]
        return self._bounds

    def rows(self, boxes: list[Box], prefilter: Prefilter) -> Iterable[Row]:
        where = ["r.min_lon <= ?", "r.max_lon >= ?", "r.min_lat <= ?", "r.max_lat >= ?"]
        params: list[Any] = []
        types = [_TYPE_CODE[t] for t in prefilter.types if t in _TYPE_CODE]
        if len(types) < 3:
            where.append(f"f.osm_type IN ({','.join('?' * len(types))})")
            params += types
        for key, value in prefilter.tags.items():
            values = value if isinstance(value, list) else None if value is None else [value]
            if key in FEATURE_KEYS:
                if values is None:
                    where.append("instr(f.kinds, ?) > 0")
                    params.append(f"{_SEP}{key}{_EQ}")
                else:
                    where.append("(" + " OR ".join(["instr(f.kinds, ?) > 0"] * len(values)) + ")")
                    params += [f"{_SEP}{key}{_EQ}{value}{_SEP}" for value in values]
            elif values is None:
                where.append("EXISTS (SELECT 1 FROM json_each(f.tags) j WHERE j.key = ?)")
                params.append(key)
            else:
                marks = ",".join("?" * len(values))
                where.append(f"EXISTS (SELECT 1 FROM json_each(f.tags) j WHERE j.key = ? AND j.value IN ({marks}))")
                params += [key, *values]
        if prefilter.name is not None:
            where.append("f.name = ?")
            params.append(prefilter.name)
        if prefilter.name_glued:
            where.append("instr(f.names_glued, ?) > 0")
            params.append(prefilter.name_glued)
        elif prefilter.named:
            where.append("f.names_glued IS NOT NULL")
        # CROSS JOIN keeps the R*Tree as the outer loop: SQLite would otherwise start from
        # the tag list and probe the tree once per tagged element (30x slower on 1M nodes)
        sql = (
            "SELECT f.osm_type, f.osm_id, f.tags, f.geom FROM features_rtree r CROSS JOIN features f "
            f"ON f.fid = r.fid WHERE {' AND '.join(where)}"
        )
        for south, west, north, east in boxes:
            with self._lock:  # one connection shared by the runs of a process (their threads)
                found = self.conn.execute(sql, [east, west, north, south, *params]).fetchall()
            for code, osm_id, tags, geom in found:
                yield Row(_CODE_TYPE[code], int(osm_id), json.loads(tags), shapely.from_wkb(geom))

    def stats(self) -> dict[str, Any]:
        counts = dict(self.conn.execute("SELECT osm_type, count(*) FROM features GROUP BY osm_type").fetchall())
        return {
            "backend": self.backend,
            "location": self.location,
            "nodes": counts.get("n", 0),
            "ways": counts.get("w", 0),
            "relations": counts.get("r", 0),
            "named": self.conn.execute("SELECT count(*) FROM features WHERE names_glued IS NOT NULL").fetchone()[0],
            "bytes": self.path.stat().st_size,
            "bounds": self.bounds(),
        }
