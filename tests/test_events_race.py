"""Two takes of one conversation at once on PostgreSQL count one "taken" event (issue 13).

The event listener (bot/services/events.py) reads the rows an UPDATE is about before and
after it. The second of two concurrent takes waits for the first one's lock, then matches no
row ("status = 'waiting'" is no longer true) — but its "after" read sees the first take, so
before the fix it recorded the take a second time."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.models import Client, Conversation, Staff
from bot.models_events import AnonEvent
from bot.services import events
from bot.services.posts import utcnow


async def test_two_concurrent_takes_count_one_taken_event(
    engine: AsyncEngine, session_factory: async_sessionmaker
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a race between two transactions needs PostgreSQL's row locks")
    events.install()
    async with session_factory() as session, session.begin():
        client = Client(key="race-client", chat_ref=b"x", language="ru", country="KZ")
        one, two = (
            Staff(key=f"race-{n}", chat_ref=b"x", display_name=f"P{n}", role="peer",
                  languages="ru", topics="ost")
            for n in (1, 2)
        )  # fmt: skip
        session.add_all([client, one, two])
        await session.flush()
        conversation = Conversation(
            client_id=client.id,
            kind="consult",
            status="waiting",
            topic="ost",
            language="ru",
            country="KZ",
        )
        session.add(conversation)
        await session.flush()
        ids = conversation.id, one.id, two.id

    def take(staff_id: int):  # type: ignore[no-untyped-def]
        return (
            update(Conversation)
            .where(Conversation.id == ids[0], Conversation.status == "waiting")
            .values(status="active", staff_id=staff_id, taken_at=utcnow())
        )

    first_took = asyncio.Event()

    async def first() -> int:
        async with session_factory() as session, session.begin():
            result = await session.execute(take(ids[1]))
            first_took.set()
            await asyncio.sleep(0.5)  # the second take is now waiting for this row's lock
            return result.rowcount

    async def second() -> int:
        await first_took.wait()
        async with session_factory() as session, session.begin():
            return (await session.execute(take(ids[2]))).rowcount

    assert sorted(await asyncio.gather(first(), second())) == [0, 1]
    async with session_factory() as session:
        taken = await session.scalar(
            select(func.count()).select_from(AnonEvent).where(AnonEvent.kind == "taken")
        )
    assert taken == 1
