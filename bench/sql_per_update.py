"""SQL statements and transactions per update, on the four paths people use most.

Counts what one `Application.process_update` costs in the database (the outbox worker's
delivery afterwards is not counted: it runs apart from the update). Deterministic, so one run
is enough; run it on two commits to compare (issue 8 asked for at most 2 transactions and 5
statements for a menu press or free text).

    .venv/bin/python bench/sql_per_update.py [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event
from telegram import Update

from bench._common import database
from bot.app import _post_init, build_application
from bot.config import Settings
from bot.services import staff_accounts
from tests.harness import BotHarness, FakeTelegram, FakeUser

CLIENT = FakeUser(id=8_100_001, language_code="en")
TALKING = FakeUser(id=8_100_002, language_code="en")
CONSULTANT = FakeUser(id=8_100_003, language_code="en")


class Counter:
    def __init__(self) -> None:
        self.statements = 0
        self.transactions = 0

    def attach(self, sync_engine: Any) -> None:
        @event.listens_for(sync_engine, "before_cursor_execute")
        def _statement(*_args: Any) -> None:
            self.statements += 1

        @event.listens_for(sync_engine, "begin")
        def _begin(*_args: Any) -> None:
            self.transactions += 1


async def measure(harness: BotHarness, counter: Counter, update: dict[str, Any]) -> tuple[int, int]:
    """(transactions, statements) of processing one update."""
    update["update_id"] = next(harness._update_ids)
    parsed = Update.de_json(update, harness.app.bot)
    counter.statements = counter.transactions = 0
    await harness.app.process_update(parsed)
    result = counter.transactions, counter.statements
    await harness.deliver()
    return result


def press(harness: BotHarness, user: FakeUser, data: str) -> dict[str, Any]:
    screen = harness.telegram.last[user.id]
    return {
        "callback_query": {
            "id": str(time.monotonic_ns()),
            "from": user.as_dict(),
            "chat_instance": "ci",
            "data": data,
            "message": FakeTelegram._message(screen),
        }
    }


def text(harness: BotHarness, user: FakeUser, words: str) -> dict[str, Any]:
    return {"message": harness._message(user, text=words)}


async def run(database_url: str, data_dir: Path) -> dict[str, tuple[int, int]]:
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
    await _post_init(app)
    from tests.conftest import offline_worker

    await app.bot_data.delivery.stop()
    app.bot_data.delivery = offline_worker(app)
    app.bot_data.runtime.outbox_ready = lambda: None
    harness = BotHarness(app, telegram)
    runtime = app.bot_data.runtime
    async with runtime.transaction() as session:
        await staff_accounts.add_staff(
            session,
            runtime.keys,
            telegram_id=CONSULTANT.id,
            display_name="Anna",
            role="peer",
            languages=["en"],
        )
    await harness.send(CONSULTANT, "/duty on")
    for user in (CLIENT, TALKING):
        await harness.send(user, "/start")
        for data in ("1lang:en", "1priv:ok", "1ctry:UA", "1city:-"):
            await harness.press_data(user, data)
    await harness.press_data(TALKING, "1ask:ost")
    await harness.press_data(TALKING, "1urg:ost:0")
    await harness.send(CONSULTANT, "/take")

    counter = Counter()
    counter.attach(runtime.engine.sync_engine)
    results = {
        "client menu press": await measure(harness, counter, press(harness, CLIENT, "1menu:hiv")),
        # The same person's next screen that day: the reach marks are written once a day.
        "client menu press, again": await measure(
            harness, counter, press(harness, CLIENT, "1menu:ost")
        ),
        "client free text": await measure(harness, counter, text(harness, CLIENT, "hello")),
        "client message in a conversation": await measure(
            harness, counter, text(harness, TALKING, "I need help")
        ),
        "consultant answer": await measure(
            harness, counter, text(harness, CONSULTANT, "I am here, tell me more")
        ),
    }
    await app.shutdown()
    await runtime.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    # A database of its own (on PostgreSQL too, as the other benches: never the one named).
    with tempfile.TemporaryDirectory() as tmp, database(args.database_url, tmp) as url:
        results = asyncio.run(run(url, Path(tmp)))
    print(f"{'path':36} {'transactions':>12} {'statements':>10}")
    for path, (transactions, statements) in results.items():
        print(f"{path:36} {transactions:12d} {statements:10d}")


if __name__ == "__main__":
    main()
