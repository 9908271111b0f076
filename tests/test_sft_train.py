"""SFT training on a tiny random VLM (CPU, no downloads): loss goes down, adapters save, reload,
resume and merge; the GeoReasoner two-stage run stacks its adapters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
pytest.importorskip("trl")

from PIL import Image, ImageDraw

from agent.cli import main
from agent.exports import as_trace
from agent.models.hf_runtime import TransformersRuntime
from agent.models.tiny import build_tiny_vlm
from agent.sft.config import TrainConfig, load_config
from agent.sft.data import build_dataset, load_examples, prompt_conversation
from agent.sft.train import (
    IGNORE_INDEX,
    ChatCollator,
    adapter_stack,
    dataset_loss,
    stage_examples,
    train,
)
from tools.errors import ConfigError

#: Settings that make a few CPU steps on the tiny model learn visibly.
FAST = {
    "learning_rate": 1e-2,
    "batch_size": 2,
    "grad_accumulation": 1,
    "logging_steps": 1,
    "warmup_ratio": 0.0,
    "gradient_checkpointing": False,
    "device": "cpu",
    "max_length": 1024,
}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two examples with reasoning and place names, built by the real data builder."""
    tmp = tmp_path_factory.mktemp("sftdata")
    rows = []
    for name, color, lat, lon, country, city, reasoning in (
        ("paris", "steelblue", 48.8566, 2.3522, "France", "Paris", "Blue street signs and Haussmann facades."),
        ("sydney", "darkorange", -33.8688, 151.2093, "Australia", "Sydney", "Left-hand traffic and gum trees."),
    ):
        image = Image.new("RGB", (96, 64), color)
        ImageDraw.Draw(image).rectangle((10, 10, 40, 30), fill="white")
        image.save(tmp / f"{name}.jpg")
        rows.append(
            {"image": f"{name}.jpg", "lat": lat, "lon": lon, "country": country, "city": city, "reasoning": reasoning}
        )
    (tmp / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    # a short system prompt keeps the sequences (and the CPU steps) short
    report = build_dataset(tmp / "rows.jsonl", tmp / "ds", size=56, system_prompt="Locate the photo.")
    assert report.examples == 2
    return tmp / "ds"


def _config(model: Path, data: Path, out: Path, **values) -> TrainConfig:
    return load_config({"model": str(model), "dataset": str(data), "output_dir": str(out), **FAST, **values})


def test_collator_puts_loss_on_assistant_tokens_only(tiny_model: Path, dataset: Path) -> None:
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_model)
    examples = load_examples(dataset)
    batch = ChatCollator(processor)(examples)
    assert batch["input_ids"].shape == batch["labels"].shape
    assert "pixel_values" in batch and batch["image_grid_thw"].shape[0] == 2
    for row, example in zip(batch["labels"], examples):
        target = processor.tokenizer.decode(row[row != IGNORE_INDEX])
        assert target == example["messages"][-1]["content"] + "<|im_end|>\n"

    # a multi-turn dialogue: every assistant turn is a target, tool responses are not
    dialogue = dict(examples[0])
    dialogue["messages"] = [
        *examples[0]["messages"][:2],
        {
            "role": "assistant",
            "content": '<tool_call>{"name": "read_text", "arguments": {"image": "img:0"}}</tool_call>',
        },
        {"role": "user", "content": '<tool_response name="read_text">\nno text\n</tool_response>'},
        examples[0]["messages"][2],
    ]
    labels = ChatCollator(processor)([dialogue])["labels"][0]
    target = processor.tokenizer.decode(labels[labels != IGNORE_INDEX])
    assert "<tool_call>" in target and "<answer>" in target and "no text" not in target

    reasoning = stage_examples(examples, "reasoning")
    assert reasoning[0]["messages"][-1]["content"] == "Blue street signs and Haussmann facades."


def test_training_lowers_loss_and_the_adapter_serves(tiny_model: Path, dataset: Path, tmp_path: Path) -> None:
    config = _config(tiny_model, dataset, tmp_path / "run", max_steps=8, save_steps=4)
    before = dataset_loss(tiny_model, dataset)
    result = train(config)
    (stage,) = result.stages
    assert stage.stage == "location" and stage.steps == 8 and stage.examples == 2
    assert (stage.adapter / "adapter_config.json").is_file()
    assert (stage.adapter / "adapter_model.safetensors").is_file()
    assert stage.last_loss < stage.first_loss
    after = dataset_loss(tiny_model, dataset, adapter=stage.adapter)
    assert after < before - 0.5, (before, after)
    assert stage.steps_per_s > 0
    print(f"\ntiny VLM on CPU: {stage.steps_per_s:.2f} steps/s; loss on the same batch {before:.3f} -> {after:.3f}")

    runtime = TransformersRuntime(tiny_model, adapter=stage.adapter, device="cpu", max_new_tokens=8)
    example = load_examples(dataset)[0]
    generated = runtime.generate(prompt_conversation(example))
    assert generated.new_tokens > 0 and isinstance(generated.text, str)

    # the adapter serves a whole locate call through the transformers backend
    from agent import Agent

    agent = Agent(
        model=f"transformers:{tiny_model}",
        model_options={"adapter": str(stage.adapter), "device": "cpu", "max_new_tokens": 12, "samples": 1},
    )
    location = agent.locate(dataset / example["images"][0], use_metadata=False)
    assert agent.policy.describe()["model"]["adapter"] == str(stage.adapter)
    model_calls = as_trace(location).of_kind("model_call")
    assert model_calls and all(isinstance(s.raw_output, str) for s in model_calls)


def test_resume_continues_the_step_count(tiny_model: Path, dataset: Path, tmp_path: Path) -> None:
    from transformers import TrainerCallback

    class Crash(Exception):
        pass

    class CrashAtStep3(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                raise Crash

    config = _config(tiny_model, dataset, tmp_path / "run", max_steps=4, save_steps=2)
    with pytest.raises(Crash):
        train(config, callbacks=[CrashAtStep3()])
    stage_dir = config.stage_dir("location")
    assert (stage_dir / "checkpoint-2").is_dir() and not (stage_dir / "adapter").exists()

    with pytest.raises(ConfigError, match="--resume"):
        train(config)
    result = train(config, resume=True)
    (stage,) = result.stages
    assert stage.start_step == 2 and stage.steps == 4
    assert [step for step, _ in stage.losses] == [1, 2, 3, 4]
    assert (stage.adapter / "adapter_config.json").is_file()
    again = train(config, resume=True)  # a finished stage is kept, not retrained
    assert again.stages[0].steps == 4 and again.stages[0].seconds == stage.seconds


def test_two_stages_stack_and_merge_for_serving(tiny_model: Path, dataset: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    config_file = tmp_path / "train.yaml"
    settings = {**FAST, "max_steps": 2, "save_steps": 2}
    config_file.write_text(
        f"model: {tiny_model}\ndataset: {dataset}\noutput_dir: run\nstage: both\n"
        + "".join(f"{k}: {json.dumps(v)}\n" for k, v in settings.items())
    )
    assert main(["sft", "train", str(config_file)]) == 0
    reasoning, location = tmp_path / "run" / "reasoning" / "adapter", tmp_path / "run" / "location" / "adapter"
    assert (reasoning / "adapter_config.json").is_file() and (location / "adapter_config.json").is_file()
    assert adapter_stack(location) == [reasoning.resolve(), location.resolve()]

    merged = tmp_path / "merged"
    assert main(["sft", "merge", str(location), "--base", str(tiny_model), "--out", str(merged)]) == 0
    model = AutoModelForImageTextToText.from_pretrained(merged)
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert AutoProcessor.from_pretrained(merged).chat_template
    assert json.loads((merged / "merge.json").read_text())["adapters"] == [
        str(reasoning.resolve()),
        str(location.resolve()),
    ]
    stacked = dataset_loss(tiny_model, dataset, adapter=location)
    assert dataset_loss(merged, dataset) == pytest.approx(stacked, rel=1e-4)
    assert dataset_loss(tiny_model, dataset) != pytest.approx(stacked, rel=1e-4)
    generated = TransformersRuntime(merged, device="cpu", max_new_tokens=4).generate(
        prompt_conversation(load_examples(dataset)[1])
    )
    assert generated.new_tokens > 0


def test_config_defaults_files_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.yaml").write_text("model: base\ndataset: data\noutput_dir: out\n")
    config = load_config(tmp_path / "c.yaml")
    assert (config.lora.r, config.lora.alpha, config.learning_rate) == (16, 32, 2e-5)
    assert (config.lr_scheduler, config.epochs, config.stage) == ("cosine", 3.0, "location")
    assert config.dataset == [tmp_path / "data"] and config.output_dir == tmp_path / "out"
    assert config.model == "base", "a hub id is kept as it is"

    (tmp_path / "c.json").write_text(
        json.dumps({"model": "m", "dataset": ["a", "b"], "output_dir": "o", "stage": "both", "lora": {"r": 8}})
    )
    config = load_config(tmp_path / "c.json")
    assert config.stages == ["reasoning", "location"] and config.lora.r == 8 and config.lora.alpha == 32

    for text, problem in (
        ("model: m\ndataset: d\noutput_dir: o\nlearning_rat: 1\n", "learning_rat"),
        ("model: m\ndataset: d\noutput_dir: o\nstage: third\n", "stage"),
        ("model: m\ndataset: d\noutput_dir: o\nlr_scheduler: wobbly\n", "wobbly"),
        ("model: m\ndataset: d\noutput_dir: o\nmax_steps: 0\n", "max_steps"),
        ("[not, a, mapping]\n", "mapping"),
    ):
        (tmp_path / "bad.yaml").write_text(text)
        with pytest.raises(ConfigError, match=problem):
            load_config(tmp_path / "bad.yaml")
    assert main(["sft", "train", str(tmp_path / "bad.yaml")]) == 1
    assert capsys.readouterr().err.strip().count("\n") == 0
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")
