"""The local OpenAI-compatible stub server, exercised with the real ``openai`` client and ``ChatOpenAI``."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

openai = pytest.importorskip("openai")
langchain_openai = pytest.importorskip("langchain_openai")

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from evals.openai_stub import (  # noqa: E402
    DEFAULT_ANSWER,
    VLLM_AUTO_TOOL_CHOICE_ERROR,
    OpenAIStubServer,
    StubReply,
)

ChatOpenAI = langchain_openai.ChatOpenAI
ROOT = Path(__file__).resolve().parents[1]
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n not really a png").decode()


class Ocr(BaseModel):
    """Read the text in an image region."""

    image: str = Field(description="image handle, e.g. img:0")
    bbox: list[int] | None = Field(default=None, description="x0, y0, x1, y1")


def client(server: OpenAIStubServer, **kwargs) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="dummy", max_retries=0, timeout=10, **kwargs)


def chat(server: OpenAIStubServer, **kwargs) -> ChatOpenAI:
    return ChatOpenAI(model="stub", base_url=server.base_url, api_key="dummy", max_retries=0, timeout=10, **kwargs)


def ask(c: openai.OpenAI, **kwargs):
    return c.chat.completions.create(model="stub", messages=[{"role": "user", "content": "where?"}], **kwargs)


def test_models_endpoint_and_base_url():
    with OpenAIStubServer(model="qwen-geo") as server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
        models = client(server).models.list()
        assert [m.id for m in models.data] == ["qwen-geo"]
        assert models.data[0].owned_by == "geosleuth-stub"


def test_plain_reply_has_the_openai_shape():
    with OpenAIStubServer(["It is Lisbon."]) as server:
        completion = ask(client(server), temperature=0.3)
        assert completion.object == "chat.completion"
        assert completion.id.startswith("chatcmpl-")
        assert completion.model == "stub"
        (choice,) = completion.choices
        assert choice.index == 0 and choice.finish_reason == "stop"
        assert choice.message.role == "assistant" and choice.message.content == "It is Lisbon."
        assert choice.message.tool_calls is None
        usage = completion.usage
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0
        assert server.requests[0]["temperature"] == 0.3
        assert server.requests[0]["messages"] == [{"role": "user", "content": "where?"}]


def test_chat_openai_plain_reply():
    with OpenAIStubServer(["A final answer."]) as server:
        reply = chat(server).invoke([SystemMessage("be brief"), HumanMessage("where?")])
        assert isinstance(reply, AIMessage) and reply.content == "A final answer."
        assert reply.response_metadata["finish_reason"] == "stop"
        assert reply.usage_metadata["total_tokens"] > 0
        sent = server.requests[0]
        assert [m["role"] for m in sent["messages"]] == ["system", "user"]
        assert sent["stream"] is False


def test_tool_call_reply_becomes_langchain_tool_calls():
    script = [StubReply(tool_calls=[{"name": "Ocr", "arguments": {"image": "img:0", "bbox": [1, 2, 30, 40]}}])]
    with OpenAIStubServer(script) as server:
        reply = chat(server).bind_tools([Ocr]).invoke("read the sign")
        (call,) = reply.tool_calls
        assert call["name"] == "Ocr" and call["args"] == {"image": "img:0", "bbox": [1, 2, 30, 40]}
        assert call["id"].startswith("call_")
        assert reply.response_metadata["finish_reason"] == "tool_calls"
        (tool,) = server.requests[0]["tools"]
        assert tool["type"] == "function" and tool["function"]["name"] == "Ocr"
        assert tool["function"]["parameters"]["required"] == ["image"]
        assert "tool_choice" not in server.requests[0]  # bind_tools without tool_choice sends none


def test_malformed_tool_arguments_are_sent_verbatim():
    with OpenAIStubServer([StubReply(tool_calls=[{"name": "Ocr", "arguments": '{"image": "img:0"', "id": "c1"}])]) as s:
        reply = chat(s).bind_tools([Ocr]).invoke("x")
        assert reply.tool_calls == []
        (bad,) = reply.invalid_tool_calls
        assert bad["id"] == "c1" and bad["args"] == '{"image": "img:0"'


def test_streaming_text_and_tool_calls():
    tool_reply = StubReply(
        content="Let me look closer.",
        tool_calls=[{"name": "Ocr", "arguments": {"image": "img:0", "bbox": [0, 0, 8, 8]}}],
    )
    with OpenAIStubServer(["The sign says Rua Augusta, so this is Lisbon.", tool_reply]) as server:
        model = chat(server)
        chunks = list(model.stream("where?"))
        assert len(chunks) > 3
        assert "".join(c.content for c in chunks) == "The sign says Rua Augusta, so this is Lisbon."
        assert server.requests[0]["stream"] is True

        chunks = list(model.bind_tools([Ocr]).stream("where?"))
        merged = chunks[0]
        for chunk in chunks[1:]:
            merged = merged + chunk
        assert merged.content == "Let me look closer."
        assert [(c["name"], c["args"]) for c in merged.tool_calls] == [
            ("Ocr", {"image": "img:0", "bbox": [0, 0, 8, 8]})
        ]


def test_streaming_wire_format_with_usage():
    with OpenAIStubServer([StubReply(tool_calls=[{"name": "Ocr", "arguments": {"image": "img:0"}}])]) as server:
        stream = ask(client(server), stream=True, stream_options={"include_usage": True})
        chunks = list(stream)
        assert all(c.object == "chat.completion.chunk" for c in chunks)
        assert chunks[0].choices[0].delta.role == "assistant"
        deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
        assert deltas[0].index == 0 and deltas[0].id and deltas[0].function.name == "Ocr"
        assert len(deltas) > 2  # the arguments arrive in pieces
        arguments = "".join(d.function.arguments or "" for d in deltas)
        assert json.loads(arguments) == {"image": "img:0"}
        finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        assert finish == ["tool_calls"]
        assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_n_gives_several_choices():
    with OpenAIStubServer(["Lisbon", "Porto", "Madrid"]) as server:
        model = chat(server, n=2, temperature=0.9)
        result = model.generate([[HumanMessage("where?")]])
        assert [g.text for g in result.generations[0]] == ["Lisbon", "Porto"]
        assert server.requests[0]["n"] == 2 and server.requests[0]["temperature"] == 0.9
        assert server.remaining == 1
        # one scripted item may itself hold several choices
        server.add(["Rome", "Milan", "Turin"])
        completion = ask(client(server), n=3)
        assert [c.message.content for c in completion.choices] == ["Madrid", "Rome", "Milan"]
        assert [c.index for c in completion.choices] == [0, 1, 2]


def test_n_with_a_responder_calls_it_once_per_sample():
    samples = iter(["a", "b", "c"])
    with OpenAIStubServer(lambda request: next(samples)) as server:
        completion = ask(client(server), n=2)
        assert [c.message.content for c in completion.choices] == ["a", "b"]
        chunks = list(ask(client(server), n=1, stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "c"


def test_image_data_url_reaches_the_server():
    data_url = f"data:image/png;base64,{PNG}"
    with OpenAIStubServer(["ok", "ok"]) as server:
        model = chat(server)
        model.invoke(
            [
                HumanMessage(
                    content=[{"type": "text", "text": "where?"}, {"type": "image_url", "image_url": {"url": data_url}}]
                )
            ]
        )
        # LangChain's standard image block is sent as the same OpenAI image_url part
        model.invoke([HumanMessage(content=[{"type": "image", "base64": PNG, "mime_type": "image/png"}])])
        for request in server.requests:
            parts = request["messages"][-1]["content"]
            images = [p for p in parts if p["type"] == "image_url"]
            assert images == [{"type": "image_url", "image_url": {"url": data_url}}]
            assert request["messages"][-1]["role"] == "user"


def test_responder_answers_from_the_last_tool_message():
    def responder(request: dict) -> StubReply:
        last = request["messages"][-1]
        if last["role"] == "tool":
            text = last["content"] if isinstance(last["content"], str) else last["content"][0]["text"]
            return StubReply(content=f"<answer>{text}</answer>")
        return StubReply(tool_calls=[{"name": "Ocr", "arguments": {"image": "img:0"}}])

    with OpenAIStubServer(responder) as server:
        model = chat(server).bind_tools([Ocr])
        messages = [HumanMessage("where?")]
        first = model.invoke(messages)
        (call,) = first.tool_calls
        messages += [first, ToolMessage(content="RUA AUGUSTA", tool_call_id=call["id"])]
        second = model.invoke(messages)
        assert second.content == "<answer>RUA AUGUSTA</answer>"
        sent = server.requests[1]["messages"]
        assert sent[1]["role"] == "assistant" and sent[1]["content"] is None
        assert sent[1]["tool_calls"][0]["id"] == call["id"]
        assert json.loads(sent[1]["tool_calls"][0]["function"]["arguments"]) == {"image": "img:0"}
        assert sent[2] == {"role": "tool", "tool_call_id": call["id"], "content": "RUA AUGUSTA"}


def test_a_failing_responder_answers_500():
    def responder(request: dict) -> StubReply:
        raise RuntimeError("boom")

    with OpenAIStubServer(responder) as server, pytest.raises(openai.InternalServerError, match="boom"):
        ask(client(server))


def test_exhausted_script_raises_in_the_client():
    with OpenAIStubServer(["only one"]) as server:
        model = chat(server)
        assert model.invoke("where?").content == "only one"
        with pytest.raises(openai.InternalServerError) as info:
            model.invoke("where?")
        assert info.value.status_code == 500
        assert "exhausted" in str(info.value)
        assert info.value.body["type"] == "InternalServerError"


def test_scripted_errors():
    script = [
        StubReply(status=429, error={"message": "slow down"}),
        StubReply(status=404, error={"message": "The model `x` does not exist.", "type": "NotFoundError"}),
        "fine",
    ]
    with OpenAIStubServer(script) as server:
        c = client(server)
        with pytest.raises(openai.RateLimitError, match="slow down"):
            ask(c)
        with pytest.raises(openai.NotFoundError, match="does not exist"):
            ask(c)
        assert ask(c).choices[0].message.content == "fine"


def test_reject_tools_like_vllm_without_auto_tool_choice():
    with OpenAIStubServer(["plain text works"], reject_tools=True) as server:
        model = chat(server)
        with pytest.raises(openai.BadRequestError) as info:
            model.bind_tools([Ocr]).invoke("where?")
        assert info.value.status_code == 400
        assert VLLM_AUTO_TOOL_CHOICE_ERROR in str(info.value)
        assert info.value.body["type"] == "BadRequestError"
        assert server.requests[0]["tools"]  # the rejected request is recorded too
        assert server.remaining == 1  # and consumed no reply
        assert model.invoke("where?").content == "plain text works"


def test_delay_lets_concurrent_requests_overlap():
    with OpenAIStubServer(lambda request: "ok", delay_s=0.3) as server:
        c = client(server)
        start = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(lambda _: ask(c), range(8)))
        elapsed = time.perf_counter() - start
        assert [r.choices[0].message.content for r in replies] == ["ok"] * 8
        assert elapsed < 1.5, elapsed
        assert server.max_in_flight > 1


def test_max_concurrency_serialises_requests():
    with OpenAIStubServer(lambda request: "ok", delay_s=0.3, max_concurrency=1) as server:
        c = client(server)
        start = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: ask(c), range(8)))
        elapsed = time.perf_counter() - start
        assert elapsed >= 8 * 0.3 * 0.9, elapsed
        assert server.max_in_flight == 1


def test_per_reply_delay_overrides_the_server_delay():
    with OpenAIStubServer([StubReply(content="slow", delay_s=0.2), "fast"], delay_s=0.0) as server:
        c = client(server)
        start = time.perf_counter()
        ask(c)
        assert time.perf_counter() - start >= 0.2
        start = time.perf_counter()
        ask(c)
        assert time.perf_counter() - start < 0.2


def test_from_completion_replays_a_recorded_response():
    recorded = {
        "id": "chatcmpl-9f1c",
        "object": "chat.completion",
        "created": 1735000000,
        "model": "Qwen/Qwen2.5-VL-7B-Instruct",
        "choices": [
            {
                "index": 1,
                "message": {"role": "assistant", "content": "<answer>Porto</answer>", "tool_calls": []},
                "logprobs": None,
                "finish_reason": "stop",
            },
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "chatcmpl-tool-1a2b",
                            "type": "function",
                            "function": {"name": "Ocr", "arguments": '{"image":"img:0"}'},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            },
        ],
        "usage": {"prompt_tokens": 1234, "total_tokens": 1300, "completion_tokens": 66},
    }
    reply = StubReply.from_completion(recorded)
    assert reply.tool_calls == [{"name": "Ocr", "arguments": '{"image":"img:0"}', "id": "chatcmpl-tool-1a2b"}]
    assert len(reply.choices) == 2
    with OpenAIStubServer([reply]) as server:
        c = client(server)
        completion = ask(c, n=2)
        first, second = completion.choices
        assert first.message.tool_calls[0].id == "chatcmpl-tool-1a2b"
        assert first.message.tool_calls[0].function.arguments == '{"image":"img:0"}'
        assert first.finish_reason == "tool_calls"
        assert second.message.content == "<answer>Porto</answer>" and second.finish_reason == "stop"
        assert completion.usage.prompt_tokens == 1234 and completion.usage.total_tokens == 1300
        # an openai ChatCompletion object replays too; n=1 keeps the first choice
        again = StubReply.from_completion(completion)
        server.add(again)
        (only,) = ask(c).choices
        assert only.message.tool_calls[0].id == "chatcmpl-tool-1a2b"


def test_from_completion_replays_a_recorded_error():
    reply = StubReply.from_completion({"error": {"message": "bad image", "type": "BadRequestError", "code": 400}})
    assert reply.status == 400 and reply.is_error
    with OpenAIStubServer([reply]) as server, pytest.raises(openai.BadRequestError, match="bad image"):
        ask(client(server))


def test_bad_requests_are_openai_errors():
    with OpenAIStubServer(["unused"]) as server:
        c = client(server)
        with pytest.raises(openai.BadRequestError, match="messages"):
            c.chat.completions.create(model="stub", messages=[])
        assert server.remaining == 1


def test_async_client_and_close_is_idempotent():
    import asyncio

    server = OpenAIStubServer(lambda request: "ok", delay_s=0.2).start()
    try:

        async def main() -> list[str]:
            model = ChatOpenAI(model="stub", base_url=server.base_url, api_key="dummy", max_retries=0)
            replies = await model.abatch(["a", "b", "c", "d"])
            return [r.content for r in replies]

        start = time.perf_counter()
        assert asyncio.run(main()) == ["ok"] * 4
        assert time.perf_counter() - start < 0.2 * 4
    finally:
        server.close()
        server.close()


def test_cli_serves_the_default_answer_until_interrupted():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "evals.openai_stub", "--port", "0", "--model", "geo-stub", "--delay", "0.01"]
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            line = proc.stdout.readline()
            assert "serving" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
            base_url = line.split(" at ")[1].split()[0]
            with openai.OpenAI(base_url=base_url, api_key="dummy", max_retries=0, timeout=10) as c:
                assert [m.id for m in c.models.list().data] == ["geo-stub"]
                messages = [{"role": "user", "content": "where?"}]
                completion = c.chat.completions.create(model="geo-stub", messages=messages)
            assert completion.choices[0].message.content == DEFAULT_ANSWER
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_served_throughput_benchmark_runs_the_real_runner():
    from evals.bench_served import bench_served, format_served

    figures = bench_served([1, 2], items=4, delay_s=0.05, samples=2)
    assert [row["concurrency"] for row in figures["levels"]] == [1, 2]
    # each item: one planning call that answers, then one more sample (the first reuses the answer)
    assert all(row["requests"] == 4 * 2 for row in figures["levels"])
    assert figures["levels"][1]["max_in_flight"] >= 2
    assert "items/s" in format_served(figures)
