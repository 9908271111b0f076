"""``geosleuth eval compare``: paper tables over two small runs of one benchmark file."""

from __future__ import annotations

import csv
import io

import pytest
from helpers import jpeg_with_gps

from agent.cli import main
from evals.compare import compare, paired_bootstrap, radius_honesty, render
from evals.runner import EvalConfig, run_eval
from tools.errors import ConfigError

PLACES365 = "IMG_ID,AUTHOR,LAT,LON,S3_Label,S16_Label,S365_Label,Prob_indoor,Prob_natural,Prob_urban\n"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The same Im2GPS3k-format file: one run reads EXIF (exact), one may not (no answer)."""
    tmp = tmp_path_factory.mktemp("compare")
    lines = [PLACES365]
    for i in range(5):
        lat, lon = 10 + 7 * i, 20 + 11 * i
        (tmp / f"{i}.jpg").write_bytes(jpeg_with_gps(lat, lon, color=(i * 40, 90, 200)))
        lines.append(f"{i}.jpg,author,{lat},{lon},1,5,120,0.1,0.2,0.7\n")
    table = tmp / "im2gps3k_places365.csv"
    table.write_text("".join(lines))
    run_eval(table, EvalConfig(out=tmp / "exif", use_metadata=True, ablations=("ocr",)), progress=False)
    run_eval(table, EvalConfig(out=tmp / "blind", ablations=("ocr",)), progress=False)
    return tmp / "exif", tmp / "blind"


def test_table_rows_references_and_bootstrap(two_runs):
    exif_dir, blind_dir, *_ = two_runs
    table = compare([exif_dir, blind_dir], resamples=200)
    assert table["benchmark"] == "im2gps3k" and table["datasets"] == ["im2gps3k_places365.csv"]
    first, second = table["runs"]
    assert first["acc_25km"] == 100.0 and first["coverage"] == 100.0 and first["geoscore"] == pytest.approx(5000, 1)
    assert second["acc_25km"] == 0.0 and second["coverage"] == 0.0
    assert first["radius_honesty"] == 100.0  # EXIF answers: the truth is inside every circle
    assert first["single_point"] == 100.0  # each EXIF answer rests on its one GPS tag
    assert second["single_point"] is None  # nothing answered, nothing to explain
    assert [r["method"] for r in table["references"]] == ["GeoLocSFT", "G3", "GeoRanker", "GeoSearch + GeoRanker"]
    (diff,) = table["differences"]
    assert diff["n"] == 5 and diff["acc_25km"] == {"diff": -100.0, "low": -100.0, "high": -100.0}
    markdown = render(table)
    assert "| exif | 5 | 100.0 |" in markdown and "G3 (published)" in markdown and "40.9" in markdown
    assert "95% CI" in markdown


def test_cli_prints_csv_and_latex(two_runs, capsys):
    exif_dir, blind_dir, *_ = two_runs
    assert main(["eval", "compare", str(exif_dir), str(blind_dir), "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][:3] == ["run", "n", "≤1 km"] and [r[0] for r in rows[1:3]] == ["exif", "blind"]
    assert rows[3][0] == "GeoLocSFT (published)" and "32.7" in rows[3]
    assert main(["eval", "compare", str(exif_dir), str(blind_dir), "--latex"]) == 0
    latex = capsys.readouterr().out
    assert latex.startswith("\\begin{tabular}") and "\\midrule" in latex and "GeoRanker" in latex


def test_compare_refuses_a_folder_that_is_no_run(tmp_path):
    with pytest.raises(ConfigError, match="not an evaluation run"):
        compare([tmp_path])


def test_radius_honesty_and_paired_bootstrap_on_records():
    def record(i, distance, radius):
        prediction = {"lat": 0.0, "lon": 0.0, "radius_km": radius} if distance is not None else None
        return {"id": str(i), "truth": {"lat": 1.0, "lon": 1.0}, "distance_km": distance, "prediction": prediction}

    records = [record(0, 5, 10), record(1, 50, 10), record(2, 500, 1000), record(3, None, None)]
    honesty = radius_honesty(records)
    assert honesty["radius_honesty"] == pytest.approx(200 / 3)  # 2 of 3 answers hold the truth
    assert honesty["recall_area_1000"] == 25.0  # only the 10 km circle (314 km²) is that small
    assert honesty["recall_area_1000000"] == 25.0 and honesty["recall_area_100"] == 0.0
    better = [record(0, 5, 10), record(1, 5, 10), record(2, 5, 10), record(3, 5, 10)]
    diff = paired_bootstrap(records, better, resamples=500)
    assert diff["n"] == 4 and diff["acc_25km"]["diff"] == 75.0
    assert diff["acc_25km"]["low"] <= 75.0 <= diff["acc_25km"]["high"] and diff["acc_25km"]["low"] >= 0
