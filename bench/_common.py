"""What the benchmarks share: the bot offline (fake Telegram, the worker driven by hand),
people in conversations, and medians of several runs."""

from __future__ import annotations

import asyncio
import secrets
import statistics
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from telegram.ext import Application

from bot.app import _post_init, build_application
from bot.config import Settings
from bot.db import upgrade_to_head
from bot.models import Staff
from bot.services import staff_accounts
from tests.harness import BotHarness, FakeTelegram, FakeUser

SECRET = "bench-secret-key-0123456789-0123456789"
TOKEN = "1:" + "x" * 30
CLIENT_BASE = 8_000_000_000  # client n has Telegram id CLIENT_BASE + n
STAFF_BASE = 9_000_000_000


def settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        _env_file=None,
        bot_token=TOKEN,
        secret_key=SECRET,
        data_dir=data_dir,
        database_url=database_url,
    )


async def offline_bot(
    database_url: str,
    data_dir: Path,
    telegram: FakeTelegram | None = None,
    worker: Any = None,
) -> BotHarness:
    """The whole bot as tests/conftest.py's `harness` builds it: no periodic jobs, and the
    outbox worker run by the caller (`harness.deliver()`); `worker(app)` makes that worker
    (default: tests.conftest.offline_worker, whose pacing sleeps on a fake clock)."""
    from bot import maintenance
    from tests.conftest import offline_worker

    telegram = telegram or FakeTelegram()
    app = build_application(settings(database_url, data_dir), request=telegram)
    await app.initialize()
    await _post_init(app)
    await app.bot_data.delivery.stop()
    app.bot_data.delivery = (worker or offline_worker)(app)
    await maintenance.stop(app.bot_data.maintenance)
    app.bot_data.maintenance = None
    await app.bot_data.commands
    app.bot_data.runtime.outbox_ready = lambda: None
    return BotHarness(app, telegram)


async def close(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    await app.shutdown()
    await app.bot_data.runtime.engine.dispose()


async def onboard(harness: BotHarness, user: FakeUser) -> None:
    await harness.send(user, "/start")
    for data in ("1lang:ru", "1priv:ok", "1ctry:UA", "1city:-"):
        await harness.press_data(user, data)


async def conversations(
    harness: BotHarness, consultants: int, per_consultant: int
) -> tuple[list[FakeUser], list[FakeUser]]:
    """`consultants` on duty, each holding `per_consultant` active conversations; returns
    (consultants, clients), client i held by consultant i // per_consultant."""
    runtime = harness.app.bot_data.runtime
    staff_users = [FakeUser(id=STAFF_BASE + n, language_code="ru") for n in range(consultants)]
    async with runtime.transaction() as session:
        for n, user in enumerate(staff_users):
            await staff_accounts.add_staff(
                session,
                runtime.keys,
                telegram_id=user.id,
                display_name=f"Peer{n}",
                role="peer",
                languages=["ru"],
            )
        await session.execute(update(Staff).values(max_active=per_consultant))
    clients = []
    for consultant in staff_users:
        await harness.send(consultant, "/duty on")
        for _ in range(per_consultant):
            client = FakeUser(id=CLIENT_BASE + len(clients), language_code="ru")
            clients.append(client)
            await onboard(harness, client)
            await harness.press_data(client, "1ask:ost")
            await harness.press_data(client, "1urg:ost:0")
            await harness.send(consultant, "/take")
    return staff_users, clients


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank: a value that was measured."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))]


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
