"""A case as proof: GeoJSON, KML, CSV, or one zip with everything behind the answers.

GeoJSON and KML are built from each finished run's trace with ``agent.exports`` (so a case
export says exactly what a single-run export says), every feature tagged with the run and
the photo. The zip holds the untouched originals, the traces, an HTML report per run
(``agent.trace_html``), the case record (images, runs, notes, decisions, audit log) and a
manifest with every file's SHA-256.

The CSV is a small local layout (one row per run) until the project's shared batch CSV
layout lands; its columns are listed in ``CSV_COLUMNS``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

from agent.exports import KML_NS, to_geojson, to_kml
from agent.trace_html import render_html
from tools.errors import GeoSleuthError

CSV_COLUMNS = [
    "case_id",
    "image_id",
    "filename",
    "image_sha256",
    "run_id",
    "status",
    "lat",
    "lon",
    "confidence",
    "radius_km",
    "country_code",
    "country",
    "region",
    "city",
    "reason",
    "trace_file",
]
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


def case_csv(case: dict[str, Any]) -> str:
    images = {i["id"]: i for i in case["images"]}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for run in case["runs"]:
        result = run.get("result") or {}
        image = images[run["image_id"]]
        writer.writerow(
            {
                "case_id": case["id"],
                "image_id": image["id"],
                "filename": _cell(image["filename"]),
                "image_sha256": image["sha256"],
                "run_id": run["id"],
                "status": run["status"],
                **{k: _cell(result.get(k)) for k in CSV_COLUMNS[6:15]},
                "trace_file": run["trace_file"],
            }
        )
    return out.getvalue()


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


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
        add(zf, "case.csv", case_csv(case).encode())
        listing = {"case_id": case["id"], "algorithm": "sha256", "files": manifest}
        zf.writestr("manifest.json", json.dumps(listing, indent=2))
    return target


def _esc(text: str) -> str:
    from html import escape

    return escape(text, quote=True)
