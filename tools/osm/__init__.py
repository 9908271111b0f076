"""OpenStreetMap through Overpass: structured queries, guarded and escaped; a client that
rides the run's cached, paced, retrying net client; the operations investigators need
(find, find-near, verify a name near a candidate); and the LangChain tools over them.

Module map: ``ql`` (the escaping function, the QL tokenizer), ``query`` (FeatureQuery,
limits and area guards, compilation), ``raw`` (raw-QL validation), ``names`` (tolerant
name matching, server and client side), ``areas`` (place names -> bboxes, offline),
``client`` (POST + parse, remark handling), ``features`` (OsmFeature, shapes, GeoJSON),
``ops`` (find/proximity/verify/combo -> evidence, from the local index when one covers
the area, else Overpass), ``combo`` (feature combinations), ``local`` (the local index:
SQLite R*Tree or PostGIS), ``tools`` (osm_search, osm_proximity, osm_verify, osm_combo).
"""

from .areas import area_resolver, resolve_area_name
from .client import DEFAULT_OVERPASS_URL, OverpassAnswer, OverpassClient, OverpassRuntimeError, parse_overpass
from .combo import Combo, ComboResult, compile_combo, find_combos
from .features import OsmFeature
from .names import fold_name, match_quality, name_key, tolerant_name_regex
from .ops import OsmMatch, OsmOps, OsmResult, to_geojson
from .ql import OsmQueryError, QLToken, ql_string, query_shape, regex_escape, tokenize_ql
from .query import (
    DEFAULT_LIMITS,
    Around,
    BBox,
    CompiledQuery,
    FeatureQuery,
    QueryLimits,
    ResolvedArea,
    compile_name_search,
    compile_proximity,
    compile_query,
)
from .raw import validate_raw_ql
from .tools import (
    OsmComboArgs,
    OsmComboTool,
    OsmProximityArgs,
    OsmProximityTool,
    OsmSearchArgs,
    OsmSearchTool,
    OsmVerifyArgs,
    OsmVerifyTool,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_OVERPASS_URL",
    "Around",
    "BBox",
    "Combo",
    "ComboResult",
    "CompiledQuery",
    "FeatureQuery",
    "OsmComboArgs",
    "OsmComboTool",
    "OsmFeature",
    "OsmMatch",
    "OsmOps",
    "OsmProximityArgs",
    "OsmProximityTool",
    "OsmQueryError",
    "OsmResult",
    "OsmSearchArgs",
    "OsmSearchTool",
    "OsmVerifyArgs",
    "OsmVerifyTool",
    "OverpassAnswer",
    "OverpassClient",
    "OverpassRuntimeError",
    "QLToken",
    "QueryLimits",
    "ResolvedArea",
    "area_resolver",
    "compile_combo",
    "compile_name_search",
    "compile_proximity",
    "compile_query",
    "find_combos",
    "fold_name",
    "match_quality",
    "name_key",
    "parse_overpass",
    "ql_string",
    "query_shape",
    "regex_escape",
    "resolve_area_name",
    "to_geojson",
    "tokenize_ql",
    "tolerant_name_regex",
    "validate_raw_ql",
]
