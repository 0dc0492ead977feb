"""A client's message inside a conversation, through the whole bot, against the least any bot
that records messages pays: one SQLAlchemy SELECT (the sender) + INSERT (the message) per update.

Both run in this process on the same database file. Peerline: `Application.process_update`
with the offline fake Telegram (the front door, the flood check, recording the message
encrypted, enqueueing the relay); the outbox worker's delivery is run between updates and not
timed (it runs apart from the update). Baseline: for each update, one transaction with
`SELECT clients WHERE key = ?` and `INSERT INTO messages`, through the bot's own engine
(bot/db.py). Runs alternate; medians of wall and of CPU time (steadier on a shared machine).

    .venv/bin/python bench/conversation_message.py [--quick] [--updates 600] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, update
from telegram import Update

from bench._common import close, conversations, database, median, offline_bot
from bot.db import make_engine, make_session_factory
from bot.models import Client, Conversation, Message
from tests.harness import BotHarness

CONSULTANTS, PER_CONSULTANT = 5, 10  # 50 clients in conversations
_BASELINE_UPDATE_IDS = itertools.count(10**12)  # unique across runs, as update ids are


async def peerline_rate(
    harness: BotHarness, clients: list, updates: int, tag: int
) -> tuple[float, float]:
    """Updates/s of process_update alone (the worker drains between updates, untimed), of
    wall time and of this process's CPU time (all threads: aiosqlite's too)."""
    spent = cpu = 0.0
    for i in range(updates):
        user = clients[i % len(clients)]
        message = harness._message(user, text=f"мне страшно, {tag}-{i}")
        parsed = Update.de_json(
            {"message": message, "update_id": next(harness._update_ids)}, harness.app.bot
        )
        started, cpu_started = time.perf_counter(), time.process_time()
        await harness.app.process_update(parsed)
        spent += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        await harness.deliver()
        if i % len(clients) == len(clients) - 1:
            await forget_flood(harness)
    return updates / spent, updates / cpu


async def forget_flood(harness: BotHarness) -> None:
    """The runs send more than 20 messages a minute per client; reset the flood counters
    (untimed) so every run measures the ordinary path, not the held-for-flooding one."""
    async with harness.app.bot_data.runtime.transaction() as session:
        await session.execute(update(Client).values(flood_count=0, flood_window_start=None))


async def baseline_rate(
    url: str, keys: list[str], conversation_id: int, updates: int
) -> tuple[float, float]:
    """Updates/s (wall, CPU) of one transaction each: SELECT the sender, INSERT the message."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(updates):
        async with sessions() as session, session.begin():
            client = await session.scalar(
                select(Client.id).where(Client.key == keys[i % len(keys)])
            )
            assert client is not None
            await session.execute(
                insert(Message).values(
                    conversation_id=conversation_id,
                    update_id=next(_BASELINE_UPDATE_IDS),
                    author="client",
                    kind="text",
                    body=b"\x00" * 64,
                    source_message_id=i,
                )
            )
    rates = (
        updates / (time.perf_counter() - started),
        updates / (time.process_time() - cpu_started),
    )
    await engine.dispose()
    return rates


Rates = list[tuple[float, float]]


async def run(url: str, data_dir: Path, updates: int, runs: int) -> tuple[Rates, Rates]:
    harness = await offline_bot(url, data_dir)
    _, clients = await conversations(harness, CONSULTANTS, PER_CONSULTANT)
    async with harness.app.bot_data.runtime.sessions() as session:
        keys = list(await session.scalars(select(Client.key)))
        conversation_id = await session.scalar(select(Conversation.id).limit(1))
    assert conversation_id is not None
    await peerline_rate(harness, clients, min(updates, 50), tag=-1)  # warm-up
    ours, base = [], []
    for run_number in range(runs):
        base.append(await baseline_rate(url, keys, conversation_id, updates))
        ours.append(await peerline_rate(harness, clients, updates, tag=run_number))
    await close(harness.app)
    return ours, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=600)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="200 updates, 3 runs")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    updates, runs = (200, 3) if args.quick else (args.updates, args.runs)
    with tempfile.TemporaryDirectory() as tmp, database(args.database_url, tmp) as url:
        ours, base = asyncio.run(run(url, Path(tmp), updates, runs))
    backend = url.split(":")[0]
    print(f"client message in a conversation, {updates} updates x {runs} runs ({backend})")
    for index, clock in ((0, "wall"), (1, "CPU")):
        theirs, mine = [b[index] for b in base], [o[index] for o in ours]
        print(f"{clock} time:")
        print(
            f"  baseline (SELECT + INSERT): median {median(theirs):6.0f} updates/s  {show(theirs)}"
        )
        print(f"  peerline (process_update):  median {median(mine):6.0f} updates/s  {show(mine)}")
        ratios = [o / b for o, b in zip(mine, theirs, strict=True)]
        print(f"  ratio peerline/baseline:      median {median(ratios):7.2f}  (target >= 1)")


def show(values: list[float]) -> str:
    return " ".join(f"{v:.0f}" for v in values)


if __name__ == "__main__":
    main()
