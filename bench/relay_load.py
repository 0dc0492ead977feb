"""Relay latency under load: ten clients per consultant, each writing several short messages,
through the whole bot and the real outbox worker, against the fake that paces private chats as
Telegram does (tests/limits.py: 1 message/s per private chat, 30/s overall; 429 otherwise).

Everything runs on one virtual clock (nothing really sleeps): a message arrives at its planned
time, the bot records and enqueues it (`Application.process_update`), and the worker delivers
it while it paces and sleeps. Latency = when the text reached the consultant's chat (inside a
merged message or alone) - when the client sent it.

Baseline, on the same arrival times in the same run: a relay that sends each message on its
own as soon as the consultant's chat allows (1/s, first come first served, no merging).

    .venv/bin/python bench/relay_load.py [--quick] [--consultants 3] [--messages 5] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select
from telegram import Update

from bench._common import close, conversations, median, offline_bot, percentile
from bot.app import make_delivery_worker
from bot.db import upgrade_to_head
from bot.models import Outbox
from bot.services import outbox
from tests.harness import BotHarness, FakeUser
from tests.limits import LimitedTelegram, VirtualClock

PER_CONSULTANT = 10


@dataclass(frozen=True)
class Arrival:
    at: float
    client: int
    token: str


def plan(clients: int, messages: int, seed: int, start: float) -> list[Arrival]:
    """Each client starts within the first 10 s and writes `messages` short messages 1-6 s
    apart (people in distress write in bursts of short lines)."""
    rng = random.Random(seed)
    arrivals = []
    for client in range(clients):
        at = start + rng.uniform(0, 10)
        for k in range(messages):
            arrivals.append(Arrival(at, client, f"[c{client}m{k}]"))
            at += rng.uniform(1, 6)
    return sorted(arrivals, key=lambda a: a.at)


def naive_latencies(arrivals: list[Arrival], holder: dict[int, int]) -> list[float]:
    """One send per message, 1/s per consultant's chat, in arrival order, no merging."""
    free: dict[int, float] = {}
    latencies = []
    for arrival in arrivals:
        chat = holder[arrival.client]
        sent = max(arrival.at, free.get(chat, arrival.at))
        free[chat] = sent + 1.0
        latencies.append(sent - arrival.at)
    return latencies


async def pending(harness: BotHarness) -> int:
    async with harness.app.bot_data.runtime.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.status == outbox.PENDING)
        )
    return int(count or 0)


async def one_run(
    tmp: Path, consultants: int, messages: int, seed: int
) -> tuple[list[float], list[float], int, int]:
    url = f"sqlite+aiosqlite:///{tmp}/relay-{seed}.db"
    clock = VirtualClock()
    # Setting up (onboarding, takes) is not measured: no limits while it runs.
    telegram = LimitedTelegram(clock, overall_per_second=10**6, private_interval=0.0)

    def worker(app: Any) -> Any:
        return make_delivery_worker(
            app, clock=clock.monotonic, sleep=clock.sleep, now=clock.now, rng=lambda: 0.5
        )

    harness = await offline_bot(url, tmp, telegram, worker)
    staff_users, clients = await conversations(harness, consultants, PER_CONSULTANT)
    holder = {n: staff_users[n // PER_CONSULTANT].id for n in range(len(clients))}
    await harness.deliver()
    telegram.overall_per_second, telegram.private_interval = 30, 1.0
    clock.advance(60.0)  # whatever setup sent is out of every window
    arrivals = plan(len(clients), messages, seed, start=clock.t + 1.0)
    sent_at: dict[str, float] = {}
    queue = list(arrivals)

    async def arrive_due() -> None:
        while queue and queue[0].at <= clock.t:
            arrival = queue.pop(0)
            sent_at[arrival.token] = arrival.at
            user: FakeUser = clients[arrival.client]
            message = harness._message(user, text=f"мне плохо {arrival.token}")
            update = {"message": message, "update_id": next(harness._update_ids)}
            await harness.app.process_update(Update.de_json(update, harness.app.bot))

    clock.on_sleep = arrive_due
    delivery = harness.app.bot_data.delivery
    errors_before = harness.app.bot_data.runtime.metrics.handler_errors_total
    for _ in range(100_000):
        await arrive_due()
        await delivery.drain()
        if not queue and await pending(harness) == 0:
            break
        await clock.sleep(0.1)  # the worker's wake-up after a commit, at most this late
    received: dict[str, float] = {}
    for chat in {holder[n] for n in holder}:
        for at, text in telegram.delivered.get(chat, []):
            for token in sent_at:
                if token in text and token not in received:
                    received[token] = at
    lost = len(sent_at) - len(received)
    sends = sum(
        1
        for chat in set(holder.values())
        for at, _ in telegram.delivered.get(chat, [])
        if at >= arrivals[0].at
    )
    print(f"  {len(sent_at)} client messages reached the consultants in {sends} Telegram messages")
    latencies = [received[t] - sent_at[t] for t in received]
    rejected = len(telegram.rejected)
    errors = harness.app.bot_data.runtime.metrics.handler_errors_total - errors_before
    await close(harness.app)
    assert errors == 0, f"{errors} handler errors"
    return latencies, naive_latencies(arrivals, holder), rejected, lost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--consultants", type=int, default=3)
    parser.add_argument("--messages", type=int, default=5, help="per client")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 consultant, 2 runs")
    args = parser.parse_args()
    consultants, runs = (1, 2) if args.quick else (args.consultants, args.runs)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(runs):
            upgrade_to_head(f"sqlite+aiosqlite:///{tmp}/relay-{seed}.db")  # before the loop runs
            results.append(asyncio.run(one_run(Path(tmp), consultants, args.messages, seed)))
    print(
        f"relay load: {consultants} consultant(s) x {PER_CONSULTANT} clients x "
        f"{args.messages} messages, {runs} runs (virtual clock, SQLite)"
    )
    rows = []
    for latencies, naive, rejected, lost in results:
        rows.append(
            (
                percentile(latencies, 0.5),
                percentile(latencies, 0.95),
                percentile(naive, 0.5),
                percentile(naive, 0.95),
                rejected,
                lost,
            )
        )
        print(
            f"  run: peerline p50 {rows[-1][0]:5.1f} s p95 {rows[-1][1]:5.1f} s | one-by-one "
            f"p50 {rows[-1][2]:5.1f} s p95 {rows[-1][3]:5.1f} s | 429s {rejected} | lost {lost}"
        )
    p50, p95, n50, n95 = (median([r[i] for r in rows]) for i in range(4))
    print(f"peerline relay:          median p50 {p50:5.1f} s  p95 {p95:5.1f} s  (target p95 < 5 s)")
    print(f"baseline one-by-one 1/s: median p50 {n50:5.1f} s  p95 {n95:5.1f} s")
    print(f"ratio p95 peerline/baseline: {p95 / n95 if n95 else float('nan'):.2f}")
    print(f"429s: {sum(r[4] for r in rows)}, messages lost: {sum(r[5] for r in rows)}")


if __name__ == "__main__":
    main()
