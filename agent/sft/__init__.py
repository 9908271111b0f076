"""Supervised fine-tuning of the model the agent serves (the ``[train]`` extra).

* :mod:`agent.sft.data` — rows (CSV / JSONL / folder of geotagged photos) to a chat-format
  dataset whose answers use the agent's answer schema (GeoLocSFT JSON in ``<answer>`` tags);
* :mod:`agent.sft.teacher` — optional teacher model writing the reasoning rows lack;
* :mod:`agent.sft.distill` — successful recorded runs to multi-turn tool-use dialogues;
* :mod:`agent.sft.config` and :mod:`agent.sft.train` — TRL + PEFT LoRA training (one stage
  or GeoReasoner's reasoning-then-location stages), checkpoints, resumption, merging.

Importing this package is cheap: torch, transformers, TRL and PEFT load only when training
or merging starts.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "build_dataset": "data",
    "read_rows": "data",
    "load_examples": "data",
    "prompt_conversation": "data",
    "BuildReport": "data",
    "DatasetError": "data",
    "Row": "data",
    "teach": "teacher",
    "clean_reasoning": "teacher",
    "distill_traces": "distill",
    "trace_dialogue": "distill",
    "DistillReport": "distill",
    "TrainConfig": "config",
    "LoraSettings": "config",
    "load_config": "config",
    "train": "train",
    "merge": "train",
    "TrainResult": "train",
    "dataset_loss": "train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agent.sft' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)
