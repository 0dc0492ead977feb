"""How fast the bot answers menu navigation, against a bare python-telegram-bot baseline.

Both run in this process with the same fake Telegram (no network), so the ratio shows what
our stack (database look-up, content, i18n, rendering) costs per update on this machine.

    .venv/bin/python bench/menu_navigation.py [--updates 2000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler

from bot.app import build_application
from bot.config import Settings
from bot.db import upgrade_to_head
from tests.harness import BotHarness, FakeTelegram, FakeUser

NODES = ["main", "overdose", "od_opioids", "ost", "ost_access", "hiv", "legal", "legal_detained"]


async def bare_baseline(updates: int) -> float:
    """PTB with one handler that edits the message: the floor any bot pays."""
    telegram = FakeTelegram()
    app = ApplicationBuilder().token("1:" + "x" * 30).request(telegram).build()

    async def answer(update: Update, _context: object) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("screen")

    app.add_handler(CallbackQueryHandler(answer))
    await app.initialize()
    harness = BotHarness(app, telegram)
    user = FakeUser()
    telegram.last[user.id] = _seed_screen(telegram, user)
    started = time.perf_counter()
    for i in range(updates):
        await harness.press_data(user, f"1menu:{NODES[i % len(NODES)]}")
    elapsed = time.perf_counter() - started
    await app.shutdown()
    return updates / elapsed


def _seed_screen(telegram: FakeTelegram, user: FakeUser):  # type: ignore[no-untyped-def]
    from tests.harness import Sent

    return Sent(user.id, 1, "start", [])


async def peerline(updates: int, database_url: str, data_dir: Path, clients: int) -> float:
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
    started = time.perf_counter()
    for i in range(updates):
        user = users[i % clients]
        await harness.press_data(user, f"1menu:{NODES[i % len(NODES)]}")
    elapsed = time.perf_counter() - started
    await app.shutdown()
    await app.bot_data.runtime.engine.dispose()
    return updates / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        upgrade_to_head(url)  # synchronous: before any event loop runs
        base = asyncio.run(bare_baseline(args.updates))
        ours = asyncio.run(peerline(args.updates, url, Path(tmp), args.clients))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"baseline (bare PTB, edit only): {base:8.0f} updates/s")
    print(f"peerline menu navigation:       {ours:8.0f} updates/s  ({url.split(':')[0]})")
    print(f"ratio peerline/baseline:        {ours / base:8.2f}")
    print(f"peak RSS of this process:       {rss_mb:8.0f} MiB")


if __name__ == "__main__":
    main()
