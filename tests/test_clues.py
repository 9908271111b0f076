"""Text clues -> evidence with country priors (tools.clues)."""

from __future__ import annotations

import threading
import time

import pytest
from pydantic import ValidationError

from tools.clues import EDGE_FACTOR, extract_clues, identify
from tools.clues.data import country_codes, once
from tools.evidence import EVIDENCE_KINDS, Evidence
from tools.text import TextSpan


def clues(*texts: str, **span_fields) -> list[Evidence]:
    return extract_clues([TextSpan(text=t, **span_fields) for t in texts])


def of_kind(evidence: list[Evidence], kind: str) -> list[Evidence]:
    return [e for e in evidence if e.kind == kind]


def top(evidence: Evidence) -> set[str]:
    """Countries with the highest weight in a prior."""
    assert evidence.countries
    best = max(evidence.countries.values())
    return {c for c, w in evidence.countries.items() if w == best}


def one(evidence: list[Evidence], kind: str) -> Evidence:
    found = of_kind(evidence, kind)
    assert len(found) == 1, [e.value for e in evidence]
    return found[0]


# ------------------------------------------------------------------------------ phones
@pytest.mark.parametrize(
    ("text", "country", "area"),
    [
        ("+33 1 42 68 53 00", "FR", "Paris"),
        ("Call us: +44 20 7946 0958", "GB", "London"),
        ("0049 30 1234567", "DE", "Berlin"),
        ("+7 495 123-45-67", "RU", "Moscow"),
        ("+81 3-1234-5678", "JP", "Tokyo"),
    ],
)
def test_international_numbers_name_their_country(text: str, country: str, area: str) -> None:
    phone = one(clues(text), "phone")
    assert top(phone) == {country}
    assert phone.details["format"] == "international"
    assert phone.details["number"].startswith("+")
    assert area in phone.details["area"]
    assert phone.confidence >= 0.8


def test_a_shared_calling_code_resolves_to_the_right_region() -> None:
    phone = one(clues("Tel +1 416 597 4000"), "phone")  # Toronto, not the US
    assert top(phone) == {"CA"}


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("Tél. 01 42 68 53 00", "FR"),  # French grouping in pairs
        ("Telefon 089 12345678", "DE"),  # Munich
        ("(212) 555-0134", "US"),  # North American (area code)
        ("Teléfono 912 34 56 78", "ES"),  # Spanish grouping
        ("電話 03-1234-5678", "JP"),
    ],
)
def test_national_numbers_resolve_by_their_written_format(text: str, country: str) -> None:
    phone = one(clues(text), "phone")
    assert country in top(phone)
    assert sum(1 for w in phone.countries.values() if w == 1.0) <= 3  # others only at reduced weight
    assert phone.details["format"] == "national"


@pytest.mark.parametrize(
    ("sign", "number", "country"),
    [
        # Lisbon shops write their numbers 3-3-3, a grouping Portugal's metadata lists beside "21 342 0815"
        (
            "Pastelaria Central · pastéis de nata, café e bolos · aberto todos os dias · Tel. 213 420 815",
            "213 420 815",
            "PT",
        ),
        (
            "Farmácia do Porto · telefone 225 432 100 · estamos abertos todos os dias da semana",
            "225 432 100",
            "PT",
        ),
        (
            "Panadería La Espiga · pan recién hecho todos los días de la semana · Teléfono 915 23 45 67",
            "915 23 45 67",
            "ES",
        ),
        (
            "Boulangerie du Marché · Tél. 04 91 55 11 11 · ouvert du mardi au dimanche, fermé le lundi",
            "04 91 55 11 11",
            "FR",
        ),
        (
            "Trattoria da Mario · cucina romana della nonna, pasta fatta in casa · prenotazioni tel. 06 4782 1234",
            "06 4782 1234",
            "IT",
        ),
        (
            "Ferramenta Rossi · Telefono 02 8901 2345 · siamo chiusi il lunedì e la domenica pomeriggio",
            "02 8901 2345",
            "IT",
        ),
    ],
)
def test_national_numbers_on_signs_give_their_country(sign: str, number: str, country: str) -> None:
    found = clues(*sign.split(" · "))  # one span per line, as OCR reads a sign
    phone = one(found, "phone")
    assert phone.details["match"] == number
    assert country in top(phone)  # one of the regions whose own metadata writes it this way
    assert sum(1 for w in phone.countries.values() if w == 1.0) <= 4
    # the rest of the sign (its language) contradicts the number's other readings
    others = [e for e in found if e.kind != "phone" and e.countries]
    assert others, [e.value for e in found]
    agreeing = {c for c in top(phone) if all((e.countries or {}).get(c, 0.0) > 0 for e in others)}
    assert country in agreeing and len(agreeing) <= 2, agreeing


def test_a_lisbon_number_is_not_labelled_only_poland_and_czechia() -> None:
    phone = one(clues("Tel. 213 420 815"), "phone")
    assert phone.countries["PT"] == 1.0
    assert "Portugal" in phone.value


def test_separators_prefer_the_region_that_writes_them() -> None:
    hyphens = one(clues("電話 06-6982-1234"), "phone")
    spaces = one(clues("Tel. 06 4782 1234"), "phone")
    assert top(hyphens) == {"JP"}
    assert "IT" in top(spaces) and spaces.countries["JP"] < 1.0


def test_a_number_valid_in_many_countries_is_a_weak_clue() -> None:
    ambiguous = one(clues("Tel. 213 420 815"), "phone")  # 9 digits: valid in ~28 countries, PT among them
    specific = one(clues("Tel. 089 12345678"), "phone")
    assert ambiguous.confidence < 0.5 * specific.confidence


def test_national_format_without_a_cue_counts_less_than_with_one() -> None:
    bare = one(clues("089 12345678"), "phone")
    cued = one(clues("Tel. 089 12345678"), "phone")
    assert top(bare) == top(cued) == {"DE"}
    assert bare.confidence < cued.confidence


def test_emergency_numbers_are_weak_unless_distinctive() -> None:
    shared = one(clues("Notruf 112"), "phone")
    assert len(shared.countries) > 50 and {"DE", "FR", "GB"} <= set(shared.countries)
    assert shared.confidence < 0.15
    distinctive = one(clues("Dial 108 for an ambulance"), "phone")
    assert set(distinctive.countries) == {"IN"}
    assert distinctive.confidence > 2 * shared.confidence
    au = one(clues("In an emergency call 000"), "phone")
    assert "AU" in top(au) and "US" not in au.countries


def test_short_numbers_need_an_emergency_or_phone_word() -> None:
    assert of_kind(clues("Bus 110", "Room 112", "Gate 17"), "phone") == []


@pytest.mark.parametrize(
    "text",
    [
        "Since 1998",
        "1998-2024",
        "Open 2019 - 2023",
        "12.05.2023",
        "2023-05-12",
        "Price 1.299,00 €",
        "€ 12 345 678",
        "Population 1,234,567",
        "Room 1234",
        "12345",
        "Order No. 123456789",
        "Weight 250 g",
        "Tel 2023",
        "ISBN 978-3-16-148410-0",
    ],
)
def test_years_dates_prices_and_plain_numbers_are_not_phones(text: str) -> None:
    assert of_kind(clues(text), "phone") == []


def test_ambiguous_toll_free_numbers_are_not_claimed() -> None:
    # "0800 123 4567" is written that way in the UK, Brazil, Turkey, New Zealand, ...
    assert of_kind(clues("Hotline 0800 123 4567"), "phone") == []


# ------------------------------------------------------------------------------ URLs and e-mails
@pytest.mark.parametrize(
    ("text", "kind", "country"),
    [
        ("www.boulangerie-dupont.fr", "url", "FR"),
        ("https://www.bahn.de/fahrplan", "url", "DE"),
        ("info@hotel-sacher.at", "email", "AT"),
        ("Visit bbc.co.uk", "url", "GB"),
        ("SHOP.EXAMPLE.COM.BR", "url", "BR"),
        ("пример.рф", "url", "RU"),
    ],
)
def test_country_code_tlds_point_to_their_country(text: str, kind: str, country: str) -> None:
    found = one(clues(text), kind)
    assert top(found) == {country}
    assert found.confidence >= 0.5
    assert found.provenance


def test_vanity_tlds_are_weak_and_generic_tlds_say_nothing() -> None:
    vanity = one(clues("getstarted.io"), "url")
    assert vanity.details["vanity"] is True and vanity.confidence < 0.1
    assert of_kind(clues("www.example.com", "contact@example.org", "shop.store"), "url") == []
    assert of_kind(clues("contact@example.org"), "email") == []


def test_prose_and_file_names_are_not_domains() -> None:
    assert of_kind(clues("see Fig.It below", "run setup.py", "Co.Ltd", "St.Petersburg"), "url") == []


# ------------------------------------------------------------------------------ postcodes
@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("London SW1A 1AA", "GB"),
        ("Ottawa ON K1A 0B1", "CA"),
        ("New York, NY 10001", "US"),
        ("Beverly Hills, CA 90210-1234", "US"),
        ("〒100-0001 東京都千代田区", "JP"),
        ("Av. Paulista, 1578 - CEP 01310-200", "BR"),
        ("PLZ 10115 Berlin", "DE"),
        ("D-10115 Berlin", "DE"),
        ("CH-8001 Zürich", "CH"),
        ("1012 AB Amsterdam", "NL"),
        ("Rua Augusta 100, 1100-053 Lisboa", "PT"),
        ("00-950 Warszawa", "PL"),
        ("PIN 110001", "IN"),
        ("邮编 100000", "CN"),
        ("우편번호 04524", "KR"),
        ("Sydney NSW 2000", "AU"),
        ("CAP 00184 Roma", "IT"),
        ("75008 Paris Cedex 08", "FR"),
        ("Почтовый индекс 101000", "RU"),
        ("Singapore 018956", "SG"),
        ("C1425ABC Buenos Aires", "AR"),
    ],
)
def test_postcodes_with_context_or_distinctive_format(text: str, country: str) -> None:
    postcode = one(clues(text), "postcode")
    assert country in top(postcode)
    assert postcode.confidence >= 0.3


def test_spanish_cp_keyword_narrows_to_spanish_speaking_countries() -> None:
    postcode = one(clues("C.P. 28013 Madrid"), "postcode")
    assert "ES" in postcode.countries and "MX" in postcode.countries
    assert "DE" not in postcode.countries


def test_five_digits_before_a_town_are_a_weak_clue() -> None:
    postcode = one(clues("Hauptstraße 5, 10115 Berlin"), "postcode")
    assert {"DE", "FR", "IT", "ES"} <= set(postcode.countries)
    assert "US" not in postcode.countries  # Americans write the ZIP after the state
    assert postcode.confidence < 0.25
    greek = one(clues("106 82 Αθήνα"), "postcode")
    assert set(greek.countries) == {"GR"}  # a Greek town name settles "123 45"


@pytest.mark.parametrize(
    "text",
    ["12345", "Room 12345", "Beverly Hills 90210", "Since 1998", "12345 Main St", "2024 AD Events", "Total 45000"],
)
def test_generic_digits_without_context_are_not_postcodes(text: str) -> None:
    assert of_kind(clues(text), "postcode") == []


def test_postcodes_are_validated_against_the_country_format() -> None:
    assert of_kind(clues("PLZ 1234567"), "postcode") == []  # no PLZ country has 7 digits
    assert "ES" in one(clues("28013 Madrid"), "postcode").countries
    assert "ES" not in one(clues("99999 Madrid"), "postcode").countries  # Spanish codes start 01-52
    assert "TR" not in one(clues("99999 Madrid"), "postcode").countries  # Turkish ones 01-81


# ------------------------------------------------------------------------------ scripts
@pytest.mark.parametrize(
    ("texts", "expected_top", "also", "not_in"),
    [
        (["Выход", "Касса"], {"RU"}, {"UA", "BY", "BG", "RS", "KZ"}, {"FR", "US", "JP"}),
        (["Έξοδος κινδύνου"], {"GR"}, {"CY"}, {"RU", "IT"}),
        (["北京站 出口"], {"CN"}, {"TW", "SG"}, {"RU"}),
        (["臺北車站 出口"], {"TW"}, {"HK", "MO"}, {"RU"}),
        (["東京駅", "丸の内 北口"], {"JP"}, set(), {"CN", "TW"}),
        (["서울역 출구"], {"KR"}, {"KP"}, {"JP", "TW"}),
        (["محطة القطار"], set(), {"EG", "SA", "MA"}, {"FR", "GR"}),
        (["תחנת רכבת"], {"IL"}, set(), {"EG", "US"}),
        (["תחנת רכבת", "محطة القطار"], {"IL"}, set(), set()),
        (["สถานีรถไฟ"], {"TH"}, set(), {"LA", "KH"}),
        (["रेलवे स्टेशन"], {"IN"}, {"NP"}, {"TH"}),
        (["თბილისი"], {"GE"}, set(), {"AM", "RU"}),
        (["Երևան"], {"AM"}, set(), {"RU"}),
        (["ኢትዮጵያ"], set(), {"ET", "ER"}, {"EG"}),
        (["ຫຼວງພະບາງ"], {"LA"}, set(), {"TH"}),
        (["ភ្នំពេញ"], {"KH"}, set(), {"TH"}),
        (["කොළඹ"], {"LK"}, set(), {"IN"}),
        (["বাংলাদেশ"], {"BD"}, {"IN"}, {"LK"}),
    ],
)
def test_each_script_maps_to_its_countries(
    texts: list[str], expected_top: set[str], also: set[str], not_in: set[str]
) -> None:
    script = one(clues(*texts), "script")
    assert expected_top <= top(script)
    assert also <= set(script.countries)
    assert not (not_in & set(script.countries))
    assert script.confidence > 0.3


def test_latin_text_gives_no_script_clue() -> None:
    assert of_kind(clues("Hello world", "Bahnhofstraße", "Ça va"), "script") == []


def test_a_cyrillic_lookalike_inside_a_latin_word_is_latin() -> None:
    assert of_kind(clues("HОTEL PАRK"), "script") == []  # Cyrillic О and А, as OCR misreads


def test_one_script_clue_per_image_listing_its_spans() -> None:
    spans = [
        TextSpan(text="Выход", image="img:0", evidence="ev:1"),
        TextSpan(text="Касса", image="img:0", evidence="ev:2"),
        TextSpan(text="Exit", image="img:0", evidence="ev:3"),
        TextSpan(text="Вход", image="img:1", evidence="ev:4"),
    ]
    scripts = of_kind(extract_clues(spans), "script")
    assert [s.image for s in scripts] == ["img:0", "img:1"]
    assert scripts[0].details["from"] == ["ev:1", "ev:2"]  # the Latin span did not contribute
    assert scripts[0].details["scripts"]["Cyrillic"] == 10
    assert scripts[1].details["from"] == ["ev:4"]


# ------------------------------------------------------------------------------ languages
@pytest.mark.parametrize(
    ("text", "lang", "countries"),
    [
        ("Bitte warten Sie hier, bis Sie aufgerufen werden", "de", {"DE"}),
        ("Por favor aguarde aqui até ser chamado pelo atendente", "pt", {"BR", "PT"}),
        ("Por favor espere aquí hasta que lo llamen", "es", {"MX", "ES", "AR"}),
        ("Si prega di attendere qui il proprio turno", "it", {"IT"}),
        ("Proszę czekać tutaj na swoją kolej", "pl", {"PL"}),
        ("Lütfen sıranız gelene kadar burada bekleyiniz", "tr", {"TR"}),
        ("Vänligen vänta här tills du blir uppropad", "sv", {"SE"}),
        ("Kérjük, várjon itt, amíg szólítják", "hu", {"HU"}),
        ("Vui lòng chờ ở đây cho đến khi được gọi tên", "vi", {"VN"}),
        ("Пожалуйста, подождите здесь, пока вас не вызовут", "ru", {"RU"}),
    ],
)
def test_language_of_longer_text_gives_its_countries(text: str, lang: str, countries: set[str]) -> None:
    language = one(clues(text), "language")
    assert language.details["languages"] == {lang: 1.0}
    assert f"language {lang} " in language.value
    assert countries <= set(language.countries)
    assert top(language) & countries
    assert language.confidence > 0.3


def test_two_languages_together_point_to_where_both_are_spoken() -> None:
    language = one(clues("Sortie de secours par ici", "Nooduitgang hier aan de rechterkant"), "language")
    assert set(language.details["languages"]) == {"fr", "nl"}
    assert top(language) == {"BE"}


def test_english_alone_is_weak_and_rules_out_no_country() -> None:
    english = one(clues("Please wait here until you are called"), "language")
    assert {"US", "GB"} & top(english)
    assert set(english.countries) >= {"DE", "JP", "BR"}  # English is on signs everywhere
    german = one(clues("Bitte warten Sie hier, bis Sie aufgerufen werden"), "language")
    assert english.confidence < german.confidence


def test_short_strings_and_names_get_no_language() -> None:
    assert of_kind(clues("Starbucks", "Hotel Astoria", "OK", "Zara"), "language") == []
    # The model is fairly sure of this one word, but one word is a name more often than a sentence.
    assert of_kind(clues("Bahnhofstraße"), "language") == []


def test_cjk_language_agrees_with_the_script() -> None:
    evidence = clues("東京駅", "丸の内 北口")  # the kanji-only line is Japanese because of the kana beside it
    language, script = one(evidence, "language"), one(evidence, "script")
    assert language.details["languages"] == {"ja": 1.0}
    assert top(language) == top(script) == {"JP"}
    korean = clues("서울역 출구")
    assert one(korean, "language").details["languages"] == {"ko": 1.0}
    chinese = clues("北京站 出口 欢迎光临")
    assert one(chinese, "language").details["languages"] == {"zh": 1.0}
    assert top(one(chinese, "language")) == top(one(chinese, "script")) == {"CN"}


#: Short sign-like strings; the language model must stay usable on them (py3langid was
#: right on 86 % of a larger set of this kind when it was chosen).
SIGNS = {
    "en": ["Emergency exit", "Opening hours", "Keep off the grass"],
    "fr": ["Sortie de secours", "Boulangerie pâtisserie", "Fermé le dimanche"],
    "de": ["Rauchen verboten", "Bäckerei und Konditorei", "Bitte nicht stören"],
    "es": ["Salida de emergencia", "Prohibido fumar", "Horario de atención"],
    "it": ["Uscita di sicurezza", "Orario di apertura", "Chiuso la domenica"],
    "pt": ["Saída de emergência", "Horário de funcionamento", "Proibido fumar"],
    "nl": ["Verboden te roken", "Bakkerij en banketbakkerij", "Niet parkeren"],
    "pl": ["Wyjście ewakuacyjne", "Zakaz palenia", "Godziny otwarcia"],
    "ru": ["Курить запрещено", "Запасный выход", "Закрыто по воскресеньям"],
    "tr": ["Acil çıkış", "Sigara içilmez", "Çalışma saatleri"],
    "sv": ["Rökning förbjuden", "Parkering förbjuden", "Stängt på söndagar"],
    "hu": ["Tilos a dohányzás", "Pékség és cukrászda", "Vasárnap zárva"],
}


def test_language_answers_on_short_signs_are_mostly_given_and_precise() -> None:
    answered = right = 0
    total = sum(len(v) for v in SIGNS.values())
    for lang, texts in SIGNS.items():
        for text in texts:
            found = identify(text)
            if found is None:
                continue
            answered += 1
            probs, _how = found
            right += max(probs, key=probs.__getitem__) == lang
    assert answered >= 0.5 * total
    assert right >= 0.9 * answered


# ------------------------------------------------------------------------------ currencies
@pytest.mark.parametrize(
    ("text", "countries"),
    [
        ("29,99 zł", {"PL"}),
        ("129 Kč", {"CZ"}),
        ("R$ 19,90", {"BR"}),
        ("1200円", {"JP"}),
        ("₹ 250", {"IN"}),
        ("100 ₽", {"RU"}),
        ("50.000đ", {"VN"}),
        ("฿ 120", {"TH"}),
        ("CHF 8.50", {"CH"}),
        ("¥1,200", {"JP", "CN"}),
        ("Preis 12,50 €", {"DE", "FR", "IT"}),
    ],
)
def test_currency_signs_point_to_the_countries_using_them(text: str, countries: set[str]) -> None:
    currency = one(clues(text), "currency")
    assert countries <= top(currency)


def test_shared_currencies_are_weak() -> None:
    euro = one(clues("3,50 €"), "currency")
    zloty = one(clues("3,50 zł"), "currency")
    assert len(euro.countries) > 15 and euro.confidence < zloty.confidence
    dollar = one(clues("$5"), "currency")
    assert "US" in top(dollar) and {"CA", "AU", "MX"} <= set(dollar.countries)


@pytest.mark.parametrize("text", ["Kreuzberg", "공원", "元気", "TOP 10", "Lei Feng", "kr"])
def test_letters_that_look_like_currency_signs_are_not_prices(text: str) -> None:
    assert of_kind(clues(text), "currency") == []


# ------------------------------------------------------------------------------ evidence plumbing
def test_edge_spans_get_clearly_lower_confidence() -> None:
    inside = one(clues("www.bahn.de"), "url")
    edge = one(clues("www.bahn.de", edge=True), "url")
    assert edge.confidence == pytest.approx(inside.confidence * EDGE_FACTOR, rel=0.01)
    assert edge.details.get("edge") is True
    inside_script = one(clues("Выход из метро"), "script")
    edge_script = one(clues("Выход из метро", edge=True), "script")
    assert edge_script.confidence < 0.5 * inside_script.confidence


def test_low_ocr_confidence_lowers_clue_confidence() -> None:
    sure = one(clues("www.bahn.de", confidence=1.0), "url")
    unsure = one(clues("www.bahn.de", confidence=0.25), "url")
    assert unsure.confidence < sure.confidence


def test_image_box_and_ocr_evidence_ids_are_carried_through() -> None:
    span = TextSpan(text="Tel. +49 30 1234567", image="img:3", bbox=[10, 20, 110, 40], confidence=0.9, evidence="ev:7")
    (phone,) = of_kind(extract_clues([span], tool="clues_tool"), "phone")
    assert phone.image == "img:3"
    assert phone.bbox == [10, 20, 110, 40]
    assert phone.details["from"] == ["ev:7"]
    assert phone.source.tool == "clues_tool"
    assert phone.source.arguments == {}
    assert "phonenumbers" in (phone.provenance or "")


def test_the_same_clue_in_two_spans_is_one_evidence() -> None:
    spans = [
        TextSpan(text="www.bahn.de", image="img:0", bbox=[0, 0, 10, 10], evidence="ev:1"),
        TextSpan(text="Infos: www.bahn.de", image="img:0", bbox=[50, 50, 90, 60], evidence="ev:2"),
        TextSpan(text="www.bahn.de", image="img:1", bbox=[0, 0, 10, 10], evidence="ev:3"),
    ]
    urls = of_kind(extract_clues(spans), "url")
    assert len(urls) == 2  # one per image
    assert urls[0].details["from"] == ["ev:1", "ev:2"]
    assert urls[0].details["sightings"] == 2
    assert urls[0].bbox == [0, 0, 90, 60]
    assert urls[1].details["from"] == ["ev:3"]


def test_every_evidence_is_well_formed() -> None:
    evidence = clues(
        "Tél. 01 42 68 53 00",
        "www.boulangerie-dupont.fr",
        "Pain de campagne 3,50 €",
        "75008 Paris Cedex 08",
        "Ouvert du lundi au samedi de sept heures à vingt heures",
        "Выход",
        "Notruf 112",
    )
    kinds = {e.kind for e in evidence}
    assert kinds == {"phone", "url", "currency", "postcode", "language", "script"}
    valid = country_codes()
    for e in evidence:
        assert e.kind in EVIDENCE_KINDS
        assert e.countries and all(c in valid and w >= 0 for c, w in e.countries.items())
        assert max(e.countries.values()) == pytest.approx(1.0)
        assert 0.0 <= e.confidence <= 1.0
        assert e.provenance and "from" in e.details
        Evidence.model_validate_json(e.model_dump_json())  # survives a trace round trip


def test_a_malformed_span_box_is_refused_where_the_span_is_made() -> None:
    with pytest.raises(ValidationError, match="bbox"):
        TextSpan(text="www.bahn.de", bbox=[1.0, 2.0])
    (url,) = of_kind(extract_clues([TextSpan(text="www.bahn.de")]), "url")
    assert url.bbox is None and top(url) == {"DE"}


def test_no_text_no_clues() -> None:
    assert extract_clues([]) == []
    assert clues("...", "   -   ", "Hello") == []


def test_fast_once_warm() -> None:
    texts = [
        "Ausfahrt freihalten",
        "Tel. 089 12345678",
        "www.example.de",
        "Bäckerei Müller seit 1921",
        "Öffnungszeiten Mo-Fr 7-18 Uhr",
        "Preis 2,50 €",
        "PLZ 80331 München",
        "Rauchen verboten",
        "Notruf 112",
        "Sonderangebot 1.299,00 €",
    ]
    spans = [TextSpan(text=f"{texts[i % 10]} {i}", image="img:0", evidence=f"ev:{i}") for i in range(50)]
    extract_clues(spans)
    start = time.perf_counter()
    for _ in range(5):
        extract_clues(spans)
    per_call = (time.perf_counter() - start) / 5
    assert per_call < 0.2, f"{per_call * 1000:.0f} ms for 50 spans"


def test_lazy_tables_are_built_once_under_concurrent_first_use() -> None:
    calls = []
    barrier = threading.Barrier(8)

    @once
    def table() -> list[int]:
        calls.append(1)
        time.sleep(0.01)
        return [1, 2, 3]

    results = []

    def use() -> None:
        barrier.wait()
        results.append(table())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert all(r is results[0] for r in results)


@pytest.mark.parametrize(
    "text,family,countries",
    [
        ("AWAS PANDU PERLAHAN", {"ms", "id", "jv"}, {"MY", "ID"}),  # "careful, drive slowly"
        ("Dobrodošli u Zagreb", {"hr", "sr", "bs"}, {"HR", "RS", "BA"}),
    ],
)
def test_close_relatives_that_split_a_short_sign_still_name_a_region(text, family, countries) -> None:
    found = identify(text)
    assert found is not None and set(found[0]) <= family
    (clue,) = [c for c in extract_clues([TextSpan(text=text)]) if c.kind == "language"]
    top = sorted(clue.countries, key=clue.countries.get, reverse=True)[:3]
    assert set(top) & countries and clue.confidence < 0.5  # a hint, not a verdict


def test_common_words_of_other_languages_are_not_taken_for_places() -> None:
    from tools.gazetteer import Gazetteer
    from tools.place_clues import commonness_penalty
    from tools.places import PlaceIndex

    index = PlaceIndex(Gazetteer())
    pandu = next(index.place(i) for i in index.lookup("pandu") if index.place(i).country_code == "CN")
    assert commonness_penalty("pandu", pandu, False, {"zh"}) < 0.2  # Malay for "drive"


def test_short_signs_get_a_language_from_their_words() -> None:
    from tools.clues.language import identify

    probs, how = identify("AREA PROTEGIDA")  # py3langid spreads this over ro, eu, la
    assert how == "words" and set(probs) <= {"es", "pt"} and "es" in probs
    assert identify("USCITA DI SICUREZZA")[0].keys() >= {"it"}
    assert identify("NO PARKING") is None  # English words are on signs everywhere
    assert identify("HOTEL ASTORIA") is None or identify("HOTEL ASTORIA")[1] != "words"
    language = one(clues("AREA PROTEGIDA"), "language")
    assert top(language) & {"ES", "BR", "MX", "AR", "PT", "CO"}
    assert "GQ" not in top(language)  # one line's alternatives are not two languages seen together
