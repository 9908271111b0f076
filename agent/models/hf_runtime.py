"""The raw transformers generation engine behind the local-VLM backend.

Why a separate layer: the LangChain wrapper deals in messages, tools and parsing; this class deals
only in "HF chat conversation in, text out" — loading (once, lazily, thread-safely), the chat
template, image preprocessing, sampling settings and decoding. Keeping it free of LangChain makes
it usable from SFT evaluation scripts too, and lets the tests drive the real transformers path on a
tiny local checkpoint (``agent.models.tiny``).

torch, transformers and peft are imported on first load, so importing this module costs nothing
and works without the ``[model]`` extra; a missing extra surfaces as a ``ModelError``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.errors import ConfigError, ModelError

__all__ = ["GenerationResult", "TransformersRuntime"]

_DTYPES = ("auto", "float16", "bfloat16", "float32")
_ROLES = ("system", "user", "assistant")
_BLOCK_TYPES = ("text", "image")
# "name" or "org/name" as the hub spells them; anything else that is not a directory is a bad path.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True)
class GenerationResult:
    """One completion: the decoded new text and what it cost."""

    text: str
    prompt_tokens: int
    new_tokens: int
    seconds: float


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _validate_conversation(conversation: Any) -> list:
    """Check roles and content blocks; return the PIL images in order of appearance."""
    from PIL import Image

    if not isinstance(conversation, list) or not conversation:
        raise ConfigError("conversation must be a non-empty list of {'role', 'content'} messages")
    images: list = []
    for i, message in enumerate(conversation):
        if not isinstance(message, dict):
            raise ConfigError(f"conversation[{i}] must be a dict, got {type(message).__name__}")
        role = message.get("role")
        if role not in _ROLES:
            raise ConfigError(f"conversation[{i}] has unknown role {role!r}; expected one of {', '.join(_ROLES)}")
        content = message.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise ConfigError(f"conversation[{i}] content must be a string or a list of blocks")
        for j, block in enumerate(content):
            kind = block.get("type") if isinstance(block, dict) else None
            if kind not in _BLOCK_TYPES:
                raise ConfigError(f"conversation[{i}].content[{j}] must be a {{'type': 'text'|'image'}} block")
            if kind == "text" and not isinstance(block.get("text"), str):
                raise ConfigError(f"conversation[{i}].content[{j}] text block needs a string 'text'")
            if kind == "image":
                image = block.get("image")
                if not isinstance(image, Image.Image):
                    raise ConfigError(
                        f"conversation[{i}].content[{j}] image must be a PIL.Image.Image, got "
                        f"{type(image).__name__}; load it first (tools.images.load_image)"
                    )
                images.append(image)
    return images


class TransformersRuntime:
    """``AutoProcessor`` + ``AutoModelForImageTextToText`` (+ an optional PEFT adapter), loaded once.

    One instance holds one model and may be shared by many threads: loading and generation are
    each serialised with a lock.
    """

    def __init__(
        self,
        model: str | Path,
        *,
        adapter: str | Path | None = None,
        device: str = "auto",
        dtype: str = "auto",
        max_new_tokens: int = 512,
        trust_remote_code: bool = False,
        local_files_only: bool | None = None,
    ) -> None:
        if dtype not in _DTYPES:
            raise ConfigError(f"unknown dtype {dtype!r}; expected one of {', '.join(_DTYPES)}")
        if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}")
        self.model_name = str(model)
        self.adapter = str(adapter) if adapter is not None else None
        self.max_new_tokens = max_new_tokens
        self.trust_remote_code = trust_remote_code
        self._device = device
        self._dtype = dtype
        self._local_files_only = local_files_only
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()
        self._processor: Any = None
        self._model: Any = None

    # -- configuration --------------------------------------------------------------------------

    @property
    def device(self) -> str:
        """The resolved device ("auto" → cuda if available, else cpu)."""
        if self._device == "auto":
            try:
                import torch
            except ImportError:  # no [model] extra: load() will say so
                return "cpu"
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self._device

    @property
    def dtype(self) -> str:
        """The resolved dtype name ("auto" → bfloat16 on cuda, float32 elsewhere)."""
        if self._dtype == "auto":
            return "bfloat16" if self.device.startswith("cuda") else "float32"
        return self._dtype

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def describe(self) -> dict[str, Any]:
        """What runs, for trace headers."""
        return {"model": self.model_name, "adapter": self.adapter, "device": self.device, "dtype": self.dtype}

    def _source(self) -> tuple[str, bool]:
        """(what to pass to from_pretrained, local_files_only), or a ModelError for a bad path."""
        path = Path(self.model_name).expanduser()
        if path.is_dir():
            if not (path / "config.json").is_file():
                hint = (
                    "it holds a PEFT adapter: pass it as adapter= with its base model"
                    if (path / "adapter_config.json").is_file()
                    else "point to a saved model directory (save_pretrained output)"
                )
                raise ModelError(f"model directory {self.model_name} has no config.json; {hint}")
            return str(path), True
        if path.exists():
            raise ModelError(f"model {self.model_name} is a file, not a model directory or hub id")
        if not _HUB_ID.match(self.model_name):
            raise ModelError(f"model directory {self.model_name} does not exist; check the path")
        offline = self._local_files_only if self._local_files_only is not None else _env_flag("HF_HUB_OFFLINE")
        return self.model_name, bool(offline)

    # -- loading --------------------------------------------------------------------------------

    def load(self) -> None:
        """Load processor, model and adapter now (idempotent; later calls return at once)."""
        if self._model is not None:
            return
        with self._load_lock:
            if self._model is None:
                self._load()

    def _load(self) -> None:
        source, local_only = self._source()
        try:
            import torch
            from transformers import AutoModelForImageTextToText, AutoProcessor
        except ImportError as exc:
            raise ModelError(
                f"the transformers backend needs torch and transformers: {exc}; install geosleuth[model]"
            ) from exc
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ConfigError(f"unknown device {self._device!r}: {_first_line(exc)}") from exc
        kwargs = {"trust_remote_code": self.trust_remote_code, "local_files_only": local_only}
        try:
            processor = AutoProcessor.from_pretrained(source, **kwargs)
            model = AutoModelForImageTextToText.from_pretrained(source, dtype=getattr(torch, self.dtype), **kwargs)
        except Exception as exc:
            if Path(source).is_dir():
                what, hint = "", "is the directory a complete image-text-to-text checkpoint?"
            elif local_only:
                what = " (no such directory; as a hub id, offline: local Hugging Face cache only)"
                hint = "download it where the hub is reachable, or give a local model directory"
            else:
                what = " (no such directory, so tried as a hub id)"
                hint = "give a local model directory or a hub id that is reachable or already downloaded"
            raise ModelError(f"cannot load model {self.model_name}{what}: {_first_line(exc)}; {hint}") from exc
        if self.adapter is not None:
            model = self._load_adapter(model)
        try:
            model.to(device)
        except Exception as exc:
            raise ModelError(f"cannot move model {self.model_name} to {device}: {_first_line(exc)}") from exc
        model.eval()
        self._processor = processor
        self._model = model

    def _load_adapter(self, model: Any) -> Any:
        path = Path(self.adapter).expanduser()
        if not (path / "adapter_config.json").is_file():
            raise ModelError(f"adapter {self.adapter} is not a PEFT adapter directory (no adapter_config.json)")
        try:
            from peft import PeftModel
        except ImportError as exc:
            raise ModelError(f"loading adapter {self.adapter} needs peft: install geosleuth[train]") from exc
        try:
            return PeftModel.from_pretrained(model, str(path), is_trainable=False)
        except Exception as exc:
            raise ModelError(
                f"cannot load adapter {self.adapter} onto {self.model_name}: {_first_line(exc)}; "
                "is it an adapter trained for this base model?"
            ) from exc

    # -- generation -----------------------------------------------------------------------------

    def generate(
        self,
        conversation: list[dict],
        *,
        temperature: float | None = None,
        top_p: float | None = None,
        max_new_tokens: int | None = None,
        seed: int | None = None,
    ) -> GenerationResult:
        """Continue an HF chat ``conversation`` as the assistant and return only the new text.

        ``temperature`` None or 0 is greedy; above 0 samples (with ``top_p`` when given). ``seed``
        makes sampling reproducible without disturbing the global RNG.
        """
        images = _validate_conversation(conversation)
        if temperature is not None and temperature < 0:
            raise ConfigError(f"temperature must be >= 0, got {temperature}")
        if top_p is not None and not 0 < top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {top_p}")
        limit = self.max_new_tokens if max_new_tokens is None else max_new_tokens
        if not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"max_new_tokens must be a positive integer, got {limit!r}")
        self.load()
        import torch

        started = time.perf_counter()
        with self._generate_lock:
            inputs = self._encode(conversation, images)
            options = self._options(temperature, top_p, limit)
            try:
                with torch.inference_mode(), self._seeded(seed):
                    output = self._model.generate(**inputs, **options)
            except Exception as exc:  # e.g. out of memory: one typed error, the cause chained
                raise ModelError(f"generation with model {self.model_name} failed: {_first_line(exc)}") from exc
        prompt_tokens = int(inputs["input_ids"].shape[1])
        new_ids = output[0, prompt_tokens:]
        text = self._processor.tokenizer.decode(new_ids, skip_special_tokens=True)
        return GenerationResult(text, prompt_tokens, int(new_ids.shape[0]), time.perf_counter() - started)

    def _encode(self, conversation: list[dict], images: list) -> Any:
        try:
            prompt = self._processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
            inputs = self._processor(text=[prompt], images=images or None, return_tensors="pt")
        except Exception as exc:
            raise ModelError(
                f"model {self.model_name} cannot encode this conversation: {_first_line(exc)}; "
                "does its chat template support these roles and images?"
            ) from exc
        # Floating inputs (pixel values) take the model's dtype; ids stay integer.
        return inputs.to(self._model.device, dtype=self._model.dtype)

    def _options(self, temperature: float | None, top_p: float | None, limit: int) -> dict[str, Any]:
        tokenizer = self._processor.tokenizer
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        options: dict[str, Any] = {"max_new_tokens": limit, "pad_token_id": pad}
        if temperature:
            # Only what the caller asked for: a checkpoint's own top_k/top_p (Qwen ships top_k=1) would
            # silently turn sampling back into greedy decoding.
            options.update(do_sample=True, temperature=float(temperature), top_k=None)
            options["top_p"] = float(top_p) if top_p is not None else None
        else:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return options

    @contextmanager
    def _seeded(self, seed: int | None) -> Iterator[None]:
        """Seed torch for one call and restore the global RNG state afterwards (no-op without a seed)."""
        if seed is None:
            yield
            return
        import torch

        device = self._model.device
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            yield
