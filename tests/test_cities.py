"""Recognising a typed city name: scripts, letters, typos, prefixes, countries, garbage."""

from __future__ import annotations

import time
from pathlib import Path
from types import MappingProxyType

import pytest

from bot.services.cities import City, CityIndex, load_cities


@pytest.fixture(scope="module")
def cities() -> CityIndex:
    return load_cities()


def keys(found: list[City]) -> list[str]:
    return [city.key for city in found]


def index(*cities: tuple[str, str, str]) -> CityIndex:
    """A small index of (key, country, English name), ranked in the order given."""
    return CityIndex(
        City(key, country, rank, MappingProxyType(dict.fromkeys(("ru", "uk", "kk", "en"), name)))
        for rank, (key, country, name) in enumerate(cities, 1)
    )


@pytest.mark.parametrize(
    ("typed", "country", "expected"),
    [
        # Cyrillic and Latin, each language's own name and common old spellings
        ("Киев", "UA", "kyiv"),
        ("Київ", "UA", "kyiv"),
        ("Kyiv", "UA", "kyiv"),
        ("Kiev", "UA", "kyiv"),
        ("Харьков", "UA", "kharkiv"),
        ("Харків", "UA", "kharkiv"),
        ("Kharkiv", "UA", "kharkiv"),
        ("Одесса", "UA", "odesa"),
        ("Odessa", "UA", "odesa"),
        ("Алма-Ата", "KZ", "almaty"),
        ("Almaty", "KZ", "almaty"),
        ("Нур-Султан", "KZ", "astana"),
        ("Nur Sultan", "KZ", "astana"),
        ("Чимкент", "KZ", "shymkent"),
        ("Shymkent", "KZ", "shymkent"),
        ("Питер", "RU", "saint_petersburg"),
        ("СПб", "RU", "saint_petersburg"),
        ("St. Petersburg", "RU", "saint_petersburg"),
        ("Санкт Петербург", "RU", "saint_petersburg"),
        # Ukrainian letters і ї є ґ and Kazakh letters ә ғ қ ң ө ұ ү һ і
        ("Запоріжжя", "UA", "zaporizhzhia"),
        ("Чернігів", "UA", "chernihiv"),
        ("Єкатеринбург", "RU", "yekaterinburg"),
        ("Қарағанды", "KZ", "karaganda"),
        ("Ақтөбе", "KZ", "aktobe"),
        ("Өскемен", "KZ", "oskemen"),
        ("Түркістан", "KZ", "turkistan"),
        ("Талдықорған", "KZ", "taldykorgan"),
        ("Qaraghandy", "KZ", "karaganda"),
        # case, ё/е, hyphens and spaces, "г." / "м." / "қаласы"
        ("НОВОСИБИРСК", "RU", "novosibirsk"),
        ("Семёй", "KZ", "semey"),
        ("Ростов на Дону", "RU", "rostov_on_don"),
        ("Усть Каменогорск", "KZ", "oskemen"),
        ("г. Москва", "RU", "moscow"),
        ("г.Москва", "RU", "moscow"),
        ("город Москва", "RU", "moscow"),
        ("м. Київ", "UA", "kyiv"),
        ("Алматы қаласы", "KZ", "almaty"),
    ],
)
def test_a_typed_city_name_is_recognised_in_any_script_and_spelling(
    cities: CityIndex, typed: str, country: str, expected: str
) -> None:
    assert keys(cities.match(typed, country)) == [expected]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Масква", "moscow"),  # one wrong letter
        ("Новосибрск", "novosibirsk"),  # one missing letter
        ("Екатеринбурк", "yekaterinburg"),
        ("Kharkvi", "kharkiv"),  # swapped letters count as one typo
        ("Zaporozhe", "zaporizhzhia"),
        ("Днепропетровкс", "dnipro"),  # two typos in a long name
        ("Уфв", "ufa"),  # one typo in a short name
    ],
)
def test_small_typos_are_forgiven(cities: CityIndex, typed: str, expected: str) -> None:
    assert expected in keys(cities.match(typed, None))


@pytest.mark.parametrize("typed", ["Ифв", "Москвабад", "Qrasnadorsk"])
def test_too_many_typos_for_the_name_length_find_nothing(cities: CityIndex, typed: str) -> None:
    # Ufa (3 letters) allows one typo; long names allow two.
    assert cities.match(typed, "RU") == []


def test_the_start_of_a_name_finds_the_city(cities: CityIndex) -> None:
    assert keys(cities.match("Новосиб", "RU")) == ["novosibirsk"]
    assert keys(cities.match("Днепропетр", "UA")) == ["dnipro"]


def test_nizhyn_in_ukraine_is_not_nizhny_novgorod_in_russia(cities: CityIndex) -> None:
    """Regression: a client in Ukraine typing "Ніжин" was offered Нижній Новгород."""
    assert cities.match("Ніжин", "UA") == []
    assert cities.resolve("Ніжин", "UA") is None
    assert "nizhny_novgorod" in keys(cities.match("Нижний", "RU"))


def test_a_client_in_a_country_is_offered_only_that_countrys_cities(cities: CityIndex) -> None:
    assert cities.match("Алматы", "UA") == []
    assert cities.match("Москва", "KZ") == []
    assert cities.resolve("Москва", "KZ") is None
    assert cities.resolve("moscow", "UA") is None  # a key of a city abroad, too
    for typed, country in [("Масква", "UA"), ("Almatu", "RU"), ("Kharkvi", "KZ"), ("Одес", "RU")]:
        assert all(city.country == country for city in cities.match(typed, country)), typed


def test_clients_elsewhere_may_pick_any_known_city(cities: CityIndex) -> None:
    assert keys(cities.match("Kyiv", None)) == ["kyiv"]
    assert keys(cities.match("Odesa", "other")) == ["odesa"]
    assert cities.resolve("Алматы", "other").key == "almaty"  # type: ignore[union-attr]


def test_the_import_may_look_abroad_to_explain_a_wrong_country(cities: CityIndex) -> None:
    assert cities.resolve("Алматы", "UA", abroad=True).key == "almaty"  # type: ignore[union-attr]


def test_same_named_cities_abroad_do_not_compete_with_the_clients_own() -> None:
    cities = index(("petrivka_ru", "RU", "Petrovka"), ("petrivka_ua", "UA", "Petrovka"))
    assert keys(cities.match("Petrovka", "UA")) == ["petrivka_ua"]
    assert keys(cities.match("Petrovka", "RU")) == ["petrivka_ru"]
    assert keys(cities.match("Petrovk", "UA")) == ["petrivka_ua"]
    assert keys(cities.match("Petrovka", None)) == ["petrivka_ru", "petrivka_ua"]  # by rank


def test_an_exact_name_beats_a_prefix() -> None:
    cities = index(("exact", "UA", "Marinov"), ("longer", "UA", "Marinovka"))
    # "Marinov" is exact for one city and only the start of the other: no question to ask.
    assert keys(cities.match("Marinov", "UA")) == ["exact"]


def test_a_prefix_beats_a_typo() -> None:
    cities = index(("typo", "UA", "Bolotna"), ("prefix", "UA", "Bolotovo"))
    assert keys(cities.match("Boloto", "UA")) == ["prefix", "typo"]


def test_at_most_five_matches_largest_first() -> None:
    cities = index(*[(f"c{i}", "RU", "Novo" + "abcdefgh"[i]) for i in range(8)])
    assert keys(cities.match("Novo", "RU")) == ["c0", "c1", "c2", "c3", "c4"]


@pytest.mark.parametrize(
    "typed", ["", "   ", "!!!", "12345", "🙂🙂🙂", "asdfgh", "я", "qwertyuiop"]
)
def test_garbage_finds_nothing(cities: CityIndex, typed: str) -> None:
    assert cities.match(typed, "RU") == []


@pytest.mark.parametrize(
    "typed", ["Москва" * 1000, "x" * 5000, "а б" * 2000, "Москва" + " " * 4994, "Киев!" * 1000]
)
def test_very_long_input_finds_nothing_quickly(cities: CityIndex, typed: str) -> None:
    started = time.perf_counter()
    assert cities.match(typed, "RU") == []
    assert time.perf_counter() - started < 0.01


def test_matching_an_ordinary_name_is_fast(cities: CityIndex) -> None:
    started = time.perf_counter()
    for _ in range(100):
        cities.match("Днепропетровкс", "UA")  # the slow path: typos against every name
    assert (time.perf_counter() - started) / 100 < 0.005


def test_names_per_language_and_unknown_keys(cities: CityIndex) -> None:
    assert cities.name("kyiv", "uk") == "Київ"
    assert cities.name("kyiv", "ru") == "Киев"
    assert cities.name("almaty", "kk") == "Алматы"
    assert cities.name("oskemen", "ru") == "Усть-Каменогорск"
    assert cities.name("gone_from_the_file", "ru") == "gone_from_the_file"
    assert cities.get("moscow") is not None
    assert cities.get("atlantis") is None


def test_popular_cities_are_listed_largest_first(cities: CityIndex) -> None:
    assert keys(cities.in_country("KZ")[:3]) == ["almaty", "astana", "shymkent"]
    assert keys(cities.in_country("UA")[:2]) == ["kyiv", "kharkiv"]
    assert keys(cities.in_country("RU")[:2]) == ["moscow", "saint_petersburg"]
    assert cities.in_country("other") == []
    assert cities.in_country(None) == []


def test_resolve_accepts_a_key_or_an_exact_name_but_not_a_typo(cities: CityIndex) -> None:
    assert cities.resolve("kyiv", "UA").key == "kyiv"  # type: ignore[union-attr]
    assert cities.resolve("Київ", "UA").key == "kyiv"  # type: ignore[union-attr]
    assert cities.resolve("Алма-Ата", "KZ").key == "almaty"  # type: ignore[union-attr]
    assert cities.resolve("Масква", "RU") is None
    assert cities.resolve("Новосибирс", "RU") is None  # only the start of the name


def test_the_cities_file_covers_the_largest_cities_of_each_country(cities: CityIndex) -> None:
    for country in ("RU", "UA", "KZ"):
        assert len(cities.in_country(country)) >= 15


def test_every_name_in_the_file_finds_its_own_city_and_no_other(cities: CityIndex) -> None:
    for city in cities:
        for spelling in (*city.names.values(), *city.aliases):
            assert keys(cities.match(spelling, city.country)) == [city.key], spelling


def test_a_broken_cities_file_is_refused_with_the_city_named(tmp_path: Path) -> None:
    broken = tmp_path / "cities.yaml"
    broken.write_text("UA:\n  - key: lviv\n    names: {ru: Львов, en: Lviv}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lviv"):
        load_cities(broken)
