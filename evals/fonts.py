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
