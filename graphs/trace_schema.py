"""The typed trace, format version 2: a header, then one typed step per line.

Every reader (trace show/diff/html/export, SFT distillation, trajectory scoring, replay)
parses records through these models once, instead of re-learning dict shapes. Each step
carries ``kind`` (the tag of the union), the ``node`` that wrote it, a ``name``, the
tool's kind where a tool ran, ``timing`` (when, how long) and ``meta`` (cache hits,
attempts, the endpoint that answered, whether a replayed call went live). Everything
else in a step is deterministic: two runs of the same image with the same settings give
the same steps once timing and meta are set aside.

The union is open. A feature adds a step kind by subclassing :class:`Step` with a
``kind: Literal[...]`` and calling :func:`register_step_kind`; a reader meeting a kind it
does not know keeps it as an :class:`UnknownStep` and shows it rather than failing.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tools.errors import TraceError
from tools.evidence import Candidate, Evidence, Observation
from tools.net import EgressRecord

TRACE_FORMAT = "geosleuth-trace"
TRACE_VERSION = 2

Affine = tuple[float, float, float, float]


class Timing(BaseModel):
    """When a step started (UTC, ISO 8601) and how long it took."""

    model_config = ConfigDict(extra="ignore")

    start: str | None = None
    duration_s: float = Field(default=0.0, ge=0.0)


class ErrorInfo(BaseModel):
    """The one shape of an error in a trace."""

    model_config = ConfigDict(extra="ignore")

    message: str
    type: str | None = None


class Step(BaseModel):
    """Fields every step has. Subclasses add what their kind records."""

    model_config = ConfigDict(extra="allow")

    type: Literal["step"] = "step"
    index: int = Field(ge=0)
    kind: str
    node: str = ""
    name: str = ""
    tool_kind: str | None = None
    timing: Timing = Field(default_factory=Timing)
    meta: dict[str, Any] = Field(default_factory=dict)

    #: Fields that vary between identical runs; comparisons leave them out.
    VOLATILE: ClassVar[frozenset[str]] = frozenset({"timing", "meta"})

    def stable(self) -> dict[str, Any]:
        """The deterministic content of the step, for diffs and replay checks."""
        return self.model_dump(mode="json", exclude=set(self.VOLATILE))

    def summary(self) -> str:
        """A one-line account for trace views (kinds override it)."""
        return self.name


class ToolCallStep(Step):
    kind: Literal["tool_call"] = "tool_call"
    call_id: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)
    observation: Observation = Field(default_factory=Observation)

    @property
    def error(self) -> str | None:
        return self.observation.error

    def summary(self) -> str:
        state = f"error: {self.observation.error}" if self.observation.error else self.observation.text
        return f"{self.name} -> {state.splitlines()[0] if state else ''}"


class ModelCallStep(Step):
    kind: Literal["model_call"] = "model_call"
    arguments: dict[str, Any] = Field(default_factory=dict)
    messages_digest: str = ""
    raw_output: str = ""
    output: dict[str, Any] | None = None
    task: str | None = None

    def summary(self) -> str:
        return f"{self.name}: {self.raw_output.strip().splitlines()[0][:100] if self.raw_output.strip() else ''}"


class ImageStep(Step):
    """An image registered with the run: an input (no parent) or one a tool made."""

    kind: Literal["image"] = "image"
    handle: str
    parent: str | None = None
    operation: dict[str, Any] | None = None
    to_parent: Affine | None = None
    to_root: Affine | None = None
    width: int = Field(ge=0)
    height: int = Field(ge=0)
    sha256: str = ""
    #: Index of the tool-call step whose call made this image (None for inputs).
    made_by: int | None = None
    path: str | None = None

    def summary(self) -> str:
        op = (self.operation or {}).get("op", "input")
        return f"{self.handle} {op} of {self.parent or '-'} ({self.width}x{self.height})"


class EvidenceStep(Step):
    kind: Literal["evidence"] = "evidence"
    evidence: list[Evidence] = Field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.evidence)} evidence: " + "; ".join(f"{e.id} {e.kind} {e.value}"[:60] for e in self.evidence)


class CandidatesStep(Step):
    """Candidates as one proposal task made them (``proposed``) or as verification
    rescored all of them (``verified``)."""

    kind: Literal["candidates"] = "candidates"
    stage: Literal["proposed", "verified"]
    task: str | None = None
    lane: str | None = None
    sample: int | None = None
    temperature: float | None = None
    candidates: list[Candidate] = Field(default_factory=list)
    note: str = ""

    def summary(self) -> str:
        return f"{self.stage} {self.task or ''} {len(self.candidates)} candidate(s)".replace("  ", " ")


class DecisionStep(Step):
    kind: Literal["decision"] = "decision"
    arguments: dict[str, Any] = Field(default_factory=dict)
    output: dict[str, Any] = Field(default_factory=dict)


class ReviewStep(Step):
    kind: Literal["review"] = "review"
    decision: dict[str, Any] = Field(default_factory=dict)
    account: Any = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    error: ErrorInfo | None = None

    @property
    def applied(self) -> bool:
        return self.error is None


class ErrorStep(Step):
    kind: Literal["error"] = "error"
    arguments: dict[str, Any] = Field(default_factory=dict)
    error: ErrorInfo

    def summary(self) -> str:
        return f"{self.name}: {self.error.message}"


class EgressStep(Step, EgressRecord):
    """A request that left the machine (when: the step's timing): an
    :class:`~tools.net.EgressRecord` (service, host, what was sent — the OCR'd text of a
    query, "the photo", the Overpass QL — and the outcome) as a trace step."""

    kind: Literal["egress"] = "egress"

    def summary(self) -> str:
        return f"{self.service} {self.host}: {self.sent[:80]!r} -> {self.outcome}"


class FinalStep(Step):
    """The last line of a finished run: ``ok`` with the answer, or ``error``."""

    kind: Literal["final"] = "final"
    status: str
    result: dict[str, Any] | None = None
    error: ErrorInfo | None = None
    steps: int = 0


class UnknownStep(Step):
    """A step of a kind this version does not know (written by a newer version or a
    plug-in): kept whole, shown by name, never fatal."""


class TraceHeader(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["header"] = "header"
    format: str = TRACE_FORMAT
    version: int = TRACE_VERSION
    run_id: str
    created: str | None = None
    images: list[dict[str, Any]] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)
    policy: dict[str, Any] = Field(default_factory=dict)
    tools: list[dict[str, Any]] = Field(default_factory=list)
    versions: dict[str, str] = Field(default_factory=dict)
    #: The version the file was written in (an upgraded v1 trace says 1).
    source_version: int | None = None

    @field_validator("images")
    @classmethod
    def _image_records(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for item in value:
            if not isinstance(item.get("handle", ""), str):
                raise ValueError("image handle must be a string")
        return value

    def tool_kinds(self) -> dict[str, str]:
        return {t["name"]: t.get("kind") or "other" for t in self.tools if isinstance(t, dict) and "name" in t}


STEP_MODELS: dict[str, type[Step]] = {}


def register_step_kind(model: type[Step]) -> type[Step]:
    """Make a step kind known to every reader (usable as a class decorator)."""
    field = model.model_fields.get("kind")
    kind = field.default if field is not None else None
    if not isinstance(kind, str):
        raise TypeError(f"{model.__name__} needs a `kind: Literal[...] = ...` default")
    STEP_MODELS[kind] = model
    return model


for _model in (
    ToolCallStep,
    ModelCallStep,
    ImageStep,
    EvidenceStep,
    CandidatesStep,
    DecisionStep,
    ReviewStep,
    ErrorStep,
    EgressStep,
    FinalStep,
):
    register_step_kind(_model)


def _problem(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "record"
    return f"{where}: {err['msg']}"


def parse_step(record: Any, where: str = "<trace>") -> Step:
    """One step record as its typed model; bad records raise TraceError naming the field."""
    if not isinstance(record, dict):
        raise TraceError(f"{where}: a step must be a JSON object, not {type(record).__name__}")
    kind = record.get("kind")
    if not isinstance(kind, str):
        raise TraceError(f"{where}: step has no kind")
    model = STEP_MODELS.get(kind, UnknownStep)
    try:
        return model.model_validate(record)
    except ValidationError as exc:
        raise TraceError(f"{where}: {kind} step is malformed ({_problem(exc)})") from None


def parse_header(record: Any, where: str = "<trace>") -> TraceHeader:
    if not isinstance(record, dict) or record.get("type") != "header":
        raise TraceError(f"{where}: not a geosleuth trace (no header line)")
    if record.get("format") != TRACE_FORMAT:
        raise TraceError(f"{where}: format {record.get('format')!r} is not {TRACE_FORMAT!r}")
    try:
        return TraceHeader.model_validate(record)
    except ValidationError as exc:
        raise TraceError(f"{where}: header is malformed ({_problem(exc)})") from None
