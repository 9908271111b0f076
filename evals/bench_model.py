"""The model paths on a device: generation latency and SFT training speed and memory.

Without ``--model`` it builds the tiny random Qwen2.5-VL (offline, 1 MB), so the real
loading, generation and training code runs anywhere — on a lent GPU as well as on the
CPU — with no download. ``--model`` points it at a real local model directory instead.

    geosleuth bench model [--device cuda] [--model DIR] [--steps 20] [--generations 10]
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw


def _photos(folder: Path, count: int) -> Path:
    """A few rendered images with coordinates, as a JSONL rows file for ``build_dataset``."""
    import json

    rng = random.Random(7)
    lines = []
    for i in range(count):
        image = Image.new("RGB", (640, 480), (rng.randrange(60, 200), rng.randrange(60, 200), 180))
        ImageDraw.Draw(image).rectangle([40 + 20 * i, 60, 300 + 20 * i, 160], fill=(240, 240, 230))
        path = folder / f"img{i}.jpg"
        image.save(path)
        lines.append(json.dumps({"image": path.name, "lat": rng.uniform(-60, 60), "lon": rng.uniform(-170, 170)}))
    rows = folder / "rows.jsonl"
    rows.write_text("\n".join(lines) + "\n")
    return rows


def _peak_device_memory_mb(device: str) -> float | None:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return None


def bench_model(
    device: str = "auto", model: str | None = None, steps: int = 20, generations: int = 10, max_new_tokens: int = 32
) -> dict[str, Any]:
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from agent.models.hf_runtime import TransformersRuntime
    from agent.models.tiny import build_tiny_vlm
    from agent.sft import TrainConfig, build_dataset, train

    figures: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.cuda.is_available()}
    if torch.cuda.is_available():
        figures["gpu"] = torch.cuda.get_device_name(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_dir = Path(model) if model else build_tiny_vlm(root / "tiny")
        figures["model"] = str(model) if model else "tiny random Qwen2.5-VL (built offline)"

        started = time.perf_counter()
        runtime = TransformersRuntime(model_dir, device=device, max_new_tokens=max_new_tokens)
        runtime.load()
        figures["load_s"] = round(time.perf_counter() - started, 3)
        figures["device"], figures["dtype"] = runtime.device, runtime.dtype
        image = Image.new("RGB", (1024, 768), (120, 150, 180))
        conversation = [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Where was this photo taken?"}, {"type": "image", "image": image}],
            }
        ]
        runtime.generate(conversation)  # warm-up
        times, tokens = [], []
        for _ in range(generations):
            result = runtime.generate(conversation)
            times.append(result.seconds)
            tokens.append(result.new_tokens)
        figures["generate_median_s"] = round(statistics.median(times), 4)
        figures["new_tokens_per_s"] = round(sum(tokens) / sum(times), 1) if sum(times) else None

        data = root / "data"
        build_dataset(_photos(root, 6), data, size=448)
        config = TrainConfig(
            model=str(model_dir),
            dataset=[data],
            output_dir=root / "run",
            max_steps=steps,
            save_steps=max(steps, 1),
            batch_size=2,
            grad_accumulation=1,
            learning_rate=1e-3,
            device=device,
            logging_steps=max(1, steps // 4),
        )
        stage = train(config).stages[-1]
        figures["train_steps"] = stage.steps
        figures["train_steps_per_s"] = round(stage.steps_per_s, 2)
        figures["train_loss"] = [round(stage.first_loss, 4), round(stage.last_loss, 4)] if stage.losses else None
        figures["train_peak_memory_mb"] = stage.peak_memory_mb
        figures["peak_device_memory_mb"] = _peak_device_memory_mb(runtime.device)
    return figures


def format_model(figures: dict[str, Any]) -> str:
    where = figures.get("gpu") or figures["device"]
    loss = figures.get("train_loss")
    return (
        f"model: {figures['model']} on {where} ({figures['dtype']}); load {figures['load_s']} s; "
        f"generate with one image: median {figures['generate_median_s']} s, "
        f"{figures['new_tokens_per_s']} new tokens/s; "
        f"LoRA training: {figures['train_steps']} steps at {figures['train_steps_per_s']} steps/s"
        + (f", loss {loss[0]} -> {loss[1]}" if loss else "")
        + (f", peak memory {figures['train_peak_memory_mb']} MB" if figures.get("train_peak_memory_mb") else "")
    )
