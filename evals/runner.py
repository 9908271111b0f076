"""Running an agent over a dataset: concurrent, resumable, one trace per item.

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
        identity = {"use_metadata": self.use_metadata, "strategy": self.strategy, "ablations": sorted(self.ablations)}
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


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:120] or "item"


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
        started = time.perf_counter()
        base: dict[str, Any] = {
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
            "error": None,
        }
        trace_path = self.traces / f"{_safe(item.id)}.jsonl"
        base["trace_path"] = str(trace_path)
        gold = self._gold(item, base)
        try:
            images = item.images if len(item.images) > 1 else item.images[0]
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
    unknown = set(config.ablations) - set(ABLATIONS)
    if unknown:
        raise ConfigError(f"unknown ablation(s) {', '.join(sorted(unknown))}; choose from {', '.join(ABLATIONS)}")
    if isinstance(dataset, (str, Path)):
        items, facts = load_dataset(dataset)
        name = str(dataset)
        if facts["needs_no_metadata"] and config.use_metadata:
            raise ConfigError("a folder of geotagged photos takes its truth from EXIF: metadata use must stay off")
    else:
        items, name = list(dataset), "<items>"
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
    disabled = [kind for flag in config.ablations for kind in ABLATIONS[flag]]
    if agent is None:
        spec = config.model_spec()
        agent = Agent(disable=disabled, model=spec or "", model_options=config.model_options if spec else None)
    evaluator = Evaluator(agent, config)
    bar = _progress(len(pending), sys.stderr.isatty() if progress is None else progress)
    with ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="eval") as pool:
        futures: set[Future[dict[str, Any]]] = {pool.submit(evaluator.record, item) for item in pending}
        while futures:
            finished, futures = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                record = future.result()
                sink.append(record)
                if on_record:
                    on_record(record)
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    wanted = {item.id for item in items}
    records = [r for r in read_results(results) if r["id"] in wanted]
    from .report import summarize_records, write_report

    summary = summarize_records(
        records, coverage_method="semantic" if config.semantic else "lexical", base_dir=config.out
    )
    summary["dataset"] = name
    summary["settings"] = config.identity()
    (config.out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    files = write_report(records, summary, config.out)
    return EvalOutcome(records, summary, files, skipped_done=len(items) - len(pending))
