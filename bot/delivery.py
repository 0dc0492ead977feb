"""The delivery worker: sends the outbox, one Bot API call per row, never inside a transaction.

Cycle: claim due rows (a short transaction that leases them) -> for each row, wait for the
pacing (bot/delivery_pacing.py), call Telegram (bot/delivery_call.py), record the outcome
(one short transaction per row, bot/delivery_record.py) -> repeat. What each error means -
retry with exponential backoff and jitter (cap `max_backoff`, dead after `max_attempts`),
postpone without counting it (flood control, no connection), or give up - is
bot/delivery_errors.py. When a row is given up on, `on_dead` is called in the same
transaction, so what a dead row means (a client who blocked the bot is unsubscribed; a channel
that removed the bot is switched off and the admins told) is recorded together with it.
Relayed texts queued behind one for the same staff chat are sent with it, each under its
writer's header (bot/delivery_combine.py).

The per-chat order and "one chat, one sender at a time" come from `outbox_claim.claim_due`.

At-least-once: a row is sent only while its lease has at least half its length left, so a
slow batch never overlaps a second worker's re-claim; a crash between the send and
`mark_sent` resends that one row (with the rows sent together with it) after the restart. A
killed process's leases are freed at once by the next one to start (bot/delivery_lease.py),
and a worker that may have been taken for dead stops sending.

Logs carry the outbox id, the method and the error class: never text, chat ids or the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from bot import delivery_combine
from bot.crypto import Keys
from bot.delivery_call import BotApiCall, message_id
from bot.delivery_errors import Outcome, classify
from bot.delivery_lease import LeaseHolder
from bot.delivery_pacing import WORKER_CALL, Pacer
from bot.delivery_record import OnDead, log_outcome, record_outcome
from bot.services import outbox, outbox_claim
from bot.services.outbox_claim import Delivery

log = logging.getLogger(__name__)

_STAT = {"sent": "sent", "retry": "retried", "postpone": "postponed", "dead": "dead"}


class DeliveryWorker:
    """Sends outbox rows; `start()` runs it as a task, `drain()` delivers what is due now."""

    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        keys: Keys,
        *,
        overall_per_second: float = 29.0,
        per_chat_interval: float = 1.0,
        per_group_interval: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        now: Callable[[], datetime] = outbox.utcnow,
        rng: Callable[[], float] = random.random,
        batch_size: int = 20,
        lease_seconds: float = 60.0,
        poll_interval: float = 1.0,
        max_attempts: int = 10,
        max_backoff: float = 300.0,
        on_dead: OnDead | None = None,
        heartbeat_interval: float = 1.0,
        stale_after: float = 5.0,
        one_process: bool = False,
    ) -> None:
        self._pacer = Pacer(
            overall_per_second=overall_per_second,
            per_chat_interval=per_chat_interval,
            per_group_interval=per_group_interval,
            clock=clock,
            sleep=sleep,
        )
        self._call = BotApiCall(bot)
        self._sessions = sessions
        self._keys = keys
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self._rng = rng
        self._batch_size = batch_size
        self._lease_seconds = lease_seconds
        self._poll_interval = poll_interval
        self._max_attempts = max_attempts
        self._max_backoff = max_backoff
        self._on_dead = on_dead
        self._lease = LeaseHolder(
            sessions,
            now=now,
            heartbeat_interval=heartbeat_interval,
            stale_after=stale_after,
            one_process=one_process,
            wake=self.wake,
        )
        self._paused_until = 0.0
        self._outage = 0  # consecutive "no connection" failures
        self._round_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.stats = {"sent": 0, "retried": 0, "postponed": 0, "dead": 0}

    @property
    def worker_id(self) -> int | None:
        """This worker's row in `delivery_workers` while registered (the lease holder)."""
        return self._lease.worker_id

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Run the delivery loop as a background task (idempotent)."""
        if self._task is not None and not self._task.done():
            return
        self._stopped.clear()
        self._task = asyncio.create_task(self._run(), name="peerline-delivery")

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the row in flight, release the rest of the batch, end the loop."""
        self._stopped.set()
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(task, timeout)
        except (TimeoutError, asyncio.CancelledError):
            log.warning("delivery worker did not stop in %.0fs; cancelled", timeout)

    def note_other_send(self) -> None:
        """A message sent outside the worker: it counts in Telegram's ceiling for the bot."""
        self._pacer.note_other_send()

    def wake(self) -> None:
        """Something was enqueued (call after the commit): look now, not at the next poll."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def drain(self, max_rounds: int = 100) -> int:
        """Deliver everything due now (waiting out flood control); returns how many were sent."""
        before = self.stats["sent"]
        for _ in range(max_rounds):
            if await self._round() == 0:
                break
        return self.stats["sent"] - before

    async def _run(self) -> None:
        log.info("delivery worker started")
        self._lease.start()
        try:
            await self._loop()
        finally:
            await self._lease.stop()
        log.info("delivery worker stopped")

    async def _loop(self) -> None:
        failures = 0
        while not self._stopped.is_set():
            try:
                claimed = await self._round()
                failures = 0
            except Exception as exc:  # the database is away, most likely: keep going
                failures += 1
                log.error("delivery round failed: %s", type(exc).__name__)
                claimed = 0
                await self._idle(min(self._poll_interval * 2**failures, 60.0), wakeable=False)
                continue
            if claimed == 0:
                await self._idle(self._poll_interval, wakeable=True)

    async def _idle(self, seconds: float, *, wakeable: bool) -> None:
        """Wait `seconds` (injected sleep), or less if stopped (or woken, if `wakeable`)."""
        if seconds <= 0 or self._stopped.is_set():
            return
        waits = [asyncio.ensure_future(self._sleep(seconds))]
        waits.append(asyncio.ensure_future(self._stopped.wait()))
        if wakeable:
            waits.append(asyncio.ensure_future(self._wake.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*waits, return_exceptions=True)

    # --- one round -------------------------------------------------------------------------

    async def _round(self) -> int:
        """Claim one batch and work through it; returns how many rows were claimed."""
        async with self._round_lock:
            pause = self._paused_until - self._clock()
            if pause > 0:
                await self._idle(pause, wakeable=False)
                if self._stopped.is_set():
                    return 0
            self._wake.clear()
            await self._lease.join()
            async with self._sessions() as session, session.begin():
                batch = await outbox_claim.claim_due(
                    session,
                    self._keys,
                    now=self._now(),
                    limit=self._batch_size,
                    lease_seconds=self._lease_seconds,
                    worker_id=self.worker_id,
                )
            if not batch:
                return 0
            holder = self.worker_id  # `_beat` may register anew while the batch goes out
            # Start no send after half the lease: a second worker may re-claim at its end.
            last_start = self._clock() + self._lease_seconds / 2
            for index, delivery in enumerate(batch):
                start = self._pacer.planned_start(delivery.chat_id)
                late = index > 0 and start > last_start  # the first row always gets its turn
                held = self._lease.holding()
                if self._stopped.is_set() or self._paused_until > start or late or not held:
                    await self._release(batch[index:], holder)
                    if not held:  # wait for a heartbeat rather than claim again at once
                        await self._idle(self._lease.heartbeat_interval, wakeable=False)
                    break
                await self._pacer.take_turn(delivery.chat_id, start)
                if self._stopped.is_set():
                    await self._release(batch[index:], holder)
                    break
                if delivery_combine.may_take_others(delivery):
                    delivery = await delivery_combine.with_followers(
                        self._sessions, self._keys, delivery, now=self._now(),
                        lease_seconds=self._lease_seconds, worker_id=self.worker_id,
                    )  # fmt: skip
                outcome = await self._attempt(delivery)
                await self._record(delivery, outcome)
            self._pacer.forget_idle_chats()
            return len(batch)

    async def _release(self, rows: Sequence[Delivery], holder: int | None) -> None:
        async with self._sessions() as session, session.begin():
            await outbox_claim.release(
                session, [d.id for d in rows], now=self._now(), worker_id=holder
            )

    # --- one call --------------------------------------------------------------------------

    async def _attempt(self, delivery: Delivery) -> Outcome:
        marked = WORKER_CALL.set(True)
        try:
            result = await self._call(delivery)
        except Exception as exc:
            outcome = classify(exc, delivery.chat_id)
            if outcome.offline:  # the request never left: wait out the outage, count nothing
                self._outage += 1
                wait = self._backoff(self._outage - 1)
                return replace(outcome, delay=wait, pause=wait)
            if outcome.hold_chat:
                self._pacer.hold(delivery.chat_id, outcome.delay)
            return outcome
        finally:
            WORKER_CALL.reset(marked)
            self._pacer.call_ended(delivery.chat_id)
        self._outage = 0
        return Outcome("sent", message_id=message_id(result))

    def _backoff(self, attempts: int) -> float:
        """Exponential (1 s, 2 s, 4 s ... `max_backoff`) with jitter in its upper half."""
        ceiling = min(self._max_backoff, 2.0**attempts)
        return ceiling / 2 + self._rng() * ceiling / 2

    async def _record(self, delivery: Delivery, outcome: Outcome) -> None:
        may_retry = outcome.kind == "retry" and delivery.attempts + 1 < self._max_attempts
        async with self._sessions() as session, session.begin():
            kind = await record_outcome(
                session,
                delivery,
                outcome,
                now=self._now(),
                retry_delay=self._backoff(delivery.attempts) if may_retry else None,
                worker_id=self.worker_id,
                on_dead=self._on_dead,
            )
        if outcome.pause:
            self._paused_until = max(self._paused_until, self._clock() + outcome.pause)
        self.stats[_STAT[kind]] += 1 + (len(delivery.together) if kind == "sent" else 0)
        log_outcome(delivery, kind, outcome.error)
