"""A savepoint commits nothing on its own: what is recorded in it goes with the transaction.

pysqlite starts a transaction only before INSERT/UPDATE/DELETE, so a SAVEPOINT that came first
opened one of its own and its RELEASE committed it: `relay.record` (a savepoint, for the
duplicate check) committed a message alone, and a kill before the outer commit lost its
outbox row, so the message was never relayed and its redelivery was a no-op (found by
tests/e2e/test_crash_recovery_e2e.py). bot/db.py begins the transaction first.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import CannedAnswer


async def count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(CannedAnswer)) or 0)


async def test_a_released_savepoint_is_rolled_back_with_its_transaction(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await session.begin()
        await session.execute(select(1))  # reads first, as handlers do
        async with session.begin_nested():
            session.add(CannedAnswer(language="en", title="t", body="recorded in a savepoint"))
            await session.flush()
        await session.rollback()  # the process died before the commit
    assert await count(session_factory) == 0


async def test_a_savepoint_inside_a_transaction_that_wrote_still_commits(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        session.add(CannedAnswer(language="en", title="a", body="before"))
        await session.flush()
        async with session.begin_nested():
            session.add(CannedAnswer(language="en", title="b", body="inside"))
            await session.flush()
    assert await count(session_factory) == 2
