"""bot/dbtypes.py column types, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.languages import LANGUAGES, is_language
from bot.models import ChatTrace, Client, Staff, one_of

MIDNIGHT_UTC = datetime(2026, 12, 6, 0, 0, tzinfo=UTC)


async def test_a_moment_comes_back_aware_utc_however_it_went_in(session: AsyncSession) -> None:
    kyiv = MIDNIGHT_UTC.astimezone(ZoneInfo("Europe/Kyiv"))  # 02:00 there
    naive = MIDNIGHT_UTC.replace(tzinfo=None)  # taken as UTC
    session.add_all(
        [ChatTrace(key="a", message_id=1, at=kyiv), ChatTrace(key="b", message_id=2, at=naive)]
    )
    await session.commit()
    stored = list(await session.scalars(select(ChatTrace.at).order_by(ChatTrace.id)))
    assert stored == [MIDNIGHT_UTC, MIDNIGHT_UTC]
    assert all(moment.tzinfo is UTC for moment in stored)
    # A naive bound value in a comparison is UTC too.
    assert await session.scalar(select(func.count()).where(ChatTrace.at >= naive)) == 2
    assert await session.scalar(select(func.count()).where(ChatTrace.at > kyiv)) == 0


async def test_a_server_default_moment_is_aware_utc(session: AsyncSession) -> None:
    session.add(Client(key="k", chat_ref=b"\x00"))
    await session.commit()
    created = await session.scalar(select(Client.created_at))
    assert created is not None and created.tzinfo is UTC
    assert abs((datetime.now(UTC) - created).total_seconds()) < 3600


async def test_a_list_column_is_a_tuple_whatever_form_it_was_given(session: AsyncSession) -> None:
    session.add_all(
        [
            Staff(
                key="a",
                chat_ref=b"\x00",
                display_name="A",
                role="peer",
                languages=["uk", " ru", ""],
                topics=(),
            ),
            Staff(
                key="b",
                chat_ref=b"\x00",
                display_name="B",
                role="peer",
                languages="kk, en",  # the stored form, as older code wrote it
                topics="ost",
            ),
        ]
    )
    await session.commit()
    rows = (await session.execute(select(Staff.languages, Staff.topics).order_by(Staff.key))).all()
    assert [tuple(row) for row in rows] == [(("uk", "ru"), ()), (("kk", "en"), ("ost",))]


def test_a_vocabulary_must_be_plain_codes() -> None:
    with pytest.raises(ValueError):
        one_of("status", ())
    with pytest.raises(ValueError):
        one_of("status", ("it's",))


def test_one_list_of_languages() -> None:
    assert LANGUAGES == ("ru", "uk", "kk", "en")
    assert is_language("kk") and not is_language("de") and not is_language(None)
