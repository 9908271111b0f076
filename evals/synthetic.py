"""A synthetic street-sign set with known answers, for calibration and tests.

Scenes are rendered from the gazetteer: a place's name on a welcome sign, a direction
sign, a shop front with a phone number in that country's national format, a street
plaque with the country's street word; with distractors (common words that are also
place names, brand-like text), tiny text only a zoom pass can read, blur, noise, JPEG
compression and slight rotation. Each scene records its true position and what it
shows, so one can ask: when the agent says it is confident, is it right?

    python -m evals.synthetic --n 80 --seed 7 --out runs/synthetic
    python -m evals.synthetic --scripts all --per-script 10 --seed 5 --out runs/scripts

``--scripts`` renders signs in other writing systems instead: the place's name as
GeoNames has it in that script (Cyrillic, Greek, Hangul, Arabic, Hebrew, Thai,
Devanagari, Georgian, Armenian; complex scripts shaped with Raqm), variant spellings
(a Cyrillic letter changed, Latin diacritics swapped or dropped), and Chinese shop fronts
naming a prefecture city or a county (not a province capital) from China's division table.
"""

from __future__ import annotations

import argparse
import io
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import phonenumbers
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tools.gazetteer import Gazetteer
from tools.normalize import is_unspaced_char

from .fonts import can_render, cjk_font, latin_font, script_font
from .resources import gazetteer as eval_gazetteer

KINDS = ("welcome", "direction", "shop_phone", "street", "phone_only", "tiny_name", "distractor")
_STREET_WORDS = {
    "PT": ("Rua", "before"),
    "BR": ("Rua", "before"),
    "ES": ("Calle", "before"),
    "MX": ("Calle", "before"),
    "AR": ("Calle", "before"),
    "FR": ("Rue", "before"),
    "IT": ("Via", "before"),
    "DE": ("straße", "suffix"),
    "AT": ("gasse", "suffix"),
    "NL": ("straat", "suffix"),
    "SE": ("gatan", "suffix"),
    "PL": ("ul.", "before"),
    "US": ("Street", "after"),
    "GB": ("Road", "after"),
    "AU": ("Street", "after"),
    "CA": ("Avenue", "after"),
    "ID": ("Jalan", "before"),
    "TR": ("Caddesi", "after"),
    "CN": ("路", "suffix"),
    "JP": ("通り", "suffix"),
}
_SURNAMES = ("Silva", "Moreau", "Rossi", "Keller", "Jansen", "Novak", "Garcia", "Lindqvist", "Kowalski", "Brown")
_SHOPS = ("BAKERY", "PHARMACY", "CAFE", "OPTICS", "HARDWARE", "FLOWERS", "BOOKS", "TAILOR")
_DISTRACTORS = (
    "HOTEL CENTRAL",
    "OPEN 24H",
    "SALE -50%",
    "EXIT",
    "PARKING",
    "NICE DAY CAFE",
    "VICTORIA SECRETS",
    "GRAND OPENING",
    "PIZZA EXPRESS",
    "MOBILE REPAIR",
)
_CJK_COUNTRIES = {"CN", "TW", "JP", "HK", "MO"}


@dataclass
class Scene:
    id: str
    image: str
    lat: float
    lon: float
    country: str
    kind: str
    place: str
    texts: list[str]
    expect: str  # "place", "country" or "none": the best a text reader can do
    script: str = "Latn"  # ISO 15924 of the sign's place name ("variant": a spelling the gazetteer lacks)


def _font(size: int, cjk: bool = False, bold: bool = True) -> ImageFont.FreeTypeFont:
    path = cjk_font() if cjk else latin_font(bold)
    if path is None:
        raise RuntimeError("no font found for rendering (install fonts-dejavu-core / fonts-wqy-microhei)")
    return ImageFont.truetype(path, size)


def _han_or_kana(ch: str) -> bool:
    code = ord(ch)
    return 0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF


def _native_name(gaz: Gazetteer, index: int, rng: random.Random, names: dict[int, list[str]]) -> str:
    """The place's name as a local sign would write it: CJK script where the country uses it."""
    cc = str(gaz.city_country[index])
    if cc in _CJK_COUNTRIES and cjk_font():
        native = [n for n in names.get(index, []) if n and all(_han_or_kana(c) for c in n) and len(n) <= 5]
        if native:
            return rng.choice(sorted(native))
    return gaz.city_name[index]


def _phone(country: str, rng: random.Random) -> str | None:
    example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.FIXED_LINE)
    if example is None:
        return None
    digits = str(example.national_number)
    for _ in range(30):
        keep = max(2, len(digits) // 3)
        candidate = digits[:keep] + "".join(str(rng.randint(0, 9)) for _ in range(len(digits) - keep))
        number = phonenumbers.parse("+" + str(example.country_code) + candidate)
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)


def _background(size: tuple[int, int], rng: random.Random) -> Image.Image:
    width, height = size
    top = np.array([rng.randint(90, 200), rng.randint(120, 210), rng.randint(170, 250)], dtype=float)
    wall = np.array([rng.randint(120, 230) for _ in range(3)], dtype=float)
    rows = np.linspace(0, 1, height)[:, None, None]
    sky_rows = int(height * rng.uniform(0.2, 0.4))
    arr = np.where(np.arange(height)[:, None, None] < sky_rows, top * (0.9 + 0.1 * rows), wall * (1 - 0.15 * rows))
    arr = np.broadcast_to(arr, (height, width, 3)).copy()
    arr += np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6, arr.shape)
    image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 8)):  # windows and doors
        x, y = rng.randint(0, width - 80), rng.randint(sky_rows, height - 100)
        w, h = rng.randint(50, 140), rng.randint(70, 180)
        draw.rectangle([x, y, x + w, y + h], fill=tuple(rng.randint(30, 90) for _ in range(3)))
    return image


def _fitted(draw: ImageDraw.ImageDraw, text: str, size: float, cjk: bool, max_width: float) -> ImageFont.FreeTypeFont:
    """The largest font up to ``size`` whose rendering of ``text`` fits ``max_width``."""
    size = int(size)
    while size > 10:
        font = _font(size, cjk)
        left, _, right, _ = draw.textbbox((0, 0), text, font=font)
        if right - left <= max_width:
            return font
        size = int(size * 0.9)
    return _font(10, cjk)


def _sign(
    draw: ImageDraw.ImageDraw,
    box: tuple[int, int, int, int],
    lines: list[tuple[str, float, bool]],
    colours: tuple[tuple[int, int, int], tuple[int, int, int]],
) -> None:
    background, ink = colours
    draw.rectangle(box, fill=background, outline=ink, width=max(2, (box[3] - box[1]) // 30))
    x0, y0, x1, y1 = box
    step = (y1 - y0) / (len(lines) + 1)
    for i, (text, size, cjk) in enumerate(lines, start=1):
        font = _fitted(draw, text, size, cjk, 0.88 * (x1 - x0))
        draw.text(((x0 + x1) / 2, y0 + step * i), text, font=font, fill=ink, anchor="mm")


def render_scene(
    kind: str, place: str, country: str, rng: random.Random, size: tuple[int, int] | None = None
) -> tuple[Image.Image, list[str], str]:
    """Render one scene; returns (image, texts shown, what can be known: place/country/none)."""
    width, height = size or rng.choice([(1280, 853), (1600, 1067), (1024, 768)])
    image = _background((width, height), rng)
    draw = ImageDraw.Draw(image)
    cjk = any(is_unspaced_char(c) for c in place)
    colours = rng.choice(
        [
            ((250, 250, 248), (20, 60, 150)),
            ((0, 110, 60), (255, 255, 255)),
            ((30, 30, 30), (250, 220, 60)),
            ((240, 240, 230), (150, 20, 30)),
        ]
    )
    texts: list[str] = []
    expect = "place"
    sw, sh = int(width * rng.uniform(0.45, 0.7)), int(height * rng.uniform(0.22, 0.32))
    sx, sy = rng.randint(20, width - sw - 20), rng.randint(int(height * 0.25), height - sh - 20)
    box = (sx, sy, sx + sw, sy + sh)
    big = max(28, sh // 3)
    if kind == "welcome":
        texts = ["WELCOME TO" if not cjk else "欢迎", place.upper() if not cjk else place]
        _sign(draw, box, [(texts[0], big // 2, cjk), (texts[1], big, cjk)], colours)
    elif kind == "direction":
        texts = [f"{place if cjk else place.upper()}  {rng.randint(2, 60)} km"]
        _sign(draw, box, [(texts[0], big, cjk)], colours)
        draw.polygon(
            [(box[2] - 10, box[1] + 10), (box[2] + 40, (box[1] + box[3]) // 2), (box[2] - 10, box[3] - 10)],
            fill=colours[1],
        )
    elif kind in ("shop_phone", "phone_only"):
        phone = _phone(country, rng) or "112"
        shop = rng.choice(_SHOPS)
        texts = [shop, f"Tel. {phone}"]
        if kind == "shop_phone":
            texts.append(place)
        else:
            expect = "country"
        _sign(draw, box, [(t, big // (1 if i == 0 else 2), cjk and i == 2) for i, t in enumerate(texts)], colours)
    elif kind == "street":
        word, position = _STREET_WORDS.get(country, ("", "none"))
        surname = rng.choice(_SURNAMES)
        street = {"before": f"{word} {surname}", "after": f"{surname} {word}", "suffix": f"{surname}{word}"}.get(
            position, surname
        )
        texts = [street, place if cjk else place.upper()]
        _sign(draw, box, [(texts[0], big // 2, False), (texts[1], big // 3, cjk)], colours)
    elif kind == "tiny_name":
        texts = [place if cjk else place.upper()]
        font = _font(max(10, height // 70), cjk)
        left, top, right, bottom = draw.textbbox((0, 0), texts[0], font=font)
        tx = rng.randint(40, max(41, width - (right - left) - 40))
        ty = rng.randint(height // 2, height - 60)
        draw.rectangle([tx - 6, ty + top - 6, tx + right + 6, ty + bottom + 6], fill=colours[0])
        draw.text((tx, ty), texts[0], font=font, fill=colours[1])
    elif kind == "distractor":
        texts = [rng.choice(_DISTRACTORS)]
        _sign(draw, box, [(texts[0], big // 1.4, False)], colours)
        expect = "none"
    else:
        raise ValueError(f"unknown scene kind {kind}")
    if rng.random() < 0.5:
        image = image.rotate(rng.uniform(-3, 3), resample=Image.Resampling.BICUBIC, fillcolor=(128, 128, 128))
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    return image, texts, expect


def generate(n: int, seed: int, out: Path, min_population: int = 100_000) -> list[Scene]:
    """Write n scenes and ``synthetic.jsonl`` (id, image, lat, lon, ...) under ``out``."""
    import json as _json

    from tools.gazetteer import _geonames_dir

    rng = random.Random(seed)
    gaz = eval_gazetteer()
    gaz.countries()
    big = np.flatnonzero(gaz.city_population >= min_population)
    by_country: dict[str, list[int]] = {}
    for i in big.tolist():
        by_country.setdefault(str(gaz.city_country[i]), []).append(i)
    countries = sorted(by_country)
    names: dict[int, list[str]] = {}
    if cjk_font():
        rows = sorted(
            _json.loads((_geonames_dir() / "cities500.json").read_text()).values(), key=lambda c: c["geonameid"]
        )
        names = {
            i: rows[i].get("alternatenames") or [] for i in big.tolist() if str(gaz.city_country[i]) in _CJK_COUNTRIES
        }
    out.mkdir(parents=True, exist_ok=True)
    (out / "images").mkdir(exist_ok=True)
    scenes = []
    for k in range(n):
        country = rng.choice(countries)
        index = rng.choice(by_country[country])
        kind = KINDS[k % len(KINDS)]
        place = _native_name(gaz, index, rng, names)
        image, texts, expect = render_scene(kind, place, country, rng)
        name = f"synthetic_{seed}_{k:04d}.jpg"
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=rng.randint(60, 92))
        (out / "images" / name).write_bytes(buffer.getvalue())
        scenes.append(
            Scene(
                f"synthetic_{seed}_{k:04d}",
                f"images/{name}",
                float(gaz.city_lat[index]),
                float(gaz.city_lon[index]),
                country,
                kind,
                place,
                texts,
                expect,
            )
        )
    with (out / "synthetic.jsonl").open("w", encoding="utf-8") as fh:
        for scene in scenes:
            fh.write(json.dumps(asdict(scene), ensure_ascii=False) + "\n")
    return scenes


#: Countries whose signs write place names in each script, and a word signs add beside them.
SCRIPT_SETS: dict[str, tuple[tuple[str, ...], str]] = {
    "Cyrl": (("RU", "UA", "BY", "BG", "RS", "KZ"), "ЦЕНТР"),
    "Grek": (("GR", "CY"), "ΚΕΝΤΡΟ"),
    "Hang": (("KR",), "시청"),
    "Arab": (("EG", "SA", "MA", "JO", "IQ", "SY", "DZ", "TN"), "مرحبا"),
    "Hebr": (("IL",), "ברוכים הבאים"),
    "Thai": (("TH",), "ยินดีต้อนรับ"),
    "Deva": (("IN", "NP"), "स्वागत"),
    "Geor": (("GE",), "ცენტრი"),
    "Armn": (("AM",), "Կենտրոն"),
}
#: Letters a misspelling or a neighbouring language swaps (Russian/Ukrainian/Belarusian vowels).
_CYRILLIC_SWAPS = {"а": "о", "о": "а", "е": "и", "и": "е", "я": "а", "ы": "и"}
_LATIN_SWAPS = {"ţ": "ț", "ș": "ş", "ş": "ș", "ț": "ţ"}
_CN_SHOPS = ("百货商店", "人民医院", "汽车站", "大药房", "超市", "宾馆", "中学", "邮政局")


def _letters_script(name: str) -> str | None:
    from tools.variants import key_script

    return key_script(name.lower())


def _native(row: dict, script: str) -> str | None:
    """The name a local sign would write in ``script``: of the place's names in it, the
    one that sounds most like its own name (the usual form, not a minority one)."""
    from anyascii import anyascii
    from rapidfuzz.distance import Levenshtein

    names = [n for n in row.get("alternatenames") or () if 3 <= len(n) <= 18 and _letters_script(n) == script]
    if not names:
        return None
    own = row["name"].lower()
    return min(sorted(names), key=lambda n: Levenshtein.normalized_distance(anyascii(n).lower(), own))


def _misspell(name: str, rng: random.Random) -> str | None:
    """The name with one letter changed as a neighbouring language or a sign painter would."""
    spots = [i for i, ch in enumerate(name) if ch.lower() in _CYRILLIC_SWAPS and 0 < i < len(name) - 1]
    if not spots:
        return None
    i = rng.choice(spots)
    swap = _CYRILLIC_SWAPS[name[i].lower()]
    return name[:i] + (swap.upper() if name[i].isupper() else swap) + name[i + 1 :]


def _draw_script_sign(
    lines: list[str], script: str, rng: random.Random, size: tuple[int, int] | None = None
) -> Image.Image:
    from PIL import features

    width, height = size or rng.choice([(1280, 853), (1024, 768)])
    image = _background((width, height), rng)
    draw = ImageDraw.Draw(image)
    colours = rng.choice(
        [((250, 250, 248), (20, 60, 150)), ((0, 110, 60), (255, 255, 255)), ((30, 30, 30), (250, 220, 60))]
    )
    sw, sh = int(width * rng.uniform(0.5, 0.72)), int(height * rng.uniform(0.24, 0.32))
    sx, sy = rng.randint(20, width - sw - 20), rng.randint(int(height * 0.25), height - sh - 20)
    draw.rectangle((sx, sy, sx + sw, sy + sh), fill=colours[0], outline=colours[1], width=4)
    layout = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    step = sh / (len(lines) + 1)
    for i, (text, scale) in enumerate(zip(lines, (1.0, 0.55, 0.55)), start=1):
        # a script's own font may lack Latin letters ("12 km"): those lines use the Latin one
        path = script_font(script) if any(ch.isalpha() and not ch.isascii() for ch in text) else latin_font()
        size_px = int(max(24, sh // 3) * scale)
        while size_px > 12:
            font = ImageFont.truetype(path, size_px, layout_engine=layout)
            left, _, right, _ = draw.textbbox((0, 0), text, font=font)
            if right - left <= 0.88 * sw:
                break
            size_px = int(size_px * 0.9)
        draw.text((sx + sw / 2, sy + step * i), text, font=font, fill=colours[1], anchor="mm")
    if rng.random() < 0.4:
        image = image.rotate(rng.uniform(-2, 2), resample=Image.Resampling.BICUBIC, fillcolor=(128, 128, 128))
    if rng.random() < 0.4:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    return image


def _china_scenes(count: int, rng: random.Random) -> list[tuple[str, float, float, list[str]]]:
    """Shop fronts naming a prefecture city or county of China (capitals, adcode xx01, left out)."""
    from tools import china

    units = [
        d
        for d in china.divisions()
        if d.level != "province" and d.adcode[2:4] != "01" and "辖" not in d.name and d.name[-1] in "市县"
    ]
    out = []
    for division in rng.sample(units, min(count, len(units))):
        shop = rng.choice(_CN_SHOPS)
        out.append((division.name, division.lat, division.lon, [f"{division.name}{shop}", "欢迎光临"]))
    return out


def generate_scripts(per_script: int, seed: int, out: Path, scripts: list[str] | None = None) -> list[Scene]:
    """Signs in other writing systems (and variant spellings, Chinese shop fronts), with answers."""
    from tools.gazetteer import _geonames_dir

    rng = random.Random(seed)
    gaz = Gazetteer()
    gaz.countries()
    rows = sorted(json.loads((_geonames_dir() / "cities500.json").read_text()).values(), key=lambda c: c["geonameid"])
    wanted = scripts or [*SCRIPT_SETS, "variant", "Hani"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "images").mkdir(exist_ok=True)
    scenes: list[Scene] = []

    def save(script: str, k: int, image: Image.Image, lat: float, lon: float, cc: str, place: str, texts: list[str]):
        name = f"script_{script}_{seed}_{k:03d}.jpg"
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=rng.randint(70, 92))
        (out / "images" / name).write_bytes(buffer.getvalue())
        scenes.append(Scene(name[:-4], f"images/{name}", lat, lon, cc, "script_sign", place, texts, "place", script))

    for script in wanted:
        if script == "Hani":
            if not can_render("Hani"):
                continue
            for k, (place, lat, lon, texts) in enumerate(_china_scenes(per_script, rng)):
                save("Hani", k, _draw_script_sign(texts, "Hani", rng), lat, lon, "CN", place, texts)
            continue
        source = "Cyrl" if script == "variant" else script
        if source not in SCRIPT_SETS or not can_render(source):
            continue
        countries, word = SCRIPT_SETS[source]
        pool = [
            i
            for i, row in enumerate(rows)
            if row["countrycode"] in countries and (row.get("population") or 0) >= 100_000 and _native(row, source)
        ]
        k = 0
        for index in rng.sample(pool, len(pool)):
            if k >= per_script:
                break
            row = rows[index]
            name = _native(row, source)
            if script == "variant":
                name = _misspell(name, rng) if name and len(name) >= 6 else None
                if name is None:
                    continue
            texts = [name, word] if rng.random() < 0.5 else [name, f"{rng.randint(2, 40)} km"]
            image = _draw_script_sign(texts, source, rng)
            save(script, k, image, float(row["latitude"]), float(row["longitude"]), row["countrycode"], name, texts)
            k += 1
    with (out / "synthetic.jsonl").open("w", encoding="utf-8") as fh:
        for scene in scenes:
            fh.write(json.dumps(asdict(scene), ensure_ascii=False) + "\n")
    return scenes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render a synthetic street-sign set with known answers.")
    parser.add_argument("--n", type=int, default=70)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--scripts",
        help="render signs in other scripts instead: 'all' or a comma list of "
        + ", ".join([*SCRIPT_SETS, "variant", "Hani"]),
    )
    parser.add_argument("--per-script", type=int, default=10, help="scenes per script with --scripts")
    args = parser.parse_args(argv)
    if args.scripts:
        chosen = None if args.scripts == "all" else [s.strip() for s in args.scripts.split(",") if s.strip()]
        scenes = generate_scripts(args.per_script, args.seed, args.out, chosen)
    else:
        scenes = generate(args.n, args.seed, args.out)
    print(f"wrote {len(scenes)} scenes to {args.out / 'synthetic.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
