"""Finding fonts for rendering synthetic scenes (Latin/Cyrillic/Greek and CJK)."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

_LATIN = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_CJK = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def _fc_match(lang: str) -> str | None:
    if shutil.which("fc-list") is None:
        return None
    out = subprocess.run(["fc-list", f":lang={lang}", "file"], capture_output=True, text=True, check=False).stdout
    files = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
    return files[0] if files else None


@cache
def latin_font(bold: bool = True) -> str | None:
    for path in _LATIN if bold else _LATIN[::-1]:
        if Path(path).exists():
            return path
    return _fc_match("en")


@cache
def cjk_font() -> str | None:
    for path in _CJK:
        if Path(path).exists():
            return path
    return _fc_match("zh")


#: Fonts (Debian fonts-noto-core, fonts-dejavu-core, fonts-wqy-microhei) per ISO 15924 script, and the
#: fontconfig language to ask for when they are not at these paths.
_SCRIPT_FONTS = {
    "Latn": (_LATIN[0], "en"),
    "Cyrl": (_LATIN[0], "ru"),
    "Grek": (_LATIN[0], "el"),
    "Hang": ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "ko"),
    "Hani": (_CJK[0], "zh"),
    "Arab": ("/usr/share/fonts/truetype/noto/NotoSansArabic-Bold.ttf", "ar"),
    "Hebr": ("/usr/share/fonts/truetype/noto/NotoSansHebrew-Bold.ttf", "he"),
    "Thai": ("/usr/share/fonts/truetype/noto/NotoSansThai-Bold.ttf", "th"),
    "Deva": ("/usr/share/fonts/truetype/noto/NotoSansDevanagari-Bold.ttf", "hi"),
    "Geor": ("/usr/share/fonts/truetype/noto/NotoSansGeorgian-Bold.ttf", "ka"),
    "Armn": ("/usr/share/fonts/truetype/noto/NotoSansArmenian-Bold.ttf", "hy"),
}
#: Scripts whose letters join or stack: unreadable unless shaped (Raqm).
COMPLEX_SCRIPTS = frozenset({"Arab", "Hebr", "Thai", "Deva"})


@cache
def script_font(script: str) -> str | None:
    """A font file that draws ``script`` (ISO 15924), or None when none is installed."""
    path, lang = _SCRIPT_FONTS.get(script, (None, None))
    if path and Path(path).exists():
        return path
    return _fc_match(lang) if lang else None


@cache
def can_shape() -> bool:
    """Whether Pillow can lay out complex scripts (libraqm)."""
    try:
        from PIL import features

        return bool(features.check("raqm"))
    except Exception:  # noqa: BLE001 - an old Pillow without the check
        return False


def can_render(script: str) -> bool:
    """Whether signs in ``script`` can be drawn legibly here."""
    return script_font(script) is not None and (script not in COMPLEX_SCRIPTS or can_shape())
