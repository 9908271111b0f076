"""The HTML report of a run, opened in headless Chromium (the system browser, driven by
Playwright's Python API; those tests skip without either)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent import Agent
from agent.cli import main
from agent.trace_html import image_registry, provenance_link, render_html
from graphs.policies.scripted import ScriptedPolicy
from graphs.trace import read_trace
from tools.errors import TraceError

LISBON = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"
V1 = Path(__file__).resolve().parent / "fixtures" / "traces_v1"
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> & </li>'
#: zoom into the street sign, read it there, then a rotated copy (no pixel map back) and read that
CROP_SCRIPT = [
    [("zoom", {"image": "img:0", "box": [0.6, 0.38, 0.95, 0.54]})],
    [("read_text", {"image": "img:1", "zoom": False})],
    [("rotate", {"image": "img:1", "degrees": 360})],
    [("read_text", {"image": "img:2", "zoom": False})],
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("html")
    street = Agent().locate(LISBON, use_metadata=False, trace=folder / "street.jsonl")
    crops = Agent(policy=ScriptedPolicy(rounds=CROP_SCRIPT)).locate(
        LISBON, use_metadata=False, trace=folder / "crops.jsonl"
    )
    return {"street": street, "crops": crops}


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no system chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        try:
            instance = p.chromium.launch(executable_path=chromium)
        except Exception as exc:
            pytest.skip(f"chromium does not start here: {exc}")
        yield instance
        instance.close()


@pytest.fixture
def open_page(browser, tmp_path):
    """Write HTML to a file, open it, and remember every request the page made."""
    pages = []

    def load(text: str):
        path = tmp_path / f"page{len(pages)}.html"
        path.write_text(text, encoding="utf-8")
        page = browser.new_page()
        page.requests = []
        page.on("request", lambda r: page.requests.append(r.url))
        page.goto(path.as_uri())
        pages.append(page)
        return page

    yield load
    for page in pages:
        page.close()


def edited_copy(source: str | Path, target: Path, edit) -> Path:
    records = [json.loads(line) for line in Path(source).read_text().splitlines()]
    edit(records)
    target.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return target


def boxed(evidence) -> list:
    return [e for e in evidence if e.image and e.bbox is not None]


def test_page_shows_image_boxes_evidence_and_answer(runs, open_page):
    loc = runs["street"]
    page = open_page(render_html(loc.trace_path))
    assert page.eval_on_selector("img.root", "i => i.complete && i.naturalWidth") > 0
    ocr = [e for e in boxed(loc.evidence) if e.kind == "ocr_text"]
    regions = {tuple(round(v, 1) for v in e.bbox) for e in boxed(loc.evidence)}
    assert page.locator("rect.box.ocr").count() == len(ocr) == 4
    assert page.locator("rect.box").count() == len(regions)
    first = page.locator(f'rect.box[data-ev~="{ocr[0].id}"]')
    assert float(first.get_attribute("x")) == pytest.approx(ocr[0].bbox[0], abs=0.1)
    derived = next(e for e in loc.evidence if e.kind == "place_name" and e.bbox)
    assert page.locator(f'rect.box.ocr[data-ev~="{derived.id}"]').count() == 1  # marked on its text's box
    items = page.locator("ol.evidence > li")
    assert items.count() == len(loc.evidence)
    texts = items.all_inner_texts()
    assert all(e.value in t for e, t in zip(loc.evidence, texts))
    assert page.inner_text("#answer-coords") == f"{loc.lat:.5f}, {loc.lon:.5f}"
    assert page.locator("svg.map.world circle.answer").count() == 1
    assert page.locator("svg.map.local path.uncertainty").count() == 1
    assert page.locator("svg.map circle.cand").count() >= len(loc.candidates)
    assert page.locator("table.timeline tr.step").count() == len(read_trace(loc.trace_path).steps)
    assert "RUA AUGUSTA" in page.inner_text("#solution")
    assert all(url.startswith(("file:", "data:")) for url in page.requests)  # nothing fetched


def test_hovering_evidence_highlights_its_box(runs, open_page):
    loc = runs["street"]
    page = open_page(render_html(loc.trace_path))
    first = boxed(loc.evidence)[0]
    page.hover(f'ol.evidence > li[data-ev="{first.id}"]')
    assert "hl" in page.get_attribute(f'rect.box[data-ev~="{first.id}"]', "class")


def test_hostile_text_is_shown_not_run(runs, open_page, tmp_path):
    loc = runs["street"]

    def poison(records):
        result = records[-1]["result"]
        result["evidence"][0]["value"] = HOSTILE
        result["evidence"][1]["provenance"] = "javascript:window.__pwned=3"
        result["summary"] = HOSTILE
        result["candidates"][0]["label"] = HOSTILE
        read = next(r for r in records if r.get("name") == "read_text")
        read["observation"]["text"] = HOSTILE
        records[0]["images"][0]["source"] = HOSTILE

    page_text = render_html(edited_copy(loc.trace_path, tmp_path / "hostile.jsonl", poison))
    assert "<script>window.__pwned" not in page_text and "&lt;script&gt;window.__pwned" in page_text
    page = open_page(page_text)
    assert page.evaluate("window.__pwned") is None
    assert page.locator('img[src="x"]').count() == 0 and page.locator('a[href^="javascript:"]').count() == 0
    assert HOSTILE in page.inner_text("ol.evidence > li:first-child")
    assert HOSTILE in page.inner_text("#answer .summary")


def test_hostile_text_is_escaped_without_a_browser(runs, tmp_path):
    loc = runs["street"]

    def poison(records):
        records[-1]["result"]["evidence"][0]["value"] = HOSTILE

    text = render_html(edited_copy(loc.trace_path, tmp_path / "hostile.jsonl", poison))
    assert HOSTILE not in text and "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in text
    assert text.count("<script>") == 1  # the page's own, allowed by its hash in the CSP
    assert provenance_link("javascript:alert(1)") == "javascript:alert(1)"
    assert provenance_link("way/27235432").startswith('<a href="https://www.openstreetmap.org/way/27235432"')


def test_crop_registry_and_pixels_without_a_browser(runs):
    trace = read_trace(runs["crops"].trace_path)
    registry = image_registry(trace)
    assert registry["img:1"].parent == "img:0" and registry["img:1"].operation["op"] == "zoom"
    assert registry["img:1"].to_root == pytest.approx((0.5, 0.5, 960, 405), abs=0.01)
    assert registry["img:2"].to_root is None  # rotated: its boxes cannot be mapped to the photo
    text = render_html(trace)
    assert text.count("re-derived, pixels verified") == 2 and text.count("data:image/jpeg;base64,") == 3


def test_crops_are_rederived_and_mapped_back(runs, open_page):
    loc = runs["crops"]
    page = open_page(render_html(loc.trace_path))
    assert page.locator("img.crop").count() == 2
    assert all(w > 0 for w in page.eval_on_selector_all("img.crop", "xs => xs.map(i => i.naturalWidth)"))
    assert page.inner_text("#crops").count("pixels verified") == 2
    zoom = page.locator("figure.root-fig rect.crop")
    assert zoom.count() == 1 and float(zoom.get_attribute("x")) == pytest.approx(960, abs=1)
    on_root = [e for e in boxed(loc.evidence) if e.image == "img:0"]
    on_rotated = [e for e in boxed(loc.evidence) if e.image == "img:2"]
    assert on_root and on_rotated
    assert page.locator("figure.root-fig rect.box").count() == len(on_root)
    assert page.locator("figure.crop-fig rect.box").count() == len(on_rotated)


def test_boxes_on_a_crop_handle_are_drawn_on_the_photo(runs, open_page, tmp_path):
    """Evidence reported in a zoom's own pixels lands where the zoom came from."""
    loc = runs["crops"]
    item = next(e for e in loc.evidence if e.image == "img:0")
    entry = image_registry(read_trace(loc.trace_path))["img:1"]
    sx, sy, ox, oy = entry.to_root
    local = [(item.bbox[0] - ox) / sx, (item.bbox[1] - oy) / sy, (item.bbox[2] - ox) / sx, (item.bbox[3] - oy) / sy]

    def move(records):
        for e in records[-1]["result"]["evidence"]:
            if e["id"] == item.id:
                e["image"], e["bbox"] = "img:1", local

    page = open_page(render_html(edited_copy(loc.trace_path, tmp_path / "local.jsonl", move)))
    rect = page.locator(f'figure.root-fig rect.box[data-ev~="{item.id}"]')
    assert float(rect.get_attribute("x")) == pytest.approx(item.bbox[0], abs=0.2)
    assert float(rect.get_attribute("width")) == pytest.approx(item.bbox[2] - item.bbox[0], abs=0.2)
    assert "(drawn on img:0)" in page.inner_text(f'ol.evidence > li[data-ev="{item.id}"]')


def test_missing_image_gives_placeholders(runs, open_page, tmp_path):
    loc = runs["crops"]

    def elsewhere(records):
        records[0]["images"][0]["source"] = "gone/lisbon_street.jpg"
        records[0]["images"][0]["path"] = "/nowhere/gone/lisbon_street.jpg"

    page = open_page(render_html(edited_copy(loc.trace_path, tmp_path / "moved.jsonl", elsewhere)))
    assert page.locator(".placeholder").count() == 3  # the photo and both crops
    assert "gone/lisbon_street.jpg not found" in page.inner_text("#images")
    assert page.locator("ol.evidence > li").count() == len(loc.evidence)
    assert all("box not drawn" in t for t in page.locator("ol.evidence > li").all_inner_texts())
    found = render_html(tmp_path / "moved.jsonl", image_dirs=[LISBON.parent])
    assert found.count("data:image/jpeg;base64,") == 3


def test_cli_html(runs, tmp_path, capsys):
    trace = runs["street"].trace_path
    out = tmp_path / "report" / "run.html"
    assert main(["trace", "html", trace, "-o", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>") and f"wrote {out}" in capsys.readouterr().out
    assert main(["trace", "html", str(tmp_path / "nope.jsonl")]) == 1
    assert capsys.readouterr().err.startswith("geosleuth: error: trace not found")


def test_map_draws_coastlines_and_links_each_candidate_offline(runs, browser, tmp_path):
    """With every request but the page itself refused, the map still has its land, and each
    candidate links out to OpenStreetMap, Google Maps and street-level imagery."""
    loc = runs["street"]
    path = tmp_path / "offline.html"
    path.write_text(render_html(loc.trace_path), encoding="utf-8")
    context = browser.new_context()
    refused: list[str] = []

    def block(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", block)
    page = context.new_page()
    try:
        page.goto(path.as_uri())
        world = page.locator("svg.map.world path.land")
        assert world.count() > 100  # every country of Natural Earth, not a blank graticule
        box = page.eval_on_selector("svg.map.world", "s => s.querySelector('path.land').getBBox().width")
        assert box > 0
        portugal = page.locator('svg.map.world path.land[data-cc="PT"]')
        assert portugal.count() == 1 and len(portugal.get_attribute("d")) > 50
        local = page.locator("svg.map.local path.land")
        assert local.count() >= 1  # the coast round Lisbon, at the local view's scale
        assert page.locator(".legend").count() == 2
        rows = page.locator("table.candidates tr:has(td)")
        assert rows.count() == len(loc.candidates)
        for i in range(rows.count()):
            hrefs = rows.nth(i).locator("a.maplink").evaluate_all("xs => xs.map(a => a.href)")
            assert any(h.startswith("https://www.openstreetmap.org/?mlat=") for h in hrefs)
            assert any(h.startswith("https://www.google.com/maps/search/") for h in hrefs)
            assert any("map_action=pano" in h for h in hrefs) and any("mapillary.com" in h for h in hrefs)
        assert page.locator("#answer a.maplink").count() == 4
        assert refused == []  # the page asked for nothing
    finally:
        context.close()


def test_cli_html_from_another_folder_finds_the_photo(tmp_path, monkeypatch, capsys, open_page):
    """A run made with a relative image path, reported from another folder: the header's
    recorded absolute path finds the photo, so the page has it and its boxes."""
    monkeypatch.chdir(LISBON.parent.parent)
    trace = tmp_path / "runs" / "street.jsonl"
    Agent().locate("examples/lisbon_street.jpg", use_metadata=False, trace=trace)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = elsewhere / "report.html"
    assert main(["trace", "html", str(trace), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and f"wrote {out}" in captured.out
    page = open_page(out.read_text(encoding="utf-8"))
    assert page.eval_on_selector("img.root", "i => i.complete && i.naturalWidth") > 0
    assert page.locator("rect.box.ocr").count() >= 1
    assert "pixels not available" not in page.inner_text("#images")


def test_cli_html_says_when_an_image_cannot_be_found(runs, tmp_path, capsys):
    def elsewhere(records):
        records[0]["images"][0]["source"] = "gone/lisbon_street.jpg"
        records[0]["images"][0]["path"] = "/nowhere/gone/lisbon_street.jpg"

    moved = edited_copy(runs["street"].trace_path, tmp_path / "moved.jsonl", elsewhere)
    out = tmp_path / "moved.html"
    assert main(["trace", "html", str(moved), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "image not shown: img:0" in err and "--images" in err and not out.exists()
    assert main(["trace", "html", str(moved), "-o", str(out), "--allow-missing-images"]) == 0
    assert out.exists() and "image not shown" in capsys.readouterr().err
    assert main(["trace", "html", str(moved), "-o", str(out), "--images", str(LISBON.parent)]) == 0
    assert "data:image/jpeg;base64," in out.read_text()


def _image_step(records, handle):
    return next(r for r in records if r.get("kind") == "image" and r.get("handle") == handle)


def test_registry_takes_pixel_maps_from_the_image_steps(runs, tmp_path):
    """The report uses what the run recorded about each image, not a reconstruction."""

    def remap(records):
        _image_step(records, "img:1")["to_root"] = [0.25, 0.25, 10.0, 20.0]

    edited = read_trace(edited_copy(runs["crops"].trace_path, tmp_path / "remap.jsonl", remap))
    entry = image_registry(edited)["img:1"]
    assert entry.to_root == (0.25, 0.25, 10.0, 20.0)
    made_by = next(s for s in edited.tool_calls() if s.name == "zoom").index
    assert entry.step == made_by and entry.parent == "img:0"


def test_a_crafted_huge_zoom_is_refused_before_allocating(runs, tmp_path, capsys):
    def huge(records):
        step = _image_step(records, "img:1")
        step["width"] = step["height"] = 30000

    crafted = edited_copy(runs["crops"].trace_path, tmp_path / "huge.jsonl", huge)
    with pytest.raises(TraceError, match=r"img:1 is recorded as 30000x30000 pixels"):
        render_html(crafted)
    assert main(["trace", "html", str(crafted), "-o", str(tmp_path / "huge.html")]) == 1
    assert "geosleuth: error:" in capsys.readouterr().err and not (tmp_path / "huge.html").exists()


def test_a_crop_box_past_the_image_is_clamped(runs, tmp_path):
    def past(records):
        step = _image_step(records, "img:1")
        step["operation"]["box"] = [-5e9, -5e9, 5e9, 5e9]

    text = render_html(edited_copy(runs["crops"].trace_path, tmp_path / "past.jsonl", past))
    assert text.count("data:image/jpeg;base64,") == 3
    assert "re-derived (approximately" in text  # made from the clamped box, so not the recorded pixels

    def not_a_box(records):
        _image_step(records, "img:1")["operation"]["box"] = [0, 0, float("inf"), 10]

    text = render_html(edited_copy(runs["crops"].trace_path, tmp_path / "inf.jsonl", not_a_box))
    assert "not shown: cannot redo operation &#x27;zoom&#x27;" in text
    assert text.count("data:image/jpeg;base64,") == 1  # the photo; the zoom and the copy made of it are not


@pytest.mark.parametrize("name", ["heuristic_lisbon", "model_lisbon"])
def test_version_1_traces_render(name, tmp_path):
    trace = read_trace(V1 / f"{name}.jsonl")
    assert trace.header.source_version == 1
    registry = image_registry(trace)
    text = render_html(trace, image_dirs=[LISBON.parent])
    assert "re-read from" in text and "sha256 verified" in text
    assert text.count('<tr class="step') == len(trace.steps)
    if name == "model_lisbon":  # the model cropped img:0: the crop is re-derived and framed on the photo
        assert registry["img:1"].to_root == pytest.approx((1.0, 1.0, 480.0, 320.0))
        assert "re-derived, pixels verified" in text and text.count('<rect class="crop"') == 1
        assert text.count("data:image/jpeg;base64,") == 2
