"""The investigator's page: static files of our own, and the per-run view the page draws.

The page is plain JavaScript and CSS under ``workspace/static`` (package data; no build
step). Its Content-Security-Policy allows only this server's own scripts and styles, so a
missed escape could not run injected script. The per-run view gives the page what the
report (``agent.trace_html``) shows, in data: OCR boxes in the photo's own pixels (boxes
found on crops mapped back through their pixel maps), the evidence with a provenance link
where one is safe to follow, the ranked candidates, and the report's map component
(``agent.map_view``: inline SVG, Natural Earth coastlines and borders, offline), whose
text is escaped by that component.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from agent.exports import as_location
from agent.map_view import CSS as MAP_CSS
from agent.map_view import MapCircle, MapPoint, local_view, map_figure, world_view
from agent.trace_html import image_registry
from graphs.constraints import OUTSIDE
from graphs.trace import read_trace
from tools.errors import GeoSleuthError

from .errors import ApiError

#: OSM tiles are the one thing the page may load from elsewhere, and it asks for them only
#: when the case is online (see ``app.js``).
TILES = "https://tile.openstreetmap.org"
PAGE_CSP = (
    f"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: {TILES}; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png"}


def static_file(name: str) -> bytes | None:
    """A file of the page by its bare name (no folders: a name is never a path)."""
    if "/" in name or "\\" in name or name.startswith(".") or Path(name).suffix not in {*STATIC_TYPES, ".html"}:
        return None
    item = resources.files("workspace").joinpath("static", name)
    return item.read_bytes() if item.is_file() else None


def leaflet_file(name: str) -> bytes | None:
    """Leaflet's own files, from the ``xstatic-leaflet`` package (never copied into this
    repository); None when it is not installed (the page then shows the offline map only)."""
    try:
        from xstatic.pkg import leaflet
    except ImportError:
        return None
    if name.startswith(".") or ".." in name or name.count("/") > 1 or Path(name).suffix not in STATIC_TYPES:
        return None
    if "/" in name and not name.startswith("images/"):
        return None
    path = Path(leaflet.BASE_DIR) / name
    return path.read_bytes() if path.is_file() else None


def provenance_url(provenance: str | None) -> str | None:
    """A link worth following for an evidence's provenance: an OSM element or an http(s)
    page; anything else (EXIF, a file, ``javascript:``) stays text."""
    if not provenance:
        return None
    text = provenance.strip()
    parts = text.split("/")
    if len(parts) == 2 and parts[0] in ("node", "way", "relation") and parts[1].isdigit():
        return f"https://www.openstreetmap.org/{text}"
    if text.lower().startswith(("https://", "http://")) and not any(c.isspace() for c in text):
        return text
    return None


def _root_boxes(trace: Any, evidence: list[Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The photo (first input image) and every evidence box on it, in its pixels."""
    entries = image_registry(trace)
    roots = sorted((e for e in entries.values() if e.parent is None), key=lambda e: e.number)
    if not roots:
        return None, []
    root = roots[0]
    boxes = []
    for item in evidence:
        if not item.image or item.bbox is None or item.image not in entries:
            continue
        entry, box = entries[item.image], [float(v) for v in item.bbox]
        if entry.parent is not None:  # a crop's pixel map leads straight to its photo
            if entry.to_root is None:
                continue
            sx, sy, ox, oy = entry.to_root
            box = [box[0] * sx + ox, box[1] * sy + oy, box[2] * sx + ox, box[3] * sy + oy]
            entry = entries[_root_handle(entries, entry)]
        if entry.handle != root.handle:
            continue
        key = tuple(round(v, 1) for v in box)
        same = next((b for b in boxes if tuple(b["box"]) == key), None)
        if same is not None and item.kind != "ocr_text":  # a clue derived from that text: named, not redrawn
            same["also"].append(item.id)
            continue
        boxes.append(
            {"evidence_id": item.id, "kind": item.kind, "value": str(item.value), "box": list(key), "also": []}
        )
    crops = []
    for entry in entries.values():  # crops and zooms the tools made, where they lie on the photo
        if entry.parent is None or entry.to_root is None or _root_handle(entries, entry) != root.handle:
            continue
        sx, sy, ox, oy = entry.to_root
        op = dict(entry.operation or {})
        crops.append(
            {
                "handle": entry.handle,
                "operation": str(op.get("op", "derived")),
                "box": [round(ox, 1), round(oy, 1), round(entry.width * sx + ox, 1), round(entry.height * sy + oy, 1)],
            }
        )
    photo = {"handle": root.handle, "width": root.width, "height": root.height, "crops": crops}
    return photo, boxes


def _root_handle(entries: dict[str, Any], entry: Any) -> str:
    seen = set()
    while entry.parent is not None and entry.handle not in seen:
        seen.add(entry.handle)
        entry = entries.get(entry.parent, entry)
    return entry.handle


def _map_html(answer: dict[str, Any] | None, candidates: list[dict[str, Any]], evidence: list[Any]) -> str:
    points = [
        MapPoint(e.geo.lat, e.geo.lon, f"{e.id} {e.value}", "evidence", evidence_id=e.id)
        for e in evidence
        if e.geo is not None and e.confidence > 0
    ]
    points += [
        MapPoint(float(c["lat"]), float(c["lon"]), f"{rank}. {c.get('label', '')}", "candidate", rank=rank)
        for rank, c in enumerate(candidates, start=1)
    ]
    circle = None
    if answer and answer.get("lat") is not None and answer.get("lon") is not None:
        lat, lon = float(answer["lat"]), float(answer["lon"])
        points.append(MapPoint(lat, lon, "answer", "answer"))
        radius = float(answer.get("radius_km") or 0.0)
        circle = MapCircle(lat, lon, radius) if radius > 0 else None
    html = map_figure(world_view(), points, circle, label="world map", caption="the world", kind="world")
    if circle is not None or (answer and answer.get("lat") is not None):
        half_km = max(1.6 * (circle.radius_km if circle else 0.0), 2.0)
        view = local_view(float(answer["lat"]), float(answer["lon"]), half_km)
        html += map_figure(
            view, points, circle, label="map round the answer", caption=f"±{half_km:.3g} km round the answer"
        )
    return html


def run_view(run: dict[str, Any], trace_path: Path, candidates: list[dict[str, Any]]) -> dict[str, Any]:
    """What the page shows of one run (done, or paused for review, or still working)."""
    evidence: list[Any] = []
    image, boxes = None, []
    if trace_path.exists():
        try:
            trace = read_trace(trace_path)
            evidence = list(as_location(trace).evidence)
            image, boxes = _root_boxes(trace, evidence)
        except GeoSleuthError:
            pass  # a trace cut short mid-line: the page shows what the stream shows
    request = run.get("review_request") or {}
    if run["status"] == "awaiting_review":
        answer, ranked = request.get("answer"), list(request.get("candidates") or [])
    else:
        answer, ranked = run.get("result"), candidates
    return {
        "run_id": run["id"],
        "status": run["status"],
        "image": image,
        "boxes": boxes,
        "answer": answer,
        "evidence": [
            {
                "id": e.id,
                "kind": e.kind,
                "value": str(e.value),
                "confidence": e.confidence,
                "tool": e.source.tool,
                "provenance": e.provenance,
                "provenance_url": provenance_url(e.provenance),
            }
            for e in evidence
        ],
        "candidates": [
            {
                **{k: c.get(k) for k in ("label", "lat", "lon", "score", "radius_km", "country_code", "sources")},
                "outside_constraint": bool(c.get(OUTSIDE) or (c.get("details") or {}).get(OUTSIDE)),
            }
            for c in ranked
        ],
        "map_html": _map_html(answer, ranked, evidence) if (answer or ranked) else "",
    }


def register_page(app: FastAPI, ws: Any) -> None:
    """Add the page, its files and the per-run view to the workspace app."""

    def page_file(name: str) -> Response:
        body = static_file(name)
        if body is None:
            raise ApiError(404, "not_found", f"no page file {name!r}")
        media = "text/html; charset=utf-8" if name.endswith(".html") else STATIC_TYPES[Path(name).suffix]
        return Response(body, media_type=media, headers={"content-security-policy": PAGE_CSP})

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return page_file("index.html")

    @app.get("/static/map.css", include_in_schema=False)
    def map_css() -> Response:
        return Response(MAP_CSS, media_type="text/css; charset=utf-8")

    @app.get("/static/leaflet/{name:path}", include_in_schema=False)
    def leaflet(name: str) -> Response:
        body = leaflet_file(name)
        if body is None:
            raise ApiError(404, "not_found", f"no Leaflet file {name!r} (pip install xstatic-leaflet)")
        return Response(body, media_type=STATIC_TYPES[Path(name).suffix])

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        return page_file(name)

    def _view(run_id: str) -> dict[str, Any]:
        run = ws._run(run_id)
        return run_view(run, ws.pool.trace_path(run), ws.store.run_candidates(run_id))

    @app.get("/api/runs/{run_id}/view", summary="What the page shows of a run: boxes, evidence, candidates, map")
    def view(run_id: str) -> JSONResponse:
        return JSONResponse(_view(run_id))

    @app.get("/api/runs/{run_id}/map", summary="The run's map (SVG with coastlines and borders), an HTML fragment")
    def run_map(run_id: str) -> Response:
        return Response(_view(run_id)["map_html"], media_type="text/html; charset=utf-8")
