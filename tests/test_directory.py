"""Which directory entries a client sees, in which order, a page at a time."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Service
from bot.services.directory import (
    SEED_FILE,
    SERVICE_TYPES,
    ServiceCard,
    count_by_type,
    find_services,
    seed_if_empty,
)
from bot.services.directory import national_hotlines as directory_hotlines

_numbers = itertools.count()


async def add(session: AsyncSession, name: str, **fields: object) -> None:
    values: dict[str, object] = {"type": "ost_site", "country": "UA", "city": None}
    values |= fields
    session.add(Service(slug=f"s{next(_numbers)}", name=name, **values))
    await session.flush()


def names(cards: tuple[ServiceCard, ...]) -> list[str]:
    return [card.name for card in cards]


async def test_own_city_first_then_country_wide_verified_first_then_by_name(
    session: AsyncSession,
) -> None:
    await add(session, "B wide unverified")
    await add(session, "A wide unverified")
    await add(session, "Z wide verified", verified=True)
    await add(session, "Y Kyiv unverified", city="kyiv")
    await add(session, "X Kyiv verified", city="kyiv", verified=True)
    await add(session, "W Lviv site", city="lviv", verified=True)  # another city: never shown
    await add(session, "V Kyiv TB", city="kyiv", type="tb_service")  # another type
    await add(session, "U Moscow", country="RU", city=None)  # another country

    page = await find_services(
        session, service_type="ost_site", country="UA", city="kyiv", limit=10, offset=0
    )

    assert names(page.items) == [
        "X Kyiv verified",
        "Y Kyiv unverified",
        "Z wide verified",
        "A wide unverified",
        "B wide unverified",
    ]
    assert page.total == 5


async def test_a_client_without_a_city_sees_the_whole_country_country_wide_first(
    session: AsyncSession,
) -> None:
    await add(session, "Kyiv site", city="kyiv")
    await add(session, "National line")

    page = await find_services(session, service_type="ost_site", country="UA", city=None)

    assert names(page.items) == ["National line", "Kyiv site"]


async def test_services_in_other_cities_are_not_shown_even_when_nothing_else_exists(
    session: AsyncSession,
) -> None:
    await add(session, "Lviv site", city="lviv")
    await add(session, "EHRA", country="INT")

    page = await find_services(session, service_type="ost_site", country="UA", city="kyiv")

    assert names(page.items) == ["EHRA"]  # the international last resort, not Lviv


async def test_pages_cover_every_service_once_in_order(session: AsyncSession) -> None:
    for letter in "GFEDCBA":
        await add(session, f"Site {letter}", city="odesa")

    pages = [
        await find_services(
            session, service_type="ost_site", country="UA", city="odesa", limit=3, offset=offset
        )
        for offset in (0, 3, 6, 9)
    ]

    assert [len(page.items) for page in pages] == [3, 3, 1, 0]
    assert {page.total for page in pages} == {7}
    assert [name for page in pages for name in names(page.items)] == [
        f"Site {x}" for x in "ABCDEFG"
    ]


async def test_international_entries_only_when_the_country_has_none_of_that_type(
    session: AsyncSession,
) -> None:
    await add(session, "EHRA", type="ngo", country="INT", verified=True)
    await add(session, "EuroNPUD", type="ngo", country="INT")
    await add(session, "Alliance", type="ngo", country="UA")

    ukraine = await find_services(session, service_type="ngo", country="UA", city="kyiv")
    kazakhstan = await find_services(session, service_type="ngo", country="KZ", city="almaty")

    assert names(ukraine.items) == ["Alliance"]
    assert names(kazakhstan.items) == ["EHRA", "EuroNPUD"]
    assert kazakhstan.total == 2


async def test_a_client_in_russia_never_sees_international_organisations(
    session: AsyncSession,
) -> None:
    """Foreign harm-reduction links are a legal risk there: national referral or nothing."""
    await add(session, "EHRA", type="ngo", country="INT", verified=True)

    page = await find_services(session, service_type="ngo", country="RU", city="moscow")
    counts = await count_by_type(session, "RU", "moscow")

    assert page.items == ()
    assert page.total == 0
    assert counts["ngo"] == 0


@pytest.mark.parametrize("country", ["other", None])
async def test_clients_outside_the_three_countries_see_only_international_entries(
    session: AsyncSession, country: str | None
) -> None:
    await add(session, "EHRA", type="ngo", country="INT")
    await add(session, "Alliance", type="ngo", country="UA")
    await add(session, "ARF", type="ngo", country="RU")

    page = await find_services(session, service_type="ngo", country=country, city=None)

    assert names(page.items) == ["EHRA"]


async def test_nothing_found_is_an_empty_page(session: AsyncSession) -> None:
    page = await find_services(session, service_type="shelter", country="KZ", city="almaty")

    assert page.items == ()
    assert page.total == 0


async def test_counts_per_type_agree_with_what_find_services_shows(session: AsyncSession) -> None:
    await add(session, "Kyiv site", city="kyiv")
    await add(session, "Wide site")
    await add(session, "Lviv site", city="lviv")
    await add(session, "Legal line", type="legal_aid")
    await add(session, "EHRA", type="ngo", country="INT")
    await add(session, "EHRA legal", type="legal_aid", country="INT")
    await add(session, "EuroNPUD legal", type="legal_aid", country="INT")

    counts = await count_by_type(session, "UA", "kyiv")

    assert set(counts) == set(SERVICE_TYPES)
    assert counts["ost_site"] == 2
    assert counts["legal_aid"] == 1  # national entries hide the international one
    assert counts["ngo"] == 1  # international, as the country has none
    assert counts["shelter"] == 0
    for service_type in SERVICE_TYPES:
        page = await find_services(
            session, service_type=service_type, country="UA", city="kyiv", limit=50
        )
        assert page.total == counts[service_type]
    assert (await count_by_type(session, "other", None))["legal_aid"] == 2


async def test_a_card_is_a_plain_frozen_copy_with_all_display_fields(
    session: AsyncSession,
) -> None:
    await add(
        session,
        "Hope and Trust",
        type="hotline",
        phone="0 800 507 727",
        website="https://hopeandtrust.org.ua",
        languages="uk,ru",
        notes="OST questions",
        source="https://example.org",
        verified=True,
    )

    (card,) = (await find_services(session, service_type="hotline", country="UA")).items
    session.expunge_all()  # nothing may be loaded lazily from the session afterwards

    assert card.phone == "0 800 507 727"
    assert card.languages == ("uk", "ru")
    assert card.verified is True
    assert card.city is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.name = "changed"  # type: ignore[misc]


async def test_names_and_notes_are_shown_in_the_clients_language_with_fallbacks(
    session: AsyncSession,
) -> None:
    await add(
        session,
        "Union of crisis centres",
        type="women_crisis",
        country="KZ",
        name_ru="Союз кризисных центров",
        name_kk="Дағдарыс орталықтарының одағы",
        notes="Helpline 150.",
        notes_ru="Телефон доверия 150.",
    )

    (card,) = (await find_services(session, service_type="women_crisis", country="KZ")).items

    assert card.name_in("kk") == "Дағдарыс орталықтарының одағы"
    assert card.name_in("ru") == "Союз кризисных центров"
    assert card.name_in("uk") == "Union of crisis centres"  # no Ukrainian: the default name
    assert card.notes_in("kk") == "Телефон доверия 150."  # Kazakh readers get Russian first
    assert card.notes_in("uk") == "Helpline 150."
    assert card.notes_in("en") == "Helpline 150."


async def test_national_hotlines_are_the_countrys_country_wide_phone_lines(
    session: AsyncSession,
) -> None:
    await add(session, "Lifeline", type="hotline", verified=True)
    await add(session, "Unverified line", type="hotline")
    await add(session, "Kyiv line", type="hotline", city="kyiv")
    await add(session, "Moscow line", type="hotline", country="RU")
    await add(session, "Not a line", type="ngo")

    lines = await directory_hotlines(session, "UA")

    assert names(lines) == ["Lifeline", "Unverified line"]
    assert await directory_hotlines(session, "other") == ()


async def test_an_unknown_service_type_is_a_programming_error(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="unknown service type"):
        await find_services(session, service_type="bakery", country="UA")


async def test_the_seed_is_imported_into_an_empty_directory_once(session: AsyncSession) -> None:
    in_file = len(yaml.safe_load(SEED_FILE.read_text(encoding="utf-8"))["services"])

    first = await seed_if_empty(session)
    second = await seed_if_empty(session)

    assert first == in_file > 0
    assert second == 0
    assert await session.scalar(select(func.count()).select_from(Service)) == in_file


async def test_the_seed_is_not_imported_when_the_directory_has_entries(
    session: AsyncSession,
) -> None:
    await add(session, "Our own entry")

    assert await seed_if_empty(session) == 0
    assert await session.scalar(select(func.count()).select_from(Service)) == 1


# --- What a client sees: "Services near me" through the whole bot -------------------------

SERVICE_SCREENS = [
    "svc_ost_site",
    "svc_aids_centre",
    "svc_tb_service",
    "svc_hepatitis",
    "svc_testing",
    "svc_legal_aid",
    "svc_shelter",
    "svc_ngo",
    "svc_hotline",
    "svc_harm_reduction",
    "svc_narcology",
    "svc_sexual_health",
    "svc_women_crisis",
    "svc_self_help",
]
FOUND = {"ru": "найден", "uk": "знайдено", "kk": "табылды", "en": "found"}
HOTLINES_HEADING = {
    "ru": "Общенациональные горячие линии",
    "uk": "Національні гарячі лінії",
    "kk": "Ұлттық жедел желілер",
}
ASK = {
    "ru": "💬 Спросить консультанта анонимно",
    "uk": "💬 Запитати консультанта анонімно",
    "kk": "💬 Кеңесшіге жасырын түрде сұрақ қою",
}


async def client_in(harness, language: str, country: str, city: str):  # type: ignore[no-untyped-def]
    from tests.harness import FakeUser

    user = FakeUser(language_code=language)
    await harness.send(user, "/start")
    await harness.press_data(user, f"1lang:{language}")
    await harness.press_data(user, "1priv:ok")
    await harness.press_data(user, f"1ctry:{country}")
    await harness.press_data(user, f"1city:{city}")
    return user


@pytest.mark.parametrize(
    ("language", "country", "city", "expected"),
    [
        # a real service from the seed in each city, named in the client's language
        ("uk", "UA", "kyiv", {"svc_women_crisis": "Урядова гаряча лінія"}),
        ("ru", "RU", "yekaterinburg", {"svc_tb_service": "Уральский НИИ фтизиопульмонологии"}),
        ("kk", "KZ", "almaty", {"svc_aids_centre": "Алматы қаласының ЖИТС"}),
    ],
)
async def test_services_near_me_shows_real_services_or_the_national_hotlines(
    harness, language: str, country: str, city: str, expected: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    user = await client_in(harness, language, country, city)
    menu = await harness.press_data(user, "1menu:services")
    shown = [data.split(":")[1] for data in (b["callback_data"] for r in menu.buttons for b in r)]
    screens = [node for node in SERVICE_SCREENS if node in shown]
    assert ("svc_harm_reduction" in screens) is (country != "RU")  # referral only in Russia

    empty = []
    for node in screens:
        screen = await harness.press_data(user, f"1svc:{node}:0", menu)
        if FOUND[language] not in screen.text:
            empty.append(node)
            assert HOTLINES_HEADING[language] in screen.text, node
            assert ASK[language] in screen.labels, node
        assert "Mon" not in screen.text and "not verified" not in screen.text, node
        if node in expected:
            assert expected[node] in screen.text
    # Most kinds of help have a real entry; the rest offer the national lines and a person.
    assert len(empty) <= len(screens) // 2, empty


async def test_an_empty_list_in_russia_offers_national_lines_and_a_consultant(
    harness,
) -> None:  # type: ignore[no-untyped-def]
    user = await client_in(harness, "ru", "RU", "yekaterinburg")

    screen = await harness.press_data(user, "1svc:svc_sexual_health:0")

    assert "Пока мы не знаем таких служб" in screen.text
    assert "Единый консультационный центр Роспотребнадзора" in screen.text
    assert "8 800 555 49 43" in screen.text
    assert "круглосуточно" in screen.text  # "24/7" in the client's language
    assert "harmreductioneurasia" not in screen.text  # never the international last resort
    assert ASK["ru"] in screen.labels
    assert screen.data_of(ASK["ru"]) == "1ask:general"
    assert "Сменить город" in screen.labels or any("город" in label for label in screen.labels)


async def test_office_hours_are_shown_in_the_clients_language(harness) -> None:  # type: ignore[no-untyped-def]
    """Regression: "Mon-Fri 10:00-18:00" used to appear as written inside Russian text."""
    user = await client_in(harness, "ru", "RU", "yekaterinburg")

    screen = await harness.press_data(user, "1svc:svc_testing:0")

    assert "Пн–Вс 08:30–17:00" in screen.text  # written "Mon-Sun 8:30-17:00" in the seed
    assert "Mon" not in screen.text


@pytest.mark.parametrize(
    ("written", "language", "shown"),
    [
        ("Mon-Fri 10:00-18:00", "ru", "Пн–Пт 10:00–18:00"),
        ("Mon-Fri 10:00-18:00", "uk", "Пн–Пт 10:00–18:00"),
        ("Mon-Fri 10:00-18:00", "kk", "Дс–Жм 10:00–18:00"),
        ("Mon-Fri 10:00-18:00", "en", "Mon–Fri 10:00–18:00"),
        (
            "Mon-Fri 9:00-13:00, 14:00-18:00; Sat 10:00-14:00",
            "uk",
            "Пн–Пт 09:00–13:00, 14:00–18:00; Сб 10:00–14:00",
        ),
        ("Пн-Пт 9.00-17.00; Вс 10:00-12:00", "en", "Mon–Fri 09:00–17:00; Sun 10:00–12:00"),
        ("Sun 10:00-12:00", "uk", "Нд 10:00–12:00"),
        ("24/7", "kk", "ALWAYS"),
        ("by appointment", "ru", "by appointment"),  # not in the form: shown as written
    ],
)
def test_hours_are_rendered_per_language(written: str, language: str, shown: str) -> None:
    from bot.services import hours

    assert hours.render(written, language, always="ALWAYS") == shown


@pytest.mark.parametrize("written", ["Fri-Mon 10:00-18:00", "Mon 25:00-26:00", "Mon-Fri", "soon"])
def test_hours_outside_the_form_are_not_parsed(written: str) -> None:
    from bot.services import hours

    assert hours.parse(written) is None
