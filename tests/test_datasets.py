import json

import pytest
from helpers import SHARED_DATA, jpeg_with_gps

from evals.datasets import DatasetError, load_dataset


def test_photo_jsonl_and_csv(tmp_path):
    (tmp_path / "a.jpg").write_bytes(jpeg_with_gps(10, 20))
    (tmp_path / "p.jsonl").write_text(json.dumps({"id": "a", "image": "a.jpg", "lat": 10, "lon": 20}) + "\n")
    items, facts = load_dataset(tmp_path / "p.jsonl")
    assert facts["kind"] == "photos" and items[0].images == [tmp_path / "a.jpg"] and items[0].truth.point == (10, 20)
    (tmp_path / "p.csv").write_text("image,lat,lon\na.jpg,10.5,-20\n")
    items, facts = load_dataset(tmp_path / "p.csv")
    assert facts["kind"] == "csv" and items[0].id == "1" and items[0].truth.point == (10.5, -20)


def test_geobrowse_jsonl_with_several_images(tmp_path):
    row = {
        "question_id": 7,
        "prompt": "Which country?",
        "image": ["x_0.jpg", "x_1.jpg"],
        "gold_image_answer": "Peru",
        "image_solution": "1. a 2. b",
    }
    (tmp_path / "g.jsonl").write_text(json.dumps(row) + "\n")
    (item,), facts = load_dataset(tmp_path / "g.jsonl")
    assert facts["kind"] == "geobrowse" and item.id == "7" and len(item.images) == 2
    assert item.truth.answer == "Peru" and item.truth.point is None and item.solution == "1. a 2. b"


def test_folder_takes_truth_from_exif(tmp_path):
    (tmp_path / "a.jpg").write_bytes(jpeg_with_gps(-33.9, 151.2))
    (tmp_path / "b.jpg").write_bytes(jpeg_with_gps(0, 0))  # 0,0 means no fix
    (tmp_path / "notes.txt").write_text("ignored")
    items, facts = load_dataset(tmp_path)
    assert [i.id for i in items] == ["a.jpg"] and facts["needs_no_metadata"]
    assert facts["skipped"] == ["b.jpg: no GPS in EXIF"]


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("bad.jsonl", "{not json}\n", "bad.jsonl:1: not JSON"),
        ("bad.jsonl", json.dumps({"image": "a.jpg"}) + "\n", "needs 'lat' and 'lon'"),
        ("bad.jsonl", json.dumps({"image": "a.jpg", "lat": 95, "lon": 0}) + "\n", "out of range"),
        ("bad.jsonl", json.dumps({"lat": 1, "lon": 2}) + "\n", "must be an object with an 'image'"),
        ("bad.csv", "path,lat,lon\na.jpg,1,2\n", "missing image"),
        ("bad.csv", "image,lat,lon\na.jpg,north,2\n", "bad lat/lon"),
        ("bad.txt", "whatever", "unknown dataset form"),
        (
            "dup.jsonl",
            json.dumps({"id": "a", "image": "a.jpg", "lat": 1, "lon": 2}) * 1
            + "\n"
            + json.dumps({"id": "a", "image": "b.jpg", "lat": 1, "lon": 2})
            + "\n",
            "duplicate item ids a",
        ),
    ],
)
def test_bad_datasets_raise_dataset_error_naming_the_place(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_dataset(tmp_path / name)


def test_missing_dataset(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(tmp_path / "nope.jsonl")


def test_real_datasets_load(shared_data):
    items, facts = load_dataset(SHARED_DATA / "geobrowse" / "level1.jsonl")
    assert len(items) == 49 and facts["kind"] == "geobrowse" and all(p.exists() for i in items for p in i.images)
    assert any(len(i.images) > 1 for i in items)
    items, _ = load_dataset(SHARED_DATA / "photos" / "photos.jsonl")
    assert len(items) == 16
