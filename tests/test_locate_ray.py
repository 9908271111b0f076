"""``geosleuth locate --engine ray`` against a real local Ray (2 CPUs): the same answers,
sheet and traces as the local engine, written by the driver alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_locate_batch import geotagged_folder

ray = pytest.importorskip("ray")

from agent import batch_csv  # noqa: E402
from agent.cli import main  # noqa: E402
from graphs.trace import read_trace  # noqa: E402

ANSWER_COLUMNS = ("image", "lat", "lon", "radius_km", "confidence", "country_code", "city", "top_evidence", "error")


@pytest.fixture(scope="module")
def ray_session():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def answers(sheet: Path) -> list[dict[str, str]]:
    return [{k: row[k] for k in ANSWER_COLUMNS} for row in batch_csv.read_rows(sheet.read_text())]


def test_a_ray_pool_answers_a_folder_as_the_local_engine_does(tmp_path, ray_session, capsys):
    geotagged_folder(tmp_path / "case")
    listing = tmp_path / "more.txt"
    listing.write_text("case/a.jpg\nmissing.jpg\n")
    inputs = [str(tmp_path / "case"), str(listing)]
    assert main(["locate", *inputs, "--csv", str(tmp_path / "local.csv")]) == 1
    ray_args = ["--engine", "ray", "--actors", "2", "--actor-cpus", "0.5", "--trace", str(tmp_path / "traces")]
    assert main(["locate", *inputs, *ray_args, "--csv", str(tmp_path / "ray.csv")]) == 1
    capsys.readouterr()
    local, remote = answers(tmp_path / "local.csv"), answers(tmp_path / "ray.csv")
    assert [r["image"] for r in remote] == [r["image"] for r in local]
    for mine, theirs in zip(remote[:5], local[:5], strict=True):
        assert mine == theirs
    assert "image not found" in remote[5]["error"] and remote[5]["lat"] == ""
    rows = batch_csv.read_rows((tmp_path / "ray.csv").read_text())
    traces = sorted((tmp_path / "traces").glob("*.jsonl"))
    assert len(traces) == 5 and sorted(r["trace_file"] for r in rows[:5]) == sorted(map(str, traces))
    for row in rows[:5]:  # written here by the driver, whole, and each its own photo's run
        trace = read_trace(row["trace_file"])
        assert trace.finished and Path(trace.images()[0].path).name == Path(row["image"]).name


def test_a_bad_option_stops_the_batch_with_its_message(tmp_path, ray_session, capsys):
    geotagged_folder(tmp_path / "case")
    args = ["locate", str(tmp_path / "case"), "--engine", "ray", "--strategy", "cluster", "--samples", "0"]
    assert main([*args, "--model", "openai:m@http://127.0.0.1:9"]) == 2
    assert "samples must be >= 1" in capsys.readouterr().err
