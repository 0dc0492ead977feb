"""Resident memory (RSS) of the bot with 100,000 clients and 10,000 open conversations in
its database, after a warm-up of typical updates.

Each run is a fresh process: it imports what the bot imports and reads its RSS (the baseline:
the interpreter and the libraries, before the bot starts), then builds the whole bot on the
filled database (offline fake Telegram, the outbox worker driven by hand), sends the warm-up
(new clients onboarding and browsing the menus, requests, takes, messages both ways, /queue)
and reads its RSS again. Median of the runs.

    .venv/bin/python bench/memory.py [--quick] [--clients 100000] [--open 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Everything the bot imports, before it starts: the baseline is measured after these.
from sqlalchemy import insert, select, update
from telegram import Update

from bench._common import SECRET, close, conversations, median, offline_bot, onboard
from bot.crypto import Keys
from bot.db import make_engine, make_session_factory, upgrade_to_head
from bot.models import Client, Conversation, Staff
from bot.services import staff_accounts
from tests.harness import BotHarness, FakeUser

TOPICS = ("ost", "hiv", "legal", "general")
NODES = ("main", "overdose", "od_opioids", "ost", "ost_access", "hiv", "legal", "legal_detained")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def fill(url: str, clients: int, open_conversations: int) -> None:
    """`clients` clients (onboarded); `open_conversations` of them with an open conversation,
    half waiting, half active with one of 100 consultants."""
    keys = Keys(SECRET)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    start = datetime.now(UTC) - timedelta(days=1)
    async with sessions() as session, session.begin():
        for first in range(0, clients, 5000):
            await session.execute(
                insert(Client),
                [
                    {
                        "key": f"{i:064d}",
                        "chat_ref": keys.encrypt_chat_id(7_000_000_000 + i),
                        "language": "ru",
                        "privacy_seen": True,
                        "country": "UA",
                    }
                    for i in range(first, min(first + 5000, clients))
                ],
            )
        members = []
        for n in range(100):
            member = await staff_accounts.add_staff(
                session,
                keys,
                telegram_id=6_000_000_000 + n,
                display_name=f"Peer{n}",
                role="peer",
                languages=["ru"],
            )
            members.append(member.id)
        await session.execute(update(Staff).values(max_active=1000))
        ids = list(await session.scalars(select(Client.id).order_by(Client.id)))
        for first in range(0, open_conversations, 5000):
            rows = []
            for i in range(first, min(first + 5000, open_conversations)):
                active = i % 2 == 1
                rows.append(
                    {
                        "client_id": ids[i],
                        "kind": "consult",
                        "status": "active" if active else "waiting",
                        "staff_id": members[i % len(members)] if active else None,
                        "topic": TOPICS[i % len(TOPICS)],
                        "language": "ru",
                        "country": "UA",
                        "urgent": i % 50 == 0,
                        "created_at": start + timedelta(seconds=i),
                        "taken_at": start + timedelta(seconds=i + 60) if active else None,
                    }
                )
            await session.execute(insert(Conversation), rows)
    await engine.dispose()


async def warm_up(harness: BotHarness, rounds: int) -> int:
    """Typical updates; returns how many were sent."""
    count = 0
    staff_users, talking = await conversations(harness, 2, 5)
    count += 2 + 10 * 8
    newcomers = [FakeUser(id=5_000_000_000 + n, language_code="ru") for n in range(20)]
    for user in newcomers:
        await onboard(harness, user)
        count += 5
    for r in range(rounds):
        for n, user in enumerate(newcomers):
            await harness.press_data(user, f"1menu:{NODES[(n + r) % len(NODES)]}")
            count += 1
        for n, client in enumerate(talking):
            message = harness._message(client, text=f"вопрос {r}-{n}")
            update = {"message": message, "update_id": next(harness._update_ids)}
            await harness.app.process_update(Update.de_json(update, harness.app.bot))
            count += 1
        await harness.deliver()
        for consultant in staff_users:
            await harness.send(consultant, f"ответ {r}")
            await harness.send(consultant, "/queue")
            count += 2
    return count


async def child_run(url: str, data_dir: Path, rounds: int) -> dict[str, float]:
    baseline = rss_mb()
    started = time.perf_counter()
    harness = await offline_bot(url, data_dir)
    built = rss_mb()
    updates = await warm_up(harness, rounds)
    after = rss_mb()
    await close(harness.app)
    return {
        "baseline": baseline,
        "built": built,
        "after": after,
        "updates": updates,
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=10, help="warm-up rounds")
    parser.add_argument("--quick", action="store_true", help="2 runs, 3 warm-up rounds")
    parser.add_argument("--child", nargs=2, metavar=("URL", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = asyncio.run(child_run(args.child[0], Path(args.child[1]), args.rounds))
        print(json.dumps(result))
        return
    runs, rounds = (2, 3) if args.quick else (args.runs, args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/memory.db"
        upgrade_to_head(url)
        started = time.perf_counter()
        asyncio.run(fill(url, args.clients, args.open))
        print(
            f"filled {args.clients} clients, {args.open} open conversations "
            f"in {time.perf_counter() - started:.0f} s"
        )
        results = []
        for _ in range(runs):
            out = subprocess.run(
                [sys.executable, __file__, "--rounds", str(rounds), "--child", url, tmp],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
            r = results[-1]
            print(
                f"  run: imports {r['baseline']:.0f} MB, bot built {r['built']:.0f} MB, "
                f"after {r['updates']:.0f} updates {r['after']:.0f} MB"
            )
    base = median([r["baseline"] for r in results])
    after = median([r["after"] for r in results])
    print(f"baseline (interpreter + the bot's imports): median {base:6.1f} MB")
    print(f"bot after warm-up:                          median {after:6.1f} MB  (target < 200)")
    print(f"ratio bot/baseline: {after / base:.2f}; the bot's own share: {after - base:.1f} MB")


if __name__ == "__main__":
    main()
