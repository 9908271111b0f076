"""Credentials in URLs and settings are masked before anything is written."""

from __future__ import annotations

import json

from PIL import Image

from agent import Agent
from agent.models.spec import parse_spec
from tools.redact import redact, redact_url

SECRET = "s3cr3t-key"


def test_urls_lose_their_credentials_and_keep_the_rest():
    assert redact_url(f"https://user:{SECRET}@models.example:8443/v1") == "https://***@models.example:8443/v1"
    assert redact_url(f"http://h/v1?api_key={SECRET}&model=x") == "http://h/v1?api_key=***&model=x"
    assert redact_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    masked = redact({"policy": {"model": {"base_url": f"https://u:{SECRET}@h/v1"}}, "api_key": SECRET, "n": 3})
    assert SECRET not in json.dumps(masked) and masked["n"] == 3


def test_a_spec_with_credentials_in_its_url_parses():
    backend, options = parse_spec(f"openai:qwen@https://user:{SECRET}@models.example/v1")
    assert backend == "served" and options["model"] == "qwen"
    assert options["base_url"] == f"https://user:{SECRET}@models.example/v1"  # used as given, shown redacted
    assert parse_spec(f"openai:https://user:{SECRET}@models.example/v1")[1]["model"] is None


def test_trace_header_never_holds_the_credentials(tmp_path):
    from agent.session import RunSession

    agent = Agent(model=f"openai:qwen@https://user:{SECRET}@127.0.0.1:9/v1?api_key={SECRET}")
    session = RunSession.prepare(
        agent, Image.new("RGB", (32, 32)), request=agent.request(use_metadata=False), trace=tmp_path / "run.jsonl"
    )
    session.context.recorder.close("ok")
    text = (tmp_path / "run.jsonl").read_text()
    assert SECRET not in text and "127.0.0.1:9/v1" in text


def test_eval_run_file_never_holds_the_credentials(tmp_path):
    from evals.runner import EvalConfig, _check_run_file

    config = EvalConfig(
        out=tmp_path, model=f"openai:qwen@https://user:{SECRET}@h/v1", model_options={"api_key": SECRET}
    )
    _check_run_file(config, "photos.jsonl")
    _check_run_file(config, "photos.jsonl")  # resuming compares the redacted identity
    assert SECRET not in (tmp_path / "run.json").read_text()
