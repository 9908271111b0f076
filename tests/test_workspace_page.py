"""The workspace page in a real browser: Debian's Chromium driven by Playwright, against a
real server on 127.0.0.1, with every request elsewhere refused.

One investigator's path: create a case, add the Lisbon example, watch the steps stream in,
see the OCR boxes on the photo and the answer on the map (coastlines drawn), choose
candidate 2 in review, add a note, download the KML and the proof zip. Screenshots are kept
in the test's tmp folder; ``GEOSLEUTH_TEST_WRITE_DOCS=1`` also writes ``docs/workspace.png``.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

import httpx
from helpers import jpeg_with_gps
from PIL import Image
from workspace_support import LiveServer, PacedPolicy, paced_agents

from agent import Agent
from workspace.api import Workspace
from workspace.config import WorkspaceConfig

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "page-token-0123456789abcdef"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--metrics-recording-only",
]


def ocr_agents(settings):
    """The heuristic playbook with OCR (the photo's boxes), paced so the steps can be watched."""
    return Agent(policy=PacedPolicy(), online=settings.online)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no system chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        try:
            instance = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        except Exception as exc:
            pytest.skip(f"chromium does not start here: {exc}")
        yield instance
        instance.close()


def serve(tmp_path: Path, factory):
    ws = Workspace(WorkspaceConfig(data_dir=tmp_path / "data", token=TOKEN, agent_factory=factory))
    return ws, LiveServer(ws.asgi)


@pytest.fixture
def open_page(browser):
    """A 1280-px page whose requests may go to 127.0.0.1 only (the rest are refused and kept)."""
    contexts = []

    def make(url: str):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        contexts.append(context)
        context.refused = []

        def block(route):
            if route.request.url.startswith("http://127.0.0.1:"):
                route.continue_()
            else:
                context.refused.append(route.request.url)
                route.abort()

        context.route("**/*", block)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
        page.goto(url)
        return page

    yield make
    for context in contexts:
        context.close()


def new_case_page(live, open_page, name: str):
    """A case made through the API, and the page open on it: (API client, case id, page)."""
    api = httpx.Client(base_url=live.url, headers={"X-GeoSleuth-Token": TOKEN})
    case_id = api.post("/api/cases", json={"name": name}).json()["id"]
    return api, case_id, open_page(f"{live.url}/?token={TOKEN}#/case/{case_id}")


def write_docs_screenshot(shot: Path) -> None:
    """The README's picture: the screenshot in 256 colours (small enough to keep in git)."""
    target = ROOT / "docs" / "workspace.png"
    target.parent.mkdir(exist_ok=True)
    with Image.open(shot) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
    assert target.stat().st_size < 300_000


def test_an_investigation_from_upload_to_export(tmp_path, monkeypatch, open_page, gazetteer):
    monkeypatch.setenv("GEOSLEUTH_TEST_PACE_S", "0.15")
    ws, live = serve(tmp_path, ocr_agents)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with live:
        page = open_page(f"{live.url}/?token={TOKEN}")
        assert "token=" not in page.url, "the token leaves the address bar once read"

        # a case, from the list
        page.fill("#case-name", "Lisbon walk")
        page.click("#new-case button[type=submit]")
        page.wait_for_selector("#case-title")
        assert page.inner_text("#case-title") == "Lisbon walk"

        # the photo, chosen with the file input; the run starts and its steps stream in
        page.set_input_files("#file-input", str(ROOT / "examples" / "lisbon_street.jpg"))
        page.wait_for_selector("#steps li[data-kind=tool_call]", timeout=60_000)
        assert page.locator("#review").count() == 0, "steps arrive while the run still works"
        page.screenshot(path=str(shots / "1-running.png"))

        # it pauses for review: OCR boxes on the photo, candidates, the map with coastlines
        page.wait_for_selector("#review", timeout=120_000)
        page.wait_for_selector("svg.overlay rect.box.ocr_text")
        boxes = page.eval_on_selector_all("svg.overlay rect.box.ocr_text", "els => els.map(e => e.textContent)")
        assert any("RUA AUGUSTA" in b for b in boxes)
        box = page.locator("svg.overlay rect.box.ocr_text").first.bounding_box()
        photo = page.locator("#photo").bounding_box()
        assert box and photo and photo["x"] <= box["x"] and box["x"] + box["width"] <= photo["x"] + photo["width"] + 1
        assert page.locator("#map svg.map path.land").count() > 10, "coastlines and borders drawn"
        assert page.locator("#map circle.answer").count() >= 1
        rows = page.locator("#candidates tr").count()
        assert rows >= 3
        second = page.locator("#review .choose").nth(1)
        second_at = page.locator("#candidates tr").nth(2).locator("td").nth(2).inner_text()  # row 0: headings
        page.screenshot(path=str(shots / "2-review.png"))

        # choose candidate 2; the run resumes and finishes with it
        page.fill("#review-note", "the street sign says Lisboa")
        second.click()
        page.wait_for_selector("#run-status.done", timeout=60_000)
        page.wait_for_selector("#answer")
        assert page.inner_text("#answer strong") == second_at, "the answer is the chosen candidate"
        assert page.locator("#steps li[data-kind=review]").count() == 1, "the decision is a step of the trace"

        # a note on this photo
        page.fill("#photo-note", "Rua Augusta, looking south")
        page.click("#photo-note-add")
        page.wait_for_selector("#photo-notes li")
        page.screenshot(path=str(shots / "3-done.png"))

        # exports: KML and the proof zip, downloaded by the browser
        with page.expect_download() as kml:
            page.click("#export-kml")
        kml_text = Path(kml.value.path()).read_text(encoding="utf-8")
        assert "<kml" in kml_text and "-9.1" in kml_text
        with page.expect_download() as proof:
            page.click("#export-zip")
        with zipfile.ZipFile(proof.value.path()) as archive:
            names = archive.namelist()
            manifest = json.loads(archive.read("manifest.json"))
        assert any(n.startswith("traces/") for n in names) and manifest

        # the page fits a 1280-px window and fetched nothing from elsewhere
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 1280
        context = page.context
        assert context.refused == []
        assert page.errors == []

        case_id = page.url.split("#/case/")[1].split("/")[0]
        notes = httpx.get(f"{live.url}/api/cases/{case_id}", headers={"X-GeoSleuth-Token": TOKEN}).json()["notes"]
        assert [n["text"] for n in notes] == ["Rua Augusta, looking south"]
    ws.close()
    if os.environ.get("GEOSLEUTH_TEST_WRITE_DOCS") == "1":
        write_docs_screenshot(shots / "2-review.png")


def test_text_from_a_photo_is_shown_as_text(tmp_path, monkeypatch, open_page, gazetteer):
    monkeypatch.setenv("GEOSLEUTH_TEST_PACE_S", "0")
    ws, live = serve(tmp_path, paced_agents)
    make = "<script>window.pwned=1</script>"
    model = '"><img src=x onerror="window.pwned=2">'
    photo = jpeg_with_gps(38.72, -9.14, make=make, model=model)
    with live:
        client = httpx.Client(base_url=live.url, headers={"X-GeoSleuth-Token": TOKEN})
        case_id = client.post("/api/cases", json={"name": "<b>hostile</b>", "review": False}).json()["id"]
        name = '"><img src=y onerror=window.pwned=3>.jpg'
        client.post(f"/api/cases/{case_id}/images", files={"file": (name, photo, "image/jpeg")}).raise_for_status()
        page = open_page(f"{live.url}/?token={TOKEN}#/case/{case_id}")
        page.wait_for_selector("#run-status.done", timeout=60_000)
        page.wait_for_selector("#evidence")
        shown = page.inner_text("#evidence")
        assert "<script>window.pwned=1</script>" in shown
        assert '"><img src=x onerror="window.pwned=2">' in shown
        assert "<b>hostile</b>" in page.inner_text("#case-title")
        assert page.evaluate("window.pwned") is None
        assert page.locator("#detail img").count() == 1, "only the photo itself is an image"
        assert page.locator("#evidence script, #steps script").count() == 0
        page.screenshot(path=str(tmp_path / "hostile.png"))
        assert page.context.refused == []
    ws.close()


def hostile_sign() -> bytes:
    """A photo of a sign whose words are markup: what OCR reads from it is the most
    untrusted text the page shows (anyone can put a sign in front of a camera)."""
    from io import BytesIO

    from PIL import ImageDraw, ImageFont

    font = ImageFont.truetype(FONT, 56)
    image = Image.new("RGB", (1400, 420), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 60), "<script>pwned=2</script>", font=font, fill="black")
    draw.text((40, 220), '"><img src=x onerror=pwned=1>', font=font, fill="black")
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def test_markup_read_from_the_pixels_is_shown_as_text(tmp_path, monkeypatch, open_page, gazetteer):
    if not Path(FONT).exists():
        pytest.skip(f"no {FONT} to draw the sign with (apt-get install fonts-dejavu-core)")
    monkeypatch.setenv("GEOSLEUTH_TEST_PACE_S", "0")
    ws, live = serve(tmp_path, ocr_agents)
    with live:
        api = httpx.Client(base_url=live.url, headers={"X-GeoSleuth-Token": TOKEN})
        case_id = api.post("/api/cases", json={"name": "a sign with markup on it", "review": False}).json()["id"]
        sign = {"file": ("sign.jpg", hostile_sign(), "image/jpeg")}
        api.post(f"/api/cases/{case_id}/images", files=sign).raise_for_status()
        page = open_page(f"{live.url}/?token={TOKEN}#/case/{case_id}")
        page.wait_for_selector("#run-status.done", timeout=60_000)
        page.wait_for_selector("#evidence")
        shown = page.inner_text("#evidence")
        assert '"><img src=x onerror=pwned=1>' in shown, "OCR read the sign, and the page shows it as text"
        assert page.evaluate("typeof window.pwned") == "undefined"
        assert page.locator("#detail img").count() == 1, "only the photo itself is an image"
        assert page.locator("#evidence script, #steps script, #evidence img, #steps img").count() == 0
        page.screenshot(path=str(tmp_path / "hostile-sign.png"))
        assert page.context.refused == [] and page.errors == []
    ws.close()


def test_the_page_is_served_with_a_strict_policy(tmp_path) -> None:
    ws, live = serve(tmp_path, paced_agents)
    with live:
        page = httpx.get(f"{live.url}/?token={TOKEN}")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
        assert "<script" in page.text and "<script>" not in page.text, "no inline script"
        assert "HttpOnly" in page.headers["set-cookie"]
        cookies = {"geosleuth_token": TOKEN}
        assert httpx.get(f"{live.url}/static/app.js", cookies=cookies).status_code == 200
        assert httpx.get(f"{live.url}/static/app.js").status_code == 401, "the page's files need the token too"
        for name in ("..%2Fapi.py", "api.py", ".hidden.js"):
            assert httpx.get(f"{live.url}/static/{name}", cookies=cookies).status_code == 404
    ws.close()


def test_the_page_works_from_the_keyboard(tmp_path, monkeypatch, open_page, gazetteer):
    monkeypatch.setenv("GEOSLEUTH_TEST_PACE_S", "0")
    ws, live = serve(tmp_path, paced_agents)
    with live:
        page = open_page(f"{live.url}/?token={TOKEN}")
        page.wait_for_selector("#case-name:focus")
        page.keyboard.type("Keyboard case")
        page.keyboard.press("Enter")
        page.wait_for_selector("#case-title")
        choosers = []
        page.on("filechooser", lambda chooser: choosers.append(chooser))
        for _ in range(40):  # Tab through the page to the drop zone
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement && document.activeElement.id") == "drop":
                break
        else:
            pytest.fail("the drop zone cannot be reached with Tab")
        page.keyboard.press("Enter")
        page.wait_for_timeout(100)
        for _ in range(50):
            if choosers:
                break
            page.wait_for_timeout(100)
        assert choosers, "Enter on the drop zone opens the file chooser"
        photo = tmp_path / "p.jpg"
        photo.write_bytes(jpeg_with_gps(38.72, -9.14))
        choosers[0].set_files(str(photo))
        page.wait_for_selector("#review-accept", timeout=60_000)
        page.focus("#review-accept")  # a real button: Enter presses it
        page.keyboard.press("Enter")
        page.wait_for_selector("#run-status.done", timeout=60_000)
        assert page.inner_text("#answer strong") == "38.72000, -9.14000"
    ws.close()


def test_case_settings_and_notes_from_the_page(tmp_path, open_page):
    ws, live = serve(tmp_path, paced_agents)
    with live:
        api, case_id, page = new_case_page(live, open_page, "settings")
        page.wait_for_selector("#set-save")
        page.check("#set-online")
        page.uncheck("#set-review")
        page.click("#set-save")
        page.wait_for_selector("#flash:has-text('Settings saved.')")
        settings = api.get(f"/api/cases/{case_id}").json()["settings"]
        assert settings["online"] is True and settings["review"] is False

        # a remote model server without photo upload is refused, and the page says why
        page.fill("#set-model", "openai:gpt-4o@https://api.example.com/v1")
        page.click("#set-save")
        page.wait_for_selector("#flash.error")
        assert "image upload" in page.inner_text("#flash")
        assert api.get(f"/api/cases/{case_id}").json()["settings"]["model"] is None

        page.fill("#case-note", "<i>three photos expected</i>")
        page.click("#case-note-add")
        page.wait_for_selector("#case-notes li")
        assert page.inner_text("#case-notes li") == "<i>three photos expected</i>"
        notes = api.get(f"/api/cases/{case_id}").json()["notes"]
        assert [(n["text"], n["image_id"]) for n in notes] == [("<i>three photos expected</i>", None)]
        assert page.context.refused == []
    ws.close()


def test_an_online_case_adds_osm_tiles_and_an_offline_one_asks_for_none(tmp_path, monkeypatch, open_page):
    pytest.importorskip("xstatic.pkg.leaflet", reason="xstatic-leaflet is not installed")
    monkeypatch.setenv("GEOSLEUTH_TEST_PACE_S", "0")
    # the runs themselves stay offline here (nothing to reach); only the page's tiles are at stake
    ws, live = serve(tmp_path, lambda settings: Agent(policy=PacedPolicy(), disable=["ocr"]))
    hostile = "<img src=x onerror=window.pwned=1>"
    with live:
        api = httpx.Client(base_url=live.url, headers={"X-GeoSleuth-Token": TOKEN})
        photo = jpeg_with_gps(38.72, -9.14, make=hostile)
        pages = {}
        for online in (True, False):
            case_id = api.post("/api/cases", json={"name": "tiles", "online": online, "review": False}).json()["id"]
            api.post(f"/api/cases/{case_id}/images", files={"file": ("p.jpg", photo, "image/jpeg")}).raise_for_status()
            page = open_page(f"{live.url}/?token={TOKEN}#/case/{case_id}")
            page.wait_for_selector("#run-status.done", timeout=60_000)
            page.wait_for_selector("#answer")
            pages[online] = page
        online_page = pages[True]
        online_page.wait_for_selector("#tiles.leaflet-container")
        online_page.wait_for_selector("#tiles path.leaflet-interactive", state="attached")
        online_page.screenshot(path=str(tmp_path / "online.png"))
        online_page.wait_for_timeout(300)
        refused = online_page.context.refused
        assert refused and all(u.startswith("https://tile.openstreetmap.org/") for u in refused)
        assert online_page.evaluate("window.pwned") is None
        assert pages[False].locator("#tiles").count() == 0
        assert pages[False].context.refused == []
    ws.close()


def three_city_agents(settings):
    """Runs that end torn between Porto, Madrid and Nagoya (no pixels needed)."""
    from graphs.policies.scripted import ScriptedPolicy
    from tools.evidence import Candidate

    cities = [("Porto", 41.1496, -8.6057, 0.6), ("Madrid", 40.4168, -3.7038, 0.5), ("Nagoya", 35.1815, 136.9066, 0.4)]
    found = [Candidate(lat=lat, lon=lon, label=name, score=score, radius_km=10.0) for name, lat, lon, score in cities]
    return Agent(policy=ScriptedPolicy(proposals={"text": found}), disable=["ocr"], online=settings.online)


def drop_files(page, files: dict[str, bytes]) -> None:
    """Drag files from the desktop onto the drop zone (a DataTransfer, as the browser makes)."""
    import base64

    payload = [{"name": name, "data": base64.b64encode(data).decode("ascii")} for name, data in files.items()]
    page.evaluate(
        """(files) => {
            const transfer = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], f.name, { type: "image/jpeg" }));
            }
            const zone = document.getElementById("drop");
            zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
            zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }""",
        payload,
    )


def test_photos_dropped_on_the_page_are_reviewed_by_rejecting_and_by_a_hint(tmp_path, open_page):
    ws, live = serve(tmp_path, three_city_agents)
    with live:
        api, case_id, page = new_case_page(live, open_page, "dropped")
        page.wait_for_selector("#drop")
        drop_files(page, {"first.jpg": jpeg_with_gps(41.0, -8.0), "second.jpg": jpeg_with_gps(35.0, 137.0)})
        page.wait_for_selector("#photos button[data-run] >> nth=1", timeout=30_000)  # both uploaded
        runs = {r["id"]: r for r in api.get(f"/api/cases/{case_id}").json()["runs"]}
        assert len(runs) == 2

        # the page opened the last dropped photo: reject Porto and Madrid, and Nagoya is left
        page.wait_for_selector("#review", timeout=60_000)
        page.locator("#review input[type=checkbox]").nth(0).check()
        page.locator("#review input[type=checkbox]").nth(1).check()
        page.click("#review-reject")
        page.wait_for_selector("#run-status.done", timeout=60_000)
        page.wait_for_selector("#answer")
        shown = page.url.split("/run/")[1]
        assert api.get(f"/api/runs/{shown}").json()["result"]["city"] == "Nagoya"

        # the other photo: a hint keeps the candidates in the country it names
        other = next(run_id for run_id in runs if run_id != shown)
        page.click(f"#photos button[data-run='{other}']")
        page.wait_for_selector("#review-hint", timeout=60_000)
        page.fill("#review-hint", "Spain")  # typed while the run's past events still stream in
        page.locator("#review input[type=checkbox]").nth(2).check()
        page.wait_for_selector("#steps li[data-kind=status]", timeout=30_000)
        page.wait_for_timeout(500)  # the redraws those events cause keep what was typed and ticked
        assert page.input_value("#review-hint") == "Spain"
        assert page.locator("#review input[type=checkbox]").nth(2).is_checked()
        page.click("#review-hint-send")
        page.wait_for_selector("#run-status.done", timeout=60_000)
        result = api.get(f"/api/runs/{other}").json()["result"]
        assert result["country_code"] == "ES" and result["city"] == "Madrid"
        assert page.context.refused == [] and page.errors == []
    ws.close()
