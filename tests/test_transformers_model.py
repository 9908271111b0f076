"""The transformers backend: a tiny random VLM through the real loading and generation path."""

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytest.importorskip("transformers")

from PIL import Image, ImageDraw

from agent import Agent
from agent.cli import main
from agent.exports import as_trace
from agent.models.spec import load_model
from agent.models.tiny import build_tiny_vlm
from graphs.answer import AnswerTool


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory):
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny") / "vlm")


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "scene.jpg"
    image = Image.new("RGB", (640, 480), (120, 160, 200))
    ImageDraw.Draw(image).rectangle([100, 100, 400, 200], fill=(240, 240, 240))
    image.save(path)
    return path


def test_chat_model_generates_with_an_image_and_tools(tiny_vlm, photo):
    model = load_model(f"transformers:{tiny_vlm}", device="cpu", max_new_tokens=24)
    from langchain_core.messages import HumanMessage

    from graphs.policies.model_prompt import image_block
    from tools.images import ImageRegistry, load_image

    registry = ImageRegistry()
    registry.add_loaded(load_image(photo))
    message = HumanMessage(content=[{"type": "text", "text": "Where is this?"}, image_block(registry, "img:0", 256)])
    reply = model.bind_tools([AnswerTool()]).invoke([message], temperature=0.0)
    assert isinstance(reply.response_metadata["raw_text"], str)  # garbage text, but text
    assert reply.usage_metadata["input_tokens"] > 0 and reply.usage_metadata["output_tokens"] > 0
    assert model.describe()["backend"] == "transformers"


def test_garbage_output_never_crashes_a_run(tiny_vlm, photo):
    agent = Agent(
        model=f"transformers:{tiny_vlm}",
        model_options={"device": "cpu", "max_new_tokens": 16, "samples": 2, "hybrid": False},
    )
    location = agent.locate(photo, use_metadata=False)
    calls = as_trace(location).of_kind("model_call")
    # a planning call and its retry, then each sample and its retry: all recorded with their raw text
    assert len(calls) == 2 + 2 * 2 and all(isinstance(s.raw_output, str) for s in calls)
    assert location.lat is None or -90 <= location.lat <= 90  # an answer only if the garbage happened to parse


def test_cli_locate_with_the_transformers_backend(tiny_vlm, photo, capsys, monkeypatch):
    monkeypatch.setenv("GEOSLEUTH_MODEL_DEVICE", "cpu")
    monkeypatch.setenv("GEOSLEUTH_MODEL_MAX_TOKENS", "12")
    code = main(["locate", str(photo), "--json", "--model", f"transformers:{tiny_vlm}", "--samples", "1"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["run_id"] and "confidence" in result


def test_a_missing_model_is_a_clear_error_recorded_in_the_trace(photo, tmp_path):
    agent = Agent(model=f"transformers:{tmp_path / 'nowhere'}", model_options={"hybrid": False, "samples": 1})
    location = agent.locate(photo, use_metadata=False)
    errors = as_trace(location).of_kind("error")
    assert errors and "ModelError" in json.dumps(errors[0].stable())


def test_model_benchmark_runs_generation_and_training_on_the_cpu():
    from evals.bench_model import bench_model, format_model

    figures = bench_model("cpu", steps=2, generations=1, max_new_tokens=4)
    assert figures["device"] == "cpu" and figures["train_steps"] == 2
    assert figures["generate_median_s"] > 0 and figures["train_steps_per_s"] > 0
    assert "steps/s" in format_model(figures)
