"""The delivery worker: sends the outbox, one Bot API call per row, never inside a transaction.

Cycle: claim due rows (a short transaction that leases them) -> for each row, wait for the
pacing, call Telegram, record the outcome (one short transaction per row) -> repeat.

Outcomes:
- success: `mark_sent` with the message id Telegram returned;
- `RetryAfter`: the row waits `retry_after`, not counted as a failure; the whole worker pauses
  as long (flood control is Telegram asking us to slow down) and the rest of the batch is
  released for later; from a group or channel only that chat waits (its own per-chat limit:
  a held-back channel post must not hold back replies to clients);
- no connection (the request never left: connect error, connect/pool timeout): not counted;
  the worker pauses with its own exponential backoff, so an outage never kills messages;
- 5xx, read timeouts and other network errors: counted, exponential backoff with jitter
  (cap `max_backoff`), dead after `max_attempts`. A read timeout is ambiguous (Telegram may
  have delivered it): the retry can then show the message twice, which beats losing it;
- `Forbidden` (blocked by the user), `BadRequest`, `ChatMigrated`, an unknown method: dead.
  `on_dead` is then called in the same transaction, so what a dead row means (a client who
  blocked the bot is unsubscribed; a channel that removed the bot is switched off and the
  admins told) is recorded together with it.

Pacing: at most `overall_per_second` sends per second, at most one per chat per
`per_chat_interval` (`per_group_interval` for groups: Telegram allows ~20/min there). The
per-chat order and "one chat, one sender at a time" come from `outbox_claim.claim_due`.

At-least-once: a row is sent only while its lease has at least half its length left, so a
slow batch never overlaps a second worker's re-claim; a crash between the send and
`mark_sent` resends that one row (and only that one) after the restart.

Leases after a crash (bot/services/leases.py): a lease alone would make everything a killed
process had claimed wait out `lease_seconds` (a minute: too long for a crisis line). So each
worker registers a row in `delivery_workers`, stamps the rows it claims with that id
(`outbox.leased_by`) and renews a heartbeat every `heartbeat_interval` seconds from a task
of its own. A worker whose heartbeat is older than `stale_after` is dead: any worker frees
its pending leases (due at once, holder cleared) and deletes its row, in one transaction -
at start-up before its first claim, and after every heartbeat. On SQLite only one process
can use the database (bot/instance_lock.py), so there (`one_process`) a starting worker
frees every other worker's leases at once, without waiting for them to go stale; that is
how a restart after `kill -9` resumes within a second or two. On PostgreSQL several
processes share the outbox, and a lease is freed only after its holder has been silent for
`stale_after` seconds, so a live process elsewhere keeps its rows (clocks must agree to
within a second or so, as they must for `not_before` already).

The other side of it: a worker sends only while its own heartbeat is fresh (renewed within
`stale_after / 2`) and its row exists. A stalled process (its heartbeat failing, or its row
deleted because it looked dead) releases the rest of its batch instead of sending rows that
another worker may be sending too, and registers again.

Logs carry the outbox id, the method and the error class: never text, chat ids or the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import re
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.crypto import Keys
from bot.services import leases, outbox, outbox_claim, outbox_results
from bot.services.outbox_claim import Delivery

log = logging.getLogger(__name__)

_STAT = {"sent": "sent", "retry": "retried", "postpone": "postponed", "dead": "dead"}
_API_NAME = re.compile(r"[a-z]+(?:[A-Z][a-z]*)+")

# httpx errors after which the request certainly never reached Telegram.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class Outcome:
    kind: str  # sent | retry | postpone | dead
    message_id: int | None = None
    error: str = ""
    delay: float = 0.0  # postpone: how long the row waits
    pause: float = 0.0  # postpone: how long the whole worker waits


class DeliveryWorker:
    """Sends outbox rows; `start()` runs it as a task, `drain()` delivers what is due now."""

    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        keys: Keys,
        *,
        overall_per_second: float = 25.0,
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
        on_dead: Callable[[AsyncSession, Delivery, str], Awaitable[None]] | None = None,
        heartbeat_interval: float = 1.0,
        stale_after: float = 5.0,
        one_process: bool = False,
    ) -> None:
        if overall_per_second <= 0:
            raise ValueError("overall_per_second must be positive")
        self._bot = bot
        self._sessions = sessions
        self._keys = keys
        self._overall_interval = 1.0 / overall_per_second
        self._per_chat_interval = per_chat_interval
        self._per_group_interval = max(per_group_interval, per_chat_interval)
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
        # Lease holder (see the module docstring). Heartbeats run on real time, not the
        # injected clock: they are about other processes, which see wall time.
        self._heartbeat_interval = heartbeat_interval
        self._stale_after = stale_after
        self._one_process = one_process
        self.worker_id: int | None = None
        self._beat_ok_at: float | None = None  # time.monotonic() of the last renewed heartbeat
        self._heartbeat_task: asyncio.Task[None] | None = None

        self._next_any = 0.0  # clock time of the next allowed send
        self._next_chat: dict[int, float] = {}  # chat id -> clock time of its next send
        self._paused_until = 0.0
        self._outage = 0  # consecutive "no connection" failures
        self._signatures: dict[str, inspect.Signature | None] = {}
        self._round_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.stats = {"sent": 0, "retried": 0, "postponed": 0, "dead": 0}

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
        self._heartbeat_task = asyncio.create_task(
            self._heartbeat(), name="peerline-delivery-heartbeat"
        )
        try:
            await self._loop()
        finally:
            await self._stop_heartbeat()
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
            await self._join()
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
                start = self._planned_start(delivery.chat_id)
                late = index > 0 and start > last_start  # the first row always gets its turn
                held = self._holding()
                if self._stopped.is_set() or self._paused_until > start or late or not held:
                    await self._release(batch[index:], holder)
                    if not held:  # wait for a heartbeat rather than claim again at once
                        await self._idle(self._heartbeat_interval, wakeable=False)
                    break
                await self._pace(delivery.chat_id, start)
                if self._stopped.is_set():
                    await self._release(batch[index:], holder)
                    break
                outcome = await self._attempt(delivery)
                await self._record(delivery, outcome)
            self._forget_idle_chats()
            return len(batch)

    def _planned_start(self, chat_id: int) -> float:
        """When a send to this chat may start, by the overall and the per-chat pacing."""
        return max(self._clock(), self._next_any, self._next_chat.get(chat_id, 0.0))

    async def _pace(self, chat_id: int, start: float) -> None:
        wait = start - self._clock()
        if wait > 0:
            await self._sleep(wait)
        start = max(start, self._clock())
        interval = self._per_group_interval if chat_id < 0 else self._per_chat_interval
        self._next_any = start + self._overall_interval
        self._next_chat[chat_id] = start + interval

    def _forget_idle_chats(self) -> None:
        if len(self._next_chat) > 1000:
            now = self._clock()
            self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}

    async def _release(self, rows: Sequence[Delivery], holder: int | None) -> None:
        async with self._sessions() as session, session.begin():
            await outbox_claim.release(
                session, [d.id for d in rows], now=self._now(), worker_id=holder
            )

    # --- lease holder: registration, heartbeat, freeing dead workers' leases ----------------

    async def _join(self) -> None:
        """Register before the first claim, freeing what dead workers held (module docstring)."""
        if self.worker_id is not None:
            return
        now = self._now()
        async with self._sessions() as session, session.begin():
            worker_id = await leases.register(session, now=now)
            freed = await leases.free_dead(
                session,
                worker_id,
                now=now,
                stale_after=self._stale_after,
                only_us=self._one_process,
            )
        self.worker_id = worker_id
        self._beat_ok_at = time.monotonic()
        log.info("delivery worker %d registered; freed %d leases of dead workers", worker_id, freed)

    def _holding(self) -> bool:
        """May this worker still send what it claimed? Not once its heartbeat is overdue:
        others may think it dead and send the same rows. (Without a heartbeat task, e.g. in
        `drain()`, nothing else runs on this database's outbox.)"""
        if self._heartbeat_task is None or self._heartbeat_task.done():
            return True
        if self.worker_id is None or self._beat_ok_at is None:
            return False
        return time.monotonic() - self._beat_ok_at < self._stale_after / 2

    async def _heartbeat(self) -> None:
        """Renew our heartbeat and free dead workers' leases, every `heartbeat_interval`."""
        while not self._stopped.is_set():
            try:
                await self._beat()
            except Exception as exc:  # the database is away: `_holding` stops the sends
                log.warning("delivery heartbeat failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self._heartbeat_interval)

    async def _beat(self) -> None:
        if self.worker_id is None:
            return  # `_join` registers (with the first round)
        now = self._now()
        async with self._sessions() as session, session.begin():
            alive = await leases.beat(session, self.worker_id, now=now)
            freed = 0
            if alive and not self._one_process:
                freed = await leases.free_dead(
                    session, self.worker_id, now=now, stale_after=self._stale_after
                )
        if not alive:
            # Found dead by another process (we stalled): our leases are theirs to send now.
            log.warning("delivery worker %d was taken for dead; registering again", self.worker_id)
            self.worker_id = self._beat_ok_at = None
            self.wake()
            return
        self._beat_ok_at = time.monotonic()
        if freed:
            log.info("freed %d leases of dead delivery workers", freed)
            self.wake()

    async def _stop_heartbeat(self) -> None:
        """End the heartbeat and delete our row: a clean stop leaves nothing to free."""
        task, self._heartbeat_task = self._heartbeat_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.worker_id is None:
            return
        try:
            async with self._sessions() as session, session.begin():
                await leases.retire(session, self.worker_id)
        except Exception as exc:  # the next start frees the row's leases anyway
            log.warning("delivery worker %d not retired: %s", self.worker_id, type(exc).__name__)
        self.worker_id = self._beat_ok_at = None

    # --- one call --------------------------------------------------------------------------

    async def _attempt(self, delivery: Delivery) -> Outcome:
        try:
            result = await self._call(delivery)
        except RetryAfter as exc:
            seconds = _retry_after_seconds(exc)
            if delivery.chat_id < 0:
                # A group's or channel's own limit (about 20 a minute): only that chat waits,
                # so a channel post being held back never holds back replies to clients.
                self._next_chat[delivery.chat_id] = self._clock() + seconds
                return Outcome("postpone", error="RetryAfter", delay=seconds)
            return Outcome("postpone", error="RetryAfter", delay=seconds, pause=seconds)
        except Forbidden:
            return Outcome("dead", error="Forbidden")
        except ChatMigrated:  # the group became a supergroup: its id in settings must change
            return Outcome("dead", error="ChatMigrated")
        except BadRequest as exc:
            return Outcome("dead", error=f"BadRequest: {exc.message}")
        except EndPointNotFound:
            return Outcome("dead", error="EndPointNotFound")
        except InvalidToken:  # a revoked token: wait for the operator, lose nothing
            return Outcome("postpone", error="InvalidToken", delay=60.0, pause=60.0)
        except NetworkError as exc:
            if isinstance(exc.__cause__, _NOT_SENT):
                self._outage += 1
                pause = self._backoff(self._outage - 1)
                return Outcome("postpone", error=type(exc).__name__, delay=pause, pause=pause)
            return Outcome("retry", error=f"{type(exc).__name__}: {exc.message}")
        except TelegramError as exc:
            return Outcome("retry", error=type(exc).__name__)
        except (TypeError, ValueError) as exc:  # parameters PTB cannot send: never will
            return Outcome("dead", error=type(exc).__name__)
        except Exception as exc:
            return Outcome("retry", error=type(exc).__name__)
        self._outage = 0
        return Outcome("sent", message_id=_message_id(result))

    async def _call(self, delivery: Delivery) -> Any:
        """The Bot API call: PTB's typed method, with the JSON parameters as `api_kwargs`.

        Only the method's required arguments go through PTB's signature; everything else is
        passed through untouched, so parameters stay plain Bot API JSON.
        """
        signature = self._signature(delivery.method)
        arguments = _with_chat(delivery)
        if signature is None:
            return await self._bot.do_api_request(delivery.method, api_kwargs=arguments)
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for name, value in arguments.items():
            parameter = signature.parameters.get(name)
            if parameter is not None and parameter.default is inspect.Parameter.empty:
                kwargs[name] = value
            else:
                extra[name] = value
        method = getattr(self._bot, delivery.method)
        return await method(**kwargs, api_kwargs=extra or None)

    def _signature(self, method: str) -> inspect.Signature | None:
        if method not in self._signatures:
            # Only Bot API names (sendMessage, copyMessage...), never e.g. "initialize".
            function = getattr(self._bot, method, None) if _API_NAME.fullmatch(method) else None
            self._signatures[method] = (
                inspect.signature(function)
                if callable(function) and inspect.iscoroutinefunction(function)
                else None
            )
        return self._signatures[method]

    def _backoff(self, attempts: int) -> float:
        """Exponential (1 s, 2 s, 4 s ... `max_backoff`) with jitter in its upper half."""
        ceiling = min(self._max_backoff, 2.0**attempts)
        return ceiling / 2 + self._rng() * ceiling / 2

    async def _record(self, delivery: Delivery, outcome: Outcome) -> None:
        now = self._now()
        kind = outcome.kind
        async with self._sessions() as session, session.begin():
            if kind == "sent":
                await outbox_results.mark_sent(session, delivery.id, outcome.message_id, now=now)
            elif kind == "postpone":
                await outbox_results.postpone(
                    session,
                    delivery.id,
                    delay_seconds=outcome.delay,
                    error=outcome.error,
                    now=now,
                )
            elif kind == "retry" and delivery.attempts + 1 < self._max_attempts:
                delay = self._backoff(delivery.attempts)
                await outbox_results.mark_retry(
                    session, delivery.id, delay_seconds=delay, error=outcome.error, now=now
                )
            else:
                kind = "dead"
                if (
                    await outbox_results.mark_dead(session, delivery.id, outcome.error)
                    and self._on_dead
                ):
                    await self._after_dead(session, delivery, outcome.error)
        if outcome.pause:
            self._paused_until = max(self._paused_until, self._clock() + outcome.pause)
        self.stats[_STAT[kind]] += 1
        error_class = outcome.error.split(":", 1)[0]
        if kind == "sent":
            log.debug("outbox %d %s sent", delivery.id, delivery.method)
        elif kind == "dead":
            log.warning("outbox %d %s gave up: %s", delivery.id, delivery.method, error_class)
        else:
            log.info(
                "outbox %d %s %s: %s (attempt %d)",
                delivery.id,
                delivery.method,
                "postponed" if kind == "postpone" else "will retry",
                error_class,
                delivery.attempts + 1,
            )

    async def _after_dead(self, session: AsyncSession, delivery: Delivery, error: str) -> None:
        """The `on_dead` hook in a savepoint: if it fails, the row is still recorded dead
        (never sent again) and the failure is logged."""
        assert self._on_dead is not None
        try:
            async with session.begin_nested():
                await self._on_dead(session, delivery, error)
        except Exception as exc:
            log.error("outbox %d: after-failure step failed: %s", delivery.id, type(exc).__name__)


def _with_chat(delivery: Delivery) -> dict[str, Any]:
    """The call's parameters with its chat: as `chat_id`, or, for a chat-scoped command menu
    (setMyCommands / deleteMyCommands take no chat_id), inside the `scope`."""
    scope = delivery.params.get("scope")
    if isinstance(scope, dict) and scope.get("type") == "chat":
        return {**delivery.params, "scope": {**scope, "chat_id": delivery.chat_id}}
    return {"chat_id": delivery.chat_id, **delivery.params}


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # int vs timedelta: PTB 22 warns on reading it
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return max(seconds, 1.0)


def _message_id(result: Any) -> int | None:
    """The message id from a send/copy/edit result (first of a list), if the call made one."""
    if isinstance(result, (list, tuple)):
        result = result[0] if result else None
    if isinstance(result, dict):
        value = result.get("message_id")
    else:
        value = getattr(result, "message_id", None)
    return value if isinstance(value, int) else None
