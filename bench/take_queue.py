"""Taking the next conversation from a long queue: p50/p99 of `queue.take` with N waiting.

The baseline, measured in the same run on the same data, is the query a take used before
(one SELECT ordered by `urgent DESC, created_at, id`, which the index could not serve, so every
take sorted every waiting row). The query plans of both are printed.

    .venv/bin/python bench/take_queue.py [--quick] [--waiting 100000] [--takes 300] [--runs 3]
    .venv/bin/python bench/take_queue.py --takers 1,4,16 \
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

With --database-url the bench creates a database of its own on that server (and drops it at
the end); the database named in the URL is untouched. Concurrent takers each take in their own
transaction on their own connection, all in this one process.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import ColumnElement, false, insert, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bench._common import database
from bot.crypto import Keys
from bot.db import make_engine, make_session_factory
from bot.models import Client, Conversation, Staff
from bot.services import queue, staff_accounts

TOPICS = ("ost", "hiv", "legal", "general")


async def fill(sessions: async_sessionmaker[AsyncSession], waiting: int, takers: int) -> list[int]:
    keys = Keys("bench-secret-key-0123456789-0123456789")
    start = datetime.now(UTC) - timedelta(days=1)
    async with sessions() as session, session.begin():
        for first in range(0, waiting, 5000):
            chunk = range(first, min(first + 5000, waiting))
            await session.execute(
                insert(Client),
                [
                    {"key": f"k{i:064d}"[-64:], "chat_ref": b"x", "privacy_seen": True}
                    for i in chunk
                ],
            )
        ids = list(await session.scalars(select(Client.id).order_by(Client.id)))
        for first in range(0, waiting, 5000):
            await session.execute(
                insert(Conversation),
                [
                    {
                        "client_id": ids[i],
                        "kind": "consult",
                        "status": "waiting",
                        "topic": TOPICS[i % len(TOPICS)],
                        "language": "ru" if i % 3 else "uk",
                        "country": "UA",
                        "urgent": i % 50 == 0,
                        "created_at": start + timedelta(seconds=i),
                    }
                    for i in range(first, min(first + 5000, waiting))
                ],
            )
        members = []
        for n in range(takers):
            member = await staff_accounts.add_staff(
                session,
                keys,
                telegram_id=7_000_000 + n,
                display_name=f"Taker{n}",
                role="peer",
                languages=["ru"],
            )
            members.append(member.id)
        # Each taker may hold as many as the benchmark takes.
        await session.execute(update(Staff).values(max_active=30_000))
    return members


async def timed_takes(
    sessions: async_sessionmaker[AsyncSession], member: int, takes: int
) -> list[float]:
    times = []
    for _ in range(takes):
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            await queue.take(session, member)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _waiting_for_ru() -> list[ColumnElement[bool]]:
    return [
        Conversation.status == "waiting",
        Conversation.language.in_(["ru"]),
        Conversation.topic.in_(TOPICS),
    ]


async def timed_picks(
    sessions: async_sessionmaker[AsyncSession], takes: int, *, old: bool
) -> list[float]:
    """Choosing the next conversation, SELECT only: the old pick (one query ordered by
    `urgent DESC`, which sorts every waiting row) or the new one (urgent, then not, each
    walking the index in order)."""
    if old:
        order = (Conversation.urgent.desc(), Conversation.created_at, Conversation.id)
        queries = [select(Conversation.id).where(*_waiting_for_ru()).order_by(*order).limit(1)]
    else:
        queries = [
            select(Conversation.id)
            .where(*_waiting_for_ru(), Conversation.urgent == flag)
            .order_by(Conversation.created_at, Conversation.id)
            .limit(1)
            for flag in (true(), false())
        ]
    times = []
    for _ in range(takes):
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            for query in queries:
                if await session.scalar(query) is not None:
                    break
        times.append((time.perf_counter() - started) * 1000)
    return times


def quantiles(times: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(times, n=100)
    return statistics.median(times), cuts[98]


async def plans(sessions: async_sessionmaker[AsyncSession], postgres: bool) -> None:
    explain = "EXPLAIN" if postgres else "EXPLAIN QUERY PLAN"
    old = (
        "SELECT id FROM conversations WHERE status = 'waiting' AND language IN ('ru') "
        "ORDER BY urgent DESC, created_at, id LIMIT 1"
    )
    new = (
        "SELECT id FROM conversations WHERE status = 'waiting' AND language IN ('ru') "
        f"AND urgent = {'true' if postgres else '1'} ORDER BY created_at, id LIMIT 1"
    )
    async with sessions() as session:
        for name, query in (("before", old), ("after", new)):
            rows = (await session.execute(text(f"{explain} {query}"))).all()
            print(f"plan {name}: " + " | ".join(str(r[-1]) for r in rows))


async def run(url: str, waiting: int, takes: int, takers: list[int], runs: int) -> None:
    postgres = url.startswith("postgresql")
    # Enough connections for every taker: the figures are the database's, not a pool's queue
    # (the bot's default pool of 5 would make 16 takers wait for a connection).
    engine = (
        create_async_engine(url, pool_size=max(takers), max_overflow=0)
        if postgres
        else make_engine(url)
    )
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    members = await fill(sessions, waiting, max(takers))
    print(f"filled {waiting} waiting conversations in {time.perf_counter() - started:.1f} s")
    if postgres:
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE conversations"))
    await plans(sessions, postgres)
    base = [quantiles(await timed_picks(sessions, takes, old=True)) for _ in range(runs)]
    pick = [quantiles(await timed_picks(sessions, takes, old=False)) for _ in range(runs)]
    base50, base99 = (statistics.median(b[i] for b in base) for i in (0, 1))
    pick50, pick99 = (statistics.median(p[i] for p in pick) for i in (0, 1))
    print(f"median of {runs} runs of {takes}:")
    print(f"pick before (ordered by urgent DESC): p50 {base50:6.2f} ms  p99 {base99:6.2f} ms")
    print(f"pick after (urgent, then not):        p50 {pick50:6.2f} ms  p99 {pick99:6.2f} ms")
    print(f"ratio after/before p99:               {pick99 / base99:6.2f}")
    for count in takers:
        per_taker = max(takes // count, 20)
        figures = []
        for _ in range(runs):
            results = await asyncio.gather(
                *(timed_takes(sessions, m, per_taker) for m in members[:count])
            )
            figures.append(quantiles([t for r in results for t in r]))
        take50, take99 = (statistics.median(f[i] for f in figures) for i in (0, 1))
        print(
            f"whole take, {count:2d} concurrent taker(s) (7 statements + commit): "
            f"p50 {take50:6.2f} ms  p99 {take99:6.2f} ms"
        )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--waiting", type=int, default=100_000)
    parser.add_argument("--takes", type=int, default=300)
    parser.add_argument("--takers", default="1", help="comma-separated, e.g. 1,4,16")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20,000 waiting, 100 takes, 2 runs")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    takers = [int(n) for n in args.takers.split(",")]
    waiting, takes, runs = (20_000, 100, 2) if args.quick else (args.waiting, args.takes, args.runs)
    with tempfile.TemporaryDirectory() as tmp, database(args.database_url, tmp) as url:
        asyncio.run(run(url, waiting, takes, takers, runs))


if __name__ == "__main__":
    main()
