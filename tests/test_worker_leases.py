"""Outbox leases after a crash: a dead worker's are freed at once, a live worker's are kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import ExtBot

from bot.crypto import Keys
from bot.models import DeliveryWorkerRow, Outbox
from bot.services import leases, outbox_claim, outbox_results
from tests.conftest import TEST_SECRET
from tests.test_delivery import (
    ALICE,
    BORIS,
    FakeTime,
    ScriptedTelegram,
    enqueue,
    make_bot,
    make_worker,
)


@pytest.fixture
def keys() -> Keys:
    return Keys(TEST_SECRET)


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def bot(time: FakeTime) -> AsyncIterator[ExtBot]:
    bot = await make_bot(ScriptedTelegram(time))
    yield bot
    await bot.shutdown()


async def claim_as(
    sessions: async_sessionmaker[AsyncSession], keys: Keys, time: FakeTime, worker_id: int
) -> list[int]:
    async with sessions() as session, session.begin():
        rows = await outbox_claim.claim_due(
            session, keys, now=time.now(), lease_seconds=60, worker_id=worker_id
        )
    return [row.id for row in rows]


async def register(sessions: async_sessionmaker[AsyncSession], time: FakeTime) -> int:
    async with sessions() as session, session.begin():
        return await leases.register(session, now=time.now())


async def test_a_restarted_process_sends_what_the_killed_one_had_claimed_at_once(
    bot, session_factory, keys, time
) -> None:  # type: ignore[no-untyped-def]
    await enqueue(session_factory, keys, time, ALICE, "claimed before the kill")
    killed = await register(session_factory, time)
    assert await claim_as(session_factory, keys, time, killed)  # leased for 60 s, then SIGKILL

    time.advance(2)  # the restart: far less than the lease, still within the heartbeat
    restarted = make_worker(bot, session_factory, keys, time, one_process=True)
    assert await restarted.drain() == 1
    async with session_factory() as session:
        workers = list(await session.scalars(select(DeliveryWorkerRow.id)))
    assert workers == [restarted.worker_id]  # the dead worker's row is gone too


async def test_a_live_worker_elsewhere_keeps_its_leases(bot, session_factory, keys, time) -> None:  # type: ignore[no-untyped-def]
    await enqueue(session_factory, keys, time, ALICE, "held by a live process")
    other = await register(session_factory, time)
    assert await claim_as(session_factory, keys, time, other)

    time.advance(2)  # its heartbeat is 2 s old: alive
    second = make_worker(bot, session_factory, keys, time, stale_after=5.0)
    assert await second.drain() == 0

    time.advance(4)  # 6 s without a heartbeat: dead, so its lease is freed
    async with session_factory() as session, session.begin():
        assert await leases.free_dead(
            session, second.worker_id or 0, now=time.now(), stale_after=5.0
        )
    assert await second.drain() == 1


async def test_a_heartbeat_keeps_a_worker_alive(session_factory, keys, time) -> None:  # type: ignore[no-untyped-def]
    await enqueue(session_factory, keys, time, ALICE, "kept")
    holder = await register(session_factory, time)
    assert await claim_as(session_factory, keys, time, holder)
    other = await register(session_factory, time)
    time.advance(4)
    async with session_factory() as session, session.begin():
        assert await leases.beat(session, holder, now=time.now())
    time.advance(4)  # 8 s since it started, 4 s since its last heartbeat
    async with session_factory() as session, session.begin():
        assert await leases.free_dead(session, other, now=time.now(), stale_after=5.0) == 0


async def test_a_dead_workers_backoff_is_kept(session_factory, keys, time) -> None:  # type: ignore[no-untyped-def]
    row = await enqueue(session_factory, keys, time, ALICE, "failed once")
    dead = await register(session_factory, time)
    await claim_as(session_factory, keys, time, dead)
    async with session_factory() as session, session.begin():
        await outbox_results.mark_retry(
            session, row, delay_seconds=120, error="502", now=time.now()
        )
    alive = await register(session_factory, time)
    async with session_factory() as session, session.begin():
        await leases.free_dead(session, alive, now=time.now(), stale_after=5.0, only_us=True)
    async with session_factory() as session:
        not_before = await session.scalar(select(Outbox.not_before).where(Outbox.id == row))
    assert not_before is not None
    assert not_before >= time.now() + timedelta(seconds=119)


async def test_a_worker_taken_for_dead_releases_nothing_another_took(
    session_factory, keys, time
) -> None:  # type: ignore[no-untyped-def]
    row = await enqueue(session_factory, keys, time, ALICE, "one row, two claimers")
    stalled = await register(session_factory, time)
    await claim_as(session_factory, keys, time, stalled)
    time.advance(10)
    fresh = await register(session_factory, time)
    async with session_factory() as session, session.begin():
        assert await leases.free_dead(session, fresh, now=time.now(), stale_after=5.0) == 1
    assert await claim_as(session_factory, keys, time, fresh) == [row]
    async with session_factory() as session, session.begin():
        assert not await leases.beat(session, stalled, now=time.now())  # it learns it lost
        # Its late release must not make the row due while `fresh` holds it.
        assert await outbox_claim.release(session, [row], now=time.now(), worker_id=stalled) == 0


async def test_running_worker_registers_beats_and_retires(bot, session_factory, keys, time) -> None:  # type: ignore[no-untyped-def]
    await enqueue(session_factory, keys, time, BORIS, "sent by the running worker")
    worker = make_worker(bot, session_factory, keys, time, heartbeat_interval=0.05)
    worker.start()
    for _ in range(100):
        await asyncio.sleep(0.02)
        if worker.stats["sent"]:
            break
    assert worker.stats["sent"] == 1
    async with session_factory() as session:
        assert list(await session.scalars(select(DeliveryWorkerRow.id))) == [worker.worker_id]
    await worker.stop()
    async with session_factory() as session:
        assert list(await session.scalars(select(DeliveryWorkerRow.id))) == []
