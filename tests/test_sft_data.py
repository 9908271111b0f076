"""SFT data: the row builder (on the real photos), the teacher step, trace distillation, the CLI."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from helpers import PHOTOS, jpeg_with_gps
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from PIL import Image

from agent.cli import main
from agent.models.protocol import parse_reply
from agent.sft.data import DatasetError, build_dataset, load_examples, prompt_conversation, read_rows
from agent.sft.distill import distill_traces, tool_rounds
from agent.sft.teacher import clean_reasoning
from graphs.policies.model_prompt import SYSTEM_PROMPT
from graphs.trace import TraceRecorder, read_trace
from tools.evidence import Observation

LISBON = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"
V1 = Path(__file__).resolve().parent / "fixtures" / "traces_v1"


def _answer(text: str) -> dict:
    parsed = parse_reply(text)
    assert not parsed.errors
    (call,) = [c for c in parsed.tool_calls if c["name"] == "answer"]
    return call["args"]


def _write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def real_rows(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """The shared photos (absolute paths) plus hand-made bad rows."""
    if not (PHOTOS / "photos.jsonl").exists():
        pytest.skip(f"real photos not available at {PHOTOS}")
    tmp = tmp_path_factory.mktemp("rows")
    good = [json.loads(line) for line in (PHOTOS / "photos.jsonl").read_text().splitlines() if line.strip()]
    for row in good:
        row["image"] = str(PHOTOS / row["image"])
    renamed = tmp / "same-bytes-other-name.jpg"
    shutil.copy(good[1]["image"], renamed)
    bad = [
        {"image": str(tmp / "missing.jpg"), "lat": 10, "lon": 10},
        {"image": good[0]["image"], "lat": 95, "lon": 10},
        {"image": good[0]["image"], "lat": "abc", "lon": 10},
        {"image": good[0]["image"], "lat": float("nan"), "lon": 10},
        {"image": str(renamed), "lat": 1, "lon": 1},
    ]
    return _write_rows(tmp / "rows.jsonl", good + bad), good


def test_build_on_real_photos_reports_bad_rows(real_rows, tmp_path: Path) -> None:
    rows_file, good = real_rows
    report = build_dataset(rows_file, tmp_path / "ds", size=96)

    assert report.examples == len(good)
    assert report.counts == {"missing_file": 1, "bad_coordinates": 3, "duplicate_image": 1}
    details = {r.detail for r in report.rejected}
    assert any("95" in d and "out of range" in d for d in details)
    assert any("'abc' is not a number" in d for d in details)
    assert any("nan" in d and "finite" in d for d in details)
    assert any("same content as rows.jsonl:2" in d for d in details)
    summary = report.summary()
    assert f"{len(good)} examples from {len(good) + 5} rows" in summary and "duplicate image 1" in summary

    on_disk = json.loads((tmp_path / "ds" / "report.json").read_text())
    assert on_disk["counts"] == report.counts and len(on_disk["rejected"]) == 5

    examples = load_examples(tmp_path / "ds")
    assert [e["id"] for e in examples] == [row["id"] for row in good]
    for example, row in zip(examples, good):
        assert [m["role"] for m in example["messages"]] == ["system", "user", "assistant"]
        assert example["messages"][1]["content"] == [
            {"type": "text", "text": "Where was this photo taken?"},
            {"type": "image"},
        ]
        with Image.open(tmp_path / "ds" / example["images"][0]) as im:
            assert im.format == "JPEG" and im.mode == "RGB" and max(im.size) == 96
            assert not im.getexif().get_ifd(0x8825), "GPS must not reach the training images"
        answer = _answer(example["messages"][-1]["content"])
        (candidate,) = answer["candidates"]
        assert candidate["lat"] == pytest.approx(row["lat"], abs=1e-6)
        assert candidate["lon"] == pytest.approx(row["lon"], abs=1e-6)


def test_build_is_deterministic(real_rows, tmp_path: Path) -> None:
    _, good = real_rows
    subset = _write_rows(tmp_path / "subset.jsonl", good[:4])
    build_dataset(subset, tmp_path / "a", size=64)
    build_dataset(subset, tmp_path / "b", size=64)
    build_dataset(subset, tmp_path / "a", size=64)  # rebuilding into its own output is allowed
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 4 + 2
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_csv_rows_names_and_reasoning_round_trip(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    for name, color in (("a.png", "red"), ("b.jpg", "green"), ("c.jpg", "blue")):
        Image.new("RGBA" if name.endswith("png") else "RGB", (60, 30), color).save(tmp_path / "img" / name)
    (tmp_path / "rows.csv").write_text(
        "image,latitude,longitude,reasoning,country,city\n"
        'img/a.png,48.8566,2.3522,"Blue street signs, Haussmann facades",France,Paris\n'
        "img/b.jpg,-33.8688,151.2093,,Australia,Sydney\n"
        "img/c.jpg,35.0,139.0,,,\n",
        encoding="utf-8",
    )
    report = build_dataset(tmp_path / "rows.csv", tmp_path / "ds", size=48)
    assert report.examples == 3 and not report.rejected
    first, second, third = load_examples(tmp_path / "ds")
    a = _answer(first["messages"][-1]["content"])
    assert a["thinking"] == "Blue street signs, Haussmann facades"
    assert a["candidates"][0]["label"] == "Paris, France"
    assert a["candidates"][0]["lat"] == pytest.approx(48.8566)
    b = _answer(second["messages"][-1]["content"])
    assert b["thinking"] == "The photo was taken in Sydney, Australia."
    assert b["candidates"][0]["lon"] == pytest.approx(151.2093)
    c = _answer(third["messages"][-1]["content"])
    assert c["thinking"] == "" and c["candidates"][0]["label"] == ""
    assert first["meta"]["reasoning_source"] == "row" and second["meta"]["reasoning_source"] == "names"
    with Image.open(tmp_path / "ds" / first["images"][0]) as im:
        assert im.size == (48, 24) and im.mode == "RGB"

    conversation = prompt_conversation(first)
    assert [m["role"] for m in conversation] == ["system", "user"]
    assert isinstance(conversation[1]["content"][1]["image"], Image.Image)


def test_folder_of_geotagged_photos_orientation_and_unreadable(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "paris.jpg").write_bytes(jpeg_with_gps(48.8566, 2.3522, size=(80, 40)))
    plain = io.BytesIO()
    Image.new("RGB", (30, 30), "white").save(plain, "JPEG")
    (folder / "no-gps.jpg").write_bytes(plain.getvalue())
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 this is not really a jpeg")
    rotated = Image.new("RGB", (80, 40), "orange")
    exif = Image.Exif()
    exif[0x0112] = 6  # camera held sideways: the upright picture is portrait
    gps = exif.get_ifd(0x8825)
    gps.update({1: "S", 2: (33.0, 52.0, 7.0), 3: "E", 4: (151.0, 12.0, 33.0)})
    rotated.save(folder / "sideways.jpg", exif=exif)

    report = build_dataset(folder, tmp_path / "ds", size=40)
    assert report.examples == 2
    reasons = {Path(r.where).name: (r.reason, r.detail) for r in report.rejected}
    assert reasons["no-gps.jpg"][0] == "missing_coordinates" and "no GPS in EXIF" in reasons["no-gps.jpg"][1]
    assert reasons["broken.jpg"][0] == "unreadable_image"
    by_id = {e["id"]: e for e in load_examples(tmp_path / "ds")}
    with Image.open(tmp_path / "ds" / by_id["sideways"]["images"][0]) as im:
        assert im.size == (20, 40), "EXIF orientation applied before resizing"
    assert _answer(by_id["sideways"]["messages"][-1]["content"])["candidates"][0]["lat"] < 0


def test_unusable_sources_raise_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        read_rows(tmp_path / "nope.csv")
    (tmp_path / "bad.csv").write_text("image,where\nx.jpg,here\n")
    with pytest.raises(DatasetError, match="lat"):
        read_rows(tmp_path / "bad.csv")
    (tmp_path / "rows.jsonl").write_text('{"image": "x.jpg", "lat": 1, "lon": 2}\nnot json\n')
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "notes.txt").write_text("someone else's folder")
    with pytest.raises(DatasetError, match="not empty"):
        build_dataset(tmp_path / "rows.jsonl", tmp_path / "theirs")
    report = build_dataset(tmp_path / "rows.jsonl", tmp_path / "ds")
    assert report.counts == {"missing_file": 1, "bad_row": 1}
    with pytest.raises(DatasetError, match="no SFT dataset"):
        load_examples(tmp_path / "theirs")


# ---------------------------------------------------------------------------- teacher


class RecordingTeacher(BaseChatModel):
    """A chat model that records what it is shown and answers from a fixed table."""

    replies: dict[str, str]
    seen: list

    @property
    def _llm_type(self) -> str:
        return "recording-teacher"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.seen.append(messages)
        text = messages[-1].content[-1]["text"]
        for key, reply in self.replies.items():
            if key in text:
                if reply == "RAISE":
                    raise RuntimeError("teacher overloaded")
                return ChatResult(generations=[ChatGeneration(message=AIMessage(content=reply))])
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=""))])


def test_teacher_writes_reasoning_without_leaking_coordinates(tmp_path: Path) -> None:
    for i, name in enumerate(("paris", "tokyo", "lima", "oslo")):
        Image.new("RGB", (40, 40), (i * 40, 10, 10)).save(tmp_path / f"{name}.png")
    rows = [
        {"image": "paris.png", "lat": 48.8566, "lon": 2.3522, "city": "Paris", "country": "France"},
        {"image": "tokyo.png", "lat": 35.6762, "lon": 139.6503},
        {"image": "lima.png", "lat": -12.0464, "lon": -77.0428},
        {"image": "oslo.png", "lat": 59.9139, "lon": 10.7522, "reasoning": "Given reasoning stays."},
    ]
    teacher = RecordingTeacher(
        replies={
            "48.85660": "<think>it is 48.8566, 2.3522</think>French street signs and Haussmann buildings "
            "(48.8566, 2.3522) point to Paris; latitude 48°51'24\"N.",
            "35.67620": '```json\n{"thinking": "Kanji on shop signs and left-hand traffic suggest Japan."}\n```',
            "-12.04640": "RAISE",
        },
        seen=[],
    )
    report = build_dataset(_write_rows(tmp_path / "rows.jsonl", rows), tmp_path / "ds", size=32, teacher=teacher)

    assert report.teacher == {
        "asked": 3,
        "written": 2,
        "failed": 1,
        "failures": [{"id": "lima", "reason": "RuntimeError: teacher overloaded"}],
    }
    assert len(teacher.seen) == 3, "rows that have reasoning are not sent to the teacher"
    shown = next(m for m in teacher.seen if "Paris" in m[-1].content[-1]["text"])
    assert shown[1].content[0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    prompts = " ".join(m[-1].content[-1]["text"] for m in teacher.seen)
    assert "latitude 48.85660, longitude 2.35220 (Paris, France)" in prompts

    by_id = {e["id"]: e for e in load_examples(tmp_path / "ds")}
    paris = by_id["paris"]["meta"]["reasoning"]
    assert "French street signs" in paris and "Paris" in paris
    assert "48.8566" not in paris and "2.3522" not in paris and "48°" not in paris
    assert by_id["tokyo"]["meta"]["reasoning"] == "Kanji on shop signs and left-hand traffic suggest Japan."
    assert by_id["tokyo"]["meta"]["reasoning_source"] == "teacher"
    assert by_id["lima"]["meta"]["reasoning"] == "" and by_id["lima"]["meta"]["reasoning_source"] == ""
    assert by_id["oslo"]["meta"]["reasoning"] == "Given reasoning stays."
    assert _answer(by_id["tokyo"]["messages"][-1]["content"])["thinking"].startswith("Kanji")


def test_clean_reasoning_strips_every_spelling_of_the_truth() -> None:
    text = "Signs in Portuguese. GPS: -22.9068, -43.1729 (22°54'24\"S 43°10'22\"W); a 2.5 m wall near 22.91 S."
    cleaned = clean_reasoning(text, -22.9068, -43.1729)
    for leak in ("22.9068", "43.1729", "22°", "43°", "22.91"):
        assert leak not in cleaned
    assert "Signs in Portuguese." in cleaned and "2.5 m wall" in cleaned
    assert clean_reasoning("-22.9068, -43.1729", -22.9068, -43.1729) == ""


# ---------------------------------------------------------------------------- distillation


@pytest.fixture(scope="module")
def recorded_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A real agent run on a JPEG with GPS, its trace written to disk."""
    from agent import Agent

    tmp = tmp_path_factory.mktemp("run")
    image = tmp / "paris.jpg"
    image.write_bytes(jpeg_with_gps(48.8566, 2.3522))
    trace = tmp / "run.jsonl"
    location = Agent().locate(image, trace=trace, use_metadata=True)
    assert location.lat == pytest.approx(48.8566, abs=1e-3)
    return image, trace


def test_distill_real_run_into_tool_dialogue(recorded_run, tmp_path: Path) -> None:
    image, trace_path = recorded_run
    truth = _write_rows(tmp_path / "truth.jsonl", [{"image": str(image), "lat": 48.86, "lon": 2.35}])
    report = distill_traces([trace_path], truth, tmp_path / "ds", size=64)
    assert report.examples == 1 and not report.skipped
    (example,) = load_examples(tmp_path / "ds")
    messages = example["messages"]
    trace = read_trace(trace_path)
    rounds = tool_rounds(trace)
    assert rounds and rounds[0][0].name == "read_metadata"

    system = messages[0]["content"]
    used = {step.name for r in rounds for step in r}
    for name in used:
        assert f"- {name}:" in system, f"the tools prompt describes {name}"
    assert "web_search" not in used or "- web_search:" in system
    assert messages[1]["role"] == "user" and messages[1]["content"][-1] == {"type": "image"}
    assert messages[1]["content"][0]["text"] == "Where was this photo taken?\n\nImages: img:0 (320x240)."
    assert system.startswith(SYSTEM_PROMPT), "the model policy's own system prompt, as served"
    assert [m["role"] for m in messages[2:]] == ["assistant", "user"] * len(rounds) + ["assistant"]
    for (call_turn, response_turn), steps in zip(zip(messages[2:-1:2], messages[3:-1:2]), rounds):
        parsed = parse_reply(call_turn["content"])
        assert [c["name"] for c in parsed.tool_calls] == [s.name for s in steps]
        assert [c["args"] for c in parsed.tool_calls] == [s.arguments for s in steps]
        assert [b["text"].split('"')[1] for b in response_turn["content"]] == [s.name for s in steps]
    assert "GPS 48.856600, 2.352200" in messages[3]["content"][0]["text"]

    answer = _answer(messages[-1]["content"])
    result = trace.final.result
    assert answer["candidates"][0]["lat"] == pytest.approx(result["lat"], abs=1e-6)
    assert "Paris" in answer["candidates"][0]["label"] and answer["thinking"] == result["summary"]
    assert example["meta"]["error_km"] < 1 and example["meta"]["run_id"] == trace.run_id
    with Image.open(tmp_path / "ds" / example["images"][0]) as im:
        assert max(im.size) == 64


def test_distill_skips_and_counts_by_reason(recorded_run, tmp_path: Path) -> None:
    image, trace_path = recorded_run
    lines = trace_path.read_text().splitlines()
    (tmp_path / "unfinished.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    footer = json.loads(lines[-1])
    failed = {**footer, "status": "error", "error": {"message": "RunError: boom"}}
    (tmp_path / "failed.jsonl").write_text("\n".join([*lines[:-1], json.dumps(failed)]) + "\n")
    unanswered = {**footer, "result": {**footer["result"], "lat": None, "lon": None, "reason": "no evidence"}}
    (tmp_path / "unanswered.jsonl").write_text("\n".join([*lines[:-1], json.dumps(unanswered)]) + "\n")
    (tmp_path / "garbage.jsonl").write_text("not a trace\n")
    other = tmp_path / "other.jpg"
    other.write_bytes(jpeg_with_gps(1.0, 1.0))
    header = json.loads(lines[0])
    header["images"][0].update(sha256="0" * 64, source=str(other))
    (tmp_path / "stranger.jsonl").write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")

    far = _write_rows(tmp_path / "truth.jsonl", [{"image": str(image), "lat": 48.2, "lon": 2.35}])
    traces = [trace_path, *(tmp_path / f"{n}.jsonl" for n in ("unfinished", "failed", "unanswered", "garbage"))]
    report = distill_traces([*traces, tmp_path / "stranger.jsonl"], far, tmp_path / "ds")
    assert report.examples == 0
    assert report.counts == {
        "unreadable_trace": 1,
        "unfinished": 1,
        "failed": 1,
        "no_answer": 1,
        "no_truth": 1,
        "too_far": 1,
    }
    assert "73." in next(s.detail for s in report.skipped if s.reason == "too_far")
    loose = distill_traces([trace_path], far, tmp_path / "ds2", max_km=100)
    assert loose.examples == 1
    by_hash = distill_traces([trace_path], {header["images"][0]["sha256"]: (0.0, 0.0)}, tmp_path / "ds3")
    assert by_hash.counts == {"no_truth": 1}


def test_distill_names_crops_by_handle_and_drops_mistaken_calls(tmp_path: Path) -> None:
    image = tmp_path / "street.jpg"
    image.write_bytes(jpeg_with_gps(52.52, 13.405))
    from tools.images import load_image

    info = {"handle": "img:0", "width": 320, "height": 240, "sha256": load_image(image).sha256, "source": str(image)}
    recorder = TraceRecorder(tmp_path / "run.jsonl", "r1")
    recorder.header(images=[info], config={"question": "Which city is this?", "hint": {"text": None}})
    recorder.decision("plan", "act", output={"tool_calls": []})
    crop_args = {"image": "img:0", "box": [0.1, 0.1, 0.5, 0.5]}
    crop_out = Observation(tool="crop", text="img:1: crop of img:0", images=["img:1"])
    recorder.tool_call("act", "crop", arguments=crop_args, observation=crop_out, tool_kind="image")
    bad = Observation(tool="teleport", error="unknown tool 'teleport'; available: crop")
    recorder.tool_call("act", "teleport", arguments={}, observation=bad, tool_kind=None)
    recorder.decision("plan", "act", output={})
    ocr_out = Observation(tool="read_text", text="img:1 text: 'Alexanderplatz'")
    recorder.tool_call("act", "read_text", arguments={"image": "img:1"}, observation=ocr_out, tool_kind="ocr")
    checked = Observation(tool="osm_verify", text="checked")
    recorder.tool_call("verify", "osm_verify", arguments={"name": "x"}, observation=checked, tool_kind="osm")
    result = {
        "lat": 52.5219,
        "lon": 13.4132,
        "city": "Berlin",
        "country": "Germany",
        "summary": "Sign reads Alexanderplatz.",
    }
    recorder.close("ok", result=result)

    report = distill_traces([tmp_path / "run.jsonl"], {"r1": (52.52, 13.405)}, tmp_path / "ds", max_km=5)
    assert report.examples == 1
    (example,) = load_examples(tmp_path / "ds")
    messages = example["messages"]
    assert messages[1]["content"][0]["text"].startswith("Which city is this?\n\nImages: img:0 (320x240).")
    assert "Prior knowledge" not in messages[1]["content"][0]["text"]
    assert [m["role"] for m in messages[2:]] == ["assistant", "user", "assistant", "user", "assistant"]
    assert [c["name"] for c in parse_reply(messages[2]["content"]).tool_calls] == ["crop"]
    assert messages[3]["content"][-1]["text"] == "Images produced by the tools: img:1."
    assert [c["name"] for c in parse_reply(messages[4]["content"]).tool_calls] == ["read_text"]
    assert "- crop:" in messages[0]["content"] and "teleport" not in messages[0]["content"]
    assert "osm_verify" not in json.dumps(messages), "checks the graph made itself are not the model's calls"
    assert example["images"] == ["images/run-r1.jpg"]
    assert _answer(messages[-1]["content"])["candidates"][0]["label"] == "Berlin, Germany"


@pytest.mark.parametrize("name", ["heuristic_lisbon", "model_lisbon"])
def test_distill_version_1_traces_copied_from_another_machine(name: str, tmp_path: Path) -> None:
    """A v1 trace names its image by the other machine's paths; beside the trace it is found."""
    copied = tmp_path / "runs"
    copied.mkdir()
    shutil.copy(V1 / f"{name}.jsonl", copied / "run.jsonl")
    shutil.copy(LISBON, copied / "lisbon_street.jpg")
    trace = read_trace(copied / "run.jsonl")
    report = distill_traces([copied], {trace.run_id: (38.7107, -9.1366)}, tmp_path / "ds", size=64)
    assert report.examples == 1, report.summary()
    (example,) = load_examples(tmp_path / "ds")
    messages = example["messages"]
    calls = [c["name"] for m in messages[2:-1:2] for c in parse_reply(m["content"]).tool_calls]
    assert calls[:2] == ["read_text", "analyze_text"] and "web_search" in calls
    searched = next(b["text"] for m in messages[3::2] for b in m["content"] if "web_search" in b["text"])
    assert "failed: offline" in searched  # a failed call is answered with its error, as it was live
    if name == "model_lisbon":
        assert "crop" in calls and any(
            b["text"] == "Images produced by the tools: img:1." for m in messages[3::2] for b in m["content"]
        )
    assert _answer(messages[-1]["content"])["candidates"][0]["lat"] == pytest.approx(trace.final.result["lat"])


# ---------------------------------------------------------------------------- CLI


def test_cli_build_data_and_distill(recorded_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image, trace_path = recorded_run
    rows = _write_rows(
        tmp_path / "rows.jsonl",
        [{"image": str(image), "lat": 48.8566, "lon": 2.3522}, {"image": "gone.jpg", "lat": 1, "lon": 1}],
    )
    assert main(["sft", "build-data", str(rows), "--out", str(tmp_path / "ds"), "--size", "32"]) == 0
    out = capsys.readouterr().out
    assert "1 examples from 2 rows" in out and "missing file" in out

    assert main(["sft", "distill", str(trace_path), "--truth", str(rows), "--out", str(tmp_path / "dd")]) == 0
    assert "1 dialogues from 1 traces" in capsys.readouterr().out

    assert main(["sft", "build-data", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"geosleuth: error: rows not found: {tmp_path / 'absent.csv'}"]
