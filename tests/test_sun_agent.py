"""The sun in a whole run and on the command line: the Lisbon example with a planted
capture time and a measured shadow that fits Lisbon, or cannot."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from PIL import Image

from agent.cli import build_parser, main
from tools.errors import ConfigError
from tools.exif import read_exif
from tools.geo import haversine_km
from tools.sun import parse_time, sun_at

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"
LISBON = (38.7107, -9.1365)
TAKEN = "2026:03:20 16:00:00"  # Portugal keeps UTC until the end of March
GPS_IFD, EXIF_IFD, DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 0x8825, 0x8769, 0x9003, 0x9011


def planted(tmp_path: Path, offset: str | None) -> Path:
    """The example photo with its GPS removed and a capture time written into the EXIF."""
    with Image.open(EXAMPLE) as image:
        exif = image.getexif()
        exif.pop(GPS_IFD, None)
        sub = exif.get_ifd(EXIF_IFD)
        sub[DATETIME_ORIGINAL] = TAKEN
        if offset is not None:
            sub[OFFSET_TIME_ORIGINAL] = offset
        exif[EXIF_IFD] = sub
        target = tmp_path / f"lisbon-{'zone' if offset else 'nozone'}.jpg"
        image.save(target, exif=exif, quality=92)
    report = read_exif(Image.open(target).getexif())
    assert report.gps is None and report.taken is not None and report.utc_offset == offset
    return target


def lisbon_shadow() -> str:
    """A 1 m pole's shadow as it fell in Lisbon at the planted time, from the sun's position there."""
    sun = sun_at(*LISBON, parse_time("2026-03-20T16:00:00Z").utc())
    return f"1:{1 / math.tan(math.radians(sun.elevation)):.3f}@{sun.shadow_bearing:.0f}"


def sun_evidence(location):
    [item] = [e for e in location.evidence if e.kind == "sun"]
    return item


@pytest.fixture(scope="module")
def runs(agent, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sun")
    with_zone = planted(folder, "+00:00")
    return {
        "baseline": agent.locate(with_zone),
        "fits": agent.locate(with_zone, hint={"shadows": [lisbon_shadow()]}),
        # a shadow a third of the pole: the sun 70 degrees up, never so high in Lisbon in March
        "cannot": agent.locate(with_zone, hint={"shadows": ["1:0.364"]}, trace=folder / "cannot.jsonl"),
        "trace": folder / "cannot.jsonl",
        "no_zone": agent.locate(planted(folder, None), hint={"shadows": [lisbon_shadow()]}),
    }


@pytest.mark.slow
def test_a_shadow_that_fits_lisbon_keeps_the_answer(runs):
    location, baseline = runs["fits"], runs["baseline"]
    assert location.country_code == "PT" and haversine_km(location.lat, location.lon, *LISBON) < 25
    assert (location.lat, location.lon) == (baseline.lat, baseline.lon)
    # never less sure than without the shadow; rivals the sun rules out (Augusta, GA) lose weight
    assert location.confidence >= baseline.confidence and location.confidence >= 0.5
    before = {(c.label, round(c.lat, 3), round(c.lon, 3)): c.score for c in baseline.candidates}
    after = {(c.label, round(c.lat, 3), round(c.lon, 3)): c.score for c in location.candidates}
    georgia = next(key for key in before if key[0].startswith("Augusta") and 33 < key[1] < 34)
    assert after[georgia] < before[georgia]
    sun = sun_evidence(location)
    assert "time from EXIF DateTimeOriginal of img:0 with its offset +00:00" in sun.provenance
    assert "Lisbon ('lisboa'): consistent" in sun.value
    top = location.candidates[0]
    assert any(n["why"].startswith("sun: the shadows fit here") for n in top.details["verification"])


@pytest.mark.slow
def test_a_shadow_that_cannot_fall_so_in_lisbon_lowers_the_confidence_and_says_why(runs):
    fits, cannot = runs["fits"], runs["cannot"]
    assert cannot.confidence < fits.confidence - 0.1
    sun = sun_evidence(cannot)
    assert re.search(r"Lisbon \('lisboa'\): INCONSISTENT \(sun there 3[01]\.\d° high \(shadow says 70\.0°", sun.value)
    lisbon = next(c for c in cannot.candidates if c.label.startswith("Lisbon"))
    [note] = [n for n in lisbon.details["verification"] if n["why"].startswith("sun:")]
    assert note["factor"] < 0.5 and "cannot fall so here" in note["why"]


@pytest.mark.slow
def test_a_run_with_shadows_replays_exactly(agent, runs):
    replayed = agent.replay(runs["trace"])
    assert replayed.answer_dict() == runs["cannot"].answer_dict()
    assert [e.value for e in replayed.evidence if e.kind == "sun"] == [sun_evidence(runs["cannot"]).value]


@pytest.mark.slow
def test_a_time_without_zone_gets_the_zones_of_the_candidates_that_fit(runs):
    location = runs["no_zone"]
    assert haversine_km(location.lat, location.lon, *LISBON) < 25
    sun = sun_evidence(location)
    assert "(no zone recorded)" in sun.provenance and "The time has no zone" in sun.value
    assert "Zones consistent with the candidates: Europe/Lisbon (UTC+00:00)" in sun.value


def test_locate_takes_shadows_and_a_time():
    from agent.sun_cli import locate_hint

    args = build_parser().parse_args(
        ["locate", "x.jpg", "--shadow", "1:1.68@62", "--shadow", "2:3", "--time", "2026-03-20 16:00Z"]
    )
    hint = locate_hint(args)
    assert [m.height for m in hint.shadows] == [1.0, 2.0] and hint.time == "2026-03-20 16:00Z"
    assert locate_hint(build_parser().parse_args(["locate", "x.jpg", "--hint", "Lisbon"])) == "Lisbon"
    with pytest.raises(ConfigError, match="--time"):
        locate_hint(build_parser().parse_args(["locate", "x.jpg", "--shadow", "1:1", "--no-metadata"]))


def test_sun_commands(tmp_path, capsys):
    assert main(["sun", "position", "38.7107", "-9.1365", "--time", "2026-03-20 16:00Z", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["elevation"] == pytest.approx(30.82, abs=0.05)
    png, geojson = tmp_path / "map.png", tmp_path / "map.geojson"
    code = main(
        [
            "sun",
            "shadows",
            "--shadow",
            "1:1@0",
            "--time",
            "2026-03-20T12:00Z",
            "--check",
            "45,0,Bordeaux-ish",
            "--png",
            str(png),
            "--geojson",
            str(geojson),
            "--no-land",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "Bordeaux-ish: consistent" in out and "Band (95%)" in out
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert {f["properties"]["role"] for f in json.loads(geojson.read_text())["features"]} >= {"band", "peak"}


def test_sun_shadows_reads_the_time_from_a_photo(tmp_path, capsys):
    photo = planted(tmp_path, "+00:00")
    assert main(["sun", "shadows", "--shadow", lisbon_shadow(), "--image", str(photo), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["time_source"] == "EXIF DateTimeOriginal with its offset"
    assert haversine_km(result["peak"]["lat"], result["peak"]["lon"], *LISBON) < 500


def test_sun_command_errors_are_one_line(capsys):
    assert main(["sun", "shadows", "--shadow", "1:1"]) == 2
    assert "has no time" in capsys.readouterr().err
    assert main(["sun", "shadows", "--shadow", "tall", "--time", "2026-03-20T12:00Z"]) == 2
    assert "HEIGHT:LENGTH" in capsys.readouterr().err
