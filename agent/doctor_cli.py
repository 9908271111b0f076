"""``geosleuth doctor``: what this machine can read, and what it is missing.

Text is what the embedded default locates by, so which scripts the OCR engines on this
machine can read decides what it can find. The command loads no model: it checks the
installed packages and the Tesseract language files.

    geosleuth doctor
    geosleuth doctor --json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from typing import Any


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def report() -> dict[str, Any]:
    """Facts about OCR engines, readable scripts and the text-clue data on this machine."""
    from tools.ocr import BACKENDS
    from tools.ocr import tesseract as tess

    engines: dict[str, Any] = {
        name: {"installed": cls.is_installed(), "missing": cls.missing_modules(), "extra": cls.extra}
        for name, cls in BACKENDS.items()
    }
    readable = tess.readable_scripts()
    folder = tess.tessdata_dir()
    engines["tesseract"] = {
        "installed": bool(readable),
        "binding": "tesserocr" if tess.binding_installed() else None,
        "version": tess.tesseract_version(),
        "tessdata": str(folder) if folder else None,
        "languages": tess.installed_languages(),
        "switched_off": tess.disabled(),
    }
    scripts: dict[str, str] = {}
    if engines["rapidocr"]["installed"]:
        for code in tess.RAPIDOCR_SCRIPTS:
            scripts[tess.SCRIPT_NAMES[code]] = "rapidocr"
    for code, languages in readable.items():
        scripts[tess.SCRIPT_NAMES[code]] = "tesseract (" + "+".join(languages) + ")"
    missing = [tess.SCRIPT_NAMES[code] for code in tess.SCRIPT_LANGUAGES if code not in readable]
    try:
        from PIL import features

        raqm = bool(features.check("raqm"))
    except Exception:  # noqa: BLE001 - a Pillow without the features module
        raqm = False
    return {
        "ocr_engines": engines,
        "scripts": scripts,
        "scripts_missing": missing,
        "text_data": {
            "jieba (Chinese segmentation)": _installed("jieba"),
            "cpca (China's administrative divisions)": _installed("cpca"),
            "wordfreq (word frequencies)": _installed("wordfreq"),
            "anyascii (transliteration)": _installed("anyascii"),
            "rapidfuzz (spelling variants)": _installed("rapidfuzz"),
        },
        "rendering": {"raqm (complex-script shaping)": raqm},
    }


def format_report(facts: dict[str, Any]) -> str:
    lines = ["OCR engines:"]
    for name, info in facts["ocr_engines"].items():
        if name == "tesseract":
            state = f"yes, {info['version']}, {len(info['languages'])} languages in {info['tessdata']}"
            if info["switched_off"]:
                state = "switched off (GEOSLEUTH_TESSERACT)"
            elif not info["installed"]:
                state = "no (apt-get install tesseract-ocr tesseract-ocr-rus ...)"
        else:
            state = "yes" if info["installed"] else f"no (pip install 'geosleuth[{info['extra']}]')"
        lines.append(f"  {name:<10} {state}")
    lines.append("Scripts this machine reads:")
    for script, engine in facts["scripts"].items():
        lines.append(f"  {script:<20} {engine}")
    if facts["scripts_missing"]:
        lines.append("Scripts it cannot read: " + ", ".join(facts["scripts_missing"]))
    lines.append("Text data:")
    for what, ok in {**facts["text_data"], **facts["rendering"]}.items():
        lines.append(f"  {what:<42} {'yes' if ok else 'no'}")
    return "\n".join(lines)


def _doctor(args: argparse.Namespace) -> int:
    facts = report()
    print(json.dumps(facts, indent=2, ensure_ascii=False) if args.json else format_report(facts))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    doctor = commands.add_parser(
        "doctor",
        help="which OCR engines and scripts this machine has",
        description="Report the OCR engines, the scripts they read here, and the text data installed.",
    )
    doctor.add_argument("--json", action="store_true", help="print the facts as JSON")
    doctor.set_defaults(handler=_doctor)
