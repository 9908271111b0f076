"""GeoBrowse gold answers: resolving mixed-granularity place names offline, reading what a
prompt asks, and judging predictions at the right level.

The table below was written by hand from the real GeoBrowse Level-1 answers (and the harder
forms the benchmark uses elsewhere); the coordinates are where those places are, from general
knowledge, with tolerances that match the extent of the place (a country's point is where its
people are, so its tolerance is wide). It carries the answer strings itself, so it runs
without the data.
"""

from __future__ import annotations

import json

import pytest
from helpers import SHARED_DATA

from evals.gold import (
    BORDER_KM,
    GoldPlace,
    asked_granularity,
    choices,
    judge,
    resolve_gold,
)
from tools.geo import destination_point, haversine_km
from tools.places import PlaceIndex

LEVEL1 = SHARED_DATA / "geobrowse" / "level1.jsonl"


@pytest.fixture(scope="module")
def places(gazetteer):
    return PlaceIndex(gazetteer)


# answer, prompt (where it matters), granularity, country, {field: expected}, (lat, lon), tolerance km
HAND_TABLE = [
    ("Japan", None, "country", "JP", {"name": "Japan"}, (36.0, 138.5), 400),
    ("Changchun", None, "city", "CN", {"city": "Changchun", "region": "Jilin Sheng"}, (43.88, 125.32), 25),
    (
        "Beijing",
        "Please determine which city the photo was taken in.",
        "city",
        "CN",
        {"city": "Beijing"},
        (39.9, 116.4),
        25,
    ),
    ("Guangxi, China", None, "region", "CN", {"region": "Guangxi Zhuangzu Zizhiqu"}, (23.8, 108.8), 250),
    (
        "Oregon, USA",
        "Identify which U.S. city the photo was taken in.",
        "region",
        "US",
        {"region": "Oregon"},
        (44.0, -121.0),
        300,
    ),
    (
        "Xiangjiang Songjiazhou Hydropower Station Dam in Yongzhou City, Hunan Province",
        "Identify the dam in which Chinese city through the image.",
        "site",
        "CN",
        {"city": "Yongzhou", "region": "Hunan"},
        (26.42, 111.61),
        30,
    ),
    ("Israel", None, "country", "IL", {"name": "Israel"}, (31.8, 35.0), 150),
    ("Tunisia", None, "country", "TN", {"name": "Tunisia"}, (35.0, 9.8), 300),
    ("Spain", None, "country", "ES", {"name": "Spain"}, (40.4, -3.7), 300),
    ("Belgium", None, "country", "BE", {"name": "Belgium"}, (50.8, 4.4), 100),
    ("Austria", None, "country", "AT", {"name": "Austria"}, (47.8, 14.5), 200),
    ("Shandong", None, "region", "CN", {"region": "Shandong Sheng"}, (36.4, 118.4), 250),
    ("South Australia", None, "region", "AU", {"region": "South Australia"}, (-34.9, 138.6), 400),
    ("Malaysia", None, "country", "MY", {"name": "Malaysia"}, (3.1, 101.7), 500),
    ("Cambodia", None, "country", "KH", {"name": "Cambodia"}, (12.3, 104.9), 250),
    ("Philippines", None, "country", "PH", {"name": "Philippines"}, (14.6, 121.0), 400),
    ("Taiwan, China", None, "country", "TW", {"name": "Taiwan"}, (23.7, 121.0), 150),
    ("southern Senegal", None, "region", "SN", {"name": "southern Senegal", "region": None}, (13.2, -15.5), 200),
    ("Panzhihua, Sichuan", None, "city", "CN", {"city": "Panzhihua", "region": "Sichuan"}, (26.58, 101.72), 20),
    ("Brittany, France", None, "region", "FR", {"region": "Brittany"}, (48.2, -2.9), 150),
    ("Peru", None, "country", "PE", {"name": "Peru"}, (-11.0, -76.0), 500),
    ("British Columbia, Canada", None, "region", "CA", {"region": "British Columbia"}, (49.5, -123.0), 400),
    ("Qingdao, Shandong", None, "city", "CN", {"city": "Qingdao", "region": "Shandong Sheng"}, (36.07, 120.38), 25),
    ("Colombia", None, "country", "CO", {"name": "Colombia"}, (4.6, -74.1), 400),
    ("Nanjing", None, "city", "CN", {"city": "Nanjing", "region": "Jiangsu Sheng"}, (32.06, 118.8), 25),
    ("Nantou County, Taiwan", None, "county", "TW", {"name": "Nantou County", "region": "Taiwan"}, (23.91, 120.68), 40),
    (
        "Fangchenggang City",
        "Based on the image, determine which city in Guangxi, China this is?",
        "city",
        "CN",
        {"city": "Fangchenggang", "region": "Guangxi Zhuangzu Zizhiqu"},
        (21.7, 108.35),
        30,
    ),
    ("California", None, "region", "US", {"region": "California"}, (36.5, -119.5), 400),
    ("Canary Islands, Spain", None, "region", "ES", {"region": "Canary Islands"}, (28.3, -15.8), 200),
    ("Senegal", None, "country", "SN", {"name": "Senegal"}, (14.5, -15.0), 300),
    # GeoNames writes Jammu and Kashmir's first-level region as "Kashmir" (IN.12; Ladakh is IN.41).
    ("Jammu and Kashmir", None, "region", "IN", {"region": "Kashmir", "region_code": "IN.12"}, (33.8, 75.0), 150),
    ("Thailand", None, "country", "TH", {"name": "Thailand"}, (14.0, 100.6), 400),
    ("Jiangxi Ganzhou", None, "city", "CN", {"city": "Ganzhou", "region": "Jiangxi Sheng"}, (25.83, 114.93), 25),
    ("Ecuador", None, "country", "EC", {"name": "Ecuador"}, (-1.5, -78.5), 300),
    (
        "Pingtang Station, Changsha Metro Line 3, Hunan",
        None,
        "site",
        "CN",
        {"name": "Pingtang Station", "city": "Changsha", "region": "Hunan"},
        (28.07, 112.90),
        8,
    ),
    (
        "Lüliang City",
        "Based on the image, determine where in Shanxi this was taken (photographed in August).",
        "city",
        "CN",
        {"city": "Lüliang", "region": "Shanxi Sheng"},
        (37.52, 111.14),
        30,
    ),
    ("Latvia", None, "country", "LV", {"name": "Latvia"}, (56.95, 24.1), 150),
    ("Saint Pierre and Miquelon", None, "country", "PM", {"name": "Saint Pierre and Miquelon"}, (46.8, -56.2), 40),
    ("Botswana", None, "country", "BW", {"name": "Botswana"}, (-22.5, 24.5), 500),
    ("Guizhou", None, "region", "CN", {"region": "Guizhou Sheng"}, (26.6, 106.7), 250),
    ("Sichuan", None, "region", "CN", {"region": "Sichuan"}, (30.6, 104.1), 350),
    ("Inner Mongolia", None, "region", "CN", {"region": "Inner Mongolia"}, (42.5, 112.0), 600),
    ("Indonesia", None, "country", "ID", {"name": "Indonesia"}, (-6.2, 106.8), 800),
    ("United States", None, "country", "US", {"name": "United States"}, (39.0, -95.0), 600),
    ("Dominican Republic", None, "country", "DO", {"name": "Dominican Republic"}, (18.7, -70.2), 150),
    ("Denmark", None, "country", "DK", {"name": "Denmark"}, (56.0, 10.0), 150),
    # Forms GeoBrowse uses at other levels.
    (
        "Anshun City, Guizhou Province",
        None,
        "city",
        "CN",
        {"city": "Anshun", "region": "Guizhou Sheng"},
        (26.25, 105.93),
        25,
    ),
    (
        "Long County, Baoji City, Shaanxi Province",
        None,
        "county",
        "CN",
        {"name": "Long County", "city": "Baoji", "region": "Shaanxi"},
        (34.89, 106.83),
        40,
    ),
    ("The border between Bolivia and Peru", None, "border", None, {"countries": ["BO", "PE"]}, (-15.8, -69.4), 450),
]


@pytest.mark.parametrize(
    "answer,prompt,granularity,country,fields,point,tol_km", HAND_TABLE, ids=[r[0][:40] for r in HAND_TABLE]
)
def test_resolve_gold_hand_table(places, answer, prompt, granularity, country, fields, point, tol_km):
    gold = resolve_gold(answer, prompt, places=places)
    assert gold.granularity == granularity, gold.note
    assert gold.country_code == country
    for key, expected in fields.items():
        assert getattr(gold, key) == expected, (key, gold)
    assert haversine_km(gold.lat, gold.lon, *point) <= tol_km, (gold.lat, gold.lon)
    assert gold.note and gold.radius_km and gold.radius_km > 0


def test_hand_table_covers_every_granularity():
    assert {row[2] for row in HAND_TABLE} >= {"country", "region", "county", "city", "site", "border"}
    assert len(HAND_TABLE) >= 30


@pytest.mark.parametrize(
    "answer,why",
    [
        ("Springfield", "ambiguous"),  # Missouri or Massachusetts: no reason to pick one
        ("Zzyzx Qwerty, China", "not in the gazetteer"),  # a container alone would be a guess
        ("Paris, Japan", "no reading"),  # the parts contradict each other
        ("The border between Spain and Japan", "border"),  # no shared border
        ("", "empty"),
    ],
)
def test_unresolvable_answers_say_why(places, answer, why):
    gold = resolve_gold(answer, places=places)
    assert gold.granularity == "unresolved"
    assert why in gold.note
    assert gold.lat is None


def test_containers_choose_among_same_named_places(places):
    # Changsha alone is the Hunan capital; with a Guangdong container nothing fits but the other one.
    assert resolve_gold("Changsha, Hunan", places=places).region == "Hunan"
    in_guangdong = resolve_gold("Changsha, Guangdong", places=places)
    assert in_guangdong.region == "Guangdong" and in_guangdong.granularity == "city"
    # Nantou alone may be a Taiwanese or a Guangdong town: the container settles it.
    assert resolve_gold("Nantou", places=places).granularity == "unresolved"
    assert resolve_gold("Nantou, Taiwan", places=places).country_code == "TW"


def test_taiwan_note_is_explicit(places):
    gold = resolve_gold("Taiwan, China", places=places)
    assert gold.countries == ["TW"]
    assert "codes Taiwan as TW" in gold.note


def test_site_and_county_fall_back_to_their_container(places):
    site = resolve_gold("Qwertyuiop Station, Changsha", places=places)
    assert site.granularity == "site" and site.city == "Changsha"
    assert "no place of its own" in site.note
    county = resolve_gold("Qwertyuiop County, Baoji City, Shaanxi Province", places=places)
    assert county.granularity == "city" and county.city == "Baoji" and "container" in county.note
    # a county resolves to its seat only inside its container: Long in Thailand does not count
    assert resolve_gold("Long County, Baoji City, Shaanxi Province", places=places).country_code == "CN"


def test_qualified_region_names_are_not_split(places):
    # "South Australia", "North Carolina" are names, not "the south of Australia".
    assert resolve_gold("North Carolina", places=places).region == "North Carolina"
    assert resolve_gold("Western Australia", places=places).region == "Western Australia"
    north = resolve_gold("northern Spain", places=places)
    assert north.granularity == "region" and north.bbox is not None and north.lat > 41.0


@pytest.mark.skipif(not LEVEL1.exists(), reason=f"GeoBrowse data not available at {LEVEL1}")
def test_every_real_gold_answer_resolves_and_the_table_is_from_the_data(places):
    rows = [json.loads(line) for line in LEVEL1.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == 49
    answers = {row["gold_image_answer"] for row in rows}
    table = {row[0] for row in HAND_TABLE}
    assert len(table & answers) >= 40
    for row in rows:
        gold = resolve_gold(row["gold_image_answer"], row["prompt"], places=places)
        assert gold.granularity != "unresolved", (row["gold_image_answer"], gold.note)


# ---------------------------------------------------------------------------- prompts


@pytest.mark.parametrize(
    "prompt,expected",
    [
        ("Which provincial capital city in China is this, based on the picture?", "city"),
        ("Identify which U.S. city the photo was taken in.", "city"),
        ("Based on the image, determine which state or province it was taken in?", "region"),
        ("Identify the dam in which Chinese city through the image.", "city"),
        ("Please determine which country, among a, b, c, or d, the image belongs to:   a. Spain   b. Chile", "country"),
        ("Based on the image, speculate which region of Australia this is.", "region"),
        ("Determine which country and region the image belongs to.", "region"),
        ("Based on the image, determine which subway station it was taken at.", "site"),
        ("Identify the region of India in the image.", "region"),
        ("Based on the image, determine which Southeast Asian country it is:   Philippines/Cambodia", "country"),
        ("Which county is this?", "county"),
        ("Based on the details in this photo, can you infer where this photo was taken in?", None),
        ("Based on the image, determine where in Shanxi this was taken (photographed in August).", None),
        ("", None),
    ],
)
def test_asked_granularity(prompt, expected):
    assert asked_granularity(prompt) == expected


@pytest.mark.parametrize(
    "prompt,expected",
    [
        (
            "Please determine which country, among a, b, c, or d, the image belongs to:   a. Spain   b. Chile   "
            "c. Israel   d. Australia",
            ["Spain", "Chile", "Israel", "Australia"],
        ),
        (
            "Based on the picture, determine which country it is: 1. Netherlands 2. Sweden 3. Belgium 4. Canada",
            ["Netherlands", "Sweden", "Belgium", "Canada"],
        ),
        (
            "Based on the image, determine which Southeast Asian country it is:   "
            "Philippines/Cambodia/Vietnam/Thailand",
            ["Philippines", "Cambodia", "Vietnam", "Thailand"],
        ),
        (
            "Based on the image, determine which region of Africa it is: Southern Kenya Western Kenya Northern Senegal "
            "Southern Senegal",
            ["Southern Kenya", "Western Kenya", "Northern Senegal", "Southern Senegal"],
        ),
        ("Which country is this: Spain, Chile or Israel?", ["Spain", "Chile", "Israel"]),
        (
            "Based on the picture, identify which city this is. Hint: The train might be from the Dacheng Railway, "
            "Jintai Railway, or the new Chengkun Railway line.",
            [],
        ),
        ("Determine which country it is based on the image.", []),
    ],
)
def test_choices(prompt, expected):
    assert choices(prompt) == expected


# ---------------------------------------------------------------------------- judging


@pytest.fixture(scope="module")
def gold(places):
    cache: dict[str, GoldPlace] = {}

    def get(answer: str) -> GoldPlace:
        if answer not in cache:
            cache[answer] = resolve_gold(answer, places=places)
        return cache[answer]

    return get


def at(lat, lon, **extra):
    return {"lat": lat, "lon": lon, "confidence": 0.5, "radius_km": 10.0, **extra}


def test_judge_country(gazetteer, gold):
    assert judge(at(35.68, 139.69), gold("Japan"), gazetteer=gazetteer).correct is True  # Tokyo, by reverse geocoding
    wrong = judge(at(37.56, 126.98), gold("Japan"), gazetteer=gazetteer)  # Seoul
    assert wrong.correct is False and "KR" in wrong.reason
    code_only = {"lat": None, "lon": None, "country_code": "JP"}
    assert judge(code_only, gold("Japan"), gazetteer=gazetteer).correct is True


def test_judge_right_country_wrong_city(gazetteer, gold):
    harbin = judge(at(45.75, 126.65, country_code="CN"), gold("Changchun"), gazetteer=gazetteer)
    assert harbin.correct is False and harbin.level == "city"
    assert judge(at(45.75, 126.65), gold("Changchun"), gazetteer=gazetteer, asked="country").correct is True


def test_judge_region_by_reverse_geocoding(gazetteer, gold):
    guilin = judge(at(25.27, 110.29, region="Guangxi"), gold("Guangxi, China"), gazetteer=gazetteer)
    assert guilin.correct is True and guilin.level == "region"
    # Guangzhou is next door, in Guangdong; a region string saying Guangxi changes nothing
    guangzhou = judge(at(23.13, 113.26, region="Guangxi"), gold("Guangxi, China"), gazetteer=gazetteer)
    assert guangzhou.correct is False and "Guangdong" in guangzhou.reason
    # asked "which U.S. city", gold a state: judged as the state
    portland = judge(at(45.52, -122.68), gold("Oregon, USA"), gazetteer=gazetteer, asked="city")
    assert portland.correct is True and portland.level == "region"
    seattle = judge(at(47.61, -122.33), gold("Oregon, USA"), gazetteer=gazetteer, asked="city")
    assert seattle.correct is False


def test_judge_city_radius_edge(gazetteer, gold):
    changchun = gold("Changchun")
    limit = changchun.radius_km + 25.0
    inside = destination_point(changchun.lat, changchun.lon, 0.0, limit - 3.0)
    outside = destination_point(changchun.lat, changchun.lon, 0.0, limit + 3.0)
    assert judge(at(*inside), changchun, gazetteer=gazetteer).correct is True
    far = judge(at(*outside), changchun, gazetteer=gazetteer)
    assert far.correct is False and far.distance_km == pytest.approx(limit + 3.0, abs=0.5)
    # the predicted city name is an answer too
    assert judge(at(*outside, city="Changchun", country_code="CN"), changchun, gazetteer=gazetteer).correct is True


def test_judge_site_and_asked_city(gazetteer, gold):
    station = gold("Pingtang Station, Changsha Metro Line 3, Hunan")
    downtown = at(28.20, 112.97)  # central Changsha, ~14 km from Pingtang
    assert judge(downtown, station, gazetteer=gazetteer).correct is False
    as_city = judge(downtown, station, gazetteer=gazetteer, asked="city")
    assert as_city.correct is True and as_city.level == "city"
    assert judge(at(28.07, 112.90), station, gazetteer=gazetteer).correct is True
    # a county answer asked as "which city" is judged by the city the answer names
    long_county = gold("Long County, Baoji City, Shaanxi Province")
    baoji = at(34.36, 107.24)
    assert judge(baoji, long_county, gazetteer=gazetteer).correct is False  # ~70 km from Long County's seat
    assert judge(baoji, long_county, gazetteer=gazetteer, asked="city").correct is True


def test_judge_no_answer_and_unresolved(gazetteer, gold):
    for empty in (None, {}, {"lat": None, "lon": None, "confidence": 0.0}):
        verdict = judge(empty, gold("Changchun"), gazetteer=gazetteer)
        assert verdict.correct is False and verdict.reason == "no answer"
    unresolved = judge(at(37.2, -93.3), gold("Springfield"), gazetteer=gazetteer)
    assert unresolved.correct is None and unresolved.level == "unresolved"
    seam = judge(at(37.2, -93.3), gold("Springfield"), gazetteer=gazetteer, fallback=lambda p, g: None)
    assert seam.correct is None


def test_judge_border(gazetteer, gold):
    border = gold("The border between Bolivia and Peru")
    assert border.sides == ["BO", "PE"]
    assert judge(at(-16.17, -69.09), border, gazetteer=gazetteer).correct is True  # Copacabana, Bolivia
    assert judge(at(-16.0, -69.6), border, gazetteer=gazetteer).correct is True  # Peruvian shore of Titicaca
    assert judge(at(-17.78, -63.18), border, gazetteer=gazetteer).correct is False  # Santa Cruz: far from Peru
    arica = judge(at(-18.48, -70.31), border, gazetteer=gazetteer)  # Chile, near Peru but on neither side
    assert arica.correct is False and "CL" in arica.reason
    lima = at(-12.05, -77.04)
    assert judge(lima, border, gazetteer=gazetteer).correct is False
    assert judge(lima, border, gazetteer=gazetteer, asked="country").correct is True
    assert BORDER_KM == 100.0


def test_judge_taiwan(gazetteer, gold):
    taiwan = gold("Taiwan, China")
    assert judge(at(25.03, 121.56, country_code="TW"), taiwan, gazetteer=gazetteer).correct is True
    assert judge(at(24.15, 120.67), taiwan, gazetteer=gazetteer).correct is True  # Taichung, no code given
    assert judge(at(26.07, 119.30, country_code="CN"), taiwan, gazetteer=gazetteer).correct is False  # Fuzhou


def test_judge_directional_region(gazetteer, gold):
    south = gold("southern Senegal")
    assert judge(at(12.58, -16.27), south, gazetteer=gazetteer).correct is True  # Ziguinchor
    assert judge(at(16.03, -16.50), south, gazetteer=gazetteer).correct is False  # Saint-Louis
    assert judge(at(12.58, -16.27), south, gazetteer=gazetteer, asked="country").level == "country"
