"""``geosleuth trace show|diff|html|export``: look at recorded runs without running anything.

Registered through the ``geosleuth.commands`` entry-point group like ``eval``; bad input
(a missing or corrupt trace, an unwritable output) is one ``geosleuth: error: ...`` line
and exit status 1, as for ``locate``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tools.errors import GeoSleuthError

FORMATS = ("geojson", "kml", "solution", "csv")


def register_trace(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "trace",
        help="show, compare and export recorded run traces",
        description="Read run traces (the JSONL files `locate --trace` writes): a timeline, where two runs "
        "diverge, a self-contained HTML report, or exports (GeoJSON, KML, GeoBrowse image_solution).",
    )
    actions = parser.add_subparsers(dest="trace_action", metavar="ACTION")
    actions.required = True
    show = actions.add_parser("show", help="one line per step, then the answer")
    show.add_argument("trace", help="trace file (.jsonl)")
    show.add_argument("--width", type=int, default=120, help="line width (default 120)")
    diff = actions.add_parser("diff", help="where two runs first diverge; how evidence and answers differ")
    diff.add_argument("a", help="first trace")
    diff.add_argument("b", help="second trace")
    diff.add_argument("--exit-code", action="store_true", help="exit with status 3 when the runs differ")
    page = actions.add_parser("html", help="write a self-contained HTML report of the run")
    page.add_argument("trace", help="trace file (.jsonl)")
    page.add_argument("-o", "--output", help="HTML file to write (default: beside the trace; '-' for stdout)")
    page.add_argument(
        "--images",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder to look for the input images in (repeatable); tried after the path recorded in the "
        "trace's header and the trace's own folder",
    )
    page.add_argument(
        "--allow-missing-images",
        action="store_true",
        help="write the report even when an input image cannot be found (exit status 0; the page says so)",
    )
    export = actions.add_parser("export", help="GeoJSON, KML, the GeoBrowse image_solution text, or a batch CSV row")
    export.add_argument("trace", help="trace file (.jsonl) or a `locate --json` result")
    export.add_argument("--format", required=True, choices=FORMATS)
    export.add_argument("-o", "--output", help="file to write (default: stdout)")
    parser.set_defaults(handler=_trace)


def _write(text: str, output: str | None) -> None:
    if output is None or output == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    target = Path(output)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GeoSleuthError(f"cannot write {target}: {exc.strerror or exc}") from None
    print(f"wrote {target}")


def _trace(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except GeoSleuthError as exc:
        print(f"geosleuth: error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    action = args.trace_action
    if action == "show":
        from .trace_view import show

        _write(show(args.trace, width=args.width), None)
    elif action == "diff":
        from .trace_view import diff

        text = diff(args.a, args.b)
        _write(text, None)
        return 3 if args.exit_code and not text.endswith("the runs are identical") else 0
    elif action == "html":
        from .trace_html import render_html

        missing: list[str] = []
        page = render_html(args.trace, image_dirs=args.images, missing=missing)
        for line in missing:
            print(f"geosleuth: image not shown: {line}", file=sys.stderr)
        if missing and not args.allow_missing_images:
            print(
                "geosleuth: error: the report would lack its image(s); pass --images DIR to say where they are, "
                "or --allow-missing-images to write it anyway",
                file=sys.stderr,
            )
            return 2
        _write(page, args.output if args.output else str(Path(args.trace).with_suffix(".html")))
    else:
        from .exports import solution_text, to_csv, to_geojson, to_kml

        if args.format == "csv":
            text = to_csv(args.trace)
        elif args.format == "geojson":
            text = json.dumps(to_geojson(args.trace), indent=2, ensure_ascii=False)
        elif args.format == "kml":
            text = to_kml(args.trace)
        else:
            text = solution_text(args.trace)
        _write(text, args.output)
    return 0
