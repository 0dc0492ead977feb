"""Indicators from a seeded month (November 2026) match figures computed by hand, and stay the
same after a client's /forget and the retention purge (issue 13).

The month is written with the same conditional UPDATEs the services use (bot/services/queue.py),
with explicit timestamps, so the anonymous events come from the session listener exactly as
in production; tests/test_report_bot.py drives the real flows through the bot."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import Client, Conversation, Staff
from bot.models_events import AnonEvent, ReachMark, ReachSalt
from bot.services import clients, events, indicators, privacy, reach, usage
from bot.services.clients import ClientState
from bot.services.indicators import Scope
from bot.services.report_files import table
from bot.services.suppression import suppress

events.install()
NOVEMBER = Scope(date(2026, 11, 1), date(2026, 11, 30))
TODAY = date(2026, 12, 5)
# Client number -> (country, language, topic, wait in seconds, staff, outcome, referral)
PLAN: dict[int, tuple[str, str, str, int, int, str, str | None]] = {
    1: ("KZ", "ru", "ost", 120, 1, "referred", "ost_site"),
    2: ("KZ", "ru", "ost", 240, 1, "referred", "ost_site"),
    3: ("KZ", "ru", "ost", 360, 1, "referred", "ost_site"),
    4: ("KZ", "ru", "ost", 480, 1, "information", None),
    5: ("KZ", "ru", "ost", 600, 1, "information", None),
    6: ("KZ", "ru", "ost", 1800, 2, "information", None),
    7: ("UA", "uk", "hiv", 60, 2, "referred", "aids_centre"),
    8: ("UA", "uk", "hiv", 180, 2, "information", None),
    9: ("KZ", "kk", "legal", 30, 2, "legal_aid", None),  # urgent
}
FOLLOW_UPS = {1: "helped", 2: "helped", 3: "not_reached", 7: "helped"}
RATINGS = {1: 5, 2: 5, 3: 4, 4: 5, 5: 3, 6: 4}
SUBSCRIBE = (1, 2, 3, 4, 5, 7)
UNSUBSCRIBE = (7,)
# Screens: c1..c6 open "ost" twice, c7 and c8 "hiv" once; c10 and c11 only look at "main".
SCREENS = {**{n: ("ost", 2) for n in range(1, 7)}, 7: ("hiv", 1), 8: ("hiv", 1)}
SCREENS |= {10: ("main", 1), 11: ("main", 1)}
COUNTRY = {n: PLAN[n][0] if n in PLAN else "KZ" for n in range(1, 12)}
LANGUAGE = {n: PLAN[n][1] if n in PLAN else "ru" for n in range(1, 12)}


def at(day: int, seconds: int = 0) -> datetime:
    return datetime(2026, 11, day, 10, tzinfo=UTC) + timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "clock", [lambda: date(2026, 11, 20)])


STAFF: dict[int, int] = {}  # staff number in PLAN -> database id, set by `seed`


async def seed(sessions: async_sessionmaker[AsyncSession]) -> dict[int, int]:
    """The month; returns client number -> conversation id."""
    ids: dict[int, int] = {}
    async with sessions() as session, session.begin():
        for number in (1, 2):
            member = Staff(
                key=f"staff-{number}",
                chat_ref=b"x",
                display_name=f"S{number}",
                role="peer",
                languages="ru",
                topics="ost",
            )
            session.add(member)
            await session.flush()
            STAFF[number] = member.id
        for n in range(1, 12):
            session.add(
                Client(key=f"key-{n}", chat_ref=b"x", language=LANGUAGE[n], country=COUNTRY[n])
            )
        await session.flush()
        client_ids = dict(
            tuple(row) for row in await session.execute(select(Client.key, Client.id))
        )
        for n, (country, language, topic, _w, _s, _o, _r) in PLAN.items():
            row = Conversation(
                client_id=client_ids[f"key-{n}"],
                kind="consult",
                status="waiting",
                topic=topic,
                language=language,
                country=country,
                urgent=n == 9,
                created_at=at(n),
            )
            session.add(row)
            await session.flush()
            ids[n] = row.id
    for n, (_c, _l, _t, wait, staff, outcome, referral) in PLAN.items():
        async with sessions() as session, session.begin():
            taken = at(n, wait)
            await _set(session, ids[n], status="active", staff_id=STAFF[staff], taken_at=taken)
            if referral:
                await _set(session, ids[n], outcome_detail=referral)
            await _set(session, ids[n], status="closed", closed_at=at(n, 4000), outcome=outcome)
            await _set(session, ids[n], staff_id=None)  # a later change events ignore
    async with sessions() as session, session.begin():
        for n, answer in FOLLOW_UPS.items():
            await _set(session, ids[n], follow_up_answer="asked")
            await _set(session, ids[n], follow_up_answer=answer)
        for n, rating in RATINGS.items():
            await _set(session, ids[n], rating=rating)
        for n in SUBSCRIBE:
            await _subscribe(session, n, at(20))
        for n in UNSUBSCRIBE:
            await _subscribe(session, n, None)
    for n, (node, times) in SCREENS.items():
        state = _state(n, client_ids[f"key-{n}"])
        for _ in range(times):
            await usage.screen_viewed(sessions, node, state)
    return ids


def _state(n: int, client_id: int) -> ClientState:
    return ClientState(
        id=client_id,
        key=f"key-{n}",
        language=LANGUAGE[n],
        privacy_seen=True,
        country=COUNTRY[n],
        city=None,
        awaiting=None,
    )


async def _set(session: AsyncSession, conversation_id: int, **values: Any) -> None:
    await session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(**values),
        execution_options={"synchronize_session": False},
    )


async def _subscribe(session: AsyncSession, n: int, when: datetime | None) -> None:
    await session.execute(
        update(Client).where(Client.key == f"key-{n}").values(subscribed_at=when),
        execution_options={"synchronize_session": False},
    )


def cells(found: indicators.Indicators, indicator: str, dimension: str) -> dict[str, int]:
    for item in found.breakdowns:
        if (item.indicator, item.dimension) == (indicator, dimension):
            return item.cells
    return {}


def stat(found: indicators.Indicators, indicator: str, category: str) -> tuple[float | None, int]:
    for item in found.statistics:
        if (item.indicator, item.category) == (indicator, category):
            return (round(item.value, 2) if item.value is not None else None, item.n)
    raise AssertionError(f"no {indicator} {category}")


async def compute(sessions: async_sessionmaker[AsyncSession], scope: Scope = NOVEMBER):  # type: ignore[no-untyped-def]
    events.clock[0] = lambda: TODAY  # the report is made in December: November has closed
    async with sessions() as session, session.begin():
        return await indicators.compute(session, scope)


def hand_computed(found: indicators.Indicators) -> None:
    assert cells(found, indicators.OPENED, "country") == {"KZ": 7, "UA": 2}
    assert cells(found, indicators.OPENED, "topic") == {"ost": 6, "hiv": 2, "legal": 1}
    assert cells(found, indicators.OPENED, "language") == {"ru": 6, "uk": 2, "kk": 1}
    assert cells(found, indicators.CLOSED, "outcome") == {
        "referred": 4,
        "information": 4,
        "legal_aid": 1,
    }
    assert cells(found, indicators.URGENT, "topic") == {"legal": 1}
    assert cells(found, indicators.REFERRALS, "service") == {"ost_site": 3, "aids_centre": 1}
    assert cells(found, indicators.FOLLOW_UPS, "answer") == {"helped": 3, "not_reached": 1}
    assert cells(found, indicators.PER_CONSULTANT, "consultant") == {
        f"#{STAFF[1]}": 5,
        f"#{STAFF[2]}": 4,
    }
    assert cells(found, indicators.RATINGS, "rating") == {"5": 3, "4": 2, "3": 1}
    assert stat(found, indicators.RATING_AVERAGE, "all") == (4.33, 6)
    # Waits (s): 30 60 120 180 240 360 480 600 1800 -> median 240 s, 90th (9th of 9) 1800 s.
    assert stat(found, indicators.WAIT_MEDIAN, "all") == (4.0, 9)
    assert stat(found, indicators.WAIT_P90, "all") == (30.0, 9)
    # KZ: 30 120 240 360 480 600 1800 -> median 360 s; UA: 60 180.
    assert stat(found, indicators.WAIT_MEDIAN, "KZ") == (6.0, 7)
    assert stat(found, indicators.WAIT_MEDIAN, "UA") == (2.0, 2)
    assert cells(found, indicators.SCREENS, "topic") == {"ost": 12, "hiv": 2, "main": 2}
    assert cells(found, indicators.SCREENS, "country") == {"KZ": 14, "UA": 2}
    assert cells(found, indicators.REACHED, "country") == {"KZ": 9, "UA": 2}
    assert cells(found, indicators.REACHED, "language") == {"ru": 8, "uk": 2, "kk": 1}
    assert cells(found, indicators.SUBSCRIBED, "country") == {"KZ": 5, "UA": 1}
    assert cells(found, indicators.UNSUBSCRIBED, "country") == {"UA": 1}
    assert cells(found, indicators.SUBSCRIBERS, "country") == {"KZ": 5}
    assert found.reached_note == indicators.EXACT
    weekly = {day.isoformat(): dict(counts) for day, counts in found.weekly_topics.items()}
    # Conversations were opened on 1..9 November: Sunday 1st (week of 26 Oct), 2..8, 9.
    assert weekly == {
        "2026-10-26": {"ost": 1},
        "2026-11-02": {"ost": 5, "hiv": 2},
        "2026-11-09": {"legal": 1},
    }
    assert {k: dict(v) for k, v in found.referrals.items()} == {
        "ost_site": {"referred": 3, "helped": 2, "not_reached": 1},
        "aids_centre": {"referred": 1, "helped": 1},
    }


async def test_a_seeded_month_matches_hand_computed_figures_after_forget_and_purge(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await seed(session_factory)
    before = await compute(session_factory)
    hand_computed(before)
    text_before = table(before, 5, str).rows

    async with session_factory() as session, session.begin():
        assert await clients.forget(session, "key-1") is not None
        assert await clients.forget(session, "key-7") is not None
        report = await privacy.purge_expired(session, retention_days=1, now=datetime.now(UTC))
        assert report.conversations == 0  # no messages in this month; the rows are what matter
        gone = await session.scalar(select(func.count()).select_from(Conversation))
    assert gone == 7  # two clients forgotten with their conversations
    after = await compute(session_factory)
    hand_computed(after)
    assert table(after, 5, str).rows == text_before


async def test_a_closed_month_keeps_counts_and_drops_its_marks_and_salt(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await seed(session_factory)
    async with session_factory() as session:
        periods = set(await session.scalars(select(ReachSalt.period)))
    assert periods == {"M2026-11", "Q2026-4", "Y2026"}
    await compute(session_factory)
    async with session_factory() as session:
        periods = set(await session.scalars(select(ReachSalt.period)))
        marked = set(await session.scalars(select(ReachMark.period).distinct()))
        stored = (await session.execute(select(AnonEvent))).scalars().all()
    assert periods == marked == {"Q2026-4", "Y2026"}  # November's hashes are gone
    # Events hold no client, conversation or text: only these columns exist at all.
    assert {c.name for c in AnonEvent.__table__.columns} == {
        "id", "kind", "day", "country", "language", "topic", "outcome", "detail", "number",
        "staff_id",
    }  # fmt: skip
    # Random ids, not a sequence: the order of events cannot tell which belong together.
    ids = sorted(item.id for item in stored)
    assert len(ids) == 49 and ids != list(range(ids[0], ids[0] + len(ids)))
    # The quarter is still open: its distinct count comes from the marks.
    async with session_factory() as session:
        quarter = await session.run_sync(lambda s: reach.counts(s.connection(), "Q2026-4"))
    assert sum(quarter.values()) == 11


async def test_a_period_that_is_not_a_calendar_one_adds_up_monthly_counts(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await seed(session_factory)
    found = await compute(session_factory, Scope(date(2026, 11, 2), date(2026, 11, 8), "KZ"))
    assert found.reached_note == indicators.SUMMED
    assert cells(found, indicators.OPENED, "topic") == {"ost": 5}  # 2..6 November, KZ only
    assert cells(found, indicators.REACHED, "country") == {"KZ": 9}
    assert not cells(found, indicators.POSTS, "all")  # posts have no country


def test_primary_and_complementary_suppression() -> None:
    found = indicators.Breakdown("x", "country", {"KZ": 7, "UA": 2})
    shown = suppress(found, 5)
    # UA alone would be the total minus KZ: KZ goes too.
    assert shown.cells == [("KZ", "<5"), ("UA", "<5")] and shown.total == "9"
    shown = suppress(indicators.Breakdown("x", "topic", {"ost": 6, "hiv": 2, "legal": 1}), 5)
    assert shown.cells == [("ost", "6"), ("hiv", "<5"), ("legal", "<5")]
    shown = suppress(indicators.Breakdown("x", "c", {"a": 9, "b": 6, "c": 3, "d": 0}), 5)
    assert shown.cells == [("a", "9"), ("b", "<5"), ("c", "<5"), ("d", "0")]  # b, not d (0)
    shown = suppress(indicators.Breakdown("x", "c", {"a": 3}), 5)
    assert shown.cells == [("a", "<5")] and shown.total == "<5"
    shown = suppress(indicators.Breakdown("x", "c", {"a": 3, "b": 1}), 10)
    assert shown.total == "<10"
    assert suppress(indicators.Breakdown("x", "c", {"a": 0}), 5).total == "0"


async def test_the_table_suppresses_cells_statistics_and_totals(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await seed(session_factory)
    rows = table(await compute(session_factory), 5, str).rows
    by = {(r[0], r[1], r[2]): r[3] for r in rows}
    assert by[(indicators.OPENED, "country", "KZ")] == "<5"  # complementary
    assert by[(indicators.OPENED, "country", "UA")] == "<5"
    assert by[(indicators.OPENED, "country", "total")] == "9"
    assert by[(indicators.WAIT_MEDIAN, "all", "total")] == "4.0"
    assert by[(indicators.WAIT_MEDIAN, "country", "UA")] == "n<5"
    assert by[(indicators.URGENT, "topic", "legal")] == "<5"
    assert by[(indicators.URGENT, "topic", "total")] == "<5"
