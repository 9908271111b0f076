"""The transformers runtime on a tiny random Qwen2.5-VL built locally (no downloads, no network)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("torchvision")

from PIL import Image  # noqa: E402

from agent.models.hf_runtime import GenerationResult, TransformersRuntime  # noqa: E402
from agent.models.tiny import build_tiny_vlm, main  # noqa: E402
from tools.errors import ConfigError, ModelError  # noqa: E402

# peft calls a transformers method deprecated in v5; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing.*:FutureWarning")


@pytest.fixture(scope="module", autouse=True)
def _offline():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        yield


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory, _offline) -> Path:
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny-vlm"), seed=0)


@pytest.fixture(scope="module")
def runtime(tiny_dir: Path) -> TransformersRuntime:
    return TransformersRuntime(tiny_dir, max_new_tokens=12)


@pytest.fixture(scope="module")
def adapter_dir(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    peft = pytest.importorskip("peft")
    base = transformers.AutoModelForImageTextToText.from_pretrained(tiny_dir)
    config = peft.LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=r".*language_model.*\.(q_proj|v_proj)",
        init_lora_weights=False,  # random B, so the adapter visibly changes the output
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        model = peft.get_peft_model(base, config)
    out = tmp_path_factory.mktemp("tiny-lora")
    model.save_pretrained(out)
    return out


def _image(color=(120, 30, 200), size=(320, 240)) -> Image.Image:
    return Image.new("RGB", size, color)


def _conversation(image: Image.Image | None = None) -> list[dict]:
    return [
        {"role": "system", "content": "You geolocate photos. Call tools, then answer."},
        {
            "role": "user",
            "content": [
                {"type": "image", "image": image or _image()},
                {"type": "text", "text": "Where was this taken?"},
            ],
        },
    ]


def test_tiny_model_loads_through_the_auto_classes(tiny_dir: Path) -> None:
    processor = transformers.AutoProcessor.from_pretrained(tiny_dir, local_files_only=True)
    model = transformers.AutoModelForImageTextToText.from_pretrained(tiny_dir, local_files_only=True)
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert type(processor).__name__ == "Qwen2_5_VLProcessor"
    tokenizer = processor.tokenizer
    for token in ("<|image_pad|>", "<|vision_start|>", "<|vision_end|>", "<|im_start|>", "<|im_end|>"):
        assert tokenizer.convert_tokens_to_ids(token) != tokenizer.unk_token_id
    protocol = '<tool_call>{"name": "ocr"}</tool_call><answer>{"lat": 1.5}</answer>'
    ids = tokenizer.encode(protocol)
    assert tokenizer.convert_tokens_to_ids("<tool_call>") in ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == protocol
    prompt = processor.apply_chat_template(_conversation(), add_generation_prompt=True, tokenize=False)
    assert prompt.startswith("<|im_start|>system\nYou geolocate")
    assert "<|vision_start|><|image_pad|><|vision_end|>Where was this taken?<|im_end|>" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")
    size = sum(f.stat().st_size for f in tiny_dir.iterdir())
    assert size < 5 * 2**20


def test_nothing_loads_before_first_generate(tiny_dir: Path) -> None:
    rt = TransformersRuntime(tiny_dir, max_new_tokens=4)
    assert not rt.loaded
    assert rt.describe() == {"model": str(tiny_dir), "adapter": None, "device": rt.device, "dtype": rt.dtype}
    with pytest.raises(ConfigError):  # validated before anything loads
        rt.generate([{"role": "user", "content": [{"type": "image", "image": "photo.jpg"}]}])
    assert not rt.loaded
    rt.generate([{"role": "user", "content": "hello"}])
    assert rt.loaded


def test_generate_with_an_image(runtime: TransformersRuntime) -> None:
    result = runtime.generate(_conversation())
    assert isinstance(result, GenerationResult)
    assert isinstance(result.text, str)
    assert result.prompt_tokens > 20  # the image alone expands to dozens of tokens
    assert 1 <= result.new_tokens <= 12
    assert result.seconds > 0
    assert runtime.generate(_conversation(), max_new_tokens=3).new_tokens <= 3


def test_greedy_is_deterministic(runtime: TransformersRuntime) -> None:
    first = runtime.generate(_conversation())
    assert runtime.generate(_conversation()).text == first.text
    assert runtime.generate(_conversation(), temperature=0).text == first.text


def test_seeded_sampling_is_reproducible_and_leaves_global_rng_alone(runtime: TransformersRuntime) -> None:
    conversation = _conversation()
    state = torch.get_rng_state()
    a = runtime.generate(conversation, temperature=1.5, seed=7, max_new_tokens=24)
    assert torch.equal(torch.get_rng_state(), state)
    b = runtime.generate(conversation, temperature=1.5, seed=7, max_new_tokens=24)
    c = runtime.generate(conversation, temperature=1.5, top_p=0.9, seed=7, max_new_tokens=24)
    assert a.text == b.text
    others = {runtime.generate(conversation, temperature=1.5, seed=s, max_new_tokens=24).text for s in (8, 9, 10)}
    assert others - {a.text}, "different seeds should sample something different"
    assert isinstance(c.text, str)


def test_threads_share_one_model(runtime: TransformersRuntime) -> None:
    expected = runtime.generate(_conversation()).text
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(runtime.generate(_conversation()).text)) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def test_missing_directory_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        TransformersRuntime(tmp_path / "nowhere").load()


def test_directory_without_config_is_a_model_error(tmp_path: Path, adapter_dir: Path) -> None:
    with pytest.raises(ModelError, match=r"no config\.json"):
        TransformersRuntime(tmp_path).load()
    with pytest.raises(ModelError, match="adapter="):
        TransformersRuntime(adapter_dir).load()


def test_hub_id_not_in_the_cache_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # -> local_files_only: no request leaves the machine
    with pytest.raises(ModelError, match="geosleuth-tests/no-such-vlm") as info:
        TransformersRuntime("geosleuth-tests/no-such-vlm").load()
    assert "\n" not in str(info.value)
    assert "cache" in str(info.value)
    assert info.value.__cause__ is not None
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(ModelError, match="geosleuth-tests/no-such-vlm"):
        TransformersRuntime("geosleuth-tests/no-such-vlm", local_files_only=True).load()


def test_corrupt_checkpoint_is_a_model_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot load model") as info:
        TransformersRuntime(tmp_path).load()
    assert info.value.__cause__ is not None


def test_bad_conversations_are_config_errors(runtime: TransformersRuntime) -> None:
    with pytest.raises(ConfigError, match=r"PIL\.Image"):
        runtime.generate([{"role": "user", "content": [{"type": "image", "image": b"\x89PNG"}]}])
    with pytest.raises(ConfigError, match="unknown role 'narrator'"):
        runtime.generate([{"role": "narrator", "content": "hi"}])
    with pytest.raises(ConfigError):
        runtime.generate([])
    with pytest.raises(ConfigError):
        runtime.generate([{"role": "user", "content": [{"type": "video"}]}])
    with pytest.raises(ConfigError):
        runtime.generate(_conversation(), temperature=-1)


def test_bad_settings_are_config_errors(tiny_dir: Path) -> None:
    with pytest.raises(ConfigError, match="dtype"):
        TransformersRuntime(tiny_dir, dtype="int3")
    with pytest.raises(ConfigError, match="max_new_tokens"):
        TransformersRuntime(tiny_dir, max_new_tokens=0)


def test_half_precision_generates(tiny_dir: Path) -> None:
    rt = TransformersRuntime(tiny_dir, device="cpu", dtype="bfloat16", max_new_tokens=4)
    assert rt.describe()["dtype"] == "bfloat16"
    assert rt.generate(_conversation(_image(size=(100, 700)))).new_tokens >= 1


def test_lora_adapter_loads_on_top(tiny_dir: Path, adapter_dir: Path, runtime: TransformersRuntime) -> None:
    rt = TransformersRuntime(tiny_dir, adapter=adapter_dir, max_new_tokens=12)
    assert rt.describe()["adapter"] == str(adapter_dir)
    result = rt.generate(_conversation())
    assert isinstance(result.text, str) and result.new_tokens >= 1
    assert result.text != runtime.generate(_conversation()).text


def test_missing_adapter_is_a_model_error(tiny_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="adapter"):
        TransformersRuntime(tiny_dir, adapter=tmp_path).load()


def test_cli_builds_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "m")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "m")
    assert (tmp_path / "m" / "config.json").is_file()
    assert main([]) == 2
