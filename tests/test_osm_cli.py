import json

import pytest
from netserver import Reply, ScriptedServer, closed_port
from shapely.geometry import shape

from agent.cli import main
from tools.osm import query_shape, tokenize_ql

ANSWER = {
    "version": 0.6,
    "generator": "Overpass API 0.7.62",
    "osm3s": {"timestamp_osm_base": "2026-11-01T00:00:00Z"},
    "elements": [
        {
            "type": "node",
            "id": 101,
            "lat": 38.7105,
            "lon": -9.1366,
            "tags": {"amenity": "pharmacy", "name": "Farmácia Central"},
        },
        {
            "type": "way",
            "id": 202,
            "center": {"lat": 38.7109, "lon": -9.1365},
            "tags": {"highway": "pedestrian", "name": "Rua Augusta"},
        },
    ],
}


@pytest.fixture()
def overpass(monkeypatch, tmp_path):
    monkeypatch.setenv("GEOSLEUTH_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("GEOSLEUTH_TOOL_SETTINGS", json.dumps({"net_min_interval_s": 0, "net_backoff_s": 0.01}))
    with ScriptedServer() as server:
        server.route("/api/interpreter", Reply(body=ANSWER))
        yield server


def test_search_prints_a_table_and_sends_escaped_ql(overpass, capsys):
    url = overpass.url("/api/interpreter")
    code = main(
        [
            "osm",
            "search",
            "--tag",
            "amenity=pharmacy",
            "--name-pattern",
            'Central"];out;',
            "--around",
            "38.71,-9.14,1500",
            "--online",
            "--overpass-url",
            url,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "node/101" in out and "Farmácia Central" in out
    hostile = overpass.requests[0].form()["data"][0]
    main(
        [
            "osm",
            "search",
            "--tag",
            "amenity=pharmacy",
            "--name-pattern",
            "Central",
            "--around",
            "38.71,-9.14,1500",
            "--online",
            "--overpass-url",
            url,
        ]
    )
    harmless = overpass.requests[1].form()["data"][0]
    assert query_shape(hostile) == query_shape(harmless)  # the hostile text changed a literal, nothing else
    assert any(t.kind == "string" and ";out;" in t.text for t in tokenize_ql(hostile))


def test_verify_prints_geojson(overpass, capsys):
    code = main(
        [
            "osm",
            "verify",
            "38.7107",
            "-9.1365",
            "Rua Augusta",
            "--geojson",
            "--online",
            "--overpass-url",
            overpass.url("/api/interpreter"),
        ]
    )
    collection = json.loads(capsys.readouterr().out)
    assert code == 0 and collection["type"] == "FeatureCollection"
    names = [f["properties"].get("name") for f in collection["features"]]
    assert "Rua Augusta" in names
    assert all(shape(f["geometry"]).is_valid for f in collection["features"])


def test_bad_options_and_offline_are_one_line_errors(overpass, capsys):
    assert main(["osm", "search", "--tag", "amenity=cafe"]) == 2  # no area
    assert "give an area" in capsys.readouterr().err
    assert (
        main(
            [
                "osm",
                "search",
                "--tag",
                "shop",
                "--bbox",
                "0,0,10,10",
                "--online",
                "--overpass-url",
                overpass.url("/api/interpreter"),
            ]
        )
        == 2
    )  # far over the area guard
    assert "area" in capsys.readouterr().err
    code = main(
        [
            "osm",
            "verify",
            "1",
            "2",
            "Rua Augusta",
            "--online",
            "--overpass-url",
            f"http://127.0.0.1:{closed_port()}/api",
        ]
    )
    assert code == 2 and "refused" in capsys.readouterr().err


def test_offline_by_default(overpass, capsys):
    url = overpass.url("/api/interpreter")
    code = main(["osm", "search", "--tag", "amenity=pharmacy", "--around", "38.71,-9.14,1500", "--overpass-url", url])
    assert code == 2 and "offline" in capsys.readouterr().err and not overpass.requests
