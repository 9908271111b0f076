"""The standard benchmarks' files, each in its real header layout, with images in folders or zips."""

from __future__ import annotations

import json
import zipfile

import pytest
from helpers import jpeg_with_gps

from evals.datasets import DatasetError, load_dataset
from evals.runner import EvalConfig, run_eval

PLACES365 = "IMG_ID,AUTHOR,LAT,LON,S3_Label,S16_Label,S365_Label,Prob_indoor,Prob_natural,Prob_urban\n"
OSV5M = (
    "id,latitude,longitude,thumb_original_url,country,sequence,captured_at,lon_bin,lat_bin,cell,region,sub-region,"
    "city,land_cover,road_index,drive_side,climate,soil,dist_sea,quadtree_10_5000,quadtree_10_25000,"
    "quadtree_10_1000,quadtree_10_50000,quadtree_10_12500,quadtree_10_500,quadtree_10_2500,unique_region,"
    "unique_sub-region,unique_city,unique_country,creator_username,creator_id\n"
)
GEOBROWSE_L1 = "question_id,date,creator,prompt,image,gold_answer,solution,source,judge,referee\n"
GEOBROWSE_L2 = (
    "question_id,creator,prompt,image,gold_image_answer,gold_text_answer,image_solution,image_source,"
    "text_solution,Finalize,judge\n"
)
PARIS, MUNICH = (48.8566, 2.3522), (48.1374, 11.5755)
LIGHT = {"use_metadata": True, "ablations": ("ocr",)}


def places_row(img_id, lat, lon, author="12345678@N00"):
    return f"{img_id},{author},{lat},{lon},1,5,120,0.1,0.2,0.7\n"


def test_im2gps3k_places365_csv_with_an_images_folder(tmp_path):
    images = tmp_path / "im2gps3ktest"
    images.mkdir()
    (images / "1001_4a9b.jpg").write_bytes(jpeg_with_gps(*PARIS))
    (images / "1002_77c0.jpg").write_bytes(jpeg_with_gps(*MUNICH))
    table = tmp_path / "meta" / "im2gps3k_places365.csv"
    table.parent.mkdir()
    table.write_text(PLACES365 + places_row("1001_4a9b.jpg", *PARIS) + places_row("1002_77c0.jpg", *MUNICH))
    items, facts = load_dataset(table, images=images)
    assert facts["kind"] == "im2gps3k" and [i.id for i in items] == ["1001_4a9b.jpg", "1002_77c0.jpg"]
    assert items[0].images == [images / "1001_4a9b.jpg"] and items[1].truth.point == MUNICH
    assert items[0].extra["author"] == "12345678@N00"
    with pytest.raises(DatasetError, match="--images"):  # the images are not beside the CSV
        load_dataset(table)


def test_yfcc4k_images_read_from_a_zip_archive(tmp_path):
    archive = tmp_path / "yfcc4k.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("yfcc4k/9001.jpg", jpeg_with_gps(*PARIS))
        zf.writestr("yfcc4k/9002.jpg", jpeg_with_gps(*MUNICH))
    table = tmp_path / "yfcc4k_places365.csv"
    table.write_text(PLACES365 + places_row("9001.jpg", *PARIS) + places_row("9002.jpg", *MUNICH))
    items, facts = load_dataset(table, images=archive)
    assert facts["kind"] == "yfcc4k" and items[0].images == [archive / "yfcc4k" / "9001.jpg"]
    config = EvalConfig(out=tmp_path / "out", images=str(archive), **LIGHT)
    outcome = run_eval(table, config, progress=False)  # the agent gets the member's bytes
    assert outcome.summary["benchmark"] == "yfcc4k" and outcome.summary["accuracy"]["1km"] == 1.0


def test_mp16_list_with_nested_image_ids(tmp_path):
    (tmp_path / "e6" / "f9").mkdir(parents=True)
    (tmp_path / "e6" / "f9" / "2237641139.jpg").write_bytes(jpeg_with_gps(*PARIS))
    table = tmp_path / "mp16_places365.csv"
    table.write_text(PLACES365 + places_row("e6/f9/2237641139.jpg", *PARIS))
    (item,), facts = load_dataset(table)
    assert facts["kind"] == "mp16" and item.images == [tmp_path / "e6" / "f9" / "2237641139.jpg"]


def osv_row(ident, lat, lon, country, region, city):
    return (
        f"{ident},{lat},{lon},,{country},seq{ident},2019-05-01,0,0,cell,{region},,{city},4,4.6,1,15,3,0.01,"
        f"0,0,0,0,0,0,0,{region}_{country},,{city}_{region}_{country},{country},someone,1113362\n"
    )


def test_osv5m_test_csv_with_zipped_images_scores_its_admin_columns(tmp_path):
    zips = tmp_path / "images" / "test"
    zips.mkdir(parents=True)
    with zipfile.ZipFile(zips / "00.zip", "w") as zf:
        zf.writestr("00/3859149887465501.jpg", jpeg_with_gps(*PARIS))
    with zipfile.ZipFile(zips / "01.zip", "w") as zf:
        zf.writestr("01/1186434378567802.jpg", jpeg_with_gps(*MUNICH))
        zf.writestr("01/2222.jpg", jpeg_with_gps(*PARIS))
    table = tmp_path / "test.csv"
    table.write_text(
        OSV5M
        + osv_row("3859149887465501", *PARIS, "FR", "Île-de-France", "Paris")
        + osv_row("1186434378567802", *MUNICH, "DE", "Bavaria", "Munich")
        + osv_row("2222", *PARIS, "BE", "Brussels", "Brussels")  # the dataset's columns are the truth
    )
    items, facts = load_dataset(table, images=tmp_path / "images" / "test")
    assert facts["kind"] == "osv5m" and [i.id for i in items] == ["3859149887465501", "1186434378567802", "2222"]
    assert items[1].images == [zips / "01.zip" / "01" / "1186434378567802.jpg"]
    assert items[0].extra["admin"] == {"country": "FR", "region": "Île-de-France", "city": "Paris"}
    config = EvalConfig(out=tmp_path / "out", images=str(tmp_path / "images" / "test"), **LIGHT)
    summary = run_eval(table, config, progress=False).summary
    assert summary["benchmark"] == "osv5m" and summary["accuracy"]["1km"] == 1.0
    levels = summary["levels"]
    assert levels["country"] == {"n": 3, "correct": 2, "accuracy": pytest.approx(2 / 3)}
    assert levels["region"]["correct"] == 2 and levels["city"]["correct"] == 2


def test_geobrowse_level1_csv_finds_images_by_question_id(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for name in ("1.png", "28.png", "28(1).png", "280.png"):
        (images / name).write_bytes(b"\x89PNG")
    table = tmp_path / "Geographic_Benchmark.csv"
    table.write_text(
        GEOBROWSE_L1
        + '1,,GengXinyu,请根据这张照片推理出拍摄于哪一个国家？,image.png,日本,"1. 汉字\n2. 左行",https://example.org/v,,\n'
        + '28,,ZhangYuyang,哪个国家：a.西班牙b.以色列,"image.png,image.png",以色列,1. 黄色车牌,src,,\n'
    )
    items, facts = load_dataset(table)
    assert facts["kind"] == "geobrowse" and [i.id for i in items] == ["1", "28"]
    assert items[1].images == [images / "28.png", images / "28(1).png"]  # not 280.png
    assert items[0].truth.answer == "日本" and items[0].solution.startswith("1. 汉字")
    assert items[0].prompt.startswith("请根据") and items[0].extra["level"] == "level1"


def test_geobrowse_level2_csv(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "5.png").write_bytes(b"\x89PNG")
    table = tmp_path / "Geographic Benchmark_Bench-BrowseComp.csv"
    table.write_text(
        GEOBROWSE_L2
        + "5,GengXinyu,这座城市…退役时身处哪一个俱乐部？,image.png,长春,AC米兰,1. 落叶乔木,src,1. 长春亚泰,True,\n"
    )
    (item,), facts = load_dataset(table)
    assert facts["kind"] == "geobrowse" and item.truth.answer == "长春" and item.solution == "1. 落叶乔木"
    assert item.extra == {"level": "level2", "gold_text_answer": "AC米兰", "text_solution": "1. 长春亚泰"}


def test_format_is_detected_from_the_header_or_forced(tmp_path):
    (tmp_path / "a.jpg").write_bytes(jpeg_with_gps(*PARIS))
    table = tmp_path / "whatever.csv"
    table.write_text(PLACES365 + places_row("a.jpg", *PARIS))
    assert load_dataset(table)[1]["kind"] == "places365"  # header says places365, the name no benchmark
    with pytest.raises(DatasetError, match="missing column"):
        load_dataset(table, fmt="osv5m")
    with pytest.raises(DatasetError, match="unknown dataset format"):
        load_dataset(table, fmt="parquet")
    (tmp_path / "odd.csv").write_text("foo,bar\n1,2\n")
    with pytest.raises(DatasetError, match="unknown table header"):
        load_dataset(tmp_path / "odd.csv")
    rows = json.dumps({"id": "a", "image": "a.jpg", "lat": PARIS[0], "lon": PARIS[1]})
    (tmp_path / "p.jsonl").write_text(rows + "\n")
    assert load_dataset(tmp_path / "p.jsonl", fmt="photos")[1]["kind"] == "photos"
