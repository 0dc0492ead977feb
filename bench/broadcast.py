"""A broadcast to N subscribers (default 10,000) through the real outbox worker, against the
fake that enforces Telegram's limits (tests/limits.py), while consultants keep answering.

The drain: the broadcast is enqueued at once (`outbox.enqueue_many`), and every 2 s a
consultant's reply to a client is enqueued (REPLY_PRIORITY), as the relay does. The worker
paces, sleeps and records on a clock that is virtual for sleeps but also moves with the real
time the work takes (database, PTB, the fake), so the duration includes what processing costs
on this machine without waiting out the pacing for real. Figures: duration against Telegram's
ceiling of 30 messages/s (N / 30 s), the 429s Telegram would have sent, and how long the
replies took (p50/p95). Median of the runs.

With --claim-curve, also the older measurement below of what claiming costs:

What a broadcast costs the outbox: enqueueing N subscriber rows, then claiming them.

`claim_due` picks due rows by (priority, id) and skips any row with an earlier pending row for
the same recipient (a correlated NOT EXISTS per candidate), so its cost may grow with the
number of pending rows. This measures claims/s with N, 3N/4, N/2, N/4 and 100 rows pending
(the same table: the rest already sent, as a drain leaves it), each against 100 pending, and
from that curve the database time all the claims of one broadcast take. Claims are rolled
back, so each sees the same rows. No Telegram, no sleeping, no sends.

Twice: with the planner statistics as the database keeps them (the bot never runs ANALYZE;
SQLite then has none, PostgreSQL whatever autovacuum last gathered), then after an ANALYZE
at each level. The query plan, and so the cost, differ by orders of magnitude.

    .venv/bin/python bench/broadcast.py [--quick] [--subscribers 10000] [--runs 3]
        [--claim-curve] [--database-url URL]

SQLite (a temporary file) by default. With --database-url (PostgreSQL) the bench creates a
database of its own on that server and drops it at the end; the one in the URL is untouched.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import ExtBot

from bench._common import TOKEN, database, median, percentile
from bot.crypto import Keys
from bot.db import make_engine, make_session_factory
from bot.delivery import DeliveryWorker
from bot.models import Outbox
from bot.services import outbox, outbox_claim, outbox_results
from bot.services.outbox import BROADCAST_PRIORITY, REPLY_PRIORITY
from tests.limits import LimitedTelegram, VirtualClock

SECRET = "bench-secret-key-0123456789-0123456789"
NEWS = "Новости Peerline: новые адреса пунктов ОЗТ, часы работы и телефон горячей линии."
SUBSCRIBER = 7_000_000  # subscriber i has chat id SUBSCRIBER + i
FEW = 100  # the "small queue" the full one is compared with
NOW = datetime(2030, 1, 1, tzinfo=UTC)


# The worker's default overall pacing (messages/s).
WORKER_RATE: float = inspect.signature(DeliveryWorker).parameters["overall_per_second"].default


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


class WorkingClock(VirtualClock):
    """Virtual sleeps plus the real time spent working: a run as long as a real one would be,
    without the waiting."""

    def __init__(self) -> None:
        super().__init__()
        self._real_start = time.perf_counter()

    def monotonic(self) -> float:
        return self.t + (time.perf_counter() - self._real_start)

    __call__ = monotonic

    def now(self) -> datetime:
        return self.base + timedelta(seconds=self.monotonic())


async def drain_run(url: str, n: int, reply_every: float) -> dict[str, float]:
    keys = Keys(SECRET)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    async with engine.begin() as conn:  # a fresh outbox for every run
        await conn.execute(delete(Outbox))
    clock = WorkingClock()
    telegram = LimitedTelegram(clock)
    bot = ExtBot(TOKEN, request=telegram, get_updates_request=telegram)
    await bot.initialize()
    worker = DeliveryWorker(
        bot, sessions, keys, clock=clock.monotonic, sleep=clock.sleep, now=clock.now
    )
    rows = [
        (keys.encrypt_chat_id(SUBSCRIBER + i), f"client:{i}", "sendMessage", {"text": NEWS})
        for i in range(n)
    ]
    started = clock.monotonic()
    async with sessions() as session, session.begin():
        await outbox.enqueue_many(
            session, keys, rows, priority=BROADCAST_PRIORITY, not_before=clock.now()
        )
    replies: dict[str, tuple[int, float]] = {}  # text -> (chat, enqueued at)
    rng = random.Random(n)
    broadcast_done = False

    async def reply_if_due() -> None:
        if broadcast_done or clock.monotonic() < started + reply_every * (len(replies) + 1):
            return
        chat = SUBSCRIBER + rng.randrange(n)
        text = f"Консультант: ответ {len(replies)}"
        async with sessions() as session, session.begin():
            await outbox.enqueue(
                session,
                keys,
                chat_ref=keys.encrypt_chat_id(chat),
                recipient=f"client:{chat - SUBSCRIBER}",
                method="sendMessage",
                params={"text": text},
                priority=REPLY_PRIORITY,
                not_before=clock.now(),
            )
        replies[text] = (chat, clock.monotonic())

    clock.on_sleep = reply_if_due
    real_started = time.perf_counter()
    for _ in range(100_000):
        await worker.drain()
        await reply_if_due()
        async with sessions() as session:
            left = await session.scalar(
                select(func.count()).select_from(Outbox).where(Outbox.status == outbox.PENDING)
            )
        if not left:
            break
        await clock.sleep(0.1)  # the worker's wake-up after a commit, at most this late
    news = sorted(at for log in telegram.delivered.values() for at, text in log if text == NEWS)
    broadcast_done = True
    latencies = []
    for reply, (chat, enqueued) in replies.items():
        arrived = [at for at, sent in telegram.delivered.get(chat, []) if sent == reply]
        latencies.append(arrived[0] - enqueued if arrived else float("inf"))
    await bot.shutdown()
    await engine.dispose()
    return {
        "delivered": len(news),
        "duration": news[-1] - started if news else float("nan"),
        "rejected": len(telegram.rejected),
        "rejected_chat": sum(reason == "chat" for _, _, reason in telegram.rejected),
        "reply_p50": percentile(latencies, 0.5) if latencies else float("nan"),
        "reply_p95": percentile(latencies, 0.95) if latencies else float("nan"),
        "replies": len(latencies),
        "real": time.perf_counter() - real_started,
    }


def print_drains(n: int, drains: list[dict[str, float]]) -> None:
    ceiling = n / 30
    for d in drains:
        print(
            f"  run: {d['delivered']:.0f}/{n} delivered in {d['duration']:6.1f} s "
            f"(real work {d['real']:5.1f} s), 429s {d['rejected']:.0f} "
            f"({d['rejected_chat']:.0f} for a private chat's 1/s), "
            f"{d['replies']:.0f} replies p50 {d['reply_p50']:4.2f} s p95 {d['reply_p95']:4.2f} s"
        )
    duration = median([d["duration"] for d in drains])
    print(f"baseline: Telegram's ceiling, 30 messages/s: {ceiling:6.1f} s for {n}")
    print(
        f"broadcast duration:  median {duration:6.1f} s = {n / duration:4.1f} messages/s, "
        f"ratio ceiling/duration {ceiling / duration:4.2f} (target >= 0.95)"
    )
    print(f"429s: {sum(d['rejected'] for d in drains):.0f} in all (target 0)")
    p95 = median([d["reply_p95"] for d in drains])
    print(f"client reply p95 during the broadcast: median {p95:4.2f} s (target < 1 s)")


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
        async with engine.begin() as conn:  # what the drains left
            await conn.execute(delete(Outbox))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reply-every", type=float, default=2.0, help="seconds between replies")
    parser.add_argument("--quick", action="store_true", help="2,000 subscribers, 2 runs")
    parser.add_argument("--claim-curve", action="store_true", help="also the claim cost curve")
    parser.add_argument("--batch", type=int, default=20, help="rows per claim (the worker's)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    n, runs = (2000, 2) if args.quick else (args.subscribers, args.runs)
    if n <= FEW:
        parser.error(f"--subscribers must be more than {FEW}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, database(args.database_url, tmp) as url:
        drains = [asyncio.run(drain_run(url, n, args.reply_every)) for _ in range(runs)]
        print(f"broadcast to {n} subscribers through the worker, {url.split(':')[0]}, {runs} runs")
        print_drains(n, drains)
        if args.claim_curve:
            print()
            print_claim_curve(url, n, args.batch)
    print(f"bench wall time: {time.perf_counter() - started:.1f} s")


def print_claim_curve(url: str, n: int, batch: int) -> None:
    r = asyncio.run(run(url, n, batch))
    rate = WORKER_RATE
    pacing = (batch - 1) / rate  # what the worker's default pacing spends on one batch
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
    print(f"the drain's {-(-n // batch)} claims, and the broadcast at the worker's {rate:g}/s")
    print(f"({pacing:.2f} s of pacing a batch; sending alone: {n / rate:.0f} s):")
    for kind, label in (("as_is", "statistics as they are"), ("analyzed", "after ANALYZE")):
        claims = drain_claim_seconds([(p, s) for p, s, _ in r[kind]], n, batch)
        total = n / rate + claims
        print(
            f"  {label:>22}: claims ~{claims:6.1f} s, broadcast ~{total:4.0f} s, {n / total:4.1f}/s"
        )


if __name__ == "__main__":
    main()
