"""Taking the next conversation from a long queue: p50/p99 of `queue.take` with N waiting.

The baseline, measured in the same run on the same data, is the query a take used before
(one SELECT ordered by `urgent DESC, created_at, id`, which the index could not serve, so every
take sorted every waiting row). The query plans of both are printed.

    .venv/bin/python bench/take_queue.py [--waiting 100000] [--takes 300]
    .venv/bin/python bench/take_queue.py --takers 16 \
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
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
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import Keys
from bot.db import make_engine, make_session_factory, upgrade_to_head
from bot.models import Base, Client, Conversation, Staff
from bot.services import queue, staff

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
            member = await staff.add_staff(
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


async def run(url: str, waiting: int, takes: int, takers: int) -> None:
    engine = make_engine(url)
    if url.startswith("postgresql"):
        async with engine.begin() as conn:
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    members = await fill(sessions, waiting, takers)
    print(f"filled {waiting} waiting conversations in {time.perf_counter() - started:.1f} s")
    if url.startswith("postgresql"):
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE conversations"))
    await plans(sessions, url.startswith("postgresql"))
    base50, base99 = quantiles(await timed_picks(sessions, takes, old=True))
    pick50, pick99 = quantiles(await timed_picks(sessions, takes, old=False))
    per_taker = max(takes // takers, 20)
    results = await asyncio.gather(*(timed_takes(sessions, m, per_taker) for m in members))
    take50, take99 = quantiles([t for r in results for t in r])
    print(f"pick before (ordered by urgent DESC): p50 {base50:6.2f} ms  p99 {base99:6.2f} ms")
    print(f"pick after (urgent, then not):        p50 {pick50:6.2f} ms  p99 {pick99:6.2f} ms")
    print(f"ratio after/before p99:               {pick99 / base99:6.2f}")
    print(
        f"whole take, {takers} taker(s) (7 statements + commit): "
        f"p50 {take50:6.2f} ms  p99 {take99:6.2f} ms"
    )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--waiting", type=int, default=100_000)
    parser.add_argument("--takes", type=int, default=300)
    parser.add_argument("--takers", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        upgrade_to_head(url)
        asyncio.run(run(url, args.waiting, args.takes, args.takers))


if __name__ == "__main__":
    main()
