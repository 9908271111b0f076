import json
import subprocess
import sys

import pytest
from helpers import PHOTOS, jpeg_with_gps

from agent.cli import main
from graphs.trace import read_trace


@pytest.fixture()
def photo(tmp_path):
    path = tmp_path / "paris.jpg"
    path.write_bytes(jpeg_with_gps(48.8584, 2.2945))
    return path


def test_human_readable_answer_with_evidence(photo, capsys):
    assert main(["locate", str(photo)]) == 0
    out = capsys.readouterr().out
    assert "Answer:" in out and "48.858" in out and "Paris" in out
    assert "exif" in out and "read_metadata" in out


def test_json_output_is_a_location(photo, capsys):
    assert main(["locate", str(photo), "--json", "--strategy", "hierarchical"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["strategy"] == "hierarchical" and data["country_code"] == "FR"
    assert data["evidence"][0]["kind"] == "exif" and "trace" not in data


def test_no_metadata_says_no_answer(photo, capsys):
    assert main(["locate", str(photo), "--no-metadata"]) == 0
    assert "No answer" in capsys.readouterr().out


def test_trace_file_and_directory(photo, tmp_path, capsys):
    target = tmp_path / "one.jsonl"
    assert main(["locate", str(photo), "--trace", str(target)]) == 0
    assert read_trace(target).finished
    capsys.readouterr()
    folder = tmp_path / "many"
    assert main(["locate", str(photo), str(photo), "--trace", str(folder), "--json"]) == 0
    assert len(list(folder.glob("*.jsonl"))) == 2
    assert isinstance(json.loads(capsys.readouterr().out), list)


def test_same_place_combines_views(photo, tmp_path, capsys):
    other = tmp_path / "louvre.jpg"
    other.write_bytes(jpeg_with_gps(48.8606, 2.3376))
    assert main(["locate", str(photo), str(other), "--same-place", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["images"]) == 2


def test_bad_file_prints_one_line_and_continues(photo, tmp_path, capsys):
    missing = tmp_path / "missing.jpg"
    assert main(["locate", str(missing), str(photo)]) == 1
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if "error" in line]  # others: progress, what was sent
    assert errors == [f"geosleuth: error: image not found: {missing}"]
    assert "Answer:" in captured.out


def test_bad_options_exit_2(photo, capsys):
    with pytest.raises(SystemExit) as info:
        main(["locate", str(photo), "--strategy", "vibes"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main(["locate", str(photo), "--bbox", "1,2,3"])
    assert main(["locate", str(photo), "--country", "Atlantis"]) == 1
    assert "unknown country" in capsys.readouterr().err


def test_console_script_errors_have_no_traceback(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "agent.cli", "locate", str(empty)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"geosleuth: error: {empty} is empty (0 bytes)"


def test_real_photo_via_cli(photos, capsys):
    item = photos[0]
    assert main(["locate", str(PHOTOS / item["image"]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert abs(data["lat"] - item["lat"]) < 0.001


def test_output_into_a_closed_pipe_is_quiet(photo):
    proc = subprocess.run(
        f"{sys.executable} -m agent.cli locate {photo} {photo} {photo} | head -1",
        shell=True,
        capture_output=True,
        text=True,
    )
    assert proc.stdout.strip() == str(photo)
    assert "Traceback" not in proc.stderr
