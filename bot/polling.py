"""Long polling that confirms an update to Telegram only after it has been handled.

python-telegram-bot's `Updater` asks for the next batch (which confirms the previous one to
Telegram) as soon as it has queued the batch in memory, before any handler has run, so a
crash in between lost updates: in the kill -9 test (tests/e2e/test_crash_recovery_e2e.py)
about one message in four written around a kill never reached the other side. Here the
offset moves past an update only once `Application.process_update` has finished with it, so
after a crash Telegram hands out again whatever was not handled. A message is recorded with
its `update_id` (shared/DESIGN.md, "record first"), so one handled before the crash and seen
again is a no-op; a repeated menu press just shows the screen again.

Updates are handled one at a time, in order, through the application's update processor
(PTB's default is one at a time, too). `run` replaces `Application.run_polling`: the same
order of start-up and shutdown as `bot.webhook.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence

from telegram import Update
from telegram.error import Conflict, InvalidToken, TelegramError
from telegram.ext import Application

log = logging.getLogger(__name__)

POLL_TIMEOUT = 10  # seconds Telegram may hold a getUpdates open (PTB's default)
MAX_PAUSE = 30.0  # seconds, the longest wait between failing getUpdates calls


class Poller:
    """Fetch a batch, handle each update, then (with the next fetch) confirm it."""

    def __init__(
        self,
        application: Application,
        *,
        allowed_updates: Sequence[str] | None,
        timeout: int = POLL_TIMEOUT,
    ) -> None:
        self._app = application
        self._allowed = list(allowed_updates) if allowed_updates is not None else None
        self._timeout = timeout
        self._offset = 0  # the first update_id not yet handled (0: whatever Telegram has)
        self._confirmed = 0
        self._failures = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; the update being handled is finished first."""
        while not stop.is_set():
            updates = await self._fetch(stop)
            for update in updates:
                # Not interrupted by `stop`: an update is handled whole or not at all.
                await handle(self._app, update)
                self._offset = update.update_id + 1
        await self.confirm()

    async def confirm(self) -> None:
        """Tell Telegram what was handled (on a clean stop), so it is not handed out again."""
        if self._offset <= self._confirmed:
            return
        try:
            await self._app.bot.get_updates(offset=self._offset, limit=1, timeout=0)
            self._confirmed = self._offset
        except TelegramError as exc:  # they come again after the restart, and are no-ops
            log.warning("could not confirm the last updates: %s", type(exc).__name__)

    async def _fetch(self, stop: asyncio.Event) -> tuple[Update, ...]:
        """One getUpdates (which confirms everything before `offset`), or () if stopped."""
        call = asyncio.ensure_future(
            self._app.bot.get_updates(
                offset=self._offset, timeout=self._timeout, allowed_updates=self._allowed
            )
        )
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait((call, stopping), return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not call.done():
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await call
            return ()
        try:
            updates = call.result()
        except Conflict:
            # Another poller with our token, or a webhook is set: a leaked token is possible.
            log.error("getUpdates: Conflict (another process polls with this token?)")
            await self._backoff(stop)
            return ()
        except InvalidToken:
            log.error("getUpdates: the bot token was refused (revoked?); waiting for the operator")
            await self._pause(stop, 60.0)
            return ()
        except TelegramError as exc:  # network errors, 5xx, flood control: try again later
            log.warning("getUpdates failed: %s", type(exc).__name__)
            await self._backoff(stop)
            return ()
        self._failures = 0
        self._confirmed = self._offset
        return updates

    async def _backoff(self, stop: asyncio.Event) -> None:
        self._failures += 1
        await self._pause(stop, min(MAX_PAUSE, 0.5 * 2**self._failures))

    @staticmethod
    async def _pause(stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


async def handle(application: Application, update: object) -> None:
    """One update through the application's update processor (its concurrency setting)."""
    processor = application.update_processor
    try:
        await processor.process_update(update, application.process_update(update))
    except Exception as exc:  # PTB hands handler errors to the error handler; this is worse:
        # log it and go on, or one update that always fails would stop every later one.
        log.error("an update could not be handled: %s", type(exc).__name__)


async def run(application: Application, *, allowed_updates: Sequence[str] | None) -> None:
    """Poll until SIGINT or SIGTERM; the same lifecycle as PTB's run_polling."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with application:  # initialize ... shutdown
        if application.post_init:
            await application.post_init(application)
        # As PTB's start_polling: a webhook left set would make every getUpdates a Conflict.
        await application.bot.delete_webhook(drop_pending_updates=False)
        await application.start()
        log.info("polling for updates")
        await Poller(application, allowed_updates=allowed_updates).run(stop)
        await application.stop()
        if application.post_stop:
            await application.post_stop(application)
    if application.post_shutdown:
        await application.post_shutdown(application)
