"""Running an agent over a dataset: concurrent, resumable, one trace per item.

Two engines share everything but the scheduling: ``local`` runs items on threads over
one Agent; ``ray`` (:mod:`evals.ray_engine`) runs them on a pool of Ray actors, one
Agent each, possibly on many machines. Either way :class:`Evaluator` turns an item into
a record and the driver alone writes ``results.jsonl`` and ``traces/`` through
:class:`RecordWriter`, so the two engines leave the same files.

Each finished item is appended to ``results.jsonl`` at once (flushed and fsynced), so
a crash or a kill loses at most the items in flight; running again skips every item
already in the file. A torn last line from a kill is dropped on resume. ``run.json``
records the settings, and resuming with different settings is refused, so one results
file never mixes two configurations.

    out/
      run.json        settings, dataset, versions
      results.jsonl   one record per item (see evals/report.py for the fields)
      traces/<id>.jsonl
      summary.json, report.md, error_cdf.png, world_map.png
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent import Agent, GeoSleuthError
from agent.location import Location
from graphs.trace import package_versions, read_trace
from tools.errors import ConfigError, TraceError
from tools.geo import haversine_km
from tools.redact import redact
from tools.registry import ToolKind

from . import resources
from .datasets import load_dataset
from .items import EvalItem
from .text_answers import gold_text, summarize_text_answers, text_answer_record

#: How items are scheduled: threads in this process, or a Ray actor pool.
ENGINES = ("local", "ray")
#: Tool kinds an ablation can switch off, by flag name.
ABLATIONS = {"ocr": (ToolKind.OCR,), "web": (ToolKind.SEARCH,), "osm": (ToolKind.OSM,), "model": ()}


@dataclass
class EvalConfig:
    """Settings of one evaluation run (what ``run.json`` records)."""

    out: Path
    concurrency: int = 2
    use_metadata: bool = False
    strategy: str | None = None
    ablations: tuple[str, ...] = ()
    limit: int | None = None
    fresh: bool = False
    semantic: bool = False
    model: str | None = None
    model_options: dict[str, Any] = field(default_factory=dict)
    #: A model spec for the optional GeoBrowse-style LLM judge (gold-answer items only).
    judge: str | None = None
    #: ``local`` (threads over one Agent) or ``ray`` (an actor pool, one Agent per actor).
    engine: str = "local"
    #: Ray: ``None`` starts a local Ray; ``auto`` or ``ray://HOST:10001`` joins a cluster.
    address: str | None = None
    #: Ray: actors in the pool (default: as many as the cluster's CPUs allow at ``actor_cpus``).
    actors: int | None = None
    actor_cpus: float = 1.0
    actor_gpus: float = 0.0
    #: Where the dataset's image names lead (a folder or a zip archive) and a forced format.
    images: str | None = None
    format: str | None = None
    #: Whether online tools may send requests (off by default; the summary says which).
    online: bool = False

    def model_spec(self) -> str | None:
        """The model the run uses: this config's, else ``GEOSLEUTH_MODEL``; none under ``--no-model``."""
        if "model" in self.ablations:
            return None
        if self.model:
            return self.model
        from agent.settings import Settings

        return Settings().model or None

    def identity(self) -> dict[str, Any]:
        """The settings that change results (resuming needs them to match)."""
        identity = {
            "use_metadata": self.use_metadata,
            "strategy": self.strategy,
            "ablations": sorted(self.ablations),
            "online": self.online,
        }
        spec = self.model_spec()
        if spec:
            identity["model"] = spec
            identity["model_options"] = dict(sorted(self.model_options.items()))
        return identity


@dataclass
class EvalOutcome:
    records: list[dict[str, Any]]
    summary: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)
    skipped_done: int = 0
    #: What the engine reports about the run (Ray: pool size, replacements, startup and run seconds).
    engine: dict[str, Any] = field(default_factory=dict)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:120] or "item"


def trace_file(traces: Path, item_id: str) -> Path:
    """Where an item's trace is written: the one place that names trace files. A readable
    stem plus a short hash of the whole item id, so ``sub/x.jpg``, ``sub x.jpg`` and
    ``sub_x.jpg`` get three files (and a resumed run finds each item's own)."""
    digest = hashlib.sha1(item_id.encode("utf-8")).hexdigest()[:8]
    return traces / f"{_safe(item_id)[:80]}-{digest}.jsonl"


def build_agent(config: EvalConfig) -> Agent:
    """The Agent an evaluation runs: the config's model (if any) with its ablations."""
    disabled = [kind for flag in config.ablations for kind in ABLATIONS[flag]]
    spec = config.model_spec()
    return Agent(
        disable=disabled,
        model=spec or "",
        model_options=config.model_options if spec else None,
        online=config.online,
    )


def endpoint_stats(agent: Agent) -> dict[str, dict[str, Any]] | None:
    """Per-endpoint request counts of the agent's served model, when it has any."""
    model = getattr(agent.policy, "model", None)
    stats = getattr(model, "endpoint_stats", None)
    return stats() if callable(stats) else None


def read_results(path: Path) -> list[dict[str, Any]]:
    """Records in a results file, ignoring a torn line left by a kill."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "id" in record:
            records.append(record)
    return records


class ResultsFile:
    """Appends records one line at a time, durably, from many threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        kept = read_results(path)
        if path.exists():  # rewrite without torn lines before appending after them
            tmp = path.with_suffix(".tmp")
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), encoding="utf-8")
            tmp.replace(path)
        self.done = {r["id"] for r in kept}

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
            self.done.add(record["id"])


def blank_record(item: EvalItem, error: str | None = None) -> dict[str, Any]:
    """An item's record before anything is known of it: every key present, so records of
    failed items (either engine) read like the others."""
    return {
        "id": item.id,
        "images": [str(p) for p in item.images],
        "prompt": item.prompt,
        "solution": item.solution,
        "truth": item.truth.model_dump(),
        "gold": None,
        "prediction": None,
        "judgement": None,
        "llm_judgement": None,
        "distance_km": None,
        "trajectory": None,
        "tool_calls": None,
        "error": error,
        "gold_text_answer": gold_text(item),
        "text_answer": None,
    }


class Evaluator:
    """Turns one item into one record: locate, then score against the truth."""

    def __init__(self, agent: Agent, config: EvalConfig) -> None:
        self.agent = agent
        self.config = config
        # gold resolution, judging and the report use the gazetteer the agent's tools load
        resources.adopt(agent.resources)
        self.judge_model: Any = None
        if config.judge:
            from agent.models.spec import load_model

            self.judge_model = load_model(config.judge)
        self.traces = config.out / "traces"

    def record(self, item: EvalItem) -> dict[str, Any]:
        """The item's record; its trace is written to :func:`trace_file` under ``self.traces``."""
        started = time.perf_counter()
        base = blank_record(item)
        if item.extra.get("admin"):
            base["admin"] = item.extra["admin"]  # the dataset's own country/region/city (OSV-5M)
        trace_path = trace_file(self.traces, item.id)
        base["trace_path"] = str(trace_path)
        gold = self._gold(item, base)
        try:
            from .archives import image_input

            inputs = [image_input(path) for path in item.images]
            images = inputs if len(inputs) > 1 else inputs[0]
            if base["gold_text_answer"] is not None:  # GeoBrowse Level 2: answer the question itself
                answer = self.agent.ask(
                    images,
                    item.prompt or "",
                    use_metadata=self.config.use_metadata,
                    trace=trace_path,
                    strategy=self.config.strategy,
                )
                location = answer.location
                method = "semantic" if self.config.semantic else "lexical"
                judge = self.judge_model if self.config.judge else None
                base["text_answer"] = text_answer_record(item, answer, judge_model=judge, coverage_method=method)
            else:
                location = self.agent.locate(
                    images,
                    use_metadata=self.config.use_metadata,
                    question=item.prompt,
                    trace=trace_path,
                    strategy=self.config.strategy,
                )
        except GeoSleuthError as exc:
            base["error"] = f"{type(exc).__name__}: {exc}"
            base["elapsed_s"] = round(time.perf_counter() - started, 4)
            return base
        except Exception as exc:  # noqa: BLE001 - one broken item must not stop the run
            base["error"] = f"unexpected {type(exc).__name__}: {exc}"
            base["elapsed_s"] = round(time.perf_counter() - started, 4)
            return base
        prediction = location.model_dump(mode="json", exclude={"trace"})
        base["prediction"] = prediction
        base["distance_km"] = self._distance(item, gold, location)
        if gold is not None:
            base["judgement"] = self._judge(prediction, gold, item)
            if self.judge_model is not None and item.truth.answer:
                from .judge import llm_judge

                verdict = llm_judge(self.judge_model, item.prompt, item.truth.answer, prediction)
                base["llm_judgement"] = verdict.model_dump(mode="json")
        base["trajectory"] = self._trajectory(item, location)
        base["tool_calls"] = self._tool_calls(trace_path)
        base["elapsed_s"] = round(time.perf_counter() - started, 4)
        return base

    def _gold(self, item: EvalItem, base: dict[str, Any]) -> Any:
        if not item.truth.answer:
            return None
        from .gold import resolve_gold

        gold = resolve_gold(item.truth.answer, item.prompt, places=self._places())
        base["gold"] = gold.model_dump(mode="json")
        return gold

    def _places(self) -> Any:
        self.agent.gazetteer  # noqa: B018 - the agent's own (its settings' cache), shared from here on
        return resources.place_index()

    def _judge(self, prediction: dict[str, Any], gold: Any, item: EvalItem) -> dict[str, Any]:
        from .gold import asked_granularity, judge

        asked = asked_granularity(item.prompt) if item.prompt else None
        return judge(prediction, gold, gazetteer=resources.gazetteer(), asked=asked).model_dump(mode="json")

    @staticmethod
    def _distance(item: EvalItem, gold: Any, location: Location) -> float | None:
        if location.point is None:
            return None
        truth = item.truth.point
        if truth is None and gold is not None and getattr(gold, "lat", None) is not None:
            truth = (gold.lat, gold.lon)  # a gold place's point: informative, judged by granularity
        return round(haversine_km(*location.point, *truth), 4) if truth else None

    def _trajectory(self, item: EvalItem, location: Location) -> dict[str, Any] | None:
        if not item.solution:
            return None
        from .trajectory import step_coverage

        method = "semantic" if self.config.semantic else "lexical"
        return step_coverage(item.solution, location.evidence, method=method).to_dict()

    @staticmethod
    def _tool_calls(trace_path: Path) -> dict[str, int] | None:
        from .trajectory import tool_counts

        try:
            return tool_counts(read_trace(trace_path))
        except TraceError:
            return None


def _check_run_file(config: EvalConfig, dataset: str) -> None:
    run_file = config.out / "run.json"
    identity = redact(config.identity())  # a model URL's credentials and API keys are never written
    if run_file.exists() and not config.fresh:
        previous = json.loads(run_file.read_text(encoding="utf-8"))
        if previous.get("identity") != identity or previous.get("dataset") != dataset:
            raise ConfigError(
                f"{config.out} holds results of another run ({previous.get('dataset')}, {previous.get('identity')}); "
                "use --fresh to start over or another --out"
            )
    run_file.write_text(
        json.dumps(
            {
                "dataset": dataset,
                "identity": identity,
                "config": redact({**asdict(config), "out": str(config.out)}),
                "versions": package_versions(),
            },
            indent=2,
        ),
        encoding="utf-8",
    )


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="item", desc="eval", file=sys.stderr)


class RecordWriter:
    """The driver's side of a run: each finished record (and its trace, when it was made
    elsewhere) goes to disk at once, in the order items finish; an item already written
    is never written twice."""

    def __init__(
        self,
        out: Path,
        sink: ResultsFile,
        on_record: Callable[[dict[str, Any]], None] | None = None,
        bar: Any = None,
    ) -> None:
        self.traces = out / "traces"
        self.sink = sink
        self.on_record = on_record
        self.bar = bar
        self.duplicates = 0

    def write(self, record: dict[str, Any], trace: bytes | None = None) -> bool:
        """Write one record; ``trace`` is the trace file's content from a remote worker.
        False when the item was already written (a retried item finishing twice)."""
        if record["id"] in self.sink.done:
            self.duplicates += 1
            return False
        path = trace_file(self.traces, record["id"])
        if trace is not None:
            tmp = path.with_name(path.name + ".part")
            with tmp.open("wb") as fh:
                fh.write(trace)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(path)
        record["trace_path"] = str(path)
        self.sink.append(record)
        if self.on_record:
            self.on_record(record)
        if self.bar is not None:
            self.bar.update(1)
        return True


def _run_local(agent: Agent, config: EvalConfig, pending: list[EvalItem], writer: RecordWriter) -> dict[str, Any]:
    evaluator = Evaluator(agent, config)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="eval") as pool:
        futures: set[Future[dict[str, Any]]] = {pool.submit(evaluator.record, item) for item in pending}
        while futures:
            finished, futures = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                writer.write(future.result())
    run_s = time.perf_counter() - started
    return {"endpoints": endpoint_stats(agent), "threads": config.concurrency, "run_s": run_s}


def _load(dataset: str | Path | Sequence[EvalItem], config: EvalConfig) -> tuple[list[EvalItem], str, str | None]:
    if isinstance(dataset, (str, Path)):
        items, facts = load_dataset(dataset, images=config.images, fmt=config.format)
        if facts["needs_no_metadata"] and config.use_metadata:
            raise ConfigError("a folder of geotagged photos takes its truth from EXIF: metadata use must stay off")
        return items, str(dataset), facts["kind"]
    return list(dataset), "<items>", None


def run_eval(
    dataset: str | Path | Sequence[EvalItem],
    config: EvalConfig,
    *,
    agent: Agent | None = None,
    progress: bool | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> EvalOutcome:
    """Evaluate every item not already in ``config.out/results.jsonl``, then summarise all."""
    if config.concurrency < 1:
        raise ConfigError("concurrency must be >= 1")
    if config.engine not in ENGINES:
        raise ConfigError(f"unknown engine {config.engine!r}; choose from {', '.join(ENGINES)}")
    if config.engine == "ray" and agent is not None:
        raise ConfigError("the ray engine builds one Agent per actor from the config; pass no agent")
    unknown = set(config.ablations) - set(ABLATIONS)
    if unknown:
        raise ConfigError(f"unknown ablation(s) {', '.join(sorted(unknown))}; choose from {', '.join(ABLATIONS)}")
    items, name, kind = _load(dataset, config)
    if config.limit is not None:
        items = items[: config.limit]
    config.out.mkdir(parents=True, exist_ok=True)
    results = config.out / "results.jsonl"
    if config.fresh:
        results.unlink(missing_ok=True)
        for old in (config.out / "traces").glob("*.jsonl"):
            old.unlink()
    _check_run_file(config, name)
    (config.out / "traces").mkdir(exist_ok=True)
    sink = ResultsFile(results)
    pending = [item for item in items if item.id not in sink.done]
    bar = _progress(len(pending), sys.stderr.isatty() if progress is None else progress)
    writer = RecordWriter(config.out, sink, on_record, bar)
    try:
        if config.engine == "ray":
            from .ray_engine import run_ray

            facts = run_ray(config, pending, writer)
        else:
            facts = _run_local(agent or build_agent(config), config, pending, writer)
    finally:
        if bar is not None:
            bar.close()
    order = {item.id: index for index, item in enumerate(items)}
    # in the dataset's order, whatever order items finished in: reports do not depend on the engine
    records = sorted((r for r in read_results(results) if r["id"] in order), key=lambda r: order[r["id"]])
    from .report import summarize_records, write_report

    summary = summarize_records(
        records, coverage_method="semantic" if config.semantic else "lexical", base_dir=config.out
    )
    summary["dataset"] = name
    if kind is not None:
        summary["benchmark"] = kind
    summary["settings"] = config.identity()
    summary["online"] = config.online
    if facts.get("endpoints"):
        summary["endpoints"] = facts["endpoints"]
    text_answers = summarize_text_answers(records)
    if text_answers is not None:
        summary["text_answer"] = text_answers
    (config.out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    files = write_report(records, summary, config.out)
    return EvalOutcome(records, summary, files, skipped_done=len(items) - len(pending), engine=facts)
