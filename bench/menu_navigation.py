"""How fast the bot answers menu navigation, against a bare python-telegram-bot baseline.

Both run in this process with the same fake Telegram (no network), so the ratio shows what
our stack (database look-up, content, i18n, rendering) costs per update on this machine.

    .venv/bin/python bench/menu_navigation.py [--quick] [--updates 2000] [--rounds 10]
        [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler

from bench._common import database
from bot.app import build_application
from bot.config import Settings
from tests.harness import BotHarness, FakeTelegram, FakeUser

NODES = ["main", "overdose", "od_opioids", "ost", "ost_access", "hiv", "legal", "legal_detained"]


async def bare_app() -> BotHarness:
    """PTB with one handler that edits the message: the floor any bot pays."""
    telegram = FakeTelegram()
    app = ApplicationBuilder().token("1:" + "x" * 30).request(telegram).build()

    async def answer(update: Update, _context: object) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("screen")

    app.add_handler(CallbackQueryHandler(answer))
    await app.initialize()
    harness = BotHarness(app, telegram)
    telegram.last[BARE_USER.id] = _seed_screen(telegram, BARE_USER)
    return harness


BARE_USER = FakeUser()


def _seed_screen(telegram: FakeTelegram, user: FakeUser):  # type: ignore[no-untyped-def]
    from tests.harness import Sent

    return Sent(user.id, 1, "start", [])


async def peerline_app(
    database_url: str, data_dir: Path, clients: int
) -> tuple[BotHarness, list[FakeUser]]:
    settings = Settings(
        _env_file=None,
        bot_token="1:" + "x" * 30,
        secret_key="bench-secret-key-0123456789-0123456789",
        data_dir=data_dir,
        database_url=database_url,
    )
    telegram = FakeTelegram()
    app = build_application(settings, request=telegram)
    await app.initialize()
    harness = BotHarness(app, telegram)
    users = [FakeUser(id=8_000_000 + n, language_code="ru") for n in range(clients)]
    for user in users:
        await harness.send(user, "/start")
        for data in ("1lang:ru", "1priv:ok", "1ctry:UA", "1city:-"):
            await harness.press_data(user, data)
    return harness, users


async def presses(harness: BotHarness, users: list[FakeUser], updates: int) -> tuple[float, float]:
    """Menu presses per second of wall time and per second of this process's CPU time (all
    its threads, aiosqlite's included; steadier than wall time on a shared machine), the
    users taking turns."""
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(updates):
        await harness.press_data(users[i % len(users)], f"1menu:{NODES[i % len(NODES)]}")
    return updates / (time.perf_counter() - started), updates / (time.process_time() - cpu)


async def compare(
    updates: int, rounds: int, database_url: str, data_dir: Path, clients: int
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Rounds that alternate the two, so a machine shared with other work slows both alike;
    updates/s of each in each round."""
    bare = await bare_app()
    ours, users = await peerline_app(database_url, data_dir, clients)
    await presses(bare, [BARE_USER], 50)  # warm-up
    await presses(ours, users, 50)
    base_rates, our_rates = [], []
    for _ in range(rounds):
        base_rates.append(await presses(bare, [BARE_USER], updates // rounds))
        our_rates.append(await presses(ours, users, updates // rounds))
    await bare.app.shutdown()
    await ours.app.shutdown()
    await ours.app.bot_data.runtime.engine.dispose()
    return base_rates, our_rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="500 updates in 5 rounds")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    updates, rounds = (500, 5) if args.quick else (args.updates, args.rounds)
    with tempfile.TemporaryDirectory() as tmp, database(args.database_url, tmp) as url:
        base_rates, our_rates = asyncio.run(compare(updates, rounds, url, Path(tmp), args.clients))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{updates} presses in {rounds} alternating rounds ({url.split(':')[0]}), medians:")
    for index, clock in ((0, "wall"), (1, "CPU")):
        ratios = [o[index] / b[index] for o, b in zip(our_rates, base_rates, strict=True)]
        base = statistics.median(b[index] for b in base_rates)
        ours = statistics.median(o[index] for o in our_rates)
        print(f"{clock} time:")
        print(f"  baseline (bare PTB, edit only): {base:8.0f} updates/s")
        print(f"  peerline menu navigation:       {ours:8.0f} updates/s")
        print(f"  ratio peerline/baseline:        {statistics.median(ratios):8.2f}  (target 0.5)")
        print(f"  ratios of the rounds: {' '.join(f'{r:.2f}' for r in ratios)}")
    print(f"peak RSS of this process:       {rss_mb:8.0f} MiB")


if __name__ == "__main__":
    main()
