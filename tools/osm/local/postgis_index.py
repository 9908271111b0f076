"""The large-scale local index: PostGIS, loaded by Debian's ``osm2pgsql``.

``osm2pgsql`` reads the extract with a flex style generated from :mod:`.selection` (so it
keeps exactly what the SQLite store keeps) into one table with a GiST index on the
shape; a GIN index on the tags and a small ``<table>_meta`` table are added afterwards.
Queries go through psycopg; exact filtering is shared with the SQLite store
(:mod:`.store`), so both give the same answers.

The DSN is a libpq URI; a ``table`` parameter (``postgresql://…/osm?table=europe``)
chooses the table, so one database can hold several extracts. The password reaches
``osm2pgsql`` through its environment, never its command line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import shapely

from .selection import NAME_TAGS, osm2pgsql_style
from .sqlite_index import OsmIndexError, _header_box, _source_id
from .store import Box, LocalIndex, Prefilter, Row

DEFAULT_TABLE = "geosleuth_osm"
_CODE_TYPE = {"N": "node", "W": "way", "R": "relation"}
_TYPE_CODE = {v: k for k, v in _CODE_TYPE.items()}
_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
#: Extracts larger than this are imported in slim mode (node locations on disk, not in memory).
SLIM_BYTES = 1_000_000_000
#: Boxes smaller than this (square degrees, ~10 x 10 km) are searched through the spatial index only.
SMALL_BOX_DEG2 = 0.01


def split_dsn(dsn: str) -> tuple[str, str]:
    """(libpq DSN, table name) from a DSN that may carry ``?table=NAME``."""
    parts = urlsplit(dsn)
    query = parse_qsl(parts.query, keep_blank_values=True)
    table = next((v for k, v in query if k == "table"), DEFAULT_TABLE)
    if not _TABLE_NAME.match(table):
        raise OsmIndexError(f"table name {table!r}: use lower-case letters, digits and _ (at most 41)")
    rest = urlencode([(k, v) for k, v in query if k != "table"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment)), table


def redact(dsn: str) -> str:
    """The DSN without its password, for messages and traces."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _connect(dsn: str) -> Any:
    try:
        import psycopg
    except ImportError:
        raise OsmIndexError("a PostGIS index needs psycopg: pip install 'geosleuth[postgis]'") from None
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise OsmIndexError(f"cannot connect to {redact(dsn)}: {str(exc).strip().splitlines()[0]}") from None


class PostgisIndex(LocalIndex):
    """A local OSM index in PostGIS tables written by osm2pgsql."""

    backend = "postgis"

    def __init__(self, dsn: str, *, require_complete: bool = True) -> None:
        self.dsn, self.table = split_dsn(dsn)
        self._display = redact(dsn)
        self.conn = _connect(self.dsn)
        self._bounds: Box | None = None
        if require_complete and self.meta("complete") != "1":
            self.conn.close()
            raise OsmIndexError(f"no complete OSM index in table {self.table} at {self._display} (run osm import)")

    @property
    def location(self) -> str:
        return self._display

    def meta(self, key: str) -> str | None:
        import psycopg

        try:
            row = self.conn.execute(f"SELECT value FROM {self.table}_meta WHERE key = %s", (key,)).fetchone()
        except psycopg.errors.UndefinedTable:
            return None
        return None if row is None else str(row[0])

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------ import
    @classmethod
    def import_extract(
        cls, extract: str | os.PathLike[str], dsn: str, *, progress: bool = True, replace: bool = True
    ) -> PostgisIndex:
        """Load ``extract`` with osm2pgsql (``--create``: the table is rebuilt), then index the tags."""
        source = Path(extract)
        if not source.is_file():
            raise OsmIndexError(f"no extract at {source}")
        binary = shutil.which("osm2pgsql")
        if binary is None:
            raise OsmIndexError("osm2pgsql is not installed (Debian: apt-get install osm2pgsql)")
        libpq, table = split_dsn(dsn)
        conn = _connect(libpq)
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            conn.execute(f"DROP TABLE IF EXISTS {table}_meta")
        finally:
            conn.close()
        env = {**os.environ, **_libpq_env(libpq)}
        with tempfile.TemporaryDirectory(prefix="geosleuth-osm2pgsql-") as tmp:
            style = Path(tmp) / "geosleuth.lua"
            style.write_text(osm2pgsql_style(table), encoding="utf-8")
            command = [
                binary,
                "--create",
                "--output=flex",
                f"--style={style}",
                f"--number-processes={max(1, os.cpu_count() or 1)}",
                "--log-progress=" + ("true" if progress else "false"),
            ]
            if source.stat().st_size > SLIM_BYTES:
                command += ["--slim", "--drop", f"--flat-nodes={Path(tmp) / 'nodes.bin'}"]
            command.append(str(source))
            started = time.time()
            done = subprocess.run(command, env=env, capture_output=not progress, text=True, check=False)
            if done.returncode != 0:
                tail = (done.stderr or "").strip().splitlines()[-3:] if not progress else []
                raise OsmIndexError(f"osm2pgsql failed (exit {done.returncode}): {' / '.join(tail)}")
        conn = _connect(libpq)
        try:
            conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_tags ON {table} USING gin (tags jsonb_path_ops)")
            conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_name ON {table} ((tags->>'name'))")
            conn.execute(f"ANALYZE {table}")
            extent = conn.execute(
                f"SELECT min(ST_YMin(geom)), min(ST_XMin(geom)), max(ST_YMax(geom)), max(ST_XMax(geom)) FROM {table}"
            ).fetchone()
            bounds = _header_box(source) or (tuple(extent) if extent and extent[0] is not None else None)
            conn.execute(f"CREATE TABLE {table}_meta (key text PRIMARY KEY, value text NOT NULL)")
            values = {
                "source": _source_id(source),
                "bounds": json.dumps(bounds),
                "started": str(started),
                "finished": str(time.time()),
                "complete": "1",
            }
            for key, value in values.items():
                conn.execute(f"INSERT INTO {table}_meta (key, value) VALUES (%s, %s)", (key, value))
        finally:
            conn.close()
        return cls(dsn)

    # ------------------------------------------------------------ queries
    def bounds(self) -> Box | None:
        if self._bounds is None:
            raw = self.meta("bounds")
            value = json.loads(raw) if raw else None
            self._bounds = tuple(value) if value else None  # type: ignore[assignment]
        return self._bounds

    def rows(self, boxes: list[Box], prefilter: Prefilter) -> Iterable[Row]:
        for south, west, north, east in boxes:
            # a small box is best found through the spatial index alone; in a large one the
            # tag index (GIN, used by @> only) finds rare tags faster
            small = (north - south) * (east - west) < SMALL_BOX_DEG2
            sql, params = self._select(prefilter, tag_index=not small)
            for code, osm_id, tags, geom in self.conn.execute(sql, [west, south, east, north, *params]):
                osm_type = _CODE_TYPE[code]
                tags = {str(k): str(v) for k, v in tags.items()}
                if osm_type == "relation":
                    tags.pop("type", None)  # as libosmium's areas in the SQLite store
                yield Row(osm_type, int(osm_id), tags, shapely.from_wkb(bytes(geom)))

    def _select(self, prefilter: Prefilter, *, tag_index: bool) -> tuple[str, list[Any]]:
        where = ["geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"]
        params: list[Any] = []
        types = [_TYPE_CODE[t] for t in prefilter.types if t in _TYPE_CODE]
        if len(types) < 3:
            where.append("osm_type = ANY(%s)")
            params.append(types)
        for key, value in prefilter.tags.items():
            if value is None:
                where.append("tags ? %s")
                params.append(key)
                continue
            values = value if isinstance(value, list) else [value]
            if tag_index:
                where.append("(" + " OR ".join(["tags @> %s::jsonb"] * len(values)) + ")")
                params += [json.dumps({key: v}) for v in values]
            else:
                where.append("(tags->>%s) = ANY(%s)")
                params += [key, values]
        if prefilter.name is not None:
            where.append("tags->>'name' = %s")
            params.append(prefilter.name)
        elif prefilter.named and prefilter.name_glued is None:
            where.append("tags ?| %s")
            params.append(list(NAME_TAGS))
        sql = (
            f"SELECT osm_type, osm_id, tags, ST_AsBinary(geom) FROM {self.table} "
            f"WHERE geom IS NOT NULL AND {' AND '.join(where)}"
        )
        return sql, params

    def stats(self) -> dict[str, Any]:
        counts = dict(
            self.conn.execute(
                f"SELECT osm_type, count(*) FROM {self.table} WHERE geom IS NOT NULL GROUP BY osm_type"
            ).fetchall()
        )
        size = self.conn.execute(f"SELECT pg_total_relation_size('{self.table}')").fetchone()[0]
        return {
            "backend": self.backend,
            "location": self.location,
            "table": self.table,
            "nodes": counts.get("N", 0),
            "ways": counts.get("W", 0),
            "relations": counts.get("R", 0),
            "bytes": int(size),
            "bounds": self.bounds(),
        }


def _libpq_env(dsn: str) -> dict[str, str]:
    """PG* environment variables for a DSN (what osm2pgsql's libpq reads)."""
    from psycopg.conninfo import conninfo_to_dict

    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD", "dbname": "PGDATABASE"}
    info = conninfo_to_dict(dsn)
    return {names[k]: str(v) for k, v in info.items() if k in names and v is not None}
