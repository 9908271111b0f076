"""The local OpenStreetMap index: extracts written with pyosmium (and the real Monaco
extract) imported into SQLite and PostGIS, queried through the same operations as
Overpass, with the same answers from both stores; resuming a killed import; the tools
answering offline; feature combinations."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from helpers import SHARED_DATA
from netserver import Reply, ScriptedServer
from osm_extracts import RUA_AUGUSTA_LISBON, cluster_extract, lisbon_extract
from shapely.geometry import LineString, Point, Polygon

from tools.base import SharedResources, ToolContext, call_tool
from tools.images import ImageRegistry
from tools.osm import FeatureQuery, OsmComboTool, OsmOps, OsmProximityTool, OsmSearchTool, OsmVerifyTool, find_combos
from tools.osm.local import ImportInterrupted, OsmIndexError, SqliteIndex, import_extract, open_index
from tools.osm.local.selection import osm2pgsql_style

MONACO = SHARED_DATA / "osm" / "monaco-2019.osm.pbf"
MONACO_BOX = [43.724, 7.41, 43.75, 7.448]
CLUSTER_BOX = [48.05, 11.45, 48.15, 11.55]
LISBON_BOX = [38.70, -9.15, 38.72, -9.13]
PG_DSN = os.environ.get("GEOSLEUTH_TEST_POSTGRES_DSN", "")


def q(**kwargs: Any) -> FeatureQuery:
    return FeatureQuery(**kwargs)


def refs(result: Any) -> list[str]:
    return [m.feature.ref for m in result.matches if m.role == "a"]


@pytest.fixture(scope="module")
def extracts(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("extracts")
    return {
        "lisbon": lisbon_extract(folder / "lisbon.osm.pbf"),
        "cluster": cluster_extract(folder / "cluster.osm.pbf"),
        "moved": cluster_extract(folder / "moved.osm.pbf", move_m=500.0),
    }


@pytest.fixture(scope="module")
def sqlite_indexes(extracts, tmp_path_factory) -> dict[str, SqliteIndex]:
    folder = tmp_path_factory.mktemp("indexes")
    out = {name: import_extract(path, folder / f"{name}.sqlite", progress=False) for name, path in extracts.items()}
    yield out
    for index in out.values():
        index.close()


def ops_for(index) -> OsmOps:
    return OsmOps(None, local=index)


# ---------------------------------------------------------------------- import


def test_import_keeps_named_and_feature_elements_with_their_shapes(sqlite_indexes):
    index = sqlite_indexes["cluster"]
    stats = index.stats()
    # 15 tagged nodes (the untagged way and polygon nodes are left out), a street, a park relation
    assert (stats["nodes"], stats["ways"], stats["relations"]) == (15, 1, 1)
    ops = ops_for(index)
    park = ops.find_features(q(tags={"leisure": "park"}, bbox=CLUSTER_BOX)).matches[0].feature
    assert park.osm_type == "relation" and isinstance(park.geometry, Polygon) and len(park.geometry.interiors) == 1
    assert park.tags == {"leisure": "park", "name": "Eckpark"}
    street = ops.find_features(q(name="Hauptstraße", bbox=CLUSTER_BOX)).matches[0].feature
    assert street.osm_type == "way" and isinstance(street.geometry, LineString)
    south, west, north, east = index.bounds()
    assert south < 48.1 < north and west < 11.5 < east


def test_an_osm_xml_extract_imports_like_its_pbf(sqlite_indexes, tmp_path):
    xml = lisbon_extract(tmp_path / "lisbon.osm")
    assert xml.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    index = import_extract(xml, tmp_path / "xml.sqlite", progress=False)
    try:
        sql = "SELECT osm_type, osm_id, tags, geom FROM features ORDER BY osm_type, osm_id"
        assert index.conn.execute(sql).fetchall() == sqlite_indexes["lisbon"].conn.execute(sql).fetchall()
    finally:
        index.close()


def test_a_killed_import_resumes_where_its_last_commit_left_it(extracts, sqlite_indexes, tmp_path):
    db = tmp_path / "resumed.sqlite"
    with pytest.raises(ImportInterrupted):
        SqliteIndex.import_extract(extracts["cluster"], db, batch=5, progress=False, stop_after=12)
    with pytest.raises(OsmIndexError, match="incomplete"):
        open_index(db)
    partial = SqliteIndex(db, create=True)
    committed = int(partial.meta("position"))
    kept = partial.conn.execute("SELECT count(*) FROM features").fetchone()[0]
    partial.close()
    assert 0 < committed < 12 and 0 < kept < 12  # work up to the last commit survived, the rest did not
    resumed = SqliteIndex.import_extract(extracts["cluster"], db, batch=5, progress=False)
    clean = sqlite_indexes["cluster"]

    def rows(index: SqliteIndex) -> list[tuple]:
        return index.conn.execute(
            "SELECT osm_type, osm_id, tags, geom FROM features ORDER BY osm_type, osm_id"
        ).fetchall()

    assert rows(resumed) == rows(clean)
    count = resumed.conn.execute("SELECT count(*) FROM features_rtree").fetchone()[0]
    assert count == len(rows(clean))
    with pytest.raises(OsmIndexError, match="another extract"):
        SqliteIndex.import_extract(extracts["lisbon"], db, progress=False)


def test_bad_input_gets_clear_errors(tmp_path):
    with pytest.raises(OsmIndexError, match="no OSM index"):
        open_index(tmp_path / "missing.sqlite")
    with pytest.raises(OsmIndexError, match="no extract"):
        import_extract(tmp_path / "missing.osm.pbf", tmp_path / "x.sqlite")
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(OsmIndexError, match="not a geosleuth OSM index"):
        open_index(other)
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"not a pbf at all")
    with pytest.raises(OsmIndexError, match="could not read"):
        import_extract(broken, tmp_path / "y.sqlite", progress=False)


# ---------------------------------------------------------------------- queries


def test_search_near_and_verify_on_the_local_index(sqlite_indexes):
    ops = ops_for(sqlite_indexes["lisbon"])
    found = ops.find_features(q(tags={"highway": None}, name_pattern="augusta", bbox=LISBON_BOX))
    assert len(refs(found)) == 1 and found.meta()["endpoint"].startswith("sqlite:")
    near = ops.proximity(q(tags={"shop": "pastry"}), q(name="Rua Augusta", bbox=LISBON_BOX), 150)
    (match,) = [m for m in near.matches if m.role == "a"]
    assert match.feature.name == "Pastelaria Central" and match.near.name == "Rua Augusta"
    assert 10 < match.near_distance_m < 30  # measured to the street line
    far = ops.proximity(q(tags={"shop": "pastry"}), q(name="Rua Augusta", bbox=LISBON_BOX), 10)
    assert refs(far) == []
    verified = ops.verify_candidate(38.7107, -9.1365, "RUA AUGUSTA", 1.0)
    best = verified.matches[0]
    assert best.feature.name == "Rua Augusta" and best.feature.tags["highway"] == "pedestrian"
    assert best.distance_km < 0.1 and best.confidence > 0.8
    evidence = verified.evidence(source=_source())
    assert evidence[0].provenance == f"https://www.openstreetmap.org/{best.feature.ref}"
    # the same name 8000 km away is not near this candidate
    assert all(m.feature.lat > 0 for m in verified.matches)


def _source():
    from tools.evidence import ToolSource

    return ToolSource(tool="osm_verify", arguments={})


def test_combo_finds_the_planted_cluster_and_nothing_once_a_feature_moves(sqlite_indexes):
    specs = [q(tags={"amenity": "pharmacy"}), q(tags={"highway": "bus_stop"}), q(tags={"amenity": "cafe"})]
    area = q(tags={"area": None}, bbox=CLUSTER_BOX)
    result = ops_for(sqlite_indexes["cluster"]).combo(specs, 150, area)
    (combo,) = result.combos
    assert [f.name for f in combo.features] == ["Apotheke am Platz", "Platz", "Café Eck"]
    assert 40 < combo.diameter_m < 60
    geojson = result.geojson()
    assert [f["id"] for f in geojson["features"]] == combo.refs
    assert ops_for(sqlite_indexes["moved"]).combo(specs, 150, area).combos == []
    # two of the three are still together
    assert len(ops_for(sqlite_indexes["moved"]).combo(specs[:2], 150, area).combos) == 1


def test_combo_ranks_by_compactness_and_needs_distinct_elements():
    from tools.osm import OsmFeature

    def node(i: int, lat: float, lon: float, **tags: str) -> OsmFeature:
        return OsmFeature("node", i, tags, lat, lon, Point(lon, lat))

    a = [node(1, 0.0, 0.0), node(2, 1.0, 1.0)]
    b = [node(3, 0.0, 0.0009), node(4, 1.0, 1.0003)]  # ~100 m and ~33 m from their a
    combos = find_combos([a, b], 150)
    assert [c.refs for c in combos] == [["node/2", "node/4"], ["node/1", "node/3"]]
    same = [node(5, 0.0, 0.0)]
    assert find_combos([same, same], 150) == []  # one element cannot stand for two specs


# ---------------------------------------------------------------------- tools, offline


def context(tmp_path, *, db: Path | None, offline: bool, url: str) -> ToolContext:
    settings: dict[str, Any] = {"overpass_url": url, "net_min_interval_s": 0.0, "net_backoff_s": 0.01}
    if db is not None:
        settings["osm_db"] = str(db)
    return ToolContext(
        images=ImageRegistry(), resources=SharedResources(), cache_dir=tmp_path, offline=offline, settings=settings
    )


def test_tools_answer_from_the_index_offline_and_say_when_a_call_leaves_the_machine(sqlite_indexes, tmp_path):
    db = Path(sqlite_indexes["lisbon"].location)
    with ScriptedServer() as server:
        server.route("/api/interpreter", Reply(200, {"elements": []}))
        url = server.url("/api/interpreter")
        ctx = context(tmp_path, db=db, offline=True, url=url)
        verify = OsmVerifyTool(ctx=ctx)
        args = {"lat": 38.7107, "lon": -9.1365, "text": "Rua Augusta", "radius_km": 1.0}
        assert verify.leaves_machine(args) is False
        obs = call_tool(verify, args)
        assert obs.ok and obs.evidence[0].provenance.endswith(f"/way/{obs.data['features'][0]['osm_id']}")
        assert obs.meta["endpoint"].startswith("sqlite:")
        search = OsmSearchTool(ctx=ctx)
        assert (
            call_tool(search, {"tags": {"amenity": "pharmacy"}, "bbox": LISBON_BOX})
            .evidence[0]
            .value.startswith("node")
        )
        combo = OsmComboTool(ctx=ctx)
        combo_args = {
            "features": [{"tags": {"shop": "pastry"}}, {"tags": {"highway": "pedestrian"}}],
            "within_m": 200,
            "bbox": LISBON_BOX,
        }
        assert combo.leaves_machine(combo_args) is False
        combo_obs = call_tool(combo, combo_args)
        assert combo_obs.ok and combo_obs.data["count"] == 1 and combo_obs.evidence[0].geo is not None
        proximity = OsmProximityTool(ctx=ctx)
        prox_args = {"find": {"tags": {"shop": "pastry"}}, "near": {"name": "Rua Augusta"}, "within_m": 150}
        assert call_tool(proximity, {**prox_args, "bbox": LISBON_BOX}).data["count"] == 1
        assert server.requests == []  # nothing left the machine
        # an area the extract does not hold would go to Overpass (and offline, fails as offline)
        tokyo = {"lat": 35.68, "lon": 139.76, "text": "Rua Augusta", "radius_km": 1.0}
        assert verify.leaves_machine(tokyo) is True
        assert call_tool(verify, tokyo).data["error_kind"] == "offline"
        raw = {"raw_ql": 'node["amenity"="cafe"](38.70,-9.15,38.72,-9.13);out;'}
        assert search.leaves_machine(raw) is False  # refused (raw QL is off): nothing is sent
        raw_ctx = context(tmp_path, db=db, offline=False, url=url)
        raw_ctx.settings["osm_allow_raw"] = True
        assert OsmSearchTool(ctx=raw_ctx).leaves_machine(raw) is True  # raw QL only Overpass can run
        # without an index every call would go to Overpass
        plain = OsmVerifyTool(ctx=context(tmp_path, db=None, offline=False, url=url))
        assert plain.leaves_machine(args) is True
        # online, with the index: the index still answers for its area, Overpass for the rest
        online = OsmVerifyTool(ctx=context(tmp_path, db=db, offline=False, url=url))
        assert online.leaves_machine(args) is False
        assert call_tool(online, args).ok and server.requests == []
        assert call_tool(online, tokyo).ok and len(server.requests) == 1


def test_a_missing_index_is_an_error_observation(tmp_path):
    tool = OsmVerifyTool(ctx=context(tmp_path, db=tmp_path / "none.sqlite", offline=True, url="http://127.0.0.1:9/"))
    obs = call_tool(tool, {"lat": 38.71, "lon": -9.14, "text": "Rua Augusta"})
    assert not obs.ok and "no OSM index" in obs.error


# ---------------------------------------------------------------------- Monaco


@pytest.fixture(scope="module")
def monaco_sqlite(tmp_path_factory):
    if not MONACO.exists():
        pytest.skip(f"the Monaco extract is not available at {MONACO}")
    index = import_extract(MONACO, tmp_path_factory.mktemp("monaco") / "monaco.sqlite", progress=False)
    yield index
    index.close()


def test_monaco_real_extract(monaco_sqlite):
    stats = monaco_sqlite.stats()
    assert stats["nodes"] > 1000 and stats["ways"] > 1000 and stats["relations"] > 10
    ops = ops_for(monaco_sqlite)
    streets = ops.find_features(q(tags={"highway": None}, name_pattern="boulevard", bbox=MONACO_BOX, limit=500))
    assert len(refs(streets)) > 10 and all("boulevard" in m.feature.name.lower() for m in streets.matches)
    verified = ops.verify_candidate(43.7384, 7.4246, "BOULEVARD DES MOULINS", 1.0)
    assert verified.matches and verified.matches[0].feature.name == "Boulevard des Moulins"
    combos = ops.combo(MONACO_SPECS, 150, q(tags={"area": None}, bbox=MONACO_BOX)).combos
    assert combos and all(c.diameter_m <= 150 for c in combos)
    assert [c.diameter_m for c in combos] == sorted(c.diameter_m for c in combos)


MONACO_SPECS = [q(tags={"amenity": "cafe"}), q(tags={"highway": "bus_stop"}), q(tags={"amenity": "pharmacy"})]


# ---------------------------------------------------------------------- PostGIS: the same answers


def answers(index, box: list[float], verify: tuple[float, float, str], specs: list[FeatureQuery]) -> dict[str, Any]:
    """Every operation's answer, reduced to what a user reads (ids, names, distances)."""
    ops = ops_for(index)
    out: dict[str, Any] = {}
    for key, query in {
        "named": q(name_pattern="a", bbox=box, limit=500),
        "tags": q(tags={"amenity": ["cafe", "pharmacy", "restaurant"]}, bbox=box, limit=500),
        "ways": q(tags={"highway": None}, types=["way"], bbox=box, limit=500),
        "areas": q(tags={"leisure": None}, bbox=box, limit=500),
    }.items():
        result = ops.find_features(query)
        out[key] = [(m.feature.ref, round(m.feature.lat, 6), round(m.feature.lon, 6)) for m in result.matches]
    near = ops.proximity(specs[0], q(**{**specs[1].model_dump(), "bbox": box}), 100)
    out["near"] = [
        (m.feature.ref, m.role, m.near and m.near.ref, m.near_distance_m and round(m.near_distance_m, 2))
        for m in near.matches
    ]
    lat, lon, text = verify
    verified = ops.verify_candidate(lat, lon, text, 0.8)
    out["verify"] = [(m.feature.ref, round(m.confidence, 4), round(m.distance_km, 4)) for m in verified.matches]
    combo = ops.combo(specs, 150, q(tags={"area": None}, bbox=box))
    out["combo"] = [(c.refs, round(c.diameter_m, 2)) for c in combo.combos]
    return out


@pytest.fixture(scope="module")
def postgis():
    if not PG_DSN:
        pytest.skip("no PostGIS server for the tests (set GEOSLEUTH_TEST_POSTGRES_DSN; .ci/run starts one)")
    import shutil

    if shutil.which("osm2pgsql") is None:
        pytest.skip("osm2pgsql is not installed")
    try:
        import psycopg

        with psycopg.connect(PG_DSN, connect_timeout=3) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except Exception as exc:
        pytest.skip(f"PostGIS not reachable at the test DSN: {exc}")
    tables: list[str] = []

    def dsn_for(name: str) -> str:
        table = f"t_{name}_{uuid.uuid4().hex[:8]}"
        tables.append(table)
        return f"{PG_DSN}{'&' if '?' in PG_DSN else '?'}table={table}"

    yield dsn_for
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        for table in tables:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"DROP TABLE IF EXISTS {table}_meta")


def test_postgis_and_sqlite_give_the_same_answers_on_a_written_extract(postgis, extracts, sqlite_indexes):
    dsn = postgis("cluster")
    pg = import_extract(extracts["cluster"], dsn, progress=False)
    try:
        specs = [q(tags={"amenity": "pharmacy"}), q(tags={"highway": "bus_stop"}), q(tags={"amenity": "cafe"})]
        expected = answers(sqlite_indexes["cluster"], CLUSTER_BOX, (48.098, 11.496, "Hauptstr."), specs)
        assert expected["combo"] and expected["verify"] and expected["areas"]
        assert answers(pg, CLUSTER_BOX, (48.098, 11.496, "Hauptstr."), specs) == expected
        assert "***" in pg.location or "@" not in pg.location
        assert pg.bounds() == pytest.approx(sqlite_indexes["cluster"].bounds(), abs=1e-4)
    finally:
        pg.close()


def test_postgis_and_sqlite_give_the_same_answers_on_monaco(postgis, monaco_sqlite):
    pg = import_extract(MONACO, postgis("monaco"), progress=False)
    try:
        verify = (43.7384, 7.4246, "Boulevard des Moulins")
        expected = answers(monaco_sqlite, MONACO_BOX, verify, MONACO_SPECS)
        got = answers(pg, MONACO_BOX, verify, MONACO_SPECS)
        for key in expected:
            assert got[key] == expected[key], key
        assert len(expected["combo"]) >= 3 and len(expected["named"]) > 100
    finally:
        pg.close()


def test_the_osm2pgsql_style_keeps_what_the_sqlite_store_keeps():
    style = osm2pgsql_style("some_table")
    assert 'name = "some_table"' in style and '["amenity"] = true' in style and '["name"] = true' in style
    assert '["building"]' not in style  # unnamed buildings are left out by both stores


# ---------------------------------------------------------------------- the command line


def test_cli_import_then_combo_with_geojson_and_ql(extracts, tmp_path, capsys):
    from agent.cli import main
    from tools.osm import query_shape

    db = tmp_path / "cli.sqlite"
    assert main(["osm", "import", str(extracts["cluster"]), "--db", str(db), "--quiet"]) == 0
    assert "imported" in capsys.readouterr().out
    base = ["osm", "combo", "--feature", "amenity=pharmacy", "--feature", "highway=bus_stop,name~platz"]
    base += ["--feature", "amenity=cafe", "--within", "150", "--bbox", ",".join(map(str, CLUSTER_BOX))]
    assert main([*base, "--db", str(db), "--geojson"]) == 0
    geojson = json.loads(capsys.readouterr().out)
    assert [f["properties"]["name"] for f in geojson["features"]] == ["Apotheke am Platz", "Platz", "Café Eck"]
    assert main([*base, "--print-ql"]) == 0
    ql = capsys.readouterr().out
    assert ql.startswith("[out:json]") and "(around.s0:150)(around.s1:150)" in ql and ".s2 out geom" in ql
    query_shape(ql)  # tokenizes as Overpass would
    assert main(["osm", "verify", "48.098", "11.496", "Hauptstr.", "--db", str(db)]) == 0
    assert "Hauptstraße" in capsys.readouterr().out
    missing = ["--db", str(tmp_path / "no.sqlite")]
    two = ["--feature", "amenity=cafe", "--feature", "shop=bakery"]
    assert main(["osm", "combo", *two, "--within", "100", "--around", "1,1,100", *missing]) == 2
    assert "no OSM index" in capsys.readouterr().err


def test_rua_augusta_line_is_where_the_example_photo_was_taken():
    # the test extract's street passes within 100 m of the example photo's GPS position
    line = LineString([(lon, lat) for lat, lon in RUA_AUGUSTA_LISBON])
    assert line.distance(Point(-9.13653, 38.71072)) < 0.001


# ---------------------------------------------------------------------- the playbook, offline

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"


@pytest.mark.slow
def test_offline_locate_verifies_the_street_sign_with_the_local_index(extracts, tmp_path, monkeypatch, capsys):
    """The street read on the sign exists in the index near the Lisbon candidate (and, as a
    decoy, in São Paulo): the answer is the street itself, citing its OSM element."""
    from agent.cli import main
    from tools.geo import haversine_km

    db = tmp_path / "lisbon.sqlite"
    import_extract(extracts["lisbon"], db, progress=False).close()
    with ScriptedServer() as server:
        server.route("/api/interpreter", Reply(200, {"elements": []}))
        monkeypatch.setenv("GEOSLEUTH_OSM_DB", str(db))
        monkeypatch.setenv("GEOSLEUTH_ONLINE", "0")
        monkeypatch.setenv("GEOSLEUTH_OVERPASS_URL", server.url("/api/interpreter"))
        assert main(["locate", str(EXAMPLE), "--no-metadata", "--json"]) == 0
        assert server.requests == []
    location = json.loads(capsys.readouterr().out)
    street = LineString([(lon, lat) for lat, lon in RUA_AUGUSTA_LISBON])
    nearest = street.interpolate(street.project(Point(location["lon"], location["lat"])))
    assert haversine_km(location["lat"], location["lon"], nearest.y, nearest.x) < 1.0
    assert location["radius_km"] <= 2.0
    cited = [e for e in location["evidence"] if e["kind"] == "osm_feature" and "Rua Augusta" in e["value"]]
    assert cited and all(e["geo"]["lat"] > 0 for e in cited)  # Lisbon's, not the decoy in São Paulo
    assert cited[0]["provenance"].startswith("https://www.openstreetmap.org/way/")
    assert any("OSM way" in c["label"] for c in location["candidates"])


def test_combo_online_on_overpass_sends_one_narrowing_query(tmp_path):
    """Without an index (or outside it) an online combination search is one Overpass query;
    the answer is combined exactly as the local index's."""
    from osm_extracts import offset

    base = (48.1, 11.5)
    points = {
        1: (offset(*base, 0, 0), {"amenity": "pharmacy"}),
        2: (offset(*base, 40, 10), {"highway": "bus_stop"}),
        3: (offset(*base, 20, 50), {"amenity": "cafe"}),
        4: (offset(*base, 900, 0), {"amenity": "cafe"}),  # returned by the server, too far to count
    }
    elements = [
        {"type": "node", "id": i, "lat": lat, "lon": lon, "tags": tags} for i, ((lat, lon), tags) in points.items()
    ]
    answer = {"version": 0.6, "generator": "Overpass API", "osm3s": {}, "elements": elements}
    with ScriptedServer() as server:
        server.route("/api/interpreter", Reply(200, answer))
        tool = OsmComboTool(ctx=context(tmp_path, db=None, offline=False, url=server.url("/api/interpreter")))
        args = {
            "features": [
                {"tags": {"amenity": "pharmacy"}},
                {"tags": {"highway": "bus_stop"}},
                {"tags": {"amenity": "cafe"}},
            ],
            "within_m": 150,
            "around": {"lat": base[0], "lon": base[1], "radius_m": 2000},
        }
        assert tool.leaves_machine(args) is True
        obs = call_tool(tool, args)
        (sent,) = [r.form()["data"][0] for r in server.requests]
    assert obs.ok and obs.data["count"] == 1
    assert [e["osm_id"] for e in obs.data["combos"][0]["elements"]] == [1, 2, 3]
    assert "(around.s0:150)(around.s1:150)" in sent and sent == obs.data["query"]
