"""tools.osm: query building and escaping, guards, raw QL, and the three tools end to end
against a real local HTTP server playing Overpass answers in their real JSON format."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import shapely
from netserver import Reply, ScriptedServer, closed_port
from pydantic import ValidationError
from shapely.geometry import LineString, Point, Polygon, shape

from tools.base import SharedResources, ToolContext, call_tool
from tools.images import ImageRegistry
from tools.osm import (
    Around,
    FeatureQuery,
    OsmFeature,
    OsmOps,
    OsmProximityTool,
    OsmQueryError,
    OsmSearchTool,
    OsmVerifyTool,
    QueryLimits,
    compile_name_search,
    compile_proximity,
    compile_query,
    match_quality,
    name_key,
    parse_overpass,
    ql_string,
    query_shape,
    to_geojson,
    tokenize_ql,
    tolerant_name_regex,
    validate_raw_ql,
)
from tools.osm.areas import area_resolver
from tools.osm.ql import ERE_METACHARACTERS

PATH = "/api/interpreter"
FAST = {"net_backoff_s": 0.01, "net_min_interval_s": 0.0, "net_retries": 2, "osm_http_timeout_s": 2.0}
LISBON_BOX = [38.70, -9.15, 38.72, -9.13]
CANDIDATE = (38.7100, -9.1385)


# ---------------------------------------------------------------------- Overpass answers


def overpass(elements: list[dict[str, Any]], remark: str | None = None) -> dict[str, Any]:
    """An Overpass API JSON answer, as the server writes it."""
    answer: dict[str, Any] = {
        "version": 0.6,
        "generator": "Overpass API 0.7.62.1 084b4234",
        "osm3s": {
            "timestamp_osm_base": "2024-05-01T10:00:00Z",
            "copyright": "The data included in this document is from www.openstreetmap.org. "
            "The data is made available under ODbL.",
        },
        "elements": elements,
    }
    if remark is not None:
        answer["remark"] = remark
    return answer


CAFE = {
    "type": "node",
    "id": 1001,
    "lat": 38.7106,
    "lon": -9.1425,
    "tags": {"amenity": "cafe", "name": "A Brasileira", "cuisine": "coffee_shop"},
}
CAFE_WAY = {
    "type": "way",
    "id": 2002,
    "center": {"lat": 38.7112, "lon": -9.1401},
    "nodes": [1, 2, 3, 4, 1],
    "tags": {"amenity": "cafe", "building": "yes", "name": "Café Nicola"},
}
RUA_AUGUSTA = {  # a street running north-south, east of the candidate by ~40 m
    "type": "way",
    "id": 3003,
    "bounds": {"minlat": 38.7080, "minlon": -9.1381, "maxlat": 38.7140, "maxlon": -9.1381},
    "nodes": [11, 12, 13],
    "geometry": [{"lat": 38.7080, "lon": -9.1381}, {"lat": 38.7110, "lon": -9.1381}, {"lat": 38.7140, "lon": -9.1381}],
    "tags": {"highway": "pedestrian", "name": "Rua Augusta"},
}
BUILDING = {  # a closed way tagged as a building: a polygon
    "type": "way",
    "id": 4004,
    "nodes": [21, 22, 23, 24, 21],
    "geometry": [
        {"lat": 38.7101, "lon": -9.1390},
        {"lat": 38.7101, "lon": -9.1386},
        {"lat": 38.7104, "lon": -9.1386},
        {"lat": 38.7104, "lon": -9.1390},
        {"lat": 38.7101, "lon": -9.1390},
    ],
    "tags": {"building": "retail", "shop": "bakery", "name": "Confeitaria Augusta"},
}
SQUARE = {  # a multipolygon relation with a hole
    "type": "relation",
    "id": 5005,
    "bounds": {"minlat": 38.7070, "minlon": -9.1370, "maxlat": 38.7080, "maxlon": -9.1360},
    "members": [
        {
            "type": "way",
            "ref": 51,
            "role": "outer",
            "geometry": [
                {"lat": 38.7070, "lon": -9.1370},
                {"lat": 38.7070, "lon": -9.1360},
                {"lat": 38.7080, "lon": -9.1360},
            ],
        },
        {
            "type": "way",
            "ref": 52,
            "role": "outer",
            "geometry": [
                {"lat": 38.7080, "lon": -9.1360},
                {"lat": 38.7080, "lon": -9.1370},
                None,
                {"lat": 38.7070, "lon": -9.1370},
            ],
        },
        {
            "type": "way",
            "ref": 53,
            "role": "inner",
            "geometry": [
                {"lat": 38.7073, "lon": -9.1367},
                {"lat": 38.7073, "lon": -9.1363},
                {"lat": 38.7077, "lon": -9.1363},
                {"lat": 38.7077, "lon": -9.1367},
                {"lat": 38.7073, "lon": -9.1367},
            ],
        },
    ],
    "tags": {"type": "multipolygon", "place": "square", "name": "Praça do Comércio"},
}
UNRELATED = {  # the server's loose regex may return it; it must not count as a match for "Rua Augusta"
    "type": "way",
    "id": 6006,
    "geometry": [{"lat": 38.7090, "lon": -9.1380}, {"lat": 38.7091, "lon": -9.1379}],
    "tags": {"highway": "residential", "name": "Rua Augustinho"},
}


# ---------------------------------------------------------------------- fixtures


@pytest.fixture
def server():
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def resources(gazetteer) -> SharedResources:
    """Shared resources holding the session's gazetteer (its arrays are cached across test
    runs; a context's own cache_dir is a fresh tmp_path, where they would be rebuilt)."""
    shared = SharedResources()
    shared.get("gazetteer", lambda: gazetteer)
    return shared


def context(
    tmp_path, resources: SharedResources | None = None, *, offline: bool = False, **settings: Any
) -> ToolContext:
    return ToolContext(
        images=ImageRegistry(),
        resources=resources or SharedResources(),
        cache_dir=tmp_path,
        offline=offline,
        settings={**FAST, **settings},
    )


def tool_for(cls, tmp_path, server: ScriptedServer, **settings: Any):
    return cls(ctx=context(tmp_path, overpass_url=server.url(PATH), **settings))


def sent_ql(server: ScriptedServer, index: int = 0) -> str:
    request = server.requests[index]
    assert request.method == "POST" and request.path == PATH
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    (ql,) = request.form()["data"]
    return ql


# ---------------------------------------------------------------------- escaping: the proof

HOSTILE = [
    'x"]; out; node["a',
    "x'] ; (node; ); out;",
    'back\\slash\\" and quote"',
    "new\nline\n[out:xml];",
    "tab\tand\rcarriage\x00nul\x1bescape\x7f",
    '");(node(1,2,3,4);>;);out body;//',
    "[out:xml][timeout:9999][maxsize:99999999999];",
    "out; node; way; relation; area; is_in; foreach",
    ")->.a; .a out; (",
    "/* comment */ // other",
    "\\u0022; \\n; \\\\",
    "regex .*+?^$|()[]{} \\d",
    "Caf\u00e9 \u201cquoted\u201d \u2028sep \U0001f600 lone\ud800surrogate",
]


def clean(value: str) -> str:
    """What a literal can carry: control characters other than newline and tab dropped."""
    return "".join(
        c for c in value if c in "\n\t" or not (ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF)
    )


def unescaped_metacharacters(pattern: str) -> list[str]:
    """Regex metacharacters in a POSIX ERE that are not escaped by a backslash."""
    found, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\":
            assert i + 1 < len(pattern) and pattern[i + 1] in ERE_METACHARACTERS, f"stray backslash in {pattern!r}"
            i += 2
            continue
        if pattern[i] in ERE_METACHARACTERS:
            found.append(pattern[i])
        i += 1
    return found


@pytest.mark.parametrize("value", HOSTILE)
def test_a_literal_is_one_string_token_that_decodes_to_the_value(value):
    literal = ql_string(value)
    assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in literal)  # newlines and tabs are escaped too
    tokens = tokenize_ql(literal)
    assert [t.kind for t in tokens] == ["string"]
    assert tokens[0].value == clean(value)

    (regex,) = tokenize_ql(ql_string(value, regex=True))
    assert regex.kind == "string"
    assert unescaped_metacharacters(regex.value) == []
    assert re.fullmatch(regex.value, clean(value), re.DOTALL)  # the pattern means the text itself


def benign_query(tag_value: str = "x", key: str = "k", **kw: Any) -> FeatureQuery:
    return FeatureQuery(tags={key: tag_value, "shop": [tag_value, "bakery"], "x": None}, bbox=LISBON_BOX, **kw)


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("field", ["name", "name_pattern"])
def test_hostile_values_cannot_change_the_structure_of_a_query(value, field):
    benign = compile_query(benign_query(**{field: "x"})).ql
    hostile = compile_query(benign_query(value, key=value, **{field: value})).ql

    # same tokens outside string literals: same statements, filters, area, settings and output
    assert query_shape(hostile) == query_shape(benign)
    semicolons = [t for t in tokenize_ql(hostile) if t.text == ";"]
    assert len(semicolons) == 6  # header; three statements in the union; the union; out
    # and the literals decode to exactly the values given
    strings = [t.value for t in tokenize_ql(hostile) if t.kind == "string"]
    assert strings[:3] == [clean(value), clean(value), "shop"]
    assert re.fullmatch(strings[3], clean(value), re.DOTALL) and re.fullmatch(strings[3], "bakery")
    assert strings[4] == "x" and strings[5] == "name"
    if field == "name":
        assert strings[6] == clean(value)
    else:
        assert unescaped_metacharacters(strings[6]) == [] and re.search(strings[6], f"[{clean(value)}]", re.DOTALL)
    # the header is the only settings statement and asks for JSON
    words = [t.text for t in tokenize_ql(hostile) if t.kind != "string"]
    assert words.count("out") == 2 and "xml" not in words and words[:4] == ["[", "out", ":", "json"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_in_proximity_and_verify_queries(value):
    a_benign = FeatureQuery(tags={"amenity": "x"}, name_pattern="x")
    b_benign = FeatureQuery(tags={"railway": "x"}, name="x", bbox=LISBON_BOX)
    a_hostile = FeatureQuery(tags={"amenity": value}, name_pattern=value)
    b_hostile = FeatureQuery(tags={"railway": value}, name=value, bbox=LISBON_BOX)
    assert query_shape(compile_proximity(a_hostile, b_hostile, 100).ql) == query_shape(
        compile_proximity(a_benign, b_benign, 100).ql
    )

    around = Around(lat=38.71, lon=-9.14, radius_m=500)
    try:
        pattern = tolerant_name_regex(value)
    except OsmQueryError:
        return  # nothing searchable in it (only punctuation): refused, nothing sent
    verify = compile_name_search(around, pattern)
    assert query_shape(verify.ql) == query_shape(compile_name_search(around, tolerant_name_regex("x")).ql)


def test_name_pattern_is_matched_literally_and_case_insensitively():
    ql = compile_query(FeatureQuery(name_pattern="St. Mary's (old) [1]", bbox=LISBON_BOX)).ql
    assert '["name"~"St\\\\. Mary\\\'s \\\\(old\\\\) \\\\[1\\\\]",i]' in ql
    pattern = [t.value for t in tokenize_ql(ql) if t.kind == "string"][1]
    assert pattern == r"St\. Mary's \(old\) \[1\]"
    assert re.search(pattern, "Church of St. Mary's (old) [1]")
    assert not re.search(pattern, "Stx Mary's old 1")


def test_tolerant_name_regex_forgives_case_diacritics_and_punctuation():
    pattern = tolerant_name_regex("MUNCHENER STRASSE")
    for name in ("Münchener Straße", "Munchener Strasse", "münchener-strasse", "MÜNCHENER STRASSE"):
        assert re.search(pattern, name, re.IGNORECASE), name
    assert not re.search(pattern, "Berliner Straße", re.IGNORECASE)
    assert re.search(tolerant_name_regex("Pho Hue"), "Phố Huế")
    with pytest.raises(OsmQueryError, match="no letters"):
        tolerant_name_regex('"); (')


def test_compiled_query_has_header_union_area_and_limit():
    query = FeatureQuery(
        tags={"amenity": "cafe"}, types=["node", "way"], around=Around(lat=38.71, lon=-9.14, radius_m=800)
    )
    ql = compile_query(query, QueryLimits(timeout_s=20, maxsize_bytes=1_000_000, default_limit=30)).ql
    assert ql == (
        "[out:json][timeout:20][maxsize:1000000];\n"
        "(\n"
        '  node["amenity"="cafe"](around:800,38.71,-9.14);\n'
        '  way["amenity"="cafe"](around:800,38.71,-9.14);\n'
        ");\n"
        "out center 30;\n"
    )
    geom = compile_query(query.model_copy(update={"geometry": True, "limit": 9999})).ql
    assert geom.endswith("out geom 500;\n")  # the limit is capped at max_results


# ---------------------------------------------------------------------- guards


def test_area_guards_refuse_large_areas_and_are_configurable():
    huge = FeatureQuery(tags={"amenity": "cafe"}, bbox=[30.0, -10.0, 40.0, 0.0])
    with pytest.raises(OsmQueryError, match=r"km² is over the 50,000 km² limit"):
        compile_query(huge)
    wide = FeatureQuery(tags={"amenity": "cafe"}, around={"lat": 38.7, "lon": -9.1, "radius_m": 60_000})
    with pytest.raises(OsmQueryError, match="radius 60,000 m is over the 50,000 m limit"):
        compile_query(wide)
    relaxed = QueryLimits.from_settings({"osm_max_area_km2": 2_000_000, "osm_max_radius_m": 100_000})
    assert "(30,-10,40,0)" in compile_query(huge, relaxed).ql
    assert "around:60000," in compile_query(wide, relaxed).ql
    with pytest.raises(OsmQueryError, match="within_m"):
        compile_proximity(FeatureQuery(tags={"a": "b"}), FeatureQuery(tags={"c": "d"}, bbox=LISBON_BOX), 50_000)
    with pytest.raises(OsmQueryError, match="needs an area"):
        compile_query(FeatureQuery(tags={"amenity": "cafe"}))
    with pytest.raises(OsmQueryError, match="osm_timeout_s"):
        QueryLimits.from_settings({"osm_timeout_s": "soon"})
    # an area crossing the antimeridian is measured the short way round
    fiji = FeatureQuery(tags={"amenity": "cafe"}, bbox=[-18.2, 179.9, -18.0, -179.9])
    assert "(-18.2,179.9,-18,-179.9)" in compile_query(fiji).ql


def test_query_model_rejects_unusable_input():
    with pytest.raises(ValidationError, match="at least one tag"):
        FeatureQuery(bbox=LISBON_BOX)
    with pytest.raises(ValidationError, match="either name or name_pattern"):
        FeatureQuery(name="a", name_pattern="b", bbox=LISBON_BOX)
    with pytest.raises(ValidationError, match="one area"):
        FeatureQuery(name="a", bbox=LISBON_BOX, area_name="Lisbon")
    with pytest.raises(ValidationError, match="255"):
        FeatureQuery(name="a" * 256, bbox=LISBON_BOX)
    with pytest.raises(ValidationError, match="south must be below north"):
        FeatureQuery(name="a", bbox=[38.8, -9.2, 38.7, -9.1])
    with pytest.raises(ValidationError, match="must not be empty"):
        FeatureQuery(tags={"\x00": "x"}, bbox=LISBON_BOX)


def test_area_name_is_resolved_offline_to_a_bbox(tmp_path, resources):
    resolve = area_resolver(context(tmp_path, resources))
    compiled = compile_query(FeatureQuery(tags={"amenity": "cafe"}, area_name="Lisbon"), resolve_area=resolve)
    assert "Lisbon" not in compiled.ql and "area" not in [t.text for t in tokenize_ql(compiled.ql)]
    assert compiled.area is not None and compiled.area.resolved is not None
    assert compiled.area.resolved.country_code == "PT"
    south, west, north, east = (float(x) for x in re.search(r"\(([-\d.,]+)\);", compiled.ql).group(1).split(","))
    assert south < 38.72 < north and west < -9.14 < east and 100 < compiled.area.area_km2 < 2_000

    us = resolve("Lisbon, US")
    assert us.country_code == "US"
    with pytest.raises(OsmQueryError, match="no place named"):
        resolve("Xqzzyville")
    with pytest.raises(OsmQueryError, match="area_name needs the offline gazetteer"):
        compile_query(FeatureQuery(tags={"amenity": "cafe"}, area_name="Lisbon"))


# ---------------------------------------------------------------------- raw QL

RAW_ON = QueryLimits(allow_raw=True)


def test_raw_ql_is_off_unless_enabled():
    with pytest.raises(OsmQueryError, match="switched off"):
        validate_raw_ql('node["amenity"="cafe"](38.7,-9.15,38.72,-9.13);out;')
    assert QueryLimits.from_settings({"allow_raw": True}).allow_raw
    assert QueryLimits.from_settings({"osm_allow_raw": True}).allow_raw
    assert not QueryLimits.from_settings({"osm_allow_raw": "false"}).allow_raw


def test_raw_ql_is_rebuilt_under_the_guards():
    raw = (
        "/* cafés */ [out:json][timeout:900][maxsize:1073741824];\n"
        '(node["amenity"="cafe"](38.7,-9.15,38.72,-9.13); way(around:100,38.71,-9.14)["highway"];)->.a;\n'
        ".a out center 1000; // comment\n(._;>;);\nout;"
    )
    ql = validate_raw_ql(raw, RAW_ON).ql
    assert ql.startswith("[out:json][timeout:25][maxsize:67108864];\n")
    assert "comment" not in ql and "cafés" not in ql
    assert ".a out center 50;" in ql and ql.rstrip().endswith("out 50;")
    # with a lower timeout than ours, theirs is kept
    assert "[timeout:5]" in validate_raw_ql("[timeout:5];node(38.7,-9.15,38.72,-9.13);out;", RAW_ON).ql
    # no out statement: one is added
    assert validate_raw_ql("node(38.7,-9.15,38.72,-9.13)", RAW_ON).ql.endswith("out center 50;\n")
    # a subset of a bounded set is bounded
    chained = 'node(38.7,-9.15,38.72,-9.13)->.a;node.a["amenity"="cafe"]->.b;.b out;'
    assert validate_raw_ql(chained, RAW_ON).ql.endswith('node.a["amenity"="cafe"]->.b;\n.b out 50;\n')
    # a global bbox bounds every statement
    assert "[bbox:38.7,-9.15,38.72,-9.13]" in validate_raw_ql('[bbox:38.7,-9.15,38.72,-9.13];node["a"];out;', RAW_ON).ql


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("[out:xml];node(38.7,-9.15,38.72,-9.13);out;", "only json"),
        ("[out:csv(name)];node(38.7,-9.15,38.72,-9.13);out;", "only json"),
        ('[diff:"2024-01-01T00:00:00Z"];node(38.7,-9.15,38.72,-9.13);out;', "not allowed"),
        ('node["amenity"="cafe"];out;', "unbounded"),
        ('area["name"="Lisboa"]->.s;node(area.s);out;', "unbounded"),
        ("node(38.7,-9.15,38.72,-9.13);[out:xml];out;", "only allowed at the start"),
        ("node(around:90000,38.7,-9.1);out;", "over the 50,000 m limit"),
        ("node(-10,-10,10,10);out;", "km²"),
        ('node(poly:"38.7 -9.1 38.8 -9.1 38.8 -9.2");out;', "poly"),
        ("foreach(node(38.7,-9.15,38.72,-9.13););", "foreach"),
        ('(node(38.7,-9.15,38.72,-9.13);) node["amenity"="cafe"]; out;', "unexpected 'node'"),
        ("node(38.7,-9.15,38.72,-9.13);out;/* [out:xml]", "unterminated"),
        ('node["a"="b](38.7,-9.15,38.72,-9.13);out;', "unterminated"),
        ("node(38.7,-9.15,38.72,-9.13);out;" + " " * 5000, "characters"),
    ],
)
def test_raw_ql_refusals(raw, why):
    with pytest.raises(OsmQueryError, match=why):
        validate_raw_ql(raw, RAW_ON)


# ---------------------------------------------------------------------- parsing and geometry


def test_answer_parses_to_points_lines_polygons_and_multipolygons():
    features, skipped = parse_overpass(overpass([CAFE, CAFE_WAY, RUA_AUGUSTA, BUILDING, SQUARE]))
    assert skipped == 0
    by_id = {f.osm_id: f for f in features}
    assert [f.osm_id for f in features] == [1001, 2002, 3003, 4004, 5005]  # answer order
    assert isinstance(by_id[1001].geometry, Point) and by_id[1001].lat == pytest.approx(38.7106)
    assert isinstance(by_id[2002].geometry, Point) and (by_id[2002].lat, by_id[2002].lon) == (38.7112, -9.1401)
    assert isinstance(by_id[3003].geometry, LineString) and by_id[3003].lat == pytest.approx(38.7110)
    assert isinstance(by_id[4004].geometry, Polygon)
    square = by_id[5005].geometry
    assert square.geom_type == "Polygon" and len(square.interiors) == 1  # the null node was skipped
    assert square.contains(Point(by_id[5005].lon, by_id[5005].lat))
    assert by_id[3003].label() == "way 3003 'Rua Augusta' (highway=pedestrian)"
    assert by_id[3003].url == "https://www.openstreetmap.org/way/3003"
    # distance is to the nearest point of the street, not its middle
    assert by_id[3003].distance_km(38.7080 - 0.0, -9.1390) == pytest.approx(0.078, abs=0.005)
    # replayable: the JSON form rebuilds the same feature
    again = OsmFeature.from_dict(json.loads(json.dumps(by_id[5005].to_dict())))
    assert shapely.equals_exact(again.geometry, square, tolerance=1e-7) and again.tags == by_id[5005].tags


def test_positionless_elements_are_skipped_not_fatal():
    features, skipped = parse_overpass(overpass([CAFE, {"type": "way", "id": 9, "nodes": [1, 2], "tags": {}}]))
    assert [f.osm_id for f in features] == [1001] and skipped == 1


def test_geojson_output_parses_back_into_shapely():
    features, _ = parse_overpass(overpass([CAFE, RUA_AUGUSTA, BUILDING, SQUARE]))
    collection = json.loads(json.dumps(to_geojson(features)))
    assert collection["type"] == "FeatureCollection"
    shapes = [shape(item["geometry"]) for item in collection["features"]]
    assert [s.geom_type for s in shapes] == ["Point", "LineString", "Polygon", "Polygon"]
    assert all(s.is_valid for s in shapes)
    assert collection["features"][1]["properties"]["url"] == "https://www.openstreetmap.org/way/3003"
    assert collection["features"][1]["properties"]["tags"]["name"] == "Rua Augusta"


# ---------------------------------------------------------------------- name matching


@pytest.mark.parametrize(
    ("text", "name", "quality"),
    [
        ("RUA AUGUSTA", "Rua Augusta", 1.0),
        ("Munchener Strasse", "Münchener Straße", 1.0),
        ("Hauptstr.", "Hauptstraße", 0.9),
        ("Av. da Liberdade", "Avenida da Liberdade", 0.9),
        ("Augusta", "Rua Augusta", 0.8),
        ("Main St", "Main Street", 0.9),
        ("Augusta", "Rua Augusta Shopping", 0.6),
        ("Augusta", "Augustaplatz", 0.8),
        ("Augusta", "Augustaturm", 0.45),
        ("Rua Augusta", "Rua Augustinho", 0.0),
        ("中山路", "中山路", 1.0),
        ("中山", "中山路", 0.8),
    ],
)
def test_name_matching_tolerates_case_diacritics_and_street_words(text, name, quality):
    assert match_quality(text, name) == quality


def test_name_key_strips_the_street_word():
    assert name_key("Rua Augusta").core == "augusta"
    assert name_key("Hauptstraße").core == "haupt"
    assert name_key("Rua").core == "rua"  # a lone street word stays


# ---------------------------------------------------------------------- osm_search end to end


def test_search_sends_the_compiled_query_and_returns_evidence(tmp_path, server):
    server.route(PATH, Reply(200, overpass([CAFE, CAFE_WAY])))
    tool = tool_for(OsmSearchTool, tmp_path, server)
    args = {"tags": {"amenity": "cafe"}, "bbox": LISBON_BOX, "types": ["node", "way"]}
    obs = call_tool(tool, args)

    assert obs.ok, obs.error
    expected = compile_query(FeatureQuery.model_validate(args)).ql
    assert sent_ql(server) == expected == obs.data["query"]
    assert [e.kind for e in obs.evidence] == ["osm_feature", "osm_feature"]
    first = obs.evidence[0]
    assert first.value == "node 1001 'A Brasileira' (amenity=cafe)"
    assert first.provenance == "https://www.openstreetmap.org/node/1001"
    assert first.geo.lat == pytest.approx(38.7106) and first.geo.geometry == {
        "type": "Point",
        "coordinates": [-9.1425, 38.7106],
    }
    assert (
        first.details["osm_type"] == "node"
        and first.details["osm_id"] == 1001
        and first.details["tags"]["name"] == "A Brasileira"
    )
    assert first.source.tool == "osm_search" and first.source.arguments["tags"] == {"amenity": "cafe"}
    assert 0 < first.confidence < 0.35  # tags only, one of two hits
    assert "A Brasileira" in obs.text and "https://www.openstreetmap.org/way/2002" in obs.text
    # data holds the raw features for replay
    assert [OsmFeature.from_dict(f).osm_id for f in obs.data["features"]] == [1001, 2002]
    assert obs.data["osm_timestamp"] == "2024-05-01T10:00:00Z" and obs.meta["cached"] is False

    again = call_tool(tool_for(OsmSearchTool, tmp_path, server), args)
    assert again.ok and again.meta["cached"] is True and len(server.requests) == 1  # disk cache


def test_exact_name_scores_higher_than_tags_alone(tmp_path, server):
    server.route(PATH, Reply(200, overpass([CAFE])))
    named = call_tool(tool_for(OsmSearchTool, tmp_path, server), {"name": "A Brasileira", "bbox": LISBON_BOX})
    tagged = call_tool(tool_for(OsmSearchTool, tmp_path, server), {"tags": {"amenity": "cafe"}, "bbox": LISBON_BOX})
    assert named.evidence[0].confidence > tagged.evidence[0].confidence
    assert '["name"="A Brasileira"]' in sent_ql(server, 0)


def test_search_by_area_name_never_sends_the_name(tmp_path, server, resources):
    server.route(PATH, Reply(200, overpass([CAFE])))
    ctx = context(tmp_path, resources, overpass_url=server.url(PATH))
    obs = call_tool(OsmSearchTool(ctx=ctx), {"tags": {"amenity": "cafe"}, "area_name": "Lisbon"})
    assert obs.ok, obs.error
    assert "Lisbon" not in sent_ql(server) and "Lisbon" in obs.evidence[0].details["area"]


def test_raw_ql_through_the_tool_only_when_allowed(tmp_path, server):
    server.route(PATH, Reply(200, overpass([CAFE])))
    raw = 'node["amenity"="cafe"](38.7,-9.15,38.72,-9.13);out;'
    refused = call_tool(tool_for(OsmSearchTool, tmp_path, server), {"raw_ql": raw})
    assert not refused.ok and "switched off" in refused.error and server.requests == []

    mixed = call_tool(tool_for(OsmSearchTool, tmp_path, server, allow_raw=True), {"raw_ql": raw, "name": "x"})
    assert not mixed.ok and "raw_ql alone" in mixed.error
    allowed = call_tool(tool_for(OsmSearchTool, tmp_path, server, allow_raw=True), {"raw_ql": raw})
    assert allowed.ok, allowed.error
    assert sent_ql(server).startswith("[out:json][timeout:25]") and sent_ql(server).endswith("out 50;\n")


# ---------------------------------------------------------------------- osm_proximity end to end

PHARMACY_NEAR = {
    "type": "node",
    "id": 7001,
    "lat": 38.71100,
    "lon": -9.13900,
    "tags": {"amenity": "pharmacy", "name": "Farmácia Estácio"},
}
PHARMACY_FAR = {"type": "node", "id": 7002, "lat": 38.71500, "lon": -9.13500, "tags": {"amenity": "pharmacy"}}
TRAM_STOP = {
    "type": "node",
    "id": 8001,
    "lat": 38.71130,
    "lon": -9.13880,
    "tags": {"railway": "tram_stop", "name": "Rua Augusta"},
}
TRAM_STOP_2 = {"type": "node", "id": 8002, "lat": 38.71520, "lon": -9.13530, "tags": {"railway": "tram_stop"}}


def test_proximity_is_one_query_and_pairs_each_feature_with_its_anchor(tmp_path, server):
    server.route(PATH, Reply(200, overpass([PHARMACY_NEAR, PHARMACY_FAR, TRAM_STOP, TRAM_STOP_2])))
    tool = tool_for(OsmProximityTool, tmp_path, server)
    args = {
        "find": {"tags": {"amenity": "pharmacy"}, "types": ["node"]},
        "near": {"tags": {"railway": "tram_stop"}, "types": ["node"]},
        "within_m": 100,
        "bbox": LISBON_BOX,
    }
    obs = call_tool(tool, args)

    assert obs.ok, obs.error
    ql = sent_ql(server)
    assert len(server.requests) == 1
    assert 'node["railway"="tram_stop"](38.7,-9.15,38.72,-9.13);\n)->.b;' in ql
    assert 'node["amenity"="pharmacy"](around.b:100);\n)->.a;' in ql
    assert "node.b(around.a:100);" in ql and ".a out center 50;" in ql and ".near out center 50;" in ql
    assert [e.provenance for e in obs.evidence] == [
        "https://www.openstreetmap.org/node/7001",
        "https://www.openstreetmap.org/node/7002",
    ]  # anchors are context, not evidence
    near = obs.evidence[0]
    assert near.details["near"]["osm_id"] == 8001 and 30 < near.details["near_distance_m"] < 45
    assert (
        near.value.startswith("node 7001 'Farmácia Estácio' (amenity=pharmacy) ")
        and "from node 8001 'Rua Augusta'" in near.value
    )
    assert obs.evidence[1].details["near"]["osm_id"] == 8002
    assert [f["role"] for f in obs.data["features"]] == ["a", "a", "b", "b"]


def test_proximity_needs_an_area_for_the_anchors(tmp_path, server):
    obs = call_tool(
        tool_for(OsmProximityTool, tmp_path, server),
        {"find": {"tags": {"amenity": "pharmacy"}}, "near": {"tags": {"railway": "tram_stop"}}, "within_m": 100},
    )
    assert not obs.ok and obs.data["error_kind"] == "bad_query" and "area" in obs.error and server.requests == []


# ---------------------------------------------------------------------- osm_verify end to end


def test_verify_finds_the_street_near_the_candidate(tmp_path, server):
    server.route(PATH, Reply(200, overpass([UNRELATED, BUILDING, RUA_AUGUSTA])))
    tool = tool_for(OsmVerifyTool, tmp_path, server)
    obs = call_tool(tool, {"lat": CANDIDATE[0], "lon": CANDIDATE[1], "text": "RUA AUGUSTA", "radius_km": 0.5})

    assert obs.ok, obs.error
    plan, _ = OsmOps(None).plan_verify(*CANDIDATE, "RUA AUGUSTA", 0.5)  # type: ignore[arg-type]
    assert sent_ql(server) == plan.ql
    assert "(around:500,38.71,-9.1385)" in plan.ql and '[~"^(name|' in plan.ql
    assert "Augusta" not in plan.ql  # the name is searched as a tolerant pattern of its core
    best, second = obs.evidence
    assert best.value == "way 3003 'Rua Augusta' (highway=pedestrian) 0.03 km from candidate"
    assert best.provenance == "https://www.openstreetmap.org/way/3003"
    assert best.details["matched_text"] == "Rua Augusta" and best.details["match_quality"] == 1.0
    assert best.details["distance_km"] == pytest.approx(0.035, abs=0.005)  # to the line, not its middle
    assert best.geo.geometry["type"] == "LineString"
    assert best.confidence > 0.9
    # "Confeitaria Augusta": the same core name inside a longer name counts less
    assert second.provenance.endswith("/way/4004") and second.confidence < best.confidence
    assert second.details["match_quality"] == 0.6
    assert all("Augustinho" not in e.value for e in obs.evidence)


def test_verify_with_no_match_is_an_empty_ok_result(tmp_path, server):
    server.route(PATH, Reply(200, overpass([UNRELATED])))
    obs = call_tool(tool_for(OsmVerifyTool, tmp_path, server), {"lat": 38.71, "lon": -9.14, "text": "Rua Augusta"})
    assert obs.ok and obs.evidence == [] and obs.data["count"] == 0
    assert "no OSM feature named like 'Rua Augusta' within 1 km" in obs.text


def test_verify_refuses_text_with_nothing_to_search(tmp_path, server):
    obs = call_tool(tool_for(OsmVerifyTool, tmp_path, server), {"lat": 38.71, "lon": -9.14, "text": "?!"})
    assert not obs.ok and obs.data["error_kind"] == "bad_query" and server.requests == []
    bad = call_tool(tool_for(OsmVerifyTool, tmp_path, server), {"lat": 138.0, "lon": -9.14, "text": "Rua"})
    assert not bad.ok and "lat" in bad.error


# ---------------------------------------------------------------------- failures never raise

SEARCH = {"tags": {"amenity": "cafe"}, "bbox": LISBON_BOX}
TIMEOUT_REMARK = 'runtime error: Query timed out in "query" at line 3 after 26 seconds.'
MEMORY_REMARK = "runtime error: Query run out of memory using about 2048 MB of RAM."


@pytest.mark.parametrize(
    ("replies", "ok", "error", "requests"),
    [
        ([Reply(429, retry_after=0), Reply(200, overpass([CAFE]))], True, None, 2),
        (
            [Reply(504, "<html>Gateway Timeout</html>", content_type="text/html"), Reply(200, overpass([CAFE]))],
            True,
            None,
            2,
        ),
        ([Reply(429, retry_after=0)], False, "rate_limited: 127.0.0.1: HTTP 429 after 3 attempts", 3),
        ([Reply(503)], False, "service: 127.0.0.1: HTTP 503 after 3 attempts", 3),
        ([Reply(400, "<p>Error: line 1: parse error</p>", content_type="text/html")], False, "HTTP 400", 1),
        ([Reply(200, "<html>not json</html>", content_type="text/html")], False, "bad_response", 1),
        ([Reply(200, {"elements": "nope"})], False, "'elements' is not a list", 1),
        ([Reply(200, {"version": 0.6})], False, "no 'elements'", 1),
        ([Reply(200, overpass([{"type": "node", "id": 1, "lat": "north", "lon": 1}]))], False, "malformed", 1),
        ([Reply(200, overpass([{"type": "node", "id": [1], "lat": 1, "lon": 1}]))], False, "malformed", 1),
        ([Reply(200, overpass([{"type": "node", "id": 1, "lat": 91, "lon": 1}]))], False, "off the Earth", 1),
        ([Reply(200, overpass([{"type": "node", "id": 1, "lat": 1, "lon": 1, "tags": ["x"]}]))], False, "malformed", 1),
        ([Reply(200, overpass([], remark=TIMEOUT_REMARK)), Reply(200, overpass([CAFE]))], True, None, 2),
        ([Reply(200, overpass([CAFE], remark=MEMORY_REMARK))], False, "out of memory", 2),
    ],
    ids=[
        "429-then-ok",
        "504-then-ok",
        "persistent-429",
        "persistent-503",
        "400-syntax-error",
        "html-instead-of-json",
        "elements-not-a-list",
        "no-elements",
        "bad-coordinate",
        "bad-id",
        "off-the-earth",
        "bad-tags",
        "remark-then-ok",
        "persistent-remark",
    ],
)
def test_faults_come_back_as_observations(tmp_path, server, replies, ok, error, requests):
    server.route(PATH, replies)
    obs = call_tool(tool_for(OsmSearchTool, tmp_path, server), SEARCH)
    assert obs.ok is ok, obs.error
    assert len(server.requests) == requests
    if ok:
        assert [e.provenance for e in obs.evidence] == ["https://www.openstreetmap.org/node/1001"]
    else:
        assert error in obs.error and obs.evidence == []
        assert obs.text.startswith("osm_search failed") and obs.data["query"] == sent_ql(server)


def test_a_remark_answer_is_never_cached(tmp_path, server):
    server.route(PATH, Reply(200, overpass([CAFE], remark=TIMEOUT_REMARK)))
    first = call_tool(tool_for(OsmSearchTool, tmp_path, server), SEARCH)
    assert not first.ok and first.data["error_kind"] == "overpass_runtime" and "timed out" in first.error
    server.route(PATH, Reply(200, overpass([CAFE])))
    second = call_tool(tool_for(OsmSearchTool, tmp_path, server), SEARCH)
    assert second.ok and second.meta["cached"] is False and len(server.requests) == 3


def test_empty_answer_is_ok_and_empty(tmp_path, server):
    server.route(PATH, Reply(200, overpass([])))
    obs = call_tool(tool_for(OsmSearchTool, tmp_path, server), SEARCH)
    assert obs.ok and obs.evidence == [] and obs.data["features"] == [] and obs.data["count"] == 0
    assert obs.text.startswith("0 OSM feature(s) amenity=cafe in bbox")


def test_timeout_is_an_error_observation(tmp_path, server):
    server.route(PATH, Reply(200, overpass([CAFE]), delay_s=1.0))
    started = time.perf_counter()
    obs = call_tool(tool_for(OsmSearchTool, tmp_path, server, osm_http_timeout_s=0.2, net_retries=1), SEARCH)
    assert not obs.ok and "ReadTimeout after 0.2 s (2 attempts)" in obs.error and obs.data["error_kind"] == "timeout"
    assert time.perf_counter() - started < 1.5


def test_refused_connection_and_offline_mode_are_offline_observations(tmp_path, server):
    url = f"http://127.0.0.1:{closed_port()}{PATH}"
    for cls, args in ((OsmSearchTool, SEARCH), (OsmVerifyTool, {"lat": 38.71, "lon": -9.14, "text": "Rua Augusta"})):
        obs = call_tool(cls(ctx=context(tmp_path, overpass_url=url)), args)
        assert not obs.ok and obs.data["error_kind"] == "offline" and "unreachable" in obs.text
        assert obs.data["query"].startswith("[out:json]")
    server.route(PATH, Reply(200, overpass([CAFE])))
    offline = OsmSearchTool(ctx=context(tmp_path, offline=True, overpass_url=server.url(PATH)))
    obs = call_tool(offline, SEARCH)
    assert not obs.ok and "offline mode" in obs.error and server.requests == []


def test_tool_contract_names_kinds_and_schemas(tmp_path, server):
    tools = [tool_for(cls, tmp_path, server) for cls in (OsmSearchTool, OsmProximityTool, OsmVerifyTool)]
    assert [t.name for t in tools] == ["osm_search", "osm_proximity", "osm_verify"]
    assert {type(t).kind for t in tools} == {"osm"}
    for tool in tools:
        schema = tool.args_schema.model_json_schema()
        assert all(prop.get("description") for prop in schema["properties"].values()), tool.name
    bad = call_tool(tools[0], {"tags": {"amenity": "cafe"}, "bbox": [1, 2, 3]})
    assert not bad.ok and "bbox" in bad.error
    # invoking through LangChain directly also never raises
    message = tools[2].invoke(
        {"name": "osm_verify", "args": {"lat": 38.7, "lon": -9.1, "text": "x" * 5}, "id": "1", "type": "tool_call"}
    )
    assert message.artifact.tool == "osm_verify"
