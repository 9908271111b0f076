"""A tiny, randomly initialised Qwen2.5-VL checkpoint built entirely offline.

Why it exists: tests and smoke runs must exercise the *real* transformers path — ``AutoProcessor``
and ``AutoModelForImageTextToText`` loading a saved directory, the chat template, image
preprocessing, ``generate`` and decoding, LoRA adapters on top — without downloading weights.
Nothing here is trained; the model writes garbage, quickly.

Why Qwen2.5-VL: it is the current Qwen VLM generation that vLLM serves and that the geolocation SFT
recipes fine-tune, it is a native ``AutoModelForImageTextToText`` architecture in transformers 5
(no ``trust_remote_code``), and its processor needs nothing but a byte-level BPE tokenizer (built
here with ``tokenizers``) and a torchvision image processor whose resolution can be capped low.

``python -m agent.models.tiny DIR`` builds one and prints its path.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["CHAT_TEMPLATE", "build_tiny_vlm"]

# Small images keep the vision tower cheap: 56*56 .. 224*224 pixels is 4 .. 64 merged image tokens.
MIN_PIXELS = 56 * 56
MAX_PIXELS = 224 * 224
# Upper bound for BPE training; the built-in corpus saturates first (about 700 tokens in all).
MAX_VOCAB = 1024

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
# Tags of the text protocol: single tokens that survive ``skip_special_tokens`` (as in real Qwen2.5).
PROTOCOL_TOKENS = ["<tool_call>", "</tool_call>", "<answer>", "</answer>"]

# Qwen2-VL style: string content or a list of {"type": "text"|"image"} blocks; no default system prompt.
CHAT_TEMPLATE = """{% for message in messages %}<|im_start|>{{ message['role'] }}
{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for block in message['content'] %}\
{% if block['type'] == 'image' or 'image' in block or 'image_url' in block %}\
<|vision_start|><|image_pad|><|vision_end|>\
{% elif block['type'] == 'text' %}{{ block['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>
{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""

_CORPUS = """
You are a geolocation assistant. Look at the photo, gather evidence with tools, then answer.
The street sign reads Rue de la Paix in Paris, France. Cars drive on the left side of the road in
the United Kingdom, Japan, Australia and India. Road markings, bollards, license plates, vegetation,
architecture, language, script, phone numbers and shop names are clues. The weather is sunny and
the sky is clear; there are mountains, a river, a bridge, a church, a station, a market and a beach.
Coordinates: latitude and longitude in decimal degrees, north south east west, city region country.
<tool_call>{"name": "crop", "arguments": {"image": "img:0", "box": [0.1, 0.2, 0.5, 0.75]}}</tool_call>
<tool_call>{"name": "ocr", "arguments": {"image": "img:1"}}</tool_call>
<tool_call>{"name": "web_search", "arguments": {"query": "bakery Berlin Kreuzberg"}}</tool_call>
<tool_call>{"name": "osm_query", "arguments": {"tags": {"amenity": "cafe"}, "radius_m": 500}}</tool_call>
<answer>{"latitude": 48.8566, "longitude": 2.3522, "city": "Paris", "country": "France"}</answer>
<answer>{"candidates": [{"lat": -33.8688, "lon": 151.2093, "label": "Sydney", "confidence": 0.7,
"reasons": ["left-hand traffic", "English signs"]}]}</answer>
0 1 2 3 4 5 6 7 8 9 10 25 100 200 750 1000 2500 5000 -12.5 +3.25 0.001 1e-3 [] {} () : , ; . ! ? " '
The quick brown fox jumps over the lazy dog. What, where, when, which, why, how: I think it is here.
"""


def _build_tokenizer():
    """A byte-level BPE trained on ``_CORPUS`` with Qwen2's pre-tokenizer, wrapped as ``Qwen2Tokenizer``."""
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    qwen = Qwen2Tokenizer().backend_tokenizer  # empty vocab: only its normalizer and pre-tokenizer are used
    bpe = Tokenizer(models.BPE())
    bpe.normalizer = qwen.normalizer
    bpe.pre_tokenizer = qwen.pre_tokenizer
    trainer = trainers.BpeTrainer(
        vocab_size=MAX_VOCAB - len(SPECIAL_TOKENS) - len(PROTOCOL_TOKENS),
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator([_CORPUS] * 4, trainer=trainer)
    model_state = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model_state["merges"]]
    tok = Qwen2Tokenizer(vocab=model_state["vocab"], merges=merges, eos_token="<|im_end|>", model_max_length=32768)
    tok.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS[1:]})
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in PROTOCOL_TOKENS])
    return tok


def build_tiny_vlm(directory: str | Path, *, seed: int = 0) -> Path:
    """Build a tiny random Qwen2.5-VL with its processor into ``directory`` (created) and return it.

    The result loads with ``AutoProcessor.from_pretrained(directory)`` and
    ``AutoModelForImageTextToText.from_pretrained(directory)`` with no network. ``seed`` fixes the
    weights without disturbing the caller's global RNG state.
    """
    import torch
    from transformers import (
        GenerationConfig,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = _build_tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    text_hidden = 64
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": text_hidden,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]},
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": text_hidden,
            "fullatt_block_indexes": [1],
            "window_size": 112,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
        pad_token_id=ids["<|endoftext|>"],
        do_sample=False,
    )
    model.save_pretrained(out)
    size = {"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS}
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=size),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(size=size),
        chat_template=CHAT_TEMPLATE,
    )
    processor.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m agent.models.tiny DIR``: build a tiny VLM into DIR and print its path."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m agent.models.tiny DIR", file=sys.stderr)
        return 2
    print(build_tiny_vlm(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
