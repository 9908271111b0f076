"""Locating many photos: a folder, a list file or many paths, on threads here or on Ray.

``geosleuth locate`` takes any mix of image files, folders (every image inside, sorted)
and list files (``.txt``/``.lst``/``.list``: one path per line). Each photo (or, with
``--same-place``, the whole set) is one :class:`BatchJob`. Two engines run jobs:

- ``local``: one :class:`~agent.Agent` shared by ``workers`` threads (OCR models and the
  gazetteer load once; the run session keeps runs apart);
- ``ray``: an :class:`~agent.ray_pool.ActorPool` of :class:`LocateWorker` actors, each
  with its own Agent, for a folder that outgrows one machine. An actor writes the trace
  into its scratch folder and sends the bytes back; the driver alone writes traces and
  results, so the output is the same whichever engine ran.

Both report each job exactly once, in the driver's thread, as it finishes
(``on_outcome``); callers write streaming outputs (JSONL) there and sorted ones (CSV,
GeoJSON) at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.errors import ConfigError, GeoSleuthError
from tools.image_files import IMAGE_SUFFIXES, image_files_in

from .location import Location
from .ray_pool import RayOptions, warm_agent

LIST_SUFFIXES = (".txt", ".lst", ".list")
MAX_LIST_BYTES = 64 * 1024 * 1024
ENGINES = ("local", "ray")


class BatchInputError(GeoSleuthError, ValueError):
    """A folder or list file given to ``locate`` names no photo, or cannot be read."""


@dataclass(frozen=True)
class BatchJob:
    """One run of a batch: a photo, or several views of one place (``--same-place``)."""

    index: int
    images: tuple[str, ...]

    @property
    def label(self) -> str:
        return " + ".join(self.images)


@dataclass(frozen=True)
class BatchOutcome:
    """A finished job: its Location, or the one-line error that stopped it."""

    job: BatchJob
    location: Location | None = None
    error: str | None = None


def expand_inputs(arguments: Iterable[str]) -> list[str]:
    """Each argument as the image paths it stands for, in order: a folder gives its images
    (subfolders included, sorted), a list file its lines, anything else itself (a missing
    or unreadable image is then reported by name when its run starts)."""
    paths: list[str] = []
    for argument in arguments:
        path = Path(argument)
        if _is_folder(path):
            found = [str(p) for p in image_files_in(path)]
            if not found:
                suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
                raise BatchInputError(f"{argument}: no image files in this folder (looked for {suffixes})")
            paths.extend(found)
        elif path.suffix.lower() in LIST_SUFFIXES:
            paths.extend(read_image_list(path))
        else:
            paths.append(argument)
    return paths


def _is_folder(path: Path) -> bool:
    """``path.is_dir()``, False where the system cannot even look (a name too long): such
    an argument is then refused by name as an image, like any other unusable path."""
    try:
        return path.is_dir()
    except OSError:
        return False


def read_image_list(path: Path) -> list[str]:
    """The photos a list file names: one path per line, blank lines and ``#`` comments
    skipped, a relative path taken from the list's own folder (so a list travels with
    its photos)."""
    try:
        if path.stat().st_size > MAX_LIST_BYTES:
            raise BatchInputError(f"{path}: list file larger than {MAX_LIST_BYTES // 2**20} MiB")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BatchInputError(f"{path}: list file not found") from None
    except UnicodeDecodeError:
        raise BatchInputError(f"{path}: list file is not UTF-8 text (one image path per line)") from None
    except OSError as exc:
        raise BatchInputError(f"{path}: cannot read list file: {exc.strerror or exc}") from None
    paths = []
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        named = Path(entry).expanduser()
        paths.append(str(named if named.is_absolute() else path.parent / named))
    if not paths:
        raise BatchInputError(f"{path}: list file names no image (one path per line; '#' starts a comment)")
    return paths


def make_jobs(images: Sequence[str], *, same_place: bool) -> list[BatchJob]:
    if same_place:
        return [BatchJob(0, tuple(images))]
    return [BatchJob(index, (image,)) for index, image in enumerate(images)]


def trace_target(arg: str | None, jobs: int, job: BatchJob) -> Path | None:
    """Where a job's trace goes: the named file for a single job, else a new empty file
    named after the photo in the named folder (``graphs.trace_names``: never overwrites)."""
    if arg is None:
        return None
    path = Path(arg)
    if jobs == 1 and not (_is_folder(path) or arg.endswith(("/", "\\"))):
        return path  # exactly the file asked for (refused if it exists, unless --force)
    from graphs.trace_names import create_trace_file

    return create_trace_file(path, list(job.images) if len(job.images) > 1 else job.images[0])


def one_line(text: object, limit: int = 300) -> str:
    """A message on one line, cut to ``limit`` characters."""
    flat = " ".join(str(text).split()) or type(text).__name__
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def locate_job(
    agent: Any, job: BatchJob, options: Mapping[str, Any], trace: Path | None, reserved: bool
) -> BatchOutcome:
    """Run one job; a refused input or failed run becomes the outcome's error (the batch
    goes on), and a trace name reserved for a run that never started is removed."""
    try:
        location = agent.locate(
            list(job.images) if len(job.images) > 1 else job.images[0],
            trace=trace,
            overwrite_trace=bool(options.get("overwrite_trace")) or reserved,
            **{k: v for k, v in options.items() if k != "overwrite_trace"},
        )
    except GeoSleuthError as exc:
        if reserved and trace is not None and trace.is_file() and trace.stat().st_size == 0:
            trace.unlink()
        return BatchOutcome(job, error=one_line(exc))
    return BatchOutcome(job, location=location)


def run_local(
    agent: Any,
    jobs: Sequence[BatchJob],
    options: Mapping[str, Any],
    on_outcome: Callable[[BatchOutcome], None],
    *,
    workers: int = 1,
    trace_arg: str | None = None,
) -> None:
    """Run ``jobs`` on ``workers`` threads sharing ``agent``; at most two jobs per thread
    are queued, so a folder of 200 000 photos is never all submitted at once."""
    if workers < 1:
        raise ConfigError("--workers must be >= 1")

    def run(job: BatchJob) -> BatchOutcome:
        try:
            target = trace_target(trace_arg, len(jobs), job)
        except GeoSleuthError as exc:
            return BatchOutcome(job, error=one_line(exc))
        reserved = target is not None and trace_arg is not None and target != Path(trace_arg)
        return locate_job(agent, job, options, target, reserved)

    if workers == 1:
        for job in jobs:
            on_outcome(run(job))
        return
    queue = iter(jobs)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="locate")
    try:
        running: set[Future[BatchOutcome]] = set()
        for job in queue:
            running.add(pool.submit(run, job))
            if len(running) >= 2 * workers:
                break
        while running:
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                on_outcome(future.result())
                job = next(queue, None)
                if job is not None:
                    running.add(pool.submit(run, job))
    finally:  # Ctrl-C: the photos being located finish, the queued ones never start
        pool.shutdown(wait=True, cancel_futures=True)


class LocateWorker:
    """One Ray actor's Agent: built from the driver's keyword arguments, so every actor
    runs with the same settings, model and network switch as a local run would."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        from .agent import Agent

        self.options = dict(payload["locate"])
        self.scratch = Path(tempfile.mkdtemp(prefix="geosleuth-locate-"))
        self.problem: str | None = None
        try:
            self.agent = Agent(**payload["agent"])
            warm_agent(self.agent)
        except GeoSleuthError as exc:  # reported by where(): the driver stops with this message
            self.problem = one_line(exc)

    def where(self) -> dict[str, Any]:
        return {"host": socket.gethostname(), "pid": os.getpid(), "problem": self.problem}

    def run(self, job: BatchJob, want_trace: bool) -> tuple[BatchOutcome, bytes | None]:
        if self.problem is not None:
            return BatchOutcome(job, error=self.problem), None
        trace = self.scratch / f"job-{job.index}.jsonl" if want_trace else None
        outcome = locate_job(self.agent, job, self.options, trace, reserved=False)
        data = None
        if trace is not None and trace.exists():
            data = trace.read_bytes()
            trace.unlink()
        return outcome, data

    def __del__(self) -> None:
        shutil.rmtree(getattr(self, "scratch", ""), ignore_errors=True)


def run_ray(
    agent_kwargs: Mapping[str, Any],
    jobs: Sequence[BatchJob],
    options: Mapping[str, Any],
    on_outcome: Callable[[BatchOutcome], None],
    *,
    ray_options: RayOptions | None = None,
    trace_arg: str | None = None,
) -> dict[str, Any]:
    """Run ``jobs`` on a Ray actor pool; returns the pool's facts (actors, replacements,
    start-up and run seconds). Images travel as absolute paths: on a cluster they must be
    on storage every node sees."""
    from .ray_pool import ActorPool, import_ray, ray_session

    if not jobs:
        import_ray()  # still refuse when Ray is missing
        return {"actors": 0, "replacements": 0, "startup_s": 0.0, "run_s": 0.0}
    ray_options = ray_options or RayOptions()
    payload = {"agent": dict(agent_kwargs), "locate": {k: v for k, v in options.items() if k != "overwrite_trace"}}
    with ray_session(ray_options.address) as ray:
        pool: ActorPool[BatchJob] = ActorPool(ray, LocateWorker, payload, ray_options, name="geosleuth-locate")
        try:
            problems = [answer["problem"] for answer in pool.wait_ready() if answer and answer["problem"]]
            if problems:
                raise ConfigError(problems[0])

            def arrived(job: BatchJob, answer: tuple[BatchOutcome, bytes | None]) -> None:
                outcome, data = answer
                outcome = BatchOutcome(job, outcome.location, outcome.error)  # the driver's paths, not the actor's
                on_outcome(_with_trace(outcome, data, trace_arg, len(jobs), options))

            pool.map(
                jobs,
                "run",
                arrived,
                lambda job, reason: on_outcome(BatchOutcome(job, error=reason)),
                prepare=_absolute,
                extra=(trace_arg is not None,),
            )
        finally:
            pool.close()
    return {"actors": pool.size, "replacements": pool.replacements, "startup_s": pool.startup_s, "run_s": pool.run_s}


def _absolute(job: BatchJob) -> BatchJob:
    """The job with absolute image paths: an actor's working folder is not the driver's."""
    return BatchJob(job.index, tuple(str(Path(image).absolute()) for image in job.images))


def _with_trace(
    outcome: BatchOutcome, data: bytes | None, trace_arg: str | None, jobs: int, options: Mapping[str, Any]
) -> BatchOutcome:
    """Write an actor's trace where a local run would have (fsynced, never over another
    file unless ``--force`` named it) and point the Location at it."""
    if outcome.location is None or trace_arg is None:
        return outcome
    if data is None:  # the run kept no trace: the actor's scratch path means nothing here
        return BatchOutcome(outcome.job, outcome.location.model_copy(update={"trace_path": None}))
    try:
        target = trace_target(trace_arg, jobs, outcome.job) or Path(trace_arg)
        reserved = target != Path(trace_arg)
        mode = "wb" if reserved or options.get("overwrite_trace") else "xb"
        with target.open(mode) as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except FileExistsError:
        return BatchOutcome(outcome.job, error=f"trace file {trace_arg} exists; use --force to overwrite it")
    except (OSError, GeoSleuthError) as exc:
        return BatchOutcome(outcome.job, error=f"cannot write the trace: {one_line(exc)}")
    return BatchOutcome(outcome.job, outcome.location.model_copy(update={"trace_path": str(target)}))
