"""Every script: rendered signs in Cyrillic, Greek, Hangul, Arabic, Thai, Devanagari, variant
spellings and Chinese shop fronts are located within 25 km; without Tesseract the run still
works and says once what it cannot read.

Signs are drawn with the fonts Debian's fonts-noto-core / fonts-dejavu-core /
fonts-wqy-microhei install, complex scripts shaped by Raqm; tests that need a font, the
shaping library or Tesseract's language files skip without them.
"""

from __future__ import annotations

import random

import pytest
from PIL import Image

from agent import Agent
from evals.fonts import can_render
from evals.synthetic import _draw_script_sign
from tools.base import ToolContext, call_tool
from tools.geo import haversine_km
from tools.images import ImageRegistry, load_image
from tools.ocr import RapidOcrBackend, ReadTextTool, readable_scripts
from tools.ocr.lines import OcrLine
from tools.ocr.routing import ScriptRouter, dominant_script, foreign_letters
from tools.ocr.tesseract import clean_text, unreadable_scripts


def _needs(script: str, tesseract: str | None = None):
    reasons = []
    if not can_render(script):
        reasons.append(f"no font (or no Raqm shaping) for {script}")
    if not RapidOcrBackend.is_installed():
        reasons.append("rapidocr not installed")
    if tesseract and tesseract not in readable_scripts():
        reasons.append(f"Tesseract cannot read {tesseract} here (tesseract-ocr language packs)")
    return pytest.mark.skipif(bool(reasons), reason="; ".join(reasons))


def sign(lines: list[str], script: str, seed: int = 3) -> Image.Image:
    return _draw_script_sign(lines, script, random.Random(seed), size=(1024, 768))


SIGNS = [
    # (lines on the sign, script drawn with, script Tesseract must read, lat, lon)
    (["ЕКАТЕРИНБУРГ", "ЦЕНТР"], "Cyrl", "Cyrl", 56.85, 60.61),
    (["Пловдив", "12 km"], "Cyrl", "Cyrl", 42.15, 24.75),
    (["Θεσσαλονίκη", "ΚΕΝΤΡΟ"], "Grek", "Grek", 40.64, 22.93),
    (["평택시", "시청"], "Hang", "Hang", 36.99, 127.09),
    (["الإسكندرية", "مرحبا"], "Arab", "Arab", 31.20, 29.92),
    (["เชียงใหม่", "ยินดีต้อนรับ"], "Thai", "Thai", 18.79, 98.98),
    (["वाराणसी", "स्वागत"], "Deva", "Deva", 25.32, 83.01),
    # variant spellings: a vowel misspelt, the Belarusian forms of Ukrainian cities
    (["Краснодор", "ЦЕНТР"], "Cyrl", "Cyrl", 45.04, 38.98),
    (["Белая Царква", "12 km"], "Cyrl", "Cyrl", 49.80, 30.11),
    (["Чаркасы", "ЦЕНТР"], "Cyrl", "Cyrl", 49.44, 32.06),
    # Chinese shop fronts naming a prefecture city or a county, not a province capital
    (["遵义市百货大楼", "欢迎光临"], "Hani", None, 27.73, 106.93),
    (["习水县人民医院"], "Hani", None, 28.33, 106.20),
    (["广安市汽车站", "欢迎光临"], "Hani", None, 30.46, 106.63),
]


@pytest.fixture(scope="module")
def script_agent():
    return Agent()


@pytest.mark.slow
@pytest.mark.parametrize("lines,script,reader,lat,lon", SIGNS, ids=[s[0][0] for s in SIGNS])
def test_rendered_signs_in_every_script_are_located(script_agent, lines, script, reader, lat, lon):
    if not can_render(script) or not RapidOcrBackend.is_installed() or (reader and reader not in readable_scripts()):
        pytest.skip(f"cannot render or read {script} here")
    location = script_agent.locate(sign(lines, script), use_metadata=False)
    assert location.answered, location.reason
    assert haversine_km(location.lat, location.lon, lat, lon) <= 25, (location.city, location.summary)
    read = [e for e in location.evidence if e.kind == "ocr_text"]
    assert read and all(e.image == "img:0" and e.bbox for e in read)  # boxes in the photo's own pixels


@_needs("Cyrl", "Cyrl")
def test_tesseract_reads_the_line_rapidocr_cannot_with_its_box() -> None:
    registry = ImageRegistry()
    registry.add_loaded(load_image(sign(["ЕКАТЕРИНБУРГ", "ЦЕНТР"], "Cyrl")))
    obs = call_tool(ReadTextTool(ctx=ToolContext(images=registry)), {"image": "img:0"})
    assert obs.ok, obs.error
    (line,) = [e for e in obs.evidence if e.value == "ЕКАТЕРИНБУРГ"]
    assert line.details["engine"].startswith("tesseract:rus")
    assert line.provenance.startswith("tesseract:") and line.confidence > 0.8
    x0, y0, x1, y1 = line.bbox
    assert 0 <= x0 < x1 <= 1024 and 0 <= y0 < y1 <= 768 and (x1 - x0) > 3 * (y1 - y0)
    assert "cannot read" not in obs.text


@_needs("Cyrl")
def test_without_tesseract_the_run_works_and_says_once_what_it_cannot_read(monkeypatch) -> None:
    monkeypatch.setenv("GEOSLEUTH_TESSERACT", "off")
    assert readable_scripts() == {} and "Cyrillic" in unreadable_scripts()
    image = sign(["ЕКАТЕРИНБУРГ", "12 km"], "Cyrl")
    registry = ImageRegistry()
    registry.add_loaded(load_image(image))
    ctx = ToolContext(images=registry)
    first = call_tool(ReadTextTool(ctx=ctx), {"image": "img:0"})
    second = call_tool(ReadTextTool(ctx=ctx), {"image": "img:0", "zoom": False})
    assert first.ok and second.ok
    assert "cannot read" in first.text and "Cyrillic" in first.text and "Hangul" in first.text
    assert "Cyrillic" in first.data["unreadable_scripts"]
    assert "cannot read" not in second.text  # once per run
    assert not any("ЕКАТЕРИНБУРГ" in e.value for e in first.evidence)
    location = Agent().locate(image, use_metadata=False)  # a whole run, without the engine
    assert location.confidence < 0.5  # nothing it could read names a place: no confident guess
    assert not location.answered or location.radius_km > 0


def test_suspect_lines_are_the_ones_rapidocr_could_not_read() -> None:
    quad = ((0, 0), (500, 0), (500, 80), (0, 80))
    assert ScriptRouter.suspect(OcrLine("", 0.0, quad)) == "empty"
    assert ScriptRouter.suspect(OcrLine("OEΣΣAΛONIKH", 0.99, quad)) == "foreign"
    assert ScriptRouter.suspect(OcrLine("12", 0.97, quad)) == "sparse"  # "Пловдив 12 км" read as "12"
    assert ScriptRouter.suspect(OcrLine("WELCOME TO PORTO", 0.7, quad)) == "unsure"
    assert ScriptRouter.suspect(OcrLine("WELCOME TO PORTO", 0.99, quad)) is None
    assert ScriptRouter.suspect(OcrLine("欢迎来到遵义市", 0.99, quad)) is None
    assert foreign_letters("OEΣΣAΛONIKH") and not foreign_letters("São Paulo 東京")
    assert dominant_script("Пловдив 12 км") == ("Cyrl", 1.0)


def test_tesseract_text_is_cleaned_of_spaces_thai_never_writes() -> None:
    assert clean_text("เช ี ย ง ให ม ่\n") == "เชียงใหม่"
    assert clean_text(" Пловдив   12 км \n") == "Пловдив 12 км"


def test_doctor_reports_engines_and_scripts(capsys, monkeypatch) -> None:
    import json

    from agent.cli import main

    assert main(["doctor", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert set(facts["ocr_engines"]) >= {"rapidocr", "easyocr", "tesseract"}
    if RapidOcrBackend.is_installed():
        assert facts["scripts"]["Latin"] == "rapidocr"
    for script in readable_scripts():
        assert any(engine.startswith("tesseract") for engine in facts["scripts"].values()), script
    monkeypatch.setenv("GEOSLEUTH_TESSERACT", "off")
    assert main(["doctor"]) == 0
    text = capsys.readouterr().out
    assert "switched off" in text and "cannot read: " in text and "Cyrillic" in text
