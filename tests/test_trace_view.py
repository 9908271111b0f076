"""The terminal views of traces: timeline (show) and first divergence (diff), on real runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent import Agent
from agent.cli import main
from agent.trace_view import diff, first_divergence, show
from graphs.trace import read_trace

LISBON = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"
V1 = Path(__file__).resolve().parent / "fixtures" / "traces_v1"


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    """The Lisbon street twice, the second run under another consensus strategy."""
    folder = tmp_path_factory.mktemp("view")
    agent = Agent()
    agent.locate(LISBON, use_metadata=False, trace=folder / "a.jsonl")
    agent.locate(LISBON, use_metadata=False, strategy="hierarchical", trace=folder / "b.jsonl")
    return folder / "a.jsonl", folder / "b.jsonl"


def test_two_runs_with_the_same_settings_diff_as_identical(traces, tmp_path, capsys):
    """The acceptance check of trace v2: a fresh agent runs the same image with the same
    settings again; `trace diff` finds nothing, with no list of keys to ignore."""
    a, _ = traces
    again = tmp_path / "again.jsonl"
    Agent().locate(LISBON, use_metadata=False, trace=again)
    ta, tb = read_trace(a), read_trace(again)
    assert ta.run_id != tb.run_id and ta.header.created != tb.header.created
    assert [s.timing for s in ta.steps] != [s.timing for s in tb.steps]  # the runs did take their own time
    assert main(["trace", "diff", str(a), str(again), "--exit-code"]) == 0
    out = capsys.readouterr().out
    assert "settings: identical" in out and f"steps: identical ({len(ta.steps)} steps)" in out
    assert out.rstrip().endswith("the runs are identical")


def test_show_lists_every_step_and_the_answer(traces):
    path, _ = traces
    trace = read_trace(path)
    text = show(path)
    step_lines = [line for line in text.splitlines() if line.startswith("#")]
    assert len(step_lines) == len(trace.steps)
    for line, step in zip(step_lines, trace.steps):
        assert line.split()[0] == f"#{step.index}" and step.node in line and step.name in line
    assert "read_text" in text and "'RUA AUGUSTA'" in text  # evidence summarised with its text
    assert "verified: " in text and "candidates; best " in text
    assert text.splitlines()[-1].startswith("answer: 38.72509, -9.14980 ±10.6 km, confidence 0.6")
    assert text.splitlines()[-1].endswith("Lisbon, Portugal")
    assert f"img:0: {LISBON}" in text


def test_show_keeps_one_line_per_step_for_hostile_text(traces, tmp_path):
    path, _ = traces
    records = [json.loads(line) for line in path.read_text().splitlines()]
    step = next(r for r in records if r.get("name") == "read_text")
    step["observation"]["text"] = "line one \x1b[31mred\nline two\r\n"
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    lines = show(edited).splitlines()
    assert len([line for line in lines if line.startswith("#")]) == len(records) - 2
    assert any("line one \\x1b[31mred" in line for line in lines) and "\x1b" not in "".join(lines)


def test_show_of_an_unfinished_trace(traces, tmp_path):
    path, _ = traces
    lines = path.read_text().splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:5]) + "\n")
    assert show(cut).splitlines()[-1] == "unfinished: no final step after 4 steps"


def test_diff_of_a_trace_with_itself_is_identical(traces):
    path, _ = traces
    text = diff(path, path)
    items = len(read_trace(path).evidence())
    assert "steps: identical" in text and f"evidence: identical ({items} items)" in text
    assert text.splitlines()[-1] == "the runs are identical"


def test_diff_of_a_rerun_ignores_timings(traces, tmp_path):
    path, _ = traces
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records:
        if record.get("name") == "read_text":
            record["timing"]["duration_s"] += 1.5
            record["meta"]["elapsed_s"] = record["meta"].get("elapsed_s", 0) + 1.5
            record["meta"]["a_counter_no_reader_knows"] = 7  # bookkeeping is never compared
    again = tmp_path / "again.jsonl"
    again.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert diff(path, again).endswith("the runs are identical")


def test_diff_names_the_first_differing_step(traces):
    a, b = traces
    ta = read_trace(a)
    consensus = next(s.index for s in ta.steps if s.node == "consensus")
    assert first_divergence(ta, read_trace(b)) == (consensus, "took another path")
    text = diff(a, b)
    assert f"first divergence at step #{consensus}: took another path" in text
    assert "A: consensus decision cluster" in text and "B: consensus decision hierarchical" in text
    assert f"evidence: identical ({len(ta.evidence())} items)" in text  # same evidence, aggregated another way
    assert "the runs are identical" not in text


def test_diff_reports_answers_and_evidence(traces, tmp_path):
    a, _ = traces
    records = [json.loads(line) for line in a.read_text().splitlines()]
    result = records[-1]["result"]
    result["lat"], result["country_code"] = result["lat"] + 1.0, "ES"
    result["evidence"] = result["evidence"][1:]
    read = next(r for r in records if r.get("name") == "analyze_text")
    read["observation"]["text"] = "something else"
    other = tmp_path / "other.jsonl"
    other.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    text = diff(a, other)
    assert f"first divergence at step #{read['index']}: same call, different outcome (at observation.text)" in text
    assert "- A only: ocr_text: RUA AUGUSTA" in text
    assert "distance between answers: 111." in text and "country: PT vs ES" in text


def test_cli_show_and_diff(traces, capsys):
    a, b = traces
    assert main(["trace", "show", str(a)]) == 0
    assert "answer: 38.72509" in capsys.readouterr().out
    assert main(["trace", "diff", str(a), str(b)]) == 0
    assert "first divergence at step #" in capsys.readouterr().out
    assert main(["trace", "diff", str(a), str(b), "--exit-code"]) == 3
    assert main(["trace", "diff", str(a), str(a), "--exit-code"]) == 0


def test_cli_bad_trace_is_one_error_line(tmp_path, capsys):
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"type": "header", "format": "geosleuth-trace", "version": 7}\n')
    assert main(["trace", "show", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"geosleuth: error: {bad}: trace version 7 is not supported (this reads 1 and 2)"]
    assert main(["trace", "diff", str(bad), str(tmp_path / "none.jsonl")]) == 1


def test_diff_names_a_setting_that_differs(traces, tmp_path):
    a, _ = traces
    records = [json.loads(line) for line in a.read_text().splitlines()]
    records[0]["config"]["budget"]["max_steps"] += 1
    records[0]["versions"]["numpy"] = "0.0"  # names the run's environment: noted, not a difference
    other = tmp_path / "other.jsonl"
    other.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    text = diff(a, other)
    assert "settings differ: config.budget.max_steps" in text
    assert "note: package versions differ: numpy" in text
    assert "steps: identical" in text and "the runs are identical" not in text


@pytest.mark.parametrize("name", ["heuristic_lisbon", "model_lisbon"])
def test_show_and_diff_read_version_1_traces(name, capsys):
    path = V1 / f"{name}.jsonl"
    trace = read_trace(path)
    assert trace.header.source_version == 1
    assert main(["trace", "show", str(path)]) == 0
    text = capsys.readouterr().out
    assert "(trace format 1, read as 2)" in text
    assert len([line for line in text.splitlines() if line.startswith("#")]) == len(trace.steps)
    assert "read_text" in text and "'RUA AUGUSTA'" in text and "verified: " in text
    assert text.rstrip().splitlines()[-1].startswith("answer: 38.7")
    assert diff(path, path).endswith("the runs are identical")


def test_show_keeps_a_step_kind_it_does_not_know(traces, tmp_path):
    a, _ = traces
    lines = a.read_text().splitlines()
    step = {"type": "step", "index": 99, "kind": "carbon", "node": "act", "name": "overpass", "host": "example.org"}
    newer = tmp_path / "newer.jsonl"
    newer.write_text("\n".join([*lines[:3], json.dumps(step), *lines[3:]]) + "\n")
    text = show(newer)
    line = next(line for line in text.splitlines() if line.startswith("#99"))
    assert "carbon" in line and "overpass" in line and "example.org" in line
    assert text.splitlines()[-1].startswith("answer: 38.72509")
