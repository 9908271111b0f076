import json

import pytest

from graphs.trace import TRACE_VERSION, TraceRecorder, parse_trace_lines, read_trace
from tools.errors import TraceError


def test_recorder_writes_and_flushes_each_line(tmp_path):
    path = tmp_path / "t.jsonl"
    recorder = TraceRecorder(path)
    recorder.header(images=[{"handle": "img:0"}], config={"x": 1})
    recorder.step("act", "tool_call", "crop", arguments={"a": 1}, output={"ok": True}, images=["img:1"])
    lines = path.read_text().splitlines()  # readable before close: flushed
    assert len(lines) == 2 and json.loads(lines[1])["name"] == "crop"
    recorder.close("ok", result={"lat": 1})
    trace = read_trace(path)
    assert trace.finished and trace.steps[0]["images"] == ["img:1"]


def test_crash_cut_line_is_tolerated(tmp_path):
    path = tmp_path / "t.jsonl"
    recorder = TraceRecorder(path)
    recorder.header(images=[], config={})
    recorder.step("act", "tool_call", "crop")
    text = path.read_text() + '{"type": "step", "ind'
    path.write_text(text)
    trace = read_trace(path)
    assert not trace.finished and len(trace.steps) == 1


@pytest.mark.parametrize(
    "lines,message",
    [
        ([], "no header"),
        (['{"type": "step"}'], "no header"),
        (['{"type": "header", "format": "other", "version": 1}'], "format"),
        (['{"type": "header", "format": "geosleuth-trace", "version": 99}'], "version 99"),
        (['{"type": "header", "format": "geosleuth-trace", "version": 1}', "not json", "{}"], "line 2"),
        (['{"type": "header", "format": "geosleuth-trace", "version": 1}', '{"type": "step", "index": 0}'], "lacks"),
        (['{"type": "header", "format": "geosleuth-trace", "version": 1}', '{"type": "mystery"}'], "unknown record"),
    ],
)
def test_bad_traces_raise_trace_error(lines, message):
    with pytest.raises(TraceError, match=message):
        parse_trace_lines(lines)


def test_missing_trace_file(tmp_path):
    with pytest.raises(TraceError, match="not found"):
        read_trace(tmp_path / "nope.jsonl")


def test_unknown_step_kind_is_a_bug():
    with pytest.raises(ValueError):
        TraceRecorder().step("x", "gossip", "y")


def test_non_json_values_are_made_safe():
    recorder = TraceRecorder()
    recorder.header(images=[], config={"nan": float("nan"), "blob": b"abc", "set": {1}})
    header = recorder.records[0]
    assert header["config"]["nan"] is None and header["config"]["blob"]["bytes"] == 3
    assert header["version"] == TRACE_VERSION
