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

from .config import LoraSettings, TrainConfig, load_config
from .data import BuildReport, DatasetError, Row, build_dataset, load_examples, prompt_conversation, read_rows
from .distill import DistillReport, distill_traces, trace_dialogue
from .teacher import clean_reasoning, teach
from .train import TrainResult, dataset_loss, merge, train

# Imported eagerly on purpose: these modules load torch, transformers, TRL and PEFT only
# when training starts, and a lazy module attribute named ``train`` would be shadowed by
# the ``agent.sft.train`` submodule once anything imported it.
__all__ = [
    "BuildReport",
    "DatasetError",
    "DistillReport",
    "LoraSettings",
    "Row",
    "TrainConfig",
    "TrainResult",
    "build_dataset",
    "clean_reasoning",
    "dataset_loss",
    "distill_traces",
    "load_config",
    "load_examples",
    "merge",
    "prompt_conversation",
    "read_rows",
    "teach",
    "trace_dialogue",
    "train",
]
