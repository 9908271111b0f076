"""A case as proof: GeoJSON, KML, CSV, or one zip with everything behind the answers.

GeoJSON and KML are built from each finished run's trace with ``agent.exports`` (so a case
export says exactly what a single-run export says), every feature tagged with the run and
the photo. The zip holds the untouched originals, the traces, an HTML report per run
(``agent.trace_html``), the case record (images, runs, notes, decisions, audit log) and a
manifest with every file's SHA-256.

The CSV is the project's one batch layout (``agent.batch_csv``), a row per run.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

from agent import batch_csv
from agent.exports import KML_NS, as_location, to_geojson, to_kml
from agent.trace_html import render_html
from tools.errors import GeoSleuthError

EXTENSIONS = {
    "JPEG": "jpg",
    "MPO": "jpg",
    "PNG": "png",
    "WEBP": "webp",
    "GIF": "gif",
    "TIFF": "tif",
    "BMP": "bmp",
    "HEIF": "heic",
    "AVIF": "avif",
}


def _finished_traces(case: dict[str, Any], trace_path) -> list[tuple[dict[str, Any], Path]]:
    out = []
    for run in case["runs"]:
        path = trace_path(run)
        if run["status"] == "done" and path.exists():
            out.append((run, path))
    return out


def case_geojson(case: dict[str, Any], trace_path) -> dict[str, Any]:
    images = {i["id"]: i for i in case["images"]}
    features = []
    for run, path in _finished_traces(case, trace_path):
        collection = to_geojson(path)
        for feature in collection["features"]:
            feature["properties"].update(
                run_id=run["id"], image_id=run["image_id"], filename=images[run["image_id"]]["filename"]
            )
            features.append(feature)
    return {
        "type": "FeatureCollection",
        "properties": {"case_id": case["id"], "case": case["name"]},
        "features": features,
    }


def case_kml(case: dict[str, Any], trace_path) -> str:
    """One KML document, a folder per run holding that run's own KML content."""
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = ET.SubElement(root, f"{{{KML_NS}}}Document")
    ET.SubElement(doc, f"{{{KML_NS}}}name").text = f"geosleuth case {case['name']}"
    images = {i["id"]: i for i in case["images"]}
    for run, path in _finished_traces(case, trace_path):
        single = ET.fromstring(to_kml(path).split("\n", 1)[1])
        inner = single.find(f"{{{KML_NS}}}Document")
        folder = ET.SubElement(doc, f"{{{KML_NS}}}Folder")
        ET.SubElement(folder, f"{{{KML_NS}}}name").text = f"{images[run['image_id']]['filename']} (run {run['id']})"
        for child in list(inner) if inner is not None else []:
            if child.tag != f"{{{KML_NS}}}name":
                folder.append(child)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def case_csv(case: dict[str, Any], trace_path) -> str:
    """One row per run in the project's batch CSV layout (``agent.batch_csv``): the image is
    the photo's name, ``trace_file`` the run's trace as the zip holds it; a run without an
    answer yet says why in ``error``."""
    images = {i["id"]: i for i in case["images"]}
    rows = []
    for run in case["runs"]:
        name = images[run["image_id"]]["filename"]
        path = trace_path(run)
        if run["status"] == "done" and path.exists():
            location = as_location(path).model_copy(update={"trace_path": f"traces/{run['id']}.jsonl"})
            rows.append(batch_csv.row(name, location))
        else:
            why = run.get("error") or f"run {run['status']}"
            rows.append(batch_csv.row(name, error=f"{run['status']}: {why}" if run.get("error") else why))
    return batch_csv.to_csv(rows)


def case_zip(case: dict[str, Any], extra: dict[str, Any], trace_path, original_path, target: Path) -> Path:
    """Write the case's proof bundle to ``target``."""
    manifest: list[dict[str, Any]] = []

    def add(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
        zf.writestr(name, data)
        manifest.append({"path": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})

    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for image in case["images"]:
            ext = EXTENSIONS.get(image["format"], "bin")
            add(zf, f"originals/{image['sha256']}.{ext}", Path(original_path(image["sha256"])).read_bytes())
        originals_dir = Path(original_path(case["images"][0]["sha256"])).parent if case["images"] else None
        for run in case["runs"]:
            path = trace_path(run)
            if not path.exists():
                continue
            add(zf, f"traces/{run['id']}.jsonl", path.read_bytes())
            if run["status"] in ("done", "interrupted", "failed"):
                try:
                    page = render_html(path, image_dirs=[originals_dir] if originals_dir else [])
                except GeoSleuthError as exc:
                    page = f"<!DOCTYPE html><p>no report: {_esc(str(exc))}</p>"
                add(zf, f"reports/{run['id']}.html", page.encode("utf-8"))
        add(zf, "case.json", json.dumps({**case, **extra}, indent=2, ensure_ascii=False, default=str).encode())
        add(zf, "case.geojson", json.dumps(case_geojson(case, trace_path), ensure_ascii=False).encode())
        add(zf, "case.kml", case_kml(case, trace_path).encode())
        add(zf, "case.csv", case_csv(case, trace_path).encode())
        listing = {"case_id": case["id"], "algorithm": "sha256", "files": manifest}
        zf.writestr("manifest.json", json.dumps(listing, indent=2))
    return target


def _esc(text: str) -> str:
    from html import escape

    return escape(text, quote=True)
