"""Trace file names (one scheme, never overwriting) and the batch CSV layout."""

from __future__ import annotations

import csv
import io
import itertools
import threading
from pathlib import Path

import pytest

from agent import batch_csv
from agent.location import Location
from graphs.trace_names import MAX_STEM, create_trace_file, image_stem, slugify, trace_name
from tools.errors import GeoSleuthError
from tools.evidence import Candidate, Evidence, ToolSource


def test_names_are_a_readable_stem_and_a_short_suffix():
    assert slugify("Rua Augusta (2).JPG") == "rua-augusta-2-jpg"
    assert slugify("Açaí na Praça") == "acai-na-praca"
    assert image_stem("photos/IMG 2024-05-01 Lisboa.jpeg") == "img-2024-05-01-lisboa"
    assert image_stem(["a/front.jpg", "a/side.jpg"]) == "front-and-1-more"
    assert image_stem(b"raw bytes") == "run"
    assert image_stem("北京 街道.png") == "北京-街道"
    long = image_stem("x" * 10 + " " + "word " * 30 + ".jpg")
    assert len(long) <= MAX_STEM and not long.endswith("-")
    name = trace_name("examples/lisbon_street.jpg")
    assert name.startswith("lisbon-street-") and name.endswith(".jsonl")
    assert len(name.removeprefix("lisbon-street-").removesuffix(".jsonl")) == 6
    assert "/" not in trace_name("../../etc/passwd") and trace_name("../../etc/passwd").startswith("passwd-")


def test_creating_never_overwrites_and_retries_on_collision(tmp_path):
    taken = tmp_path / "lisbon-street-aaaaaa.jsonl"
    taken.write_text("an earlier run\n")
    suffixes = iter(["aaaaaa", "aaaaaa", "bbbbbb"])
    path = create_trace_file(tmp_path, "examples/lisbon_street.jpg", suffixes=lambda: next(suffixes))
    assert path.name == "lisbon-street-bbbbbb.jsonl" and path.read_text() == ""
    assert taken.read_text() == "an earlier run\n"
    with pytest.raises(GeoSleuthError, match="no free trace name"):
        create_trace_file(tmp_path, "lisbon_street.jpg", suffixes=itertools.repeat("aaaaaa").__next__)


def test_concurrent_writers_get_distinct_files(tmp_path):
    made: list[Path] = []
    lock = threading.Lock()

    def make():
        path = create_trace_file(tmp_path / "traces", "same photo.jpg")
        with lock:
            made.append(path)

    threads = [threading.Thread(target=make) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 16 and all(p.name.startswith("same-photo-") for p in made)


def _location(**extra) -> Location:
    sign = Evidence(
        id="ev:4",
        kind="place_name",
        value="'lisboa' -> Lisbon, Portugal",
        confidence=0.73,
        source=ToolSource(tool="analyze_text"),
    )
    hostile = Evidence(id="ev:5", kind="ocr_text", value="=HYPERLINK(1)", confidence=0.2, source=ToolSource(tool="t"))
    candidate = Candidate(lat=38.72509, lon=-9.1498, label="Lisbon", score=0.8, sources=["ev:4"], radius_km=10.6)
    fields = dict(
        lat=38.72509,
        lon=-9.1498,
        confidence=0.6,
        radius_km=10.6,
        country_code="PT",
        country="Portugal",
        region="Lisbon",
        city="Lisbon",
        candidates=[candidate],
        evidence=[sign, hostile],
        summary="Located in Lisbon",
        trace_path="runs/lisbon-street-3f9a1c.jsonl",
    )
    fields.update(extra)
    return Location(**fields)


def test_batch_rows_have_one_layout():
    rows = [
        batch_csv.row("a.jpg", _location()),
        batch_csv.row("b.jpg", Location(reason="no evidence was found")),
        batch_csv.row("=cmd|' /C calc'!A0", error="image not found"),
    ]
    text = batch_csv.to_csv(rows)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert tuple(parsed[0]) == batch_csv.COLUMNS
    first = parsed[0]
    assert (first["lat"], first["lon"], first["radius_km"], first["confidence"]) == (
        "38.72509",
        "-9.1498",
        "10.6",
        "0.6",
    )
    assert first["country_code"] == "PT" and first["city"] == "Lisbon"
    assert first["top_evidence"] == "[ev:4] place_name 'lisboa' -> Lisbon, Portugal (0.73)"
    assert first["trace_file"] == "runs/lisbon-street-3f9a1c.jsonl"
    assert parsed[1]["lat"] == "" and parsed[1]["top_evidence"].startswith("no answer: no evidence")
    assert parsed[2]["image"].startswith("'=") and parsed[2]["error"] == "image not found"  # no formula
    assert batch_csv.read_rows(text) == parsed


LISBON = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"


@pytest.mark.slow
def test_locate_several_images_shows_progress_names_traces_and_writes_csv(tmp_path, capsys):
    from agent.cli import main

    copy = tmp_path / "Second View.jpg"
    copy.write_bytes(LISBON.read_bytes())
    traces = tmp_path / "traces"
    (traces).mkdir()
    (traces / "run-0000.jsonl").write_text("an older batch\n")
    sheet = tmp_path / "out" / "batch.csv"
    args = [
        "locate",
        str(LISBON),
        str(copy),
        str(tmp_path / "missing.jpg"),
        "--trace",
        str(traces),
        "--csv",
        str(sheet),
    ]
    assert main(args) == 1  # one image failed
    err = capsys.readouterr().err
    assert "[1/3] " in err and "[2/3] " in err and "[3/3] " in err
    assert (traces / "run-0000.jsonl").read_text() == "an older batch\n"
    names = sorted(p.name for p in traces.glob("*.jsonl") if p.name != "run-0000.jsonl")
    assert len(names) == 2 and names[0].startswith("lisbon-street-") and names[1].startswith("second-view-")
    rows = batch_csv.read_rows(sheet.read_text())
    assert [r["image"] for r in rows] == [str(LISBON), str(copy), str(tmp_path / "missing.jpg")]
    assert rows[0]["country_code"] == "PT" and Path(rows[0]["trace_file"]).name == names[0]
    assert rows[2]["lat"] == "" and "not found" in rows[2]["error"]
    # a recorded run exports to the same layout
    assert main(["trace", "export", rows[0]["trace_file"], "--format", "csv"]) == 0
    exported = batch_csv.read_rows(capsys.readouterr().out)
    assert len(exported) == 1
    assert {k: exported[0][k] for k in ("lat", "lon", "country_code", "trace_file")} == {
        k: rows[0][k] for k in ("lat", "lon", "country_code", "trace_file")
    }
