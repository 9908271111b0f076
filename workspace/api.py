"""The workspace HTTP API (FastAPI; its OpenAPI document is at ``/openapi.json``).

``Workspace(config)`` opens the data folder (database migrated, originals, traces), starts
the run pool and recovers what a previous process left; ``workspace.asgi`` is the app to
serve, behind the :class:`~workspace.security.Guard`.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from filelock import FileLock, Timeout
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.models.spec import parse_spec
from graphs.review import ReviewDecision
from tools.errors import ConfigError
from tools.hints import Hint

from . import exports
from .config import WorkspaceConfig
from .errors import ApiError, error_body
from .events import result_view, run_events
from .originals import Originals
from .page import register_page
from .runner import RunPool
from .security import BodyTooLarge, Guard
from .store import Store
from .uploads import check_image, clean_filename

FORM_OVERHEAD = 1024 * 1024


# ---------------------------------------------------------------------- schemas
class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    online: bool = Field(False, description="Let this case's runs send requests off the machine.")
    allow_image_upload: bool = Field(False, description="Let tools send the photo itself (needs online).")
    model: str | None = Field(None, max_length=500, description="Model spec; none: the heuristic playbook.")
    review: bool = Field(True, description="Pause every run for a review decision before its answer is final.")


class CaseSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    online: bool | None = None
    allow_image_upload: bool | None = None
    model: str | None = Field(None, max_length=500)
    review: bool | None = None


class CreatedOut(BaseModel):
    id: str


class UploadOut(BaseModel):
    image_id: str
    run_id: str


class ReviewIn(BaseModel):
    """A review decision (the fields of ``graphs.review.ReviewDecision``)."""

    model_config = ConfigDict(extra="forbid")
    accept: bool = True
    select: int | None = Field(None, ge=0)
    reject: list[int] = Field(default_factory=list, max_length=100)
    hint: str | None = Field(None, max_length=500)
    countries: list[str] = Field(default_factory=list, max_length=50)
    note: str = Field("", max_length=10_000)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=20_000)
    image_id: str | None = None
    run_id: str | None = None


class RunStarted(BaseModel):
    run_id: str
    status: str


def _is_local_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def check_model(model: str | None, online: bool, allow_image_upload: bool) -> str | None:
    """A model spec a run may use: well formed, and a server off this machine only when the
    run may go online and send the photo (a remote model sees the photo)."""
    if model is None or not model.strip():
        return None
    try:
        backend, options = parse_spec(model)
    except ConfigError as exc:
        raise ApiError(422, "bad_model", str(exc)) from None
    if backend == "served" and not _is_local_url(options["base_url"]) and not (online and allow_image_upload):
        raise ApiError(
            422,
            "model_needs_online",
            "a model server off this machine receives the photo: set the case online with image upload allowed",
        )
    return model.strip()


# ---------------------------------------------------------------------- the workspace
class Workspace:
    def __init__(self, config: WorkspaceConfig) -> None:
        self.config = config
        data = Path(config.data_dir)
        data.mkdir(parents=True, exist_ok=True)
        self.lock = FileLock(str(data / "server.lock"))
        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            raise ConfigError(f"another geosleuth server is using {data}") from None
        self.data_dir = data
        try:
            self._open(data, config)
        except BaseException:
            self.lock.release()
            raise

    def _open(self, data: Path, config: WorkspaceConfig) -> None:
        self.store = Store(data / "workspace.sqlite")
        self.originals = Originals(data / "originals")
        self.exports_dir = data / "exports"
        self.exports_dir.mkdir(exist_ok=True)
        self.pool = RunPool(
            self.store, self.originals, data / "traces", workers=config.workers, agent_factory=config.agent_factory
        )
        self.recovered = self.pool.recover()
        self.app = self._build()
        self.asgi = Guard(
            self.app,
            token=config.token,
            hosts=config.hosts(),
            max_body=config.max_upload_bytes + FORM_OVERHEAD,
        )

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.store.close()
        self.lock.release()

    # ------------------------------------------------------------------ helpers
    def _case(self, case_id: str) -> dict[str, Any]:
        case = self.store.case(case_id)
        if case is None:
            raise ApiError(404, "unknown_case", f"no case {case_id!r}")
        return case

    def _run(self, run_id: str) -> dict[str, Any]:
        run = self.store.run(run_id)
        if run is None:
            raise ApiError(404, "unknown_run", f"no run {run_id!r}")
        return run

    def case_view(self, case_id: str) -> dict[str, Any]:
        case = self.store.case_detail(case_id)
        if case is None:
            raise ApiError(404, "unknown_case", f"no case {case_id!r}")
        return {
            "id": case["id"],
            "name": case["name"],
            "created": case["created"],
            "settings": {k: case[k] for k in ("online", "allow_image_upload", "model", "review")},
            "images": [
                {
                    k: i[k]
                    for k in ("id", "sha256", "filename", "format", "media_type", "bytes", "width", "height", "created")
                }
                for i in case["images"]
            ],
            "runs": [
                {
                    **result_view(r),
                    **({"review_request": r["review_request"]} if r["status"] == "awaiting_review" else {}),
                }
                for r in case["runs"]
            ],
            "notes": case["notes"],
        }

    # ------------------------------------------------------------------ routes
    def _build(self) -> FastAPI:
        app = FastAPI(
            title="geosleuth workspace",
            version="1",
            description="Cases of photos, located by geosleuth runs that stream their steps; "
            "every call needs the token (X-GeoSleuth-Token header; GET also ?token=).",
            docs_url=None,
            redoc_url=None,
        )
        ws = self

        @app.exception_handler(ApiError)
        async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
            return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status)

        @app.exception_handler(RequestValidationError)
        async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
            first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
            where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body",)) or "request"
            return JSONResponse(error_body("invalid", f"{where}: {first.get('msg')}"), status_code=422)

        @app.exception_handler(StarletteHTTPException)
        async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
            if isinstance(exc.__cause__, BodyTooLarge):  # a body without Content-Length, cut off
                limit = ws.config.max_upload_bytes + FORM_OVERHEAD
                return JSONResponse(error_body("too_large", f"the request body is over {limit:,} bytes"), 413)
            return JSONResponse(error_body(f"http_{exc.status_code}", str(exc.detail)), status_code=exc.status_code)

        @app.get("/healthz", summary="Liveness (no token needed; says nothing about the cases)")
        def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.post("/api/cases", status_code=201, response_model=CreatedOut, summary="Create a case")
        def create_case(body: CaseIn) -> dict[str, str]:
            model = check_model(body.model, body.online, body.allow_image_upload)
            case = ws.store.create_case(
                body.name,
                online=body.online,
                allow_image_upload=body.allow_image_upload,
                model=model,
                review=body.review,
            )
            return {"id": case["id"]}

        @app.get("/api/cases", summary="All cases, newest first")
        def list_cases() -> list[dict[str, Any]]:
            return ws.store.cases()

        @app.get("/api/cases/{case_id}", summary="A case: settings, images, runs (status and answer), notes")
        async def get_case(case_id: str) -> dict[str, Any]:
            # Read on the event loop: a few short queries in WAL mode (readers never wait for the
            # runs' writes), without the hand-over to a worker thread that costs most under load.
            return ws.case_view(case_id)

        @app.patch("/api/cases/{case_id}", summary="Change a case's name or settings (online, upload, model, review)")
        def update_case(case_id: str, body: CaseSettingsIn) -> dict[str, Any]:
            case = ws._case(case_id)
            changes = body.model_dump(exclude_unset=True)
            merged = {**case, **changes}
            if "model" in changes or "online" in changes or "allow_image_upload" in changes:
                changes["model"] = check_model(merged["model"], merged["online"], merged["allow_image_upload"])
            ws.store.update_case(case_id, **changes)
            return ws.case_view(case_id)["settings"]

        @app.post(
            "/api/cases/{case_id}/images",
            status_code=201,
            response_model=UploadOut,
            summary="Add a photo to a case and start a run on it",
        )
        def upload(
            case_id: str,
            file: Annotated[UploadFile, File(description="the photo (JPEG, PNG, WebP, HEIC, ...)")],
            question: Annotated[str | None, Form(max_length=2000)] = None,
            hint: Annotated[str | None, Form(max_length=500)] = None,
            online: Annotated[bool | None, Form()] = None,
            model: Annotated[str | None, Form(max_length=500)] = None,
            review: Annotated[bool | None, Form()] = None,
        ) -> dict[str, str]:
            case = ws._case(case_id)
            data = file.file.read(ws.config.max_upload_bytes + 1)
            checked = check_image(data, max_bytes=ws.config.max_upload_bytes, max_pixels=ws.config.max_pixels)
            if hint:
                try:
                    Hint.coerce(hint)
                except ConfigError as exc:
                    raise ApiError(422, "bad_hint", str(exc)) from None
            run_online = case["online"] if online is None else online
            upload_ok = bool(case["allow_image_upload"]) and bool(run_online)
            run_model = check_model(model if model is not None else case["model"], run_online, upload_ok)
            sha = ws.originals.put(checked.data)
            image = {
                "sha256": sha,
                "filename": clean_filename(file.filename),
                "format": checked.format,
                "media_type": checked.media_type,
                "bytes": len(checked.data),
                "width": checked.width,
                "height": checked.height,
            }
            run = {
                "question": question or None,
                "hint": hint or None,
                "online": bool(run_online),
                "allow_image_upload": upload_ok,
                "model": run_model,
                "review": case["review"] if review is None else review,
            }
            image_id, run_id = ws.store.add_image_and_run(case_id, image, run)
            ws.pool.submit(run_id)
            return {"image_id": image_id, "run_id": run_id}

        @app.get("/api/images/{image_id}", summary="The original photo, byte for byte")
        def get_image(image_id: str) -> Response:
            image = ws.store.image(image_id)
            if image is None:
                raise ApiError(404, "unknown_image", f"no image {image_id!r}")
            return FileResponse(
                ws.originals.path(image["sha256"]),
                media_type=image["media_type"],
                headers={"content-disposition": "inline"},
            )

        @app.get("/api/runs/{run_id}", summary="A run: status, answer, evidence, candidates, review request")
        def get_run(run_id: str) -> dict[str, Any]:
            run = ws._run(run_id)
            return {
                **result_view(run),
                "case_id": run["case_id"],
                "question": run["question"],
                "hint": run["hint"],
                "review_request": run["review_request"],
                "evidence": ws.store.run_evidence(run_id),
                "candidates": ws.store.run_candidates(run_id),
            }

        @app.get(
            "/api/runs/{run_id}/events",
            summary="Server-Sent Events: the run's trace steps as they are written, then its result",
            response_class=EventSourceResponse,
        )
        async def run_events_route(run_id: str, request: Request) -> EventSourceResponse:
            run = await asyncio.to_thread(ws.store.run, run_id)
            if run is None:
                raise ApiError(404, "unknown_run", f"no run {run_id!r}")
            events = run_events(
                run_id,
                ws.pool.trace_path(run),
                ws.store.run,
                last_event_id=request.headers.get("last-event-id"),
                is_disconnected=request.is_disconnected,
            )
            return EventSourceResponse(events, ping=10)

        @app.post(
            "/api/runs/{run_id}/review",
            status_code=202,
            response_model=RunStarted,
            summary="Decide a run awaiting review (select, reject, hint, note); the run resumes",
        )
        def review(run_id: str, body: ReviewIn) -> dict[str, str]:
            run = ws._run(run_id)
            if run["status"] != "awaiting_review":
                raise ApiError(409, "not_awaiting_review", f"run {run_id} is {run['status']}, not awaiting review")
            candidates = (run.get("review_request") or {}).get("candidates") or []
            wrong = [
                i for i in [*([body.select] if body.select is not None else []), *body.reject] if i >= len(candidates)
            ]
            if wrong:
                raise ApiError(422, "bad_candidate", f"no candidate {wrong[0]} (this run has {len(candidates)})")
            if body.hint:
                try:
                    Hint.coerce(body.hint)
                except ConfigError as exc:
                    raise ApiError(422, "bad_hint", str(exc)) from None
            decision = ReviewDecision(**body.model_dump(), reviewer="workspace").model_dump(mode="json")
            if not ws.store.start_review(run_id, decision):
                raise ApiError(409, "not_awaiting_review", f"run {run_id} is no longer awaiting review")
            ws.pool.submit_review(run_id, decision)
            return {"run_id": run_id, "status": "running"}

        @app.post(
            "/api/runs/{run_id}/rerun",
            status_code=201,
            response_model=RunStarted,
            summary="Run a finished, failed or interrupted run again (a new run on the same photo)",
        )
        def rerun(run_id: str) -> dict[str, str]:
            run = ws._run(run_id)
            if run["status"] not in ("done", "failed", "interrupted"):
                raise ApiError(409, "run_not_finished", f"run {run_id} is {run['status']}")
            new_id = ws.store.rerun(run)
            ws.pool.submit(new_id)
            return {"run_id": new_id, "status": "queued"}

        @app.post("/api/cases/{case_id}/notes", status_code=201, response_model=CreatedOut, summary="Add a note")
        def add_note(case_id: str, body: NoteIn) -> dict[str, str]:
            ws._case(case_id)
            if body.image_id is not None:
                image = ws.store.image(body.image_id)
                if image is None or image["case_id"] != case_id:
                    raise ApiError(404, "unknown_image", f"no image {body.image_id!r} in this case")
            if body.run_id is not None:
                run = ws.store.run(body.run_id)
                if run is None or run["case_id"] != case_id:
                    raise ApiError(404, "unknown_run", f"no run {body.run_id!r} in this case")
            return {"id": ws.store.add_note(case_id, body.text, body.image_id, body.run_id)["id"]}

        @app.get("/api/cases/{case_id}/export", summary="The case as GeoJSON, KML, CSV, or a zip with the proof")
        def export(case_id: str, format: Annotated[str, Query(pattern="^(geojson|kml|csv|zip)$")]) -> Response:
            case = ws.store.case_detail(case_id)
            if case is None:
                raise ApiError(404, "unknown_case", f"no case {case_id!r}")
            ws.store.audit("exported", case_id, format=format)
            stem = f"case-{case_id}"
            if format == "geojson":
                body = json.dumps(exports.case_geojson(case, ws.pool.trace_path), ensure_ascii=False)
                return _download(body, "application/geo+json", f"{stem}.geojson")
            if format == "kml":
                return _download(
                    exports.case_kml(case, ws.pool.trace_path), "application/vnd.google-earth.kml+xml", f"{stem}.kml"
                )
            if format == "csv":
                return _download(exports.case_csv(case, ws.pool.trace_path), "text/csv; charset=utf-8", f"{stem}.csv")
            fd, name = tempfile.mkstemp(dir=ws.exports_dir, suffix=".zip")
            os.close(fd)
            target = Path(name)
            extra = {"decisions": ws.store.decisions(case_id), "audit": ws.store.audit_log(case_id)}
            exports.case_zip(case, extra, ws.pool.trace_path, ws.originals.path, target)
            return FileResponse(
                target,
                media_type="application/zip",
                filename=f"{stem}.zip",
                background=BackgroundTask(target.unlink, missing_ok=True),
            )

        register_page(app, ws)
        return app


def _download(body: str, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"content-disposition": f'attachment; filename="{filename}"'})


def create_app(config: WorkspaceConfig) -> Workspace:
    return Workspace(config)
