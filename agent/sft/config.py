"""Training configuration: one YAML or JSON file, validated with pydantic.

Defaults follow GeoLocSFT (LoRA r=16, alpha=32, learning rate 2e-5, cosine schedule,
3 epochs). Example (YAML)::

    model: models/Qwen2.5-VL-3B-Instruct    # a local model directory or hub id
    dataset: [data/sft, data/distilled]     # folders from `sft build-data` / `sft distill`
    output_dir: runs/sft
    stage: both                             # reasoning | location | both (GeoReasoner)
    lora: {r: 16, alpha: 32, dropout: 0.05, target_modules: all-linear}
    learning_rate: 2.0e-5
    lr_scheduler: cosine
    epochs: 3
    batch_size: 1
    grad_accumulation: 8
    max_steps: -1                           # > 0 overrides epochs
    save_steps: 100
    seed: 0

Relative paths are read against the config file's folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tools.errors import ConfigError

__all__ = ["STAGES", "LoraSettings", "TrainConfig", "load_config"]

STAGES = ("reasoning", "location")


class LoraSettings(BaseModel):
    """The LoRA adapter trained in each stage."""

    model_config = ConfigDict(extra="forbid")

    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    #: ``"all-linear"`` (every linear layer but the output head, vision tower included), or module names.
    target_modules: str | list[str] = "all-linear"


class TrainConfig(BaseModel):
    """Everything a training run needs. Unknown keys are refused, so typos surface."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str
    dataset: list[Path]
    output_dir: Path
    stage: Literal["reasoning", "location", "both"] = "location"
    lora: LoraSettings = Field(default_factory=LoraSettings)
    learning_rate: float = Field(2e-5, gt=0)
    lr_scheduler: str = "cosine"
    warmup_ratio: float = Field(0.03, ge=0.0, lt=1.0)
    weight_decay: float = Field(0.0, ge=0.0)
    epochs: float = Field(3.0, gt=0)
    batch_size: int = Field(1, ge=1)
    grad_accumulation: int = Field(8, ge=1)
    max_steps: int = -1
    save_steps: int = Field(100, ge=1)
    save_total_limit: int | None = Field(3, ge=1)
    logging_steps: int = Field(10, ge=1)
    seed: int = 0
    max_length: int | None = Field(4096, ge=16)
    #: ``auto`` is bfloat16 on a GPU that supports it, else float32.
    precision: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    device: str = "auto"
    gradient_checkpointing: bool = True
    #: The DataLoader's worker processes (0: load in the training process).
    num_workers: int = Field(0, ge=0)
    #: Passed to ``SFTConfig``/``TrainingArguments`` as they are (e.g. ``{"report_to": "wandb"}``).
    extra_args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("dataset", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, Path)) else value

    @field_validator("lr_scheduler")
    @classmethod
    def _scheduler(cls, value: str) -> str:
        try:
            from transformers.trainer_utils import SchedulerType
        except ImportError:  # checked again when training starts
            return value
        known = [s.value for s in SchedulerType]
        if value not in known:
            raise ValueError(f"unknown scheduler {value!r}; choose one of {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _checks(self) -> TrainConfig:
        if not self.dataset:
            raise ValueError("dataset: give at least one dataset folder")
        if self.max_steps == 0 or self.max_steps < -1:
            raise ValueError("max_steps must be a positive number of steps, or -1 to train for `epochs`")
        return self

    @property
    def stages(self) -> list[str]:
        return list(STAGES) if self.stage == "both" else [self.stage]

    def stage_dir(self, stage: str) -> Path:
        """Where a stage writes its checkpoints and its final ``adapter``."""
        return self.output_dir / stage

    def adapter_dir(self, stage: str) -> Path:
        return self.stage_dir(stage) / "adapter"

    def resolved(self, base: Path) -> TrainConfig:
        """A copy with relative paths read against ``base`` (the config file's folder)."""

        def fix(path: Path) -> Path:
            path = path.expanduser()
            return path if path.is_absolute() else base / path

        model = Path(self.model).expanduser()
        model_text = str(fix(model)) if not model.is_absolute() and (base / model).exists() else self.model
        return self.model_copy(
            update={"dataset": [fix(p) for p in self.dataset], "output_dir": fix(self.output_dir), "model": model_text}
        )


def _first_error(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "config"
        problems.append(f"{where}: {err['msg']}")
    return "; ".join(problems)


def load_config(source: str | Path | dict[str, Any], **overrides: Any) -> TrainConfig:
    """A :class:`TrainConfig` from a YAML/JSON file (or a dict), with ``overrides`` applied.

    Raises :class:`~tools.errors.ConfigError` naming the file and the first problems.
    """
    base = Path.cwd()
    label = "config"
    if isinstance(source, dict):
        data = dict(source)
    else:
        path = Path(source).expanduser()
        label = str(path)
        if not path.is_file():
            raise ConfigError(f"training config not found: {path}")
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix.lower() == ".json":
                data = json.loads(text)
            else:
                import yaml

                data = yaml.safe_load(text)
        except Exception as exc:  # noqa: BLE001 - YAML and JSON raise different types; one message for both
            raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: a training config must be a mapping of settings")
        base = path.parent.resolve()
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        config = TrainConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{label}: {_first_error(exc)}") from None
    return config.resolved(base)
