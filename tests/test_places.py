"""Finding places in text: normalisation, the multilingual index, readings, street words, hints."""

import pytest

from tools.hints import Hint
from tools.normalize import ngrams, normalize, segments
from tools.place_clues import place_evidence
from tools.places import PlaceIndex
from tools.streets import find_street_words
from tools.text import TextSpan


@pytest.fixture(scope="module")
def index(gazetteer):
    return PlaceIndex(gazetteer)


def names(index, text):
    return {hit.key: [index.place(i) for i in hit.places] for hit in index.find(text)}


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("MÜNCHEN Hbf.", "munchen hbf"),
        ("São Paulo – Brasil", "sao paulo brasil"),
        ("Łódź", "lodz"),
        ("Straße", "strasse"),
        ("ガス", "ガス"),
        ("東京都", "東京都"),
        ("  Rue   de  la  Paix! ", "rue de la paix"),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_segments_and_ngrams_mix_scripts():
    assert segments(normalize("長春市 Changchun 人民大街")) == [
        ("長春市", True),
        ("changchun", False),
        ("人民大街", True),
    ]
    keys = [k for k, _, _ in ngrams("Rua Augusta Lisboa")]
    assert "rua augusta lisboa" in keys and "lisboa" in keys
    assert "长春" in [k for k, _, _ in ngrams("长春市")]


@pytest.mark.parametrize(
    "text,key,country,place",
    [
        ("Willkommen in MÜNCHEN", "munchen", "DE", "Munich"),
        ("ЛИССАБОН", "лиссабон", "PT", "Lisbon"),
        ("長春市人民大街", "長春市", "CN", "Changchun"),
        ("东京", "东京", "JP", "Tokyo"),
        ("서울특별시", "서울특별시", "KR", "Seoul"),
        ("ΑΘΗΝΑ", "αθηνα", "GR", "Athens"),
        ("Deutschland", "deutschland", "DE", "Germany"),
        ("欢迎来到贵州省", "贵州省", "CN", "Guizhou Sheng"),
    ],
)
def test_names_in_many_scripts(index, text, key, country, place):
    found = names(index, text)
    assert key in found
    assert any(p.country_code == country and p.name == place for p in found[key])


def test_longest_match_wins(index):
    found = names(index, "SAN FRANCISCO")
    assert "san francisco" in found and "francisco" not in found and "san" not in found


def test_codes_digits_and_short_words_are_not_places(index):
    assert names(index, "2024 CGQ") == {}
    assert place_evidence([span("LIS 2024 BAR")], index) == []
    assert [e.details["key"] for e in place_evidence([span("ULM")], index)] == ["ulm"]  # a city of 120 000


def span(text, confidence=0.95, **kw):
    return TextSpan(text=text, image="img:0", bbox=[10, 20, 110, 60], confidence=confidence, evidence="ev:3", **kw)


def test_place_evidence_carries_readings_and_provenance(index):
    (item,) = place_evidence([span("LISBOA")], index)
    assert item.kind == "place_name" and item.countries == {"PT": 1.0}
    assert item.image == "img:0" and item.bbox == [10, 20, 110, 60] and item.details["from"] == ["ev:3"]
    assert item.details["readings"][0]["name"] == "Lisbon"
    assert abs(item.geo.lat - 38.72) < 0.1


def test_big_city_outweighs_namesakes(index):
    (item,) = place_evidence([span("Paris")], index)
    assert max(item.countries, key=item.countries.get) == "FR"
    assert item.countries["FR"] > 0.8


def test_common_words_do_not_dominate(index):
    by_key = {
        e.details["key"]: e for e in place_evidence([span(t) for t in ("Hotel Central", "Lisboa", "EXIT")], index)
    }
    assert by_key["lisboa"].confidence > 0.6
    assert by_key["central"].confidence < 0.25
    assert "exit" not in by_key or by_key["exit"].confidence < 0.25


def test_street_bound_names_are_discounted(index):
    bound = {e.details["key"]: e for e in place_evidence([span("Rua Augusta")], index)}["augusta"]
    alone = {e.details["key"]: e for e in place_evidence([span("Augusta")], index)}["augusta"]
    assert bound.confidence < 0.5 * alone.confidence and bound.details["discount"] == "part of a street name"
    road = {e.details["key"]: e for e in place_evidence([span("中山路")], index)}
    assert all(e.confidence < 0.3 for e in road.values())


def test_edge_text_and_low_ocr_confidence_weaken_a_mention(index):
    (clear,) = place_evidence([span("MÜNCHEN")], index)
    (edge,) = place_evidence([span("MÜNCHEN", edge=True)], index)
    (blurry,) = place_evidence([span("MÜNCHEN", confidence=0.4)], index)
    assert edge.confidence < clear.confidence and blurry.confidence < clear.confidence


def test_repeated_mention_counts_once(index):
    assert len(place_evidence([span("LISBOA"), span("Lisboa", confidence=0.5)], index)) == 1


@pytest.mark.parametrize(
    "text,word,top",
    [
        ("Rua Augusta", "rua", "PT"),
        ("Via Roma 12", "via", "IT"),
        ("Hauptstraße 5", "strasse", "DE"),
        ("Drottninggatan", "gatan", "SE"),
        ("улица Ленина", "улица", "RU"),
        ("中山路", "路", "CN"),
        ("Jalan Sudirman", "jalan", "ID"),
        ("Main Street", "street", "US"),
    ],
)
def test_street_words(text, word, top):
    (match,) = find_street_words(text)
    assert match.word == word and max(match.countries, key=match.countries.get) == top


def test_lone_street_word_is_not_a_street():
    assert find_street_words("PLACE") == [] and find_street_words("VIA") == []


def test_text_hint_becomes_region_evidence(index):
    (item,) = Hint(text="somewhere in Bavaria").to_evidence(index)
    assert item.kind == "hint" and item.countries == {"DE": 1.0}
    assert item.details["place_kind"] == "region" and item.details["region"] == "Bavaria"


# -- names as signs write them ----------------------------------------------------------


def top_reading(index, text):
    (item,) = [e for e in place_evidence([span(text)], index) if e.kind == "place_name"]
    return item, item.details["readings"][0]


@pytest.mark.parametrize(
    "text,place,country",
    [
        ("Краснодор", "Krasnodar", "RU"),  # a vowel misspelt; also a minority name of Krasnoyarsk
        ("Белая Царква", "Bila Tserkva", "UA"),  # Belarusian form of a Ukrainian city
        ("Чаркасы", "Cherkasy", "UA"),
        ("Новокузнитск", "Novokuznetsk", "RU"),  # one letter off, no such name anywhere
        ("Constanța", "Constanta", "RO"),  # comma below
        ("Constanţa", "Constanta", "RO"),  # cedilla
        ("CONSTANTA", "Constanta", "RO"),  # no diacritics
    ],
)
def test_variant_spellings_find_the_place(index, text, place, country):
    item, reading = top_reading(index, text)
    assert reading["name"] == place and reading["country_code"] == country
    assert item.confidence > 0.4


def test_near_spellings_weigh_less_than_the_name_itself(index):
    exact, _ = top_reading(index, "Новокузнецк")
    fuzzy, _ = top_reading(index, "Новокузнитск")
    assert fuzzy.confidence < exact.confidence
    assert fuzzy.details["readings"][0]["match"] == "fuzzy:1" and "match" not in exact.details["readings"][0]
    for text in ("МАГАЗИН ПРОДУКТЫ", "BAKERY PHARMACY"):  # ordinary words are not misspelt places
        found = place_evidence([span(text)], index)
        assert all("match" not in r for e in found for r in e.details["readings"])
        assert all(e.confidence < 0.25 for e in found)


@pytest.mark.parametrize(
    "text,name,lat,lon",
    [
        ("遵义市红花岗区老城百货", "Zunyi", 27.7, 106.9),
        ("习水县人民医院", "Xishui County", 28.3, 106.2),
        ("西秀区", "Xixiu District", 26.2, 105.9),
        ("广安市汽车站", "Guang’an", 30.5, 106.6),
    ],
)
def test_chinese_administrative_names_at_every_level(index, text, name, lat, lon):
    from tools.geo import haversine_km

    found = place_evidence([span(text)], index)
    best = max(found, key=lambda e: e.confidence)
    reading = best.details["readings"][0]
    assert reading["country_code"] == "CN" and best.confidence > 0.5
    assert haversine_km(reading["lat"], reading["lon"], lat, lon) < 25, reading


def test_chinese_common_words_are_not_villages(index):
    (opened,) = place_evidence([span("已开通微信支付")], index)  # 开通 "opened" is also the town Kaitong
    assert opened.details["key"] == "开通" and opened.confidence < 0.15
    straddling = place_evidence([span("平安顺利")], index)  # 平安 / 顺利: 安顺 straddles two words
    assert all(e.details["key"] != "安顺" or e.confidence < 0.25 for e in straddling)


def test_units_named_together_resolve_each_other(index):
    found = {e.details["key"]: e for e in place_evidence([span("福州市 鼓楼区")], index)}
    gulou = found["鼓楼区"].details["readings"][0]
    assert gulou["region"].startswith("Fujian")  # the Gulou District of Fuzhou, not of Nanjing or Xuzhou


@pytest.mark.parametrize(
    "text,region", [("黔A·12345", "Guizhou"), ("渝B 8K123", "Chongqing"), ("沪C12345", "Shanghai")]
)
def test_plate_province_prefixes_are_clues(index, text, region):
    (plate,) = [e for e in place_evidence([span(text)], index) if "plate" in e.details]
    assert plate.countries == {"CN": 1.0} and plate.details["readings"][0]["name"].startswith(region)
    assert all("plate" not in e.details for e in place_evidence([span("京A ABCDE")], index))


def test_japanese_municipalities_through_the_gazetteer(index):
    for text, name in (("川越市役所", "Kawagoe"), ("渋谷区", "Shibuya"), ("横浜市", "Yokohama")):
        assert any(r["name"] == name for e in place_evidence([span(text)], index) for r in e.details["readings"])
