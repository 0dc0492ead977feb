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
    russia = await find_services(session, service_type="ngo", country="RU", city="moscow")

    assert names(ukraine.items) == ["Alliance"]
    assert names(russia.items) == ["EHRA", "EuroNPUD"]
    assert russia.total == 2


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
