"""LoRA fine-tuning with TRL + PEFT, GeoReasoner's two stages, checkpoints, merging.

Stages (``stage`` in the config):

* ``location`` — the dataset as written: every assistant turn is a target (the
  GeoLocSFT answer, and in distilled dialogues the tool calls too).
* ``reasoning`` — GeoReasoner's first stage: the same images, asked to describe the
  clues, with the example's reasoning text (``meta.reasoning``) as the target. Examples
  without reasoning are left out of this stage.
* ``both`` — reasoning, then location. The adapters are **stacked by merging**: the
  location stage loads the base model, merges the finished reasoning adapter into its
  weights, and trains a fresh LoRA adapter on top. Its adapter folder holds a
  ``stack.json`` naming the adapters beneath it, and :func:`merge` folds the whole
  stack into the base in order — the result is base + reasoning + location.

The loss is computed on assistant tokens only (their closing end-of-turn token
included, so the model learns to stop). The mask is made by rendering the chat
template turn by turn and tokenizing the spans between assistant turns separately,
which works for any template that renders a conversation as the concatenation of its
prefixes (Qwen2/2.5/3-VL, LLaVA, Idefics, ...); a template that is not prefix-preserving
is refused with a clear error rather than trained with a wrong mask.

Outputs under ``output_dir``: ``<stage>/checkpoint-N`` every ``save_steps`` steps (adapter,
optimizer, scheduler, RNG and trainer state — what ``resume`` needs), ``<stage>/adapter``
when a stage finishes, ``<stage>/done.json`` with its figures, and ``train_config.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tools.errors import ConfigError, ModelError

from .config import TrainConfig, load_config
from .data import DatasetError, example_images, load_examples
from .prompts import REASONING_QUESTION, REASONING_SYSTEM_PROMPT

__all__ = [
    "ChatCollator",
    "StageResult",
    "TrainResult",
    "dataset_loss",
    "merge",
    "stage_examples",
    "train",
]

IGNORE_INDEX = -100
_PER_TOKEN = ("input_ids", "attention_mask", "token_type_ids", "mm_token_type_ids")
_STACK_FILE = "stack.json"


# ---------------------------------------------------------------------------- stage data


def stage_examples(examples: Sequence[dict[str, Any]], stage: str) -> list[dict[str, Any]]:
    """The examples one stage trains on (see the module docstring)."""
    if stage == "location":
        return list(examples)
    if stage != "reasoning":
        raise ConfigError(f"unknown stage {stage!r}; expected 'reasoning' or 'location'")
    out = []
    for example in examples:
        reasoning = str((example.get("meta") or {}).get("reasoning") or "").strip()
        if not reasoning:
            continue
        blocks = [{"type": "image"} for _ in example.get("images") or []]
        out.append(
            {
                **example,
                "messages": [
                    {"role": "system", "content": REASONING_SYSTEM_PROMPT},
                    {"role": "user", "content": [{"type": "text", "text": REASONING_QUESTION}, *blocks]},
                    {"role": "assistant", "content": reasoning},
                ],
            }
        )
    return out


# ---------------------------------------------------------------------------- collator


def _unpack(row: Mapping[str, Any]) -> Mapping[str, Any]:
    """An example from a training-table row (see :func:`_as_table`), or the example itself."""
    return json.loads(row["example"]) if "example" in row else row


def _as_table(examples: Sequence[dict[str, Any]]) -> Any:
    """A ``datasets.Dataset`` for TRL: one JSON string per example (message contents mix strings and
    block lists, which Arrow cannot type), plus the ``images`` column TRL looks for."""
    from datasets import Dataset

    return Dataset.from_dict(
        {
            "id": [str(e.get("id", i)) for i, e in enumerate(examples)],
            "example": [json.dumps(e, ensure_ascii=False) for e in examples],
            "images": [list(e.get("images") or []) for e in examples],
        }
    )


def _chat_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Messages as the processor's chat template wants them: image blocks bare, text blocks typed."""
    out = []
    for m in messages:
        content = m["content"]
        if isinstance(content, list):
            content = [
                {"type": "image"} if b.get("type") == "image" else {"type": "text", "text": str(b.get("text", ""))}
                for b in content
            ]
        out.append({"role": m["role"], "content": content})
    return out


def _image_count(message: Mapping[str, Any]) -> int:
    content = message["content"]
    return (
        sum(1 for b in content if isinstance(b, dict) and b.get("type") == "image") if isinstance(content, list) else 0
    )


class ChatCollator:
    """Turns dataset examples into a padded batch with labels on assistant tokens only.

    Works with any processor whose chat template renders a conversation as the
    concatenation of its prefixes. Image tensors (``pixel_values``, ``image_grid_thw``,
    ...) are concatenated along the first axis, as the Qwen-VL and LLaVA families expect.
    """

    def __init__(self, processor: Any, *, max_length: int | None = None) -> None:
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor)
        self.max_length = max_length
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else self.tokenizer.eos_token_id

    def _render(self, messages: list[dict[str, Any]], *, generation: bool = False) -> str:
        return self.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation)

    def spans(self, messages: Sequence[Mapping[str, Any]]) -> list[tuple[str, bool, int]]:
        """``(text, is_target, images_in_span)`` pieces whose concatenation is the rendered chat."""
        chat = _chat_messages(messages)
        full = self._render(chat)
        pieces: list[tuple[str, bool, int]] = []
        cursor, first_message = 0, 0
        for i, message in enumerate(chat):
            if message["role"] != "assistant":
                continue
            start = self._render(chat[:i], generation=True) if i else ""
            end = self._render(chat[: i + 1])
            if not (
                full.startswith(start) and full.startswith(end) and len(start) <= len(end) and len(start) >= cursor
            ):
                raise ConfigError(
                    "the chat template does not render a conversation as the concatenation of its turns, so "
                    "assistant tokens cannot be masked reliably; use a model whose template does (Qwen-VL, LLaVA)"
                )
            images = sum(_image_count(m) for m in messages[first_message:i])
            pieces.append((full[cursor : len(start)], False, images))
            pieces.append((full[len(start) : len(end)], True, 0))
            cursor, first_message = len(end), i + 1
        if cursor < len(full):
            pieces.append((full[cursor:], False, sum(_image_count(m) for m in messages[first_message:])))
        return [p for p in pieces if p[0]]

    def encode(self, example: Mapping[str, Any]) -> dict[str, Any]:
        """One example as unpadded tensors: per-token ``input_ids``, ``labels``, ...; image tensors."""
        import torch

        images = iter(example_images(example))
        encoded: list[tuple[Any, bool]] = []
        for text, target, count in self.spans(example["messages"]):
            if count:
                batch = self.processor(
                    text=[text],
                    images=[next(images) for _ in range(count)],
                    return_tensors="pt",
                    add_special_tokens=False,
                )
            else:
                batch = self.tokenizer(text, return_tensors="pt", add_special_tokens=False)
            encoded.append((batch, target))
        keys = [k for k in _PER_TOKEN if any(k in batch for batch, _ in encoded)]
        out: dict[str, Any] = {}
        for key in keys:
            parts = []
            for batch, _ in encoded:
                n = int(batch["input_ids"].shape[1])
                parts.append(batch[key][0] if key in batch else torch.zeros(n, dtype=torch.long))
            out[key] = torch.cat(parts)
        out["labels"] = torch.cat(
            [
                batch["input_ids"][0].clone()
                if target
                else torch.full((int(batch["input_ids"].shape[1]),), IGNORE_INDEX, dtype=torch.long)
                for batch, target in encoded
            ]
        )
        length = int(out["input_ids"].shape[0])
        image_end, position = 0, 0
        for batch, _ in encoded:
            position += int(batch["input_ids"].shape[1])
            if any(k not in _PER_TOKEN for k in batch):
                image_end = position
        name = example.get("id", "?")
        if self.max_length is not None and length > self.max_length:
            if image_end > self.max_length:
                raise ConfigError(
                    f"example {name}: its images end at token {image_end}, past max_length {self.max_length}; "
                    "raise max_length or build the data with a smaller --size"
                )
            out = {key: value[: self.max_length] for key, value in out.items()}
        if not bool((out["labels"] != IGNORE_INDEX).any()):
            raise ConfigError(f"example {name}: no assistant tokens within max_length {self.max_length}")
        for batch, _ in encoded:
            for key, value in batch.items():
                if key not in _PER_TOKEN:
                    out.setdefault(f"image:{key}", []).append(value)
        return out

    def __call__(self, examples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        import torch

        encoded = [self.encode(_unpack(e)) for e in examples]
        width = max(int(e["input_ids"].shape[0]) for e in encoded)
        batch: dict[str, Any] = {}
        for key in (*_PER_TOKEN, "labels"):
            if key not in encoded[0]:
                continue
            fill = {"input_ids": self.pad_id, "labels": IGNORE_INDEX}.get(key, 0)
            batch[key] = torch.stack(
                [torch.cat([e[key], torch.full((width - e[key].shape[0],), fill, dtype=e[key].dtype)]) for e in encoded]
            )
        image_keys = sorted({k for e in encoded for k in e if k.startswith("image:")})
        for key in image_keys:
            parts = [part for e in encoded for part in e.get(key, [])]
            batch[key.removeprefix("image:")] = torch.cat(parts)
        return batch


# ---------------------------------------------------------------------------- models and stacks


def adapter_stack(adapter: str | Path) -> list[Path]:
    """The adapters to apply to the base, in order, for ``adapter``: those its
    ``stack.json`` names beneath it (recursively), then itself."""
    path = Path(adapter).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise ModelError(f"{path} is not a PEFT adapter folder (no adapter_config.json)")
    chain: list[Path] = []
    stack_file = path / _STACK_FILE
    if stack_file.is_file():
        try:
            below = json.loads(stack_file.read_text(encoding="utf-8")).get("below") or []
        except json.JSONDecodeError as exc:
            raise ModelError(f"{stack_file} is not JSON: {exc.msg}") from None
        for item in below:
            lower = Path(item)
            lower = lower if lower.is_absolute() else (path / lower).resolve()
            for p in adapter_stack(lower):
                if p not in chain:
                    chain.append(p)
    chain.append(path.resolve())
    return chain


def _require_train_extra() -> None:
    """A ModelError naming the extra when torch, transformers, peft or trl is missing."""
    missing = []
    for name in ("torch", "transformers", "peft", "trl", "datasets"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ModelError(f"training needs {', '.join(missing)}: install geosleuth[train]")


def _torch_dtype(precision: str, device: str) -> Any:
    import torch

    if precision == "auto":
        if device != "cpu" and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return getattr(torch, precision)


def _load_base(model: str, dtype: Any, below: Sequence[Path] = ()) -> tuple[Any, Any]:
    """Processor and model, with the adapters ``below`` merged into the weights in order."""
    try:
        from peft import PeftModel
        from transformers import AutoModelForImageTextToText, AutoProcessor
    except ImportError as exc:
        raise ModelError(f"training needs the [train] extra (torch, transformers, peft, trl): {exc}") from exc
    path = Path(model).expanduser()
    if path.exists() and not (path / "config.json").is_file():
        raise ModelError(f"model {model} has no config.json; give a saved model directory or a hub id")
    try:
        processor = AutoProcessor.from_pretrained(model)
        base = AutoModelForImageTextToText.from_pretrained(model, dtype=dtype)
    except Exception as exc:
        raise ModelError(f"cannot load model {model}: {str(exc).splitlines()[0] if str(exc) else exc!r}") from exc
    for adapter in below:
        try:
            base = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
        except Exception as exc:
            raise ModelError(f"cannot merge adapter {adapter} into {model}: {exc}") from exc
    return processor, base


def _load_examples(datasets: Sequence[str | Path]) -> list[dict[str, Any]]:
    examples: list[dict[str, Any]] = []
    for dataset in datasets:
        examples.extend(load_examples(dataset))
    if not examples:
        raise DatasetError(f"no examples in {', '.join(str(d) for d in datasets)}")
    return examples


# ---------------------------------------------------------------------------- training


@dataclass
class StageResult:
    """What one stage did. ``losses`` are ``(step, training loss)`` pairs as logged."""

    stage: str
    adapter: Path
    examples: int
    steps: int
    start_step: int
    seconds: float
    steps_per_s: float
    losses: list[tuple[int, float]] = field(default_factory=list)
    below: list[Path] = field(default_factory=list)
    peak_memory_mb: float | None = None
    device: str = "cpu"

    @property
    def first_loss(self) -> float | None:
        return self.losses[0][1] if self.losses else None

    @property
    def last_loss(self) -> float | None:
        return self.losses[-1][1] if self.losses else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["adapter"] = str(self.adapter)
        data["below"] = [str(p) for p in self.below]
        data["losses"] = [list(p) for p in self.losses]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StageResult:
        values = dict(data)
        values["adapter"] = Path(values["adapter"])
        values["below"] = [Path(p) for p in values.get("below") or []]
        values["losses"] = [(int(s), float(v)) for s, v in values.get("losses") or []]
        return cls(**values)


@dataclass
class TrainResult:
    output_dir: Path
    stages: list[StageResult]

    @property
    def adapter(self) -> Path:
        """The last stage's adapter (for a two-stage run it stacks on the reasoning adapter)."""
        return self.stages[-1].adapter

    def summary(self) -> str:
        lines = []
        for s in self.stages:
            loss = f"loss {s.first_loss:.4f} -> {s.last_loss:.4f}" if s.losses else "no loss logged"
            memory = f", peak {s.peak_memory_mb:.0f} MB" if s.peak_memory_mb else ""
            resumed = f" (resumed at step {s.start_step})" if s.start_step else ""
            lines.append(
                f"{s.stage}: {s.examples} examples, {s.steps} steps{resumed} in {s.seconds:.1f} s "
                f"({s.steps_per_s:.2f} steps/s on {s.device}{memory}), {loss}; adapter {s.adapter}"
            )
        return "\n".join(lines)


def _check_output(config: TrainConfig, resume: bool, overwrite: bool) -> None:
    for stage in config.stages:
        stage_dir = config.stage_dir(stage)
        if not stage_dir.exists():
            continue
        used = any(stage_dir.glob("checkpoint-*")) or (stage_dir / "done.json").exists()
        if not used:
            continue
        if overwrite:
            shutil.rmtree(stage_dir)
        elif not resume:
            raise ConfigError(
                f"{stage_dir} already holds a training run; resume it (--resume), "
                "choose another output_dir, or overwrite it (--overwrite)"
            )


def _sft_args(config: TrainConfig, stage_dir: Path, device: str, dtype: Any) -> Any:
    import torch
    from trl import SFTConfig

    values: dict[str, Any] = {
        "output_dir": str(stage_dir),
        "per_device_train_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.grad_accumulation,
        "learning_rate": config.learning_rate,
        "lr_scheduler_type": config.lr_scheduler,
        "warmup_steps": config.warmup_ratio,
        "weight_decay": config.weight_decay,
        "num_train_epochs": config.epochs,
        "max_steps": config.max_steps,
        "save_strategy": "steps",
        "save_steps": config.save_steps,
        "save_total_limit": config.save_total_limit,
        "logging_steps": config.logging_steps,
        "logging_first_step": True,
        "seed": config.seed,
        "data_seed": config.seed,
        "bf16": dtype == torch.bfloat16,
        "fp16": dtype == torch.float16,
        "activation_checkpointing": config.gradient_checkpointing,
        "activation_checkpointing_kwargs": {"use_reentrant": False} if config.gradient_checkpointing else None,
        "remove_unused_columns": False,
        "dataset_kwargs": {"skip_prepare_dataset": True},
        "max_length": None,
        "report_to": "none",
        "dataloader_num_workers": config.num_workers,
        "use_cpu": device == "cpu",
        "disable_tqdm": True,
    }
    values.update(config.extra_args)
    return SFTConfig(**values)


def _lora(config: TrainConfig) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=config.lora.target_modules,
        task_type="CAUSAL_LM",
    )


def _device(config: TrainConfig) -> str:
    import torch

    if config.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return config.device


def _train_stage(
    config: TrainConfig,
    stage: str,
    examples: list[dict[str, Any]],
    below: list[Path],
    *,
    resume: bool,
    log: Any,
    callbacks: Sequence[Any] = (),
) -> StageResult:
    import torch
    from peft import get_peft_model
    from transformers import set_seed
    from transformers.trainer_utils import get_last_checkpoint
    from trl import SFTTrainer

    stage_dir = config.stage_dir(stage)
    adapter_dir = config.adapter_dir(stage)
    done = stage_dir / "done.json"
    target = {"max_steps": config.max_steps, "epochs": config.epochs}
    if resume and done.is_file() and (adapter_dir / "adapter_config.json").is_file():
        finished = json.loads(done.read_text(encoding="utf-8"))
        if finished.pop("target", None) == target:
            log(f"{stage}: already finished, adapter {adapter_dir}")
            return StageResult.from_dict(finished)
        log(f"{stage}: finished earlier with other max_steps/epochs; continuing from its last checkpoint")
    data = stage_examples(examples, stage)
    if not data:
        hint = " (rows need a reasoning column, or build the data with --teacher)" if stage == "reasoning" else ""
        raise DatasetError(f"stage {stage}: no examples to train on{hint}")
    device = _device(config)
    dtype = _torch_dtype(config.precision, device)
    set_seed(config.seed)
    processor, base = _load_base(config.model, dtype, below)
    model = get_peft_model(base, _lora(config))
    collator = ChatCollator(processor, max_length=config.max_length)
    collator([data[0]])  # fail now, with the example named, rather than inside the trainer
    stage_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = get_last_checkpoint(str(stage_dir)) if resume and stage_dir.is_dir() else None
    trainer = SFTTrainer(
        model=model,
        args=_sft_args(config, stage_dir, device, dtype),
        train_dataset=_as_table(data),
        data_collator=collator,
        processing_class=processor,
        callbacks=list(callbacks) or None,
    )
    start_step = int(checkpoint.rsplit("-", 1)[-1]) if checkpoint else 0
    log(
        f"{stage}: {len(data)} examples, {model.get_nb_trainable_parameters()[0]:,} trainable parameters"
        + (f", resuming from {checkpoint}" if checkpoint else "")
    )
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=checkpoint)
    seconds = time.perf_counter() - started
    steps = int(trainer.state.global_step)
    peak = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None
    model.save_pretrained(str(adapter_dir))
    if below:
        stack = {"base": config.model, "below": [os.path.relpath(p, adapter_dir) for p in below]}
        (adapter_dir / _STACK_FILE).write_text(json.dumps(stack, indent=2) + "\n", encoding="utf-8")
    losses = [(int(e["step"]), float(e["loss"])) for e in trainer.state.log_history if "loss" in e and "step" in e]
    result = StageResult(
        stage=stage,
        adapter=adapter_dir,
        examples=len(data),
        steps=steps,
        start_step=start_step,
        seconds=round(seconds, 3),
        steps_per_s=round((steps - start_step) / seconds, 4) if seconds > 0 else 0.0,
        losses=losses,
        below=list(below),
        peak_memory_mb=round(peak, 1) if peak is not None else None,
        device=device,
    )
    done.write_text(json.dumps({**result.to_dict(), "target": target}, indent=2) + "\n", encoding="utf-8")
    return result


def train(
    config: TrainConfig | str | Path | Mapping[str, Any],
    *,
    resume: bool = False,
    overwrite: bool = False,
    log: Any = None,
    callbacks: Sequence[Any] = (),
) -> TrainResult:
    """Train the configured stage(s); returns each stage's adapter and figures.

    ``resume=True`` continues each stage from its latest checkpoint (a finished stage is
    kept as it is); without it, an output folder that already holds a run is refused
    unless ``overwrite=True`` clears it. ``log`` receives progress lines; ``callbacks`` are
    ``transformers.TrainerCallback`` objects added to every stage's trainer.
    """
    if not isinstance(config, TrainConfig):
        config = load_config(dict(config) if isinstance(config, Mapping) else config)
    log = log or (lambda message: None)
    _require_train_extra()
    examples = _load_examples(config.dataset)
    _check_output(config, resume, overwrite)
    config.output_dir.mkdir(parents=True, exist_ok=True)
    (config.output_dir / "train_config.json").write_text(config.model_dump_json(indent=2) + "\n", encoding="utf-8")
    results: list[StageResult] = []
    below: list[Path] = []
    for stage in config.stages:
        result = _train_stage(config, stage, examples, below, resume=resume, log=log, callbacks=callbacks)
        results.append(result)
        below = [*below, result.adapter.resolve()]
    return TrainResult(config.output_dir, results)


# ---------------------------------------------------------------------------- evaluation and merging


def dataset_loss(
    model: str | Path,
    dataset: str | Path | Sequence[dict[str, Any]],
    *,
    adapter: str | Path | None = None,
    stage: str = "location",
    max_length: int | None = None,
    device: str = "cpu",
) -> float:
    """Mean loss per assistant token of ``model`` (+ ``adapter`` and what it stacks on) on a dataset.

    The same batches before and after training give the honest "did it learn" figure.
    """
    _require_train_extra()
    import torch
    from peft import PeftModel

    examples = list(dataset) if not isinstance(dataset, (str, Path)) else load_examples(dataset)
    chain = adapter_stack(adapter) if adapter is not None else []
    processor, net = _load_base(str(model), torch.float32, chain[:-1])
    if chain:
        net = PeftModel.from_pretrained(net, str(chain[-1]))
    net.to(device).eval()
    collator = ChatCollator(processor, max_length=max_length)
    total, tokens = 0.0, 0
    with torch.no_grad():
        for example in stage_examples(examples, stage):
            batch = {k: v.to(device) for k, v in collator([example]).items()}
            labels = batch.pop("labels")
            logits = net(**batch).logits.float()
            shift_logits, shift_labels = logits[:, :-1], labels[:, 1:]
            mask = shift_labels != IGNORE_INDEX
            loss = torch.nn.functional.cross_entropy(shift_logits[mask], shift_labels[mask], reduction="sum")
            total += float(loss)
            tokens += int(mask.sum())
    return total / max(tokens, 1)


def merge(
    adapters: str | Path | Sequence[str | Path],
    base: str | Path,
    out: str | Path,
    *,
    dtype: str = "auto",
) -> Path:
    """Merge adapters (and the stacks beneath them) into ``base``; save model + processor to ``out``.

    The folder loads with ``AutoModelForImageTextToText.from_pretrained`` and serves with
    ``vllm serve OUT``. ``dtype="auto"`` keeps the base's stored dtype.
    """
    _require_train_extra()
    import torch

    items = [adapters] if isinstance(adapters, (str, Path)) else list(adapters)
    if not items:
        raise ConfigError("merge: give at least one adapter")
    chain: list[Path] = []
    for item in items:
        for path in adapter_stack(item):
            if path not in chain:
                chain.append(path)
    if dtype not in ("auto", "float32", "bfloat16", "float16"):
        raise ConfigError(f"unknown dtype {dtype!r}; expected auto, float32, bfloat16 or float16")
    torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
    processor, model = _load_base(str(base), torch_dtype, chain)
    target = Path(out).expanduser()
    if target.exists() and any(target.iterdir()):
        if not (target / "merge.json").is_file():
            raise ConfigError(f"merge output {target} is not empty")
        shutil.rmtree(target)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(target))
    processor.save_pretrained(str(target))
    record = {"base": str(base), "adapters": [str(p) for p in chain]}
    (target / "merge.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return target
