"""China's administrative divisions, with coordinates, and the words signs write them with.

Chinese shop fronts, bus stops and plates name places by their administrative units:
"遵义市红花岗区", "习水县", "黔A·12345". GeoNames has the big cities, but few counties
and districts, and none of the suffixed forms. The divisions come from the ``cpca``
package's table (every province, prefecture and county-level unit with its adcode and a
point; read as a data file, the package's matcher and its pandas are never imported).

Licence plates start with the province's one-character abbreviation (黔 Guizhou, 渝
Chongqing, 沪 Shanghai); no package publishes that short table, so it is written here,
from the national plate standard (GA 36), with each province's adcode.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import threading
from dataclasses import dataclass
from pathlib import Path

#: Province abbreviations on licence plates (and in names such as 黔东南), by adcode.
PLATE_PROVINCES: dict[str, str] = {
    "京": "110000",
    "津": "120000",
    "冀": "130000",
    "晋": "140000",
    "蒙": "150000",
    "辽": "210000",
    "吉": "220000",
    "黑": "230000",
    "沪": "310000",
    "苏": "320000",
    "浙": "330000",
    "皖": "340000",
    "闽": "350000",
    "赣": "360000",
    "鲁": "370000",
    "豫": "410000",
    "鄂": "420000",
    "湘": "430000",
    "粤": "440000",
    "桂": "450000",
    "琼": "460000",
    "渝": "500000",
    "川": "510000",
    "贵": "520000",
    "黔": "520000",
    "云": "530000",
    "藏": "540000",
    "陕": "610000",
    "甘": "620000",
    "青": "630000",
    "宁": "640000",
    "新": "650000",
}
#: A licence plate: province character, the issuing city's letter, then five or six
#: letters and digits, with a dot, a bullet or a space after the letter on most plates.
PLATE = re.compile(
    "([" + "".join(PLATE_PROVINCES) + r"])\s?([A-HJ-NP-Z])\s?[·•・.\-\s]?\s?([A-HJ-NP-Z0-9]{5,6})(?![A-Z0-9])"
)

_SUFFIXES = (
    "特别行政区",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "林区",
    "新区",
    "省",
    "市",
    "县",
    "区",
    "盟",
    "旗",
)
#: Ethnic names inside autonomous units' names ("黔东南苗族侗族自治州" -> "黔东南").
_ETHNIC = re.compile(r"(?:[\u4e00-\u9fff]{1,4}?族)+$")

Level = str  # "province", "prefecture" or "county"


@dataclass(frozen=True)
class Division:
    adcode: str
    name: str
    level: Level
    lat: float
    lon: float

    @property
    def province(self) -> str:
        return self.adcode[:2] + "0000"

    @property
    def prefecture(self) -> str | None:
        return None if self.level == "province" else self.adcode[:4] + "00"

    def contains(self, other: Division) -> bool:
        """Whether ``other`` lies inside this unit (by adcode)."""
        if self.level == "province":
            return other.adcode[:2] == self.adcode[:2] and other.adcode != self.adcode
        if self.level == "prefecture":
            return other.adcode[:4] == self.adcode[:4] and other.adcode != self.adcode
        return False


def short_name(name: str) -> str | None:
    """The name without its unit word: 遵义市 -> 遵义, 黔东南苗族侗族自治州 -> 黔东南,
    广西壮族自治区 -> 广西. None when nothing of at least two characters is left."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            stem = _ETHNIC.sub("", stem) or stem
            return stem if len(stem) >= 2 and stem != name else None
    return None


def _table() -> Path | None:
    """cpca's adcodes.csv, found without importing cpca (its import loads pandas)."""
    try:
        spec = importlib.util.find_spec("cpca")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "resources" / "adcodes.csv"
        if path.is_file():
            return path
    return None


def data_version() -> str:
    """Identifies the table, for cache names."""
    try:
        from importlib.metadata import version

        return version("cpca")
    except Exception:  # noqa: BLE001 - not installed
        return "none"


_DIVISIONS: list[Division] | None = None
_LOCK = threading.Lock()


def divisions() -> list[Division]:
    """Every province, prefecture and county-level unit of the table (empty without cpca)."""
    global _DIVISIONS
    with _LOCK:
        if _DIVISIONS is None:
            path = _table()
            rows: list[Division] = []
            if path is not None:
                with path.open(encoding="utf-8") as fh:
                    for row in csv.DictReader(fh):
                        code = row["adcode"][:6]
                        if not code.isdigit() or not row.get("name"):
                            continue
                        try:
                            lat, lon = float(row["latitude"]), float(row["longitude"])
                        except (TypeError, ValueError):
                            continue
                        level = (
                            "province" if code.endswith("0000") else "prefecture" if code.endswith("00") else "county"
                        )
                        rows.append(Division(code, row["name"].strip(), level, lat, lon))
            rows.sort(key=lambda d: d.adcode)
            _DIVISIONS = rows
        return _DIVISIONS


def by_adcode() -> dict[str, Division]:
    return {d.adcode: d for d in divisions()}


def names_of(division: Division) -> set[str]:
    """The forms a sign writes a unit with: its full name, and the bare name of provinces,
    prefectures and counties (遵义, 广西, 习水: what people write and say). Districts keep
    their unit word: bare district names are often ordinary words (城关, 新华, 长安)."""
    names = {division.name}
    bare = short_name(division.name)
    if bare and (division.level != "county" or not division.name.endswith("区")):
        names.add(bare)
    return names


@dataclass(frozen=True)
class Plate:
    text: str
    province: Division
    letter: str
    start: int
    end: int


def find_plates(text: str) -> list[Plate]:
    """Chinese licence plates in a text ("黔A·12345", "渝B 8K123")."""
    provinces = by_adcode()
    out = []
    compact = text.upper()
    for match in PLATE.finditer(compact):
        province = provinces.get(PLATE_PROVINCES[match.group(1)])
        if province is None:
            continue
        tail = match.group(3)
        if not any(ch.isdigit() for ch in tail):
            continue  # a plate's serial always has digits; "京A ABCDE" is a word
        out.append(Plate(match.group(0), province, match.group(2), match.start(), match.end()))
    return out


_JIEBA = None
_JIEBA_LOCK = threading.Lock()


def segmenter():
    """jieba's tokenizer with every division name added as a word (loaded once, ~1 s).

    Without the names jieba splits an unknown district ("红花岗区") into pieces, and a
    place name would look like it straddles words."""
    global _JIEBA
    with _JIEBA_LOCK:
        if _JIEBA is None:
            try:
                import jieba
            except ImportError:
                return None
            jieba.setLogLevel(60)
            tokenizer = jieba.Tokenizer()
            for division in divisions():
                for name in names_of(division):
                    tokenizer.add_word(name, freq=2000, tag="ns")
            _JIEBA = tokenizer
        return _JIEBA


def word_bounds(run: str) -> set[int] | None:
    """Character offsets in ``run`` where jieba puts a word boundary (None without jieba)."""
    tokenizer = segmenter()
    if tokenizer is None:
        return None
    bounds = {0}
    at = 0
    for word in tokenizer.cut(run, HMM=False):
        at += len(word)
        bounds.add(at)
    return bounds
