"""``geosleuth locate`` over a folder or a list: what it picks up, the batch outputs, the
local threads engine, and a kill mid-batch (the JSONL keeps every finished photo)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import jpeg_with_gps

from agent import batch, batch_csv
from agent.cli import main
from graphs.trace import read_trace

ROOT = Path(__file__).resolve().parents[1]
LISBON = ROOT / "examples" / "lisbon_street.jpg"
PLACES = [(48.8584, 2.2945), (-33.8568, 151.2153), (35.6586, 139.7454), (40.6892, -74.0445)]


def geotagged_folder(folder: Path) -> list[Path]:
    """Four photos whose EXIF GPS answers them (no OCR needed: fast), one in a subfolder."""
    (folder / "sub").mkdir(parents=True)
    paths = [folder / "a.jpg", folder / "b.JPEG", folder / "sub" / "c.jpg", folder / "sub" / "d.png"]
    for path, (lat, lon) in zip(paths, PLACES, strict=True):
        data = jpeg_with_gps(lat, lon)
        if path.suffix == ".png":  # a PNG keeps no camera EXIF here: it stays unanswered
            from PIL import Image

            Image.new("RGB", (64, 48), "gray").save(path)
        else:
            path.write_bytes(data)
    return paths


def test_a_folder_gives_its_images_sorted_and_skips_the_rest(tmp_path):
    paths = geotagged_folder(tmp_path / "case")
    (tmp_path / "case" / "notes.md").write_text("not a photo")
    (tmp_path / "case" / ".thumbs").mkdir()
    (tmp_path / "case" / ".thumbs" / "a.jpg").write_bytes(b"x")
    (tmp_path / "case" / "._a.jpg").write_bytes(b"macOS fork")
    assert batch.expand_inputs([str(tmp_path / "case")]) == [str(p) for p in paths]
    (tmp_path / "empty").mkdir()
    with pytest.raises(batch.BatchInputError, match="empty: no image files in this folder"):
        batch.expand_inputs([str(tmp_path / "empty")])


def test_a_list_names_photos_relative_to_itself(tmp_path):
    (tmp_path / "lists").mkdir()
    listing = tmp_path / "lists" / "case.txt"
    listing.write_text("# photos from the tip line\n\n../a.jpg\n  /abs/b.jpg  \n", encoding="utf-8")
    found = batch.expand_inputs(["x.jpg", str(listing)])
    assert found == ["x.jpg", str(tmp_path / "lists" / ".." / "a.jpg"), "/abs/b.jpg"]
    (tmp_path / "none.txt").write_text("# nothing yet\n")
    with pytest.raises(batch.BatchInputError, match="names no image"):
        batch.expand_inputs([str(tmp_path / "none.txt")])
    (tmp_path / "latin1.lst").write_bytes("caf\xe9.jpg\n".encode("latin-1"))
    with pytest.raises(batch.BatchInputError, match="not UTF-8"):
        batch.expand_inputs([str(tmp_path / "latin1.lst")])
    with pytest.raises(batch.BatchInputError, match="list file not found"):
        batch.expand_inputs([str(tmp_path / "gone.txt")])


def test_a_folder_on_two_threads_writes_csv_geojson_and_jsonl_in_order(tmp_path, capsys):
    paths = geotagged_folder(tmp_path / "case")
    listing = tmp_path / "more.txt"
    listing.write_text("case/a.jpg\nmissing.jpg\n")
    out = tmp_path / "out"
    args = ["locate", str(tmp_path / "case"), str(listing), "--workers", "2", "--trace", str(out / "traces")]
    args += ["--csv", str(out / "batch.csv"), "--geojson", str(out / "batch.geojson"), "--jsonl", str(out / "b.jsonl")]
    assert main(args) == 1  # one photo is missing
    err = capsys.readouterr().err
    assert all(f"[{n}/6] " in err for n in range(1, 7))
    assert f"geosleuth: error: image not found: {tmp_path / 'missing.jpg'}" in err
    expected = [str(p) for p in paths] + [str(tmp_path / "case" / "a.jpg"), str(tmp_path / "missing.jpg")]
    rows = batch_csv.read_rows((out / "batch.csv").read_text())
    assert [r["image"] for r in rows] == expected  # input order, whatever order they finished in
    for row, (lat, lon) in zip(rows, PLACES[:3], strict=False):
        assert abs(float(row["lat"]) - lat) < 1e-3 and abs(float(row["lon"]) - lon) < 1e-3
        assert read_trace(row["trace_file"]).finished
    assert rows[3]["lat"] == "" and rows[3]["top_evidence"].startswith("no answer")
    assert rows[5]["error"].startswith("image not found") and rows[5]["trace_file"] == ""
    assert len(list((out / "traces").glob("*.jsonl"))) == 5  # no empty file left for the missing photo
    geo = json.loads((out / "batch.geojson").read_text())
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 6
    first = geo["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [PLACES[0][1], PLACES[0][0]]}
    assert first["properties"]["country_code"] == "FR" and first["properties"]["confidence"] > 0.5
    assert geo["features"][5]["geometry"] is None and "not found" in geo["features"][5]["properties"]["error"]
    lines = [json.loads(line) for line in (out / "b.jsonl").read_text().splitlines()]
    assert sorted(line["images"][0] for line in lines) == sorted(expected)
    by_image = {line["images"][0]: line for line in lines}
    assert by_image[str(paths[1])]["location"]["country_code"] == "AU"
    assert by_image[str(tmp_path / "missing.jpg")]["location"] is None


def test_review_is_refused_with_several_workers(tmp_path, capsys):
    geotagged_folder(tmp_path / "case")
    assert main(["locate", str(tmp_path / "case"), "--review", "--workers", "2"]) == 2
    assert "--review asks about one photo at a time" in capsys.readouterr().err


def test_a_killed_batch_keeps_every_finished_photo_in_its_jsonl(tmp_path):
    folder = tmp_path / "case"
    folder.mkdir()
    for n in range(8):  # pixel runs (no EXIF use): each takes long enough to kill mid-batch
        (folder / f"street-{n}.jpg").write_bytes(LISBON.read_bytes())
    sink = tmp_path / "results.jsonl"
    command = [sys.executable, "-m", "agent.cli", "locate", str(folder), "--no-metadata", "--jsonl", str(sink)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and (not sink.exists() or sink.read_text().count("\n") < 2):
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    lines = sink.read_text().splitlines()
    assert 2 <= len(lines) < 8, "the batch should have been killed part way"
    for line in lines:  # every line whole, each a finished answer
        record = json.loads(line)
        assert record["location"]["city"] == "Lisbon" and record["error"] is None
