"""The public API: Agent.locate / alocate / locate_many, inputs, hints, settings, results."""

import asyncio
import io

import numpy as np
import pytest
from helpers import PHOTOS, encode, jpeg_with_gps, png_header_only
from PIL import Image

from agent import (
    Agent,
    ConfigError,
    EmptyImageError,
    GeoSleuthError,
    ImageNotFoundError,
    ImageTooLargeError,
    Location,
    NotAFileError,
    NotAnImageError,
    TruncatedImageError,
    UnsupportedInputError,
)
from graphs.policies import ScriptedPolicy
from tools.evidence import Candidate
from tools.geo import haversine_km


def test_real_photos_located_from_exif_within_100_m(agent, photos):
    for item in photos:
        location = agent.locate(PHOTOS / item["image"])
        assert location.answered, item["id"]
        assert haversine_km(location.lat, location.lon, item["lat"], item["lon"]) < 0.1, item["id"]
        exif = [e for e in location.evidence if e.kind == "exif" and e.geo is not None]
        assert exif and exif[0].source.tool == "read_metadata" and exif[0].image == "img:0"
        assert location.candidates[0].sources == [exif[0].id]
        assert location.country_code and location.summary


def test_real_photos_without_metadata_never_use_exif(agent, photos):
    for item in photos:
        location = agent.locate(PHOTOS / item["image"], use_metadata=False)
        assert not any(e.kind == "exif" for e in location.evidence), item["id"]
        assert "read_metadata" not in {t["name"] for t in location.trace[0]["tools"]}
        if location.answered:  # only from what the pixels say
            assert {e.kind for e in location.supporting_evidence()} <= {
                "ocr_text",
                "place_name",
                "street_type",
                "phone",
                "url",
                "email",
                "postcode",
                "currency",
                "language",
                "script",
            }
        else:
            assert location.confidence == 0 and location.reason


def test_several_views_of_one_place(agent):
    views = [jpeg_with_gps(48.8584, 2.2945), jpeg_with_gps(48.8606, 2.3376)]
    location = agent.locate(views)
    assert [i["handle"] for i in location.images] == ["img:0", "img:1"]
    assert haversine_km(location.lat, location.lon, 48.859, 2.316) < 2.5
    assert location.radius_km > 1  # the two views are 3 km apart: the radius says so


def test_disagreeing_metadata_lowers_confidence(agent):
    agree = agent.locate([jpeg_with_gps(48.8584, 2.2945), jpeg_with_gps(48.8585, 2.2946)])
    disagree = agent.locate([jpeg_with_gps(48.8584, 2.2945), jpeg_with_gps(40.4168, -3.7038)])
    assert disagree.confidence < agree.confidence
    assert len(disagree.candidates) == 2


def test_alocate_matches_locate(agent):
    data = jpeg_with_gps(35.6586, 139.7454)
    sync = agent.locate(data)
    result = asyncio.run(agent.alocate(data))
    assert (result.lat, result.lon, result.confidence) == (sync.lat, sync.lon, sync.confidence)


def test_locate_many_keeps_order_and_reports_errors(tmp_path):
    agent = Agent(trace_dir=tmp_path / "traces")
    points = [(10.0 + i, 20.0 + i) for i in range(6)]
    items = [jpeg_with_gps(lat, lon) for lat, lon in points] + [b""]
    results = agent.locate_many(items, concurrency=3, return_exceptions=True)
    for (lat, lon), result in zip(points, results):
        assert haversine_km(result.lat, result.lon, lat, lon) < 0.1
    assert isinstance(results[-1], EmptyImageError)
    assert len(list((tmp_path / "traces").glob("*.jsonl"))) == 6
    with pytest.raises(EmptyImageError):
        agent.locate_many(items, concurrency=2)
    with pytest.raises(ConfigError):
        agent.locate_many(items, concurrency=0)


def _bad_inputs(tmp_path):
    not_image = tmp_path / "notes.jpg"
    not_image.write_text("hello")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    truncated = tmp_path / "cut.jpg"
    full = encode(Image.effect_noise((300, 200), 50).convert("RGB"), "JPEG")
    truncated.write_bytes(full[: len(full) // 2])
    return [
        (tmp_path / "missing.jpg", ImageNotFoundError),
        (tmp_path, NotAFileError),
        (not_image, NotAnImageError),
        (empty, EmptyImageError),
        (truncated, TruncatedImageError),
        (png_header_only(50_000, 50_000), ImageTooLargeError),
        (12345, UnsupportedInputError),
        ([], UnsupportedInputError),
        ({"path": "x.jpg"}, UnsupportedInputError),
        ((p for p in ["a.jpg"]), UnsupportedInputError),
    ]


def test_bad_inputs_raise_typed_one_line_errors(agent, tmp_path):
    for value, error in _bad_inputs(tmp_path):
        with pytest.raises(error) as info:
            agent.locate(value)
        assert isinstance(info.value, GeoSleuthError)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (1, 1)),
        Image.new("CMYK", (50, 40)),
        Image.fromarray(np.full((40, 50), 40000, dtype=np.uint16)),
        Image.new("PA", (50, 40)),
    ],
    ids=["1x1", "cmyk", "16-bit", "palette-alpha"],
)
def test_unusual_images_are_handled(agent, image):
    location = agent.locate(image)
    assert not location.answered and location.reason


def test_malformed_exif_photos_still_locate(agent, photos):
    for name in ("ianare_67-0_length_string", "ianare_87_OSError"):
        item = next(p for p in photos if p["id"] == name)
        location = agent.locate(PHOTOS / item["image"])
        assert haversine_km(location.lat, location.lon, item["lat"], item["lon"]) < 0.1


def test_image_with_broken_gps_ifd_is_evidence_free(agent):
    image = Image.new("RGB", (64, 48), "white")
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (91.0, 0.0, 0.0), 3: "E", 4: (1.0, 0.0, 0.0)})
    location = agent.locate(encode(image, "JPEG", exif=exif))
    assert not location.answered
    metadata_call = next(s for s in location.trace if s.get("name") == "read_metadata")
    assert "out of range" in metadata_call["observation"]["text"]


def test_hint_narrows_candidates():
    spain = Candidate(lat=40.4, lon=-3.7, score=0.6, radius_km=5)
    france = Candidate(lat=48.85, lon=2.35, score=0.5, radius_km=5)
    agent = Agent(policy=ScriptedPolicy(proposals={"a": [spain], "b": [france]}))
    image = Image.new("RGB", (20, 20))
    assert agent.locate(image).country_code == "ES"
    hinted = agent.locate(image, country="France")
    assert hinted.country_code == "FR"
    assert any(e.kind == "hint" and e.countries == {"FR": 1.0} for e in hinted.evidence)
    boxed = agent.locate(image, bbox=(47, 0, 50, 5))
    assert boxed.country_code == "FR"
    texted = agent.locate(image, hint={"text": "somewhere in France", "country": ["FR"]})
    assert texted.country_code == "FR"


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"country": "Atlantis"}, "unknown country"),
        ({"bbox": (50, 0, 40, 5)}, "bbox"),
        ({"hint": 42}, "hint must be"),
        ({"budget": {"max_steps": -1}}, "max_steps"),
        ({"budget": {"wall": 3}}, "invalid budget"),
        ({"budget": "lots"}, "budget must be"),
        ({"strategy": "vibes"}, "unknown consensus strategy"),
    ],
)
def test_bad_options_raise_config_error(agent, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        agent.locate(Image.new("RGB", (10, 10)), **kwargs)


def test_location_json_round_trip(agent):
    location = agent.locate(jpeg_with_gps(-33.8568, 151.2153))
    again = Location.model_validate_json(location.to_json())
    assert again.lat == location.lat and again.evidence == location.evidence and again.trace is None
    assert again.candidates == location.candidates


def test_in_memory_trace_can_be_saved(agent, tmp_path):
    from graphs.trace import read_trace

    location = agent.locate(jpeg_with_gps(1.29, 103.85))
    path = location.save_trace(tmp_path / "saved.jsonl")
    trace = read_trace(path)
    assert trace.finished and trace.header.run_id == location.run_id


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GEOSLEUTH_STRATEGY", "best")
    monkeypatch.setenv("GEOSLEUTH_TRACE_DIR", str(tmp_path))
    agent = Agent()
    assert agent.strategy == "best"
    location = agent.locate(jpeg_with_gps(1.29, 103.85))
    assert location.trace_path and location.trace_path.startswith(str(tmp_path))
    monkeypatch.setenv("GEOSLEUTH_STRATEGY", "nope")
    with pytest.raises(ConfigError):
        Agent()


def test_one_agent_loads_heavy_resources_once():
    from tools.ocr import get_backend

    agent = Agent()
    assert agent.resources.loaded() == []  # nothing at construction
    agent.locate(jpeg_with_gps(1.29, 103.85), use_metadata=False)
    first = {key: agent.resources.get(key, None) for key in agent.resources.loaded()}
    loads = get_backend("rapidocr").loads
    agent.locate(io.BytesIO(jpeg_with_gps(2.29, 103.85)), use_metadata=False)
    assert {"gazetteer", "ocr:rapidocr"} <= set(first)
    assert all(agent.resources.get(key, None) is value for key, value in first.items())
    assert get_backend("rapidocr").loads == loads == 1
