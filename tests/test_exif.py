import io
from fractions import Fraction

import pytest
from helpers import PHOTOS, jpeg_with_gps
from PIL import Image, TiffImagePlugin

from tools.exif import parse_gps, read_exif
from tools.geo import haversine_km

R = TiffImagePlugin.IFDRational


def fix(**tags):
    names = {
        "lat_ref": 1,
        "lat": 2,
        "lon_ref": 3,
        "lon": 4,
        "alt_ref": 5,
        "alt": 6,
        "status": 9,
        "dop": 11,
        "datum": 18,
        "h_error": 31,
        "date": 29,
        "time": 7,
    }
    return parse_gps({names[k]: v for k, v in tags.items()})


def test_plain_dms_with_references():
    gps, problems = fix(lat_ref="S", lat=(R(33), R(51), R(359, 10)), lon_ref="W", lon=(R(70), R(40), R(0)))
    assert problems == []
    assert gps.lat == pytest.approx(-(33 + 51 / 60 + 35.9 / 3600))
    assert gps.lon == pytest.approx(-(70 + 40 / 60))


def test_decimal_minutes_and_raw_pairs():
    gps, _ = fix(lat_ref="S", lat=(0.0, 22.278, 0.0), lon_ref="E", lon=((36, 1), (3385, 1000), (0, 1)))
    assert gps.lat == pytest.approx(-0.3713)
    assert gps.lon == pytest.approx(36.056417, abs=1e-6)


def test_single_decimal_value_and_string_forms():
    gps, _ = fix(lat_ref="N", lat=(R(4346745, 100000),), lon_ref="E", lon="11,53,6.456")
    assert gps.lat == pytest.approx(43.46745)
    assert gps.lon == pytest.approx(11 + 53 / 60 + 6.456 / 3600)


def test_reference_quirks():
    gps, _ = fix(lat_ref=b"S\x00", lat=(10.0, 0.0, 0.0), lon_ref="w ", lon=(20.0, 30.0, 0.0))
    assert (gps.lat, gps.lon) == (pytest.approx(-10), pytest.approx(-20.5))
    gps, _ = fix(lat_ref="S", lat=(-10.0, 0.0, 0.0), lon_ref="E", lon=(20.0, 0.0, 0.0))
    assert gps.lat == pytest.approx(-10)  # negative value plus S is not flipped back north
    gps, _ = fix(lat=(10.0, 0.0, 0.0), lon=(-20.0, 0.0, 0.0))
    assert (gps.lat, gps.lon) == (pytest.approx(10), pytest.approx(-20))
    assert gps.confidence <= 0.7 and any("reference missing" in n for n in gps.notes)


@pytest.mark.parametrize(
    "tags,problem",
    [
        ({"lat_ref": "N", "lat": (R(10, 0), R(0), R(0)), "lon_ref": "E", "lon": (1.0, 0.0, 0.0)}, "unreadable"),
        ({"lat_ref": "N", "lat": (95.0, 0.0, 0.0), "lon_ref": "E", "lon": (1.0, 0.0, 0.0)}, "out of range"),
        ({"lat_ref": "N", "lat": (0.0, 0.0, 0.0), "lon_ref": "E", "lon": (0.0, 0.0, 0.0)}, "0,0"),
        ({"lat_ref": "N", "lat": (1.0, 2.0, 3.0, 4.0), "lon_ref": "E", "lon": (1.0, 0.0, 0.0)}, "unreadable"),
        ({"lat_ref": "N", "lat": "north-ish", "lon_ref": "E", "lon": (1.0, 0.0, 0.0)}, "unreadable"),
        ({"lat_ref": "N", "lat": object(), "lon_ref": "E", "lon": (1.0, 0.0, 0.0)}, "unreadable"),
    ],
)
def test_bad_gps_is_reported_not_raised(tags, problem):
    gps, problems = fix(**tags)
    assert gps is None
    assert any(problem in p for p in problems)


def test_missing_gps_is_no_fix_without_problems():
    assert parse_gps({}) == (None, [])
    assert parse_gps({1: "N", 2: (1.0, 0.0, 0.0)}) == (None, [])


def test_accuracy_status_datum_altitude_time():
    base = {"lat_ref": "N", "lat": (45.0, 0.0, 0.0), "lon_ref": "E", "lon": (7.0, 0.0, 0.0)}
    assert fix(**base, h_error=R(12))[0].radius_km == pytest.approx(0.012)
    assert fix(**base, dop=R(20))[0].radius_km == pytest.approx(0.1)
    assert fix(**base, status="V")[0].confidence == 0.5
    tokyo = fix(**base, datum="TOKYO")[0]
    assert tokyo.radius_km >= 1.0 and any("datum" in n for n in tokyo.notes)
    assert fix(**base, alt=R(120), alt_ref=b"\x01")[0].altitude_m == -120
    timed = fix(**base, date="2019:06:01", time=(R(13), R(5), R(30)))[0]
    assert timed.utc_time.isoformat() == "2019-06-01T13:05:30+00:00"
    assert fix(**base, date="garbage", time=(R(13), R(5), R(30)))[0] is not None


def test_read_exif_round_trip_from_written_jpeg():
    data = jpeg_with_gps(-33.8599, 151.2111, make="Canon", model="Canon EOS 5D")
    report = read_exif(Image.open(io.BytesIO(data)).getexif())
    assert haversine_km(report.gps.lat, report.gps.lon, -33.8599, 151.2111) < 0.01
    assert report.camera == "Canon EOS 5D"


def test_read_exif_of_nothing():
    assert read_exif(None).gps is None
    assert read_exif(Image.new("RGB", (4, 4)).getexif()).gps is None


def test_broken_gps_ifd_yields_problem_not_exception():
    exif = Image.Exif()
    exif[0x8825] = 999999  # GPS IFD offset pointing nowhere
    report = read_exif(exif)
    assert report.gps is None


def test_real_photos_gps_within_0_1_km(photos):
    for item in photos:
        with Image.open(PHOTOS / item["image"]) as image:
            report = read_exif(image.getexif())
        assert report.gps is not None, item["id"]
        assert haversine_km(report.gps.lat, report.gps.lon, item["lat"], item["lon"]) < 0.1, item["id"]


@pytest.mark.parametrize("name", ["ianare_67-0_length_string", "ianare_87_OSError"])
def test_real_malformed_exif_files(photos, name):
    item = next(p for p in photos if p["id"] == name)
    with Image.open(PHOTOS / item["image"]) as image:
        report = read_exif(image.getexif())
    assert report.gps is not None
    assert haversine_km(report.gps.lat, report.gps.lon, item["lat"], item["lon"]) < 0.1


def test_fraction_values_accepted():
    gps, _ = fix(lat_ref="N", lat=(Fraction(45), Fraction(30), Fraction(0)), lon_ref="E", lon=(7.0, 0.0, 0.0))
    assert gps.lat == pytest.approx(45.5)
