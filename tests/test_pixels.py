"""The embedded default reads pixels: OCR -> clues -> candidates -> answer, no metadata, no network."""

from pathlib import Path

import numpy as np
import pytest
from helpers import PHOTOS
from PIL import Image, ImageDraw, ImageFont

from agent.exports import as_trace
from evals.fonts import cjk_font, latin_font
from tools.geo import haversine_km

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"


def sign(lines, font_path, size=(1200, 800), text_size=72):
    image = Image.new("RGB", size, (200, 190, 170))
    draw = ImageDraw.Draw(image)
    draw.rectangle(
        [150, 200, size[0] - 150, 200 + 130 * len(lines)], fill=(250, 250, 245), outline=(20, 60, 150), width=8
    )
    for i, line in enumerate(lines):
        draw.text(
            (size[0] // 2, 265 + 130 * i),
            line,
            font=ImageFont.truetype(font_path, text_size),
            fill=(20, 60, 150),
            anchor="mm",
        )
    return image


def test_example_image_is_located_from_its_signs(agent):
    location = agent.locate(EXAMPLE, use_metadata=False)
    assert location.country_code == "PT"
    assert haversine_km(location.lat, location.lon, 38.7107, -9.1365) < 25
    assert location.confidence >= 0.5
    texts = {e.value: e for e in location.evidence if e.kind == "ocr_text"}
    assert {"RUA AUGUSTA", "LISBOA"} <= set(texts)
    box = texts["LISBOA"].bbox  # drawn at about (1160-1300, 510-545) in the 1600x1067 photo
    assert 1100 < box[0] < 1200 and 500 < box[1] < 530 and texts["LISBOA"].image == "img:0"
    cited = {e.kind for e in location.supporting_evidence()}
    assert {"place_name", "ocr_text"} <= cited
    assert any(s.name == "read_text" for s in as_trace(location).tool_calls())


@pytest.mark.skipif(cjk_font() is None, reason="no CJK font installed (fonts-wqy-microhei)")
def test_chinese_sign_is_read_and_located(agent):
    location = agent.locate(sign(["长春市人民大街"], cjk_font()), use_metadata=False)
    assert location.country_code == "CN"
    assert haversine_km(location.lat, location.lon, 43.88, 125.32) < 30


@pytest.mark.skipif(latin_font() is None, reason="no DejaVu font installed")
def test_phone_number_alone_gives_a_country_not_a_point(agent):
    location = agent.locate(sign(["PHARMACY", "Tel. +49 30 901820"], latin_font()), use_metadata=False)
    assert location.country_code == "DE"
    assert location.radius_km > 150 and location.confidence < 0.5
    assert any(e.kind == "phone" and e.countries and "DE" in e.countries for e in location.evidence)


def test_noise_gives_no_answer(agent):
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (600, 800, 3), dtype=np.uint8))
    location = agent.locate(noise, use_metadata=False)
    assert not location.answered or location.confidence < 0.1


def test_real_photos_without_metadata(agent, photos):
    """The street sign names a place in Germany; the other photos have no usable text."""
    for item in photos:
        location = agent.locate(PHOTOS / item["image"], use_metadata=False)
        if item["id"] == "drew_Sony_DSC-HX5V_2":
            assert location.country_code == "DE"
            read = [e for e in location.evidence if e.kind == "ocr_text"]
            assert any("Hammoor" in e.value for e in read) and all(e.bbox and e.image == "img:0" for e in read)
        elif location.answered:
            assert location.confidence < 0.3, item["id"]


@pytest.mark.skipif(latin_font() is None, reason="no DejaVu font installed")
@pytest.mark.parametrize(
    "lines,place",
    [(["МОСКВА", "улица Тверская"], (55.7558, 37.6173)), (["תל אביב"], (32.0853, 34.7818))],
    ids=["cyrillic", "hebrew"],
)
def test_scripts_the_reader_cannot_read_do_not_mislead(agent, lines, place):
    """RapidOCR has no Cyrillic or Hebrew model: it sees Latin look-alikes ("MOCKBA"). That
    must never become a confident answer somewhere else; with Tesseract's language packs
    the sign is read, and a confident answer is then the place it names."""
    location = agent.locate(sign(lines, latin_font()), use_metadata=False)
    if location.answered and location.confidence >= 0.25:
        assert haversine_km(location.lat, location.lon, *place) < 25
