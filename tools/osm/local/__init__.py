"""Local OpenStreetMap indexes: an extract imported once, queried without the network.

``sqlite_index`` (the embedded default: one file, an R*Tree), ``postgis_index`` (osm2pgsql
into PostGIS, for a continent or the planet), ``store`` (the interface both offer and the
exact filtering they share), ``selection`` (which elements are kept), ``open`` (a store
from a path or a DSN).
"""

from .open import import_extract, open_index
from .sqlite_index import ImportInterrupted, OsmIndexError, SqliteIndex
from .store import LocalIndex, feature_distance_m, features_in, named_near, near_any

__all__ = [
    "ImportInterrupted",
    "LocalIndex",
    "OsmIndexError",
    "SqliteIndex",
    "feature_distance_m",
    "features_in",
    "import_extract",
    "named_near",
    "near_any",
    "open_index",
]
