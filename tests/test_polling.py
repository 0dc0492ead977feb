"""Polling confirms an update to Telegram only after it has been handled (bot/polling.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram.ext import SimpleUpdateProcessor

from bot.polling import Poller


class Update:
    def __init__(self, update_id: int) -> None:
        self.update_id = update_id


class FakeBot:
    """getUpdates as Telegram answers it: everything from `offset` on that is not confirmed."""

    def __init__(self, app: FakeApp, count: int) -> None:
        self.app = app
        self.pending = [Update(1000 + i) for i in range(count)]
        self.offsets: list[int] = []

    async def get_updates(self, *, offset: int, **_: Any) -> tuple[Update, ...]:
        self.offsets.append(offset)
        if offset:
            self.pending = [u for u in self.pending if u.update_id >= offset]
        if not self.pending:
            self.app.stop.set()
        return tuple(self.pending[:2])


class FakeApp:
    def __init__(
        self, count: int, *, crash_at: int | None = None, fail_at: int | None = None
    ) -> None:
        self.fail_at = fail_at
        self.bot = FakeBot(self, count)
        self.update_processor = SimpleUpdateProcessor(1)
        self.handled: list[int] = []
        self.crash_at = crash_at
        self.stop = asyncio.Event()

    async def process_update(self, update: Update) -> None:
        if update.update_id == self.fail_at:
            raise RuntimeError("a bug in a handler's error handling")
        if update.update_id == self.crash_at:
            raise SystemExit("killed while handling")  # the process dies here
        await asyncio.sleep(0)
        self.handled.append(update.update_id)


async def test_every_update_is_handled_once_in_order_and_then_confirmed() -> None:
    app = FakeApp(5)
    await Poller(app, allowed_updates=None).run(app.stop)  # type: ignore[arg-type]
    assert app.handled == [1000, 1001, 1002, 1003, 1004]
    assert app.bot.offsets == [0, 1002, 1004, 1005]  # a batch is confirmed after it is handled


async def test_an_update_not_handled_before_a_crash_is_handed_out_again() -> None:
    app = FakeApp(4, crash_at=1003)
    with pytest.raises(SystemExit):
        await Poller(app, allowed_updates=None).run(app.stop)  # type: ignore[arg-type]
    assert app.handled == [1000, 1001, 1002]
    # The restarted process asks from offset 0: Telegram still has 1003 (and 1002, handled
    # but not yet confirmed: a recorded message seen again is a no-op).
    assert [u.update_id for u in app.bot.pending] == [1002, 1003]


async def test_an_update_that_fails_does_not_stop_the_ones_after_it() -> None:
    app = FakeApp(3, fail_at=1001)
    await Poller(app, allowed_updates=None).run(app.stop)  # type: ignore[arg-type]
    assert app.handled == [1000, 1002]
