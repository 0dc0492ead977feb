"""What a broadcast costs the outbox: enqueueing N subscriber rows, then claiming them.

`claim_due` picks due rows by (priority, id) and skips any row with an earlier pending row for
the same recipient (a correlated NOT EXISTS per candidate), so its cost may grow with the
number of pending rows. This measures claims/s with N, 3N/4, N/2, N/4 and 100 rows pending
(the same table: the rest already sent, as a drain leaves it), each against 100 pending, and
from that curve the database time all the claims of one broadcast take. Claims are rolled
back, so each sees the same rows. No Telegram, no sleeping, no sends.

Twice: with the planner statistics as the database keeps them (the bot never runs ANALYZE;
SQLite then has none, PostgreSQL whatever autovacuum last gathered), then after an ANALYZE
at each level. The query plan, and so the cost, differ by orders of magnitude.

    .venv/bin/python bench/broadcast.py [--subscribers 5000] [--database-url URL]

SQLite (a temporary file) by default. With --database-url (PostgreSQL) the bench creates a
database of its own on that server and drops it at the end; the one in the URL is untouched.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from bot.crypto import Keys
from bot.db import make_engine, make_session_factory, upgrade_to_head
from bot.models import Outbox
from bot.services import outbox, outbox_claim, outbox_results
from bot.services.outbox import BROADCAST_PRIORITY

SECRET = "bench-secret-key-0123456789-0123456789"
NEWS = "Новости Peerline: новые адреса пунктов ОЗТ, часы работы и телефон горячей линии."
FEW = 100  # the "small queue" the full one is compared with
NOW = datetime(2030, 1, 1, tzinfo=UTC)


class AbandonClaim(Exception):
    """Raised inside a claim's transaction so it rolls back: the next claim sees the same rows."""


async def enqueue_broadcast(
    sessions: async_sessionmaker[AsyncSession], keys: Keys, n: int
) -> float:
    """N subscriber rows in one transaction, as a broadcast enqueues them (one multi-row
    INSERT, `outbox.enqueue_many`); rows/s."""
    started = time.perf_counter()
    rows = [
        (keys.encrypt_chat_id(7_000_000 + i), f"client:{i}", "sendMessage", {"text": NEWS})
        for i in range(n)
    ]
    async with sessions() as session, session.begin():
        await outbox.enqueue_many(session, keys, rows, priority=BROADCAST_PRIORITY, not_before=NOW)
    return n / (time.perf_counter() - started)


async def claim_seconds(
    sessions: async_sessionmaker[AsyncSession], keys: Keys, batch: int, *, claims: int = 3
) -> tuple[float, int]:
    """Seconds per claim of `batch` rows (each rolled back, so every claim sees the same rows):
    at least `claims` claims, more while under a second; and how many rows a claim got."""
    done, rows, started = 0, 0, time.perf_counter()
    while done < claims or (time.perf_counter() - started < 1.0 and done < 500):
        try:
            async with sessions() as session, session.begin():
                claimed = await outbox_claim.claim_due(session, keys, now=NOW, limit=batch)
                rows = len(claimed)
                raise AbandonClaim
        except AbandonClaim:
            pass
        done += 1
    return (time.perf_counter() - started) / done, rows


async def keep_pending(sessions: async_sessionmaker[AsyncSession], keep: int) -> int:
    """Rows are pending again, then all but the last `keep` are sent (as a drain leaves them:
    the table keeps its size); returns how many are pending."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(Outbox).values(status=outbox.PENDING, sent_at=None, sent_message_id=None)
        )
        last = await session.scalar(select(func.max(Outbox.id)))
        await session.execute(
            update(Outbox)
            .where(Outbox.id <= last - keep)
            .values(status=outbox.SENT, sent_at=NOW, sent_message_id=1)
        )
        return await session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.status == outbox.PENDING)
        )


async def mark_sent_rate(sessions: async_sessionmaker[AsyncSession], rows: int) -> float:
    """Rows/s recorded as sent, one transaction each (what the worker does after a send)."""
    async with sessions() as session:
        ids = list(
            await session.scalars(
                select(Outbox.id)
                .where(Outbox.status == outbox.PENDING)
                .order_by(Outbox.id)
                .limit(rows)
            )
        )
    started = time.perf_counter()
    for outbox_id in ids:
        async with sessions() as session, session.begin():
            await outbox_results.mark_sent(session, outbox_id, 1, now=NOW)
    return len(ids) / (time.perf_counter() - started)


def drain_claim_seconds(curve: list[tuple[int, float]], n: int, batch: int) -> float:
    """Database time of all the claims of a drain of n rows: pending n, n - batch, ... batch,
    each claim's cost interpolated (linearly) from the measured curve."""
    points = sorted(curve)
    total = 0.0
    for pending in range(n, 0, -batch):
        low = max((p for p in points if p[0] <= pending), default=points[0])
        high = min((p for p in points if p[0] >= pending), default=points[-1])
        if high[0] == low[0]:
            total += low[1]
        else:
            share = (pending - low[0]) / (high[0] - low[0])
            total += low[1] + share * (high[1] - low[1])
    return total


async def analyze(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await session.execute(text("ANALYZE outbox"))


async def server_note(sessions: async_sessionmaker[AsyncSession], dialect: str) -> str:
    async with sessions() as session:
        if dialect == "postgresql":
            autovacuum = await session.scalar(text("SHOW autovacuum"))
            return f"autovacuum={autovacuum}"
        stat = await session.scalar(
            text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        )
        return "no ANALYZE statistics" if not stat else "has ANALYZE statistics"


async def run(url: str, n: int, batch: int) -> dict:
    keys = Keys(SECRET)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    dialect = engine.dialect.name
    levels = sorted({n, 3 * n // 4, n // 2, n // 4, FEW}, reverse=True)
    results: dict = {"as_is": [], "analyzed": []}
    try:
        results["enqueue"] = await enqueue_broadcast(sessions, keys, n)
        results["server"] = await server_note(sessions, dialect)
        if dialect == "postgresql":
            # A running worker has claimed many times on its pooled connection: PostgreSQL
            # plans a prepared statement (asyncpg prepares every one) for its parameters five
            # times, then may keep a generic plan. Measure that steady state, not the start.
            for _ in range(6):
                await claim_seconds(sessions, keys, batch, claims=1)
        for level in levels:  # the statistics as the server keeps them
            pending = await keep_pending(sessions, level)
            results["as_is"].append((pending, *await claim_seconds(sessions, keys, batch)))
        for level in levels:  # fresh statistics for each state
            pending = await keep_pending(sessions, level)
            await analyze(sessions)
            results["analyzed"].append((pending, *await claim_seconds(sessions, keys, batch)))
        await keep_pending(sessions, n)
        results["mark_sent"] = await mark_sent_rate(sessions, min(n, 1000))
    finally:
        await engine.dispose()
    return results


@contextmanager
def database(url: str | None, tmp: str) -> Iterator[str]:
    """A migrated database of the bench's own: a temporary SQLite file, or a PostgreSQL one."""
    if url is None:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        upgrade_to_head(url)  # synchronous: before any event loop runs
        yield url
        return
    name = f"peerline_bench_{secrets.token_hex(4)}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    async def execute(statement: str) -> None:
        async with admin.connect() as conn:
            await conn.execute(text(statement))

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        own = make_url(url).set(database=name).render_as_string(hide_password=False)
        upgrade_to_head(own)
        yield own
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(admin.dispose())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=20, help="rows per claim (the worker's)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    if args.subscribers <= FEW:
        parser.error(f"--subscribers must be more than {FEW}")
    n, batch = args.subscribers, args.batch
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, database(args.database_url, tmp) as url:
        r = asyncio.run(run(url, n, batch))
    pacing = (batch - 1) / 25  # what the worker's default pacing spends on one batch
    print(f"outbox broadcast: {n} subscriber rows, {url.split(':')[0]} ({r['server']})")
    print(f"enqueue:   {r['enqueue']:6.0f} rows/s (outbox.enqueue_many, one transaction)")
    print(f"mark_sent: {r['mark_sent']:6.0f} rows/s (one transaction each, as the worker does)")
    print()
    print(f"claim_due, {batch} rows a claim, {n} rows in the table:")
    print(f"{'':8}   {'statistics as they are':>30}   {'after ANALYZE':>30}")
    head = f"{'claims/s':>10} {'ms/claim':>10} {'vs 100':>8}"
    print(f"{'pending':>8}   {head}   {head}")
    few = {kind: next(s for p, s, _ in r[kind] if p == FEW) for kind in ("as_is", "analyzed")}
    for (pending, seconds, _), (_, fresh, _) in zip(r["as_is"], r["analyzed"], strict=True):
        cells = []
        for kind, value in (("as_is", seconds), ("analyzed", fresh)):
            cells.append(f"{1 / value:>10.1f} {value * 1000:>10.1f} {few[kind] / value:>8.3f}")
        print(f"{pending:>8}   {cells[0]}   {cells[1]}")
    print(f"  vs 100: claims/s relative to the same table with {FEW} rows pending")
    print()
    print(f"the drain's {-(-n // batch)} claims, and the broadcast at the worker's 25/s")
    print(f"({pacing:.2f} s of pacing a batch; sending alone: {n / 25:.0f} s):")
    for kind, label in (("as_is", "statistics as they are"), ("analyzed", "after ANALYZE")):
        claims = drain_claim_seconds([(p, s) for p, s, _ in r[kind]], n, batch)
        total = n / 25 + claims
        rate = n / total
        print(f"  {label:>22}: claims ~{claims:6.1f} s, broadcast ~{total:4.0f} s, {rate:4.1f}/s")
    print(f"bench wall time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
