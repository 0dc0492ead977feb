"""The delivery worker against a scripted fake Telegram, with fake time (nothing really sleeps)."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.error import NetworkError, TimedOut
from telegram.ext import ExtBot
from telegram.request import RequestData

from bot.crypto import Keys
from bot.delivery import DeliveryWorker
from bot.models import Outbox
from bot.services import outbox, outbox_claim
from tests.conftest import TEST_SECRET, TEST_TOKEN
from tests.harness import FakeTelegram

# The worker uses PTB's typed methods for known Bot API methods: no "Please use Bot.x" warning.
pytestmark = pytest.mark.filterwarnings("error:Please use:telegram.warnings.PTBUserWarning")

ALICE, BORIS, GROUP = 5550001234, 5550009876, -1001234567890
SECRET_TEXT = "Ксенофонтия, вот адрес пункта ОЗТ"


class FakeTime:
    """One fake clock for the worker's pacing (monotonic), its database times and its sleeps."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.base = datetime(2030, 1, 1, tzinfo=UTC)
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return self.base + timedelta(seconds=self.t)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(seconds, 0.0)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.t += seconds


Failure = Callable[[], "Exception | tuple[int, dict[str, Any]]"]


def retry_after(seconds: int) -> Failure:
    body = {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {seconds}",
    }
    return lambda: (429, {**body, "parameters": {"retry_after": seconds}})


def forbidden() -> Failure:
    return lambda: (
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )


def bad_request(description: str) -> Failure:
    return lambda: (400, {"ok": False, "error_code": 400, "description": description})


def server_error(code: int = 502) -> Failure:
    return lambda: (code, {"ok": False, "error_code": code, "description": "Bad Gateway"})


def _caused(exc: Exception, cause: Exception) -> Exception:
    exc.__cause__ = cause
    return exc


def no_connection() -> Failure:
    """What PTB's HTTPXRequest raises when Telegram cannot be reached at all."""
    return lambda: _caused(
        NetworkError("httpx.ConnectError: All connection attempts failed"),
        httpx.ConnectError("All connection attempts failed"),
    )


def read_timeout() -> Failure:
    """Sent, but no answer in time: Telegram may or may not have delivered it."""
    return lambda: _caused(TimedOut(), httpx.ReadTimeout("timed out"))


class ScriptedTelegram(FakeTelegram):
    """The harness's fake Telegram, plus scripted failures and the fake time of every call."""

    def __init__(self, time: FakeTime) -> None:
        super().__init__()
        self.time = time
        self.script: dict[str, list[Failure]] = {}
        self.attempts: list[tuple[float, str, dict[str, Any]]] = []  # failed ones included
        self.delivered: list[tuple[float, str, dict[str, Any], int | None]] = []
        self._copies = itertools.count(5000)

    def fail(self, method: str, *failures: Failure) -> None:
        """The next calls of `method` fail like this, in turn."""
        self.script.setdefault(method, []).extend(failures)

    async def do_request(  # type: ignore[override]
        self, url: str, method: str, request_data: RequestData | None = None, **kwargs: Any
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        if name == "getMe":
            return await super().do_request(url, method, request_data, **kwargs)
        self.attempts.append((self.time.t, name, params))
        queued = self.script.get(name)
        if queued:
            failure = queued.pop(0)()
            if isinstance(failure, Exception):
                raise failure
            code, body = failure
            return code, json.dumps(body).encode()
        code, payload = await super().do_request(url, method, request_data, **kwargs)
        result = json.loads(payload)["result"]
        message_id = result.get("message_id") if isinstance(result, dict) else None
        self.delivered.append((self.time.t, name, params, message_id))
        return code, payload

    def _answer(self, name: str, p: dict[str, Any]) -> Any:
        if name in ("copyMessage", "sendFutureThing"):
            return {"message_id": next(self._copies)}
        if name == "editMessageReplyMarkup":
            return True
        return super()._answer(name, p)

    def texts(self) -> list[str]:
        return [p["text"] for _, name, p, _ in self.delivered if name == "sendMessage"]


@pytest.fixture
def keys() -> Keys:
    return Keys(TEST_SECRET)


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def telegram(time: FakeTime):  # type: ignore[no-untyped-def]
    fake = ScriptedTelegram(time)
    yield fake


async def make_bot(telegram: ScriptedTelegram) -> ExtBot:
    bot = ExtBot(TEST_TOKEN, request=telegram, get_updates_request=telegram)
    await bot.initialize()
    return bot


@pytest.fixture
async def bot(telegram: ScriptedTelegram):  # type: ignore[no-untyped-def]
    bot = await make_bot(telegram)
    yield bot
    await bot.shutdown()


def make_worker(
    bot: ExtBot,
    sessions: async_sessionmaker[AsyncSession],
    keys: Keys,
    time: FakeTime,
    **options: Any,
) -> DeliveryWorker:
    return DeliveryWorker(
        bot,
        sessions,
        keys,
        clock=time.monotonic,
        sleep=time.sleep,
        now=time.now,
        rng=lambda: 0.5,
        **options,
    )


@pytest.fixture
def worker(bot, session_factory, keys, time) -> DeliveryWorker:  # type: ignore[no-untyped-def]
    return make_worker(bot, session_factory, keys, time)


async def enqueue(
    sessions: async_sessionmaker[AsyncSession],
    keys: Keys,
    time: FakeTime,
    chat_id: int,
    text: str | None = None,
    *,
    method: str = "sendMessage",
    params: dict[str, Any] | None = None,
    priority: int = 0,
) -> int:
    async with sessions() as session, session.begin():
        return await outbox.enqueue(
            session,
            keys,
            chat_ref=keys.encrypt_chat_id(chat_id),
            recipient=f"client:{chat_id % 100000}",
            method=method,
            params=params if params is not None else {"text": text},
            priority=priority,
            not_before=time.now(),
        )


async def rows(sessions: async_sessionmaker[AsyncSession]) -> dict[int, Outbox]:
    async with sessions() as session:
        return {row.id: row for row in await session.scalars(select(Outbox))}


async def test_every_row_is_delivered_exactly_once(
    worker, telegram, session_factory, keys, time
) -> None:
    markup = {"inline_keyboard": [[{"text": "Взять", "callback_data": "q:take:1"}]]}
    ids = [
        await enqueue(session_factory, keys, time, ALICE, "a1"),
        await enqueue(session_factory, keys, time, BORIS, "b1"),
        await enqueue(
            session_factory,
            keys,
            time,
            ALICE,
            method="sendMessage",
            params={"text": "a2", "reply_markup": markup, "protect_content": True},
        ),
        await enqueue(
            session_factory,
            keys,
            time,
            BORIS,
            method="copyMessage",
            params={"from_chat_id": ALICE, "message_id": 17, "protect_content": True},
        ),
        await enqueue(
            session_factory,
            keys,
            time,
            ALICE,
            method="editMessageText",
            params={"message_id": 1000, "text": "a1, edited"},
        ),
        await enqueue(
            session_factory,
            keys,
            time,
            BORIS,
            method="editMessageReplyMarkup",
            params={"message_id": 1001, "reply_markup": {"inline_keyboard": []}},
        ),
        await enqueue(
            session_factory, keys, time, ALICE, method="deleteMessage", params={"message_id": 1}
        ),
        await enqueue(session_factory, keys, time, BORIS, "b2"),
    ]
    assert await worker.drain() == len(ids)
    assert await worker.drain() == 0  # nothing twice
    assert [name for _, name, _, _ in telegram.delivered] == [
        "sendMessage",
        "sendMessage",
        "sendMessage",
        "copyMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "deleteMessage",
        "sendMessage",
    ]
    assert len(telegram.attempts) == len(ids)
    # Per chat, in the order they were enqueued.
    per_chat: dict[int, list[str]] = {}
    for _, name, params, _ in telegram.delivered:
        per_chat.setdefault(int(params["chat_id"]), []).append(params.get("text", name))
    assert per_chat[ALICE] == ["a1", "a2", "a1, edited", "deleteMessage"]
    assert per_chat[BORIS] == ["b1", "copyMessage", "editMessageReplyMarkup", "b2"]
    # Parameters arrive as the Bot API JSON they were enqueued as.
    a2 = next(p for _, _, p, _ in telegram.delivered if p.get("text") == "a2")
    sent_markup = a2["reply_markup"]
    assert (json.loads(sent_markup) if isinstance(sent_markup, str) else sent_markup) == markup
    assert a2["protect_content"] is True
    copy = next(p for _, name, p, _ in telegram.delivered if name == "copyMessage")
    assert (int(copy["from_chat_id"]), copy["message_id"]) == (ALICE, 17)
    # Every row is sent, with the message id Telegram gave (None where there is no message).
    stored = await rows(session_factory)
    assert {r.status for r in stored.values()} == {"sent"}
    answered = [message_id for _, _, _, message_id in telegram.delivered]
    assert [stored[i].sent_message_id for i in ids] == answered
    assert answered[3] == 5000 and answered[5] is None and answered[6] is None


async def test_a_method_ptb_does_not_know_goes_through_do_api_request(
    worker, telegram, session_factory, keys, time
) -> None:
    await enqueue(session_factory, keys, time, ALICE, method="sendFutureThing", params={"x": 1})
    assert await worker.drain() == 1
    [(_, name, params, message_id)] = telegram.delivered
    assert (name, int(params["chat_id"]), params["x"], message_id) == (
        "sendFutureThing",
        ALICE,
        1,
        5000,
    )


async def test_pacing_keeps_chats_and_the_whole_bot_under_telegram_limits(
    bot, telegram, session_factory, keys, time
) -> None:
    worker = make_worker(
        bot, session_factory, keys, time, overall_per_second=25.0, per_chat_interval=1.0
    )
    for n in range(4):
        for chat in (ALICE, BORIS, GROUP):
            await enqueue(session_factory, keys, time, chat, f"{chat}:{n}")
    for n in range(30):  # and a crowd of chats with one message each
        await enqueue(session_factory, keys, time, 7000000 + n, f"crowd {n}")
    started = time.t
    assert await worker.drain() == 42
    times: dict[int, list[float]] = {}
    for at, _, params, _ in telegram.delivered:
        times.setdefault(int(params["chat_id"]), []).append(at)
    for chat, minimum in ((ALICE, 1.0), (BORIS, 1.0), (GROUP, 3.0)):
        gaps = [b - a for a, b in itertools.pairwise(times[chat])]
        assert len(gaps) == 3
        assert min(gaps) >= minimum - 1e-9, (chat, gaps)
    everything = [at for at, *_ in telegram.delivered]
    assert min(b - a for a, b in itertools.pairwise(everything)) >= 1 / 25 - 1e-9
    assert time.t - started < 15  # paced by fake sleeps, not stalled
    assert telegram.texts()[:3] == [f"{ALICE}:0", f"{BORIS}:0", f"{GROUP}:0"]


async def test_retry_after_is_honoured_and_not_counted(
    worker, telegram, session_factory, keys, time
) -> None:
    telegram.fail("sendMessage", retry_after(7))
    first = await enqueue(session_factory, keys, time, ALICE, "first")
    second = await enqueue(session_factory, keys, time, BORIS, "second")
    flooded_at = time.t
    assert await worker.drain() == 2
    assert telegram.texts() == ["first", "second"]
    # Nothing at all went to Telegram during the 7 seconds it asked for.
    after = [at for at, *_ in telegram.attempts[1:]]
    assert min(after) >= flooded_at + 7
    stored = await rows(session_factory)
    assert (stored[first].status, stored[first].attempts) == ("sent", 0)
    assert (stored[second].status, stored[second].attempts) == ("sent", 0)
    assert worker.stats["postponed"] == 1


async def test_forbidden_is_dead_at_once(worker, telegram, session_factory, keys, time) -> None:
    telegram.fail("sendMessage", forbidden())
    blocked = await enqueue(session_factory, keys, time, ALICE, "hello")
    assert await worker.drain() == 0
    time.advance(3600)
    assert await worker.drain() == 0
    assert len(telegram.attempts) == 1  # never retried
    row = (await rows(session_factory))[blocked]
    assert (row.status, row.attempts, row.last_error) == ("dead", 1, "Forbidden")


async def test_bad_request_is_dead_with_a_short_error(
    worker, telegram, session_factory, keys, time
) -> None:
    telegram.fail("sendMessage", bad_request("Bad Request: can't parse entities"))
    broken = await enqueue(session_factory, keys, time, ALICE, SECRET_TEXT)
    after = await enqueue(session_factory, keys, time, ALICE, "next one")
    await worker.drain()
    stored = await rows(session_factory)
    assert stored[broken].status == "dead"
    assert stored[broken].last_error == "BadRequest: Can't parse entities"
    assert SECRET_TEXT not in stored[broken].last_error
    assert stored[after].status == "sent"  # a dead row does not hold its chat


async def test_transient_errors_are_retried_with_backoff_then_succeed(
    worker, telegram, session_factory, keys, time
) -> None:
    telegram.fail("sendMessage", server_error(502), read_timeout(), server_error(500))
    outbox_id = await enqueue(session_factory, keys, time, ALICE, "hang in there")
    backoffs = []
    for _ in range(3):
        assert await worker.drain() == 0
        failed_at = telegram.attempts[-1][0]
        row = (await rows(session_factory))[outbox_id]
        assert row.status == "pending"
        due = (row.not_before.replace(tzinfo=UTC) - time.base).total_seconds()
        backoffs.append(due - failed_at)
        assert await worker.drain() == 0  # not due yet: no early retry
        time.advance(backoffs[-1] + 0.01)
    assert await worker.drain() == 1
    assert backoffs == pytest.approx([0.75, 1.5, 3.0])  # 1, 2, 4 s with jitter (rng 0.5 -> 3/4)
    assert telegram.texts() == ["hang in there"]  # exactly once
    assert len(telegram.attempts) == 4
    row = (await rows(session_factory))[outbox_id]
    assert (row.status, row.attempts) == ("sent", 3)


async def test_gives_up_after_max_attempts(worker, telegram, session_factory, keys, time) -> None:
    telegram.fail("sendMessage", *[server_error(503)] * 20)
    outbox_id = await enqueue(session_factory, keys, time, ALICE, "never")
    for _ in range(15):
        await worker.drain()
        time.advance(301)
    row = (await rows(session_factory))[outbox_id]
    assert (row.status, row.attempts) == ("dead", 10)
    assert len(telegram.attempts) == 10


async def test_no_connection_pauses_the_worker_without_counting(
    worker, telegram, session_factory, keys, time
) -> None:
    telegram.fail("sendMessage", no_connection(), no_connection(), no_connection())
    outbox_id = await enqueue(session_factory, keys, time, ALICE, "after the outage")
    other = await enqueue(session_factory, keys, time, BORIS, "also waits")
    assert await worker.drain() == 2
    # The worker backs off as a whole (0.75, 1.5, 3 s), Boris's row waiting with Alice's.
    alice = [at for at, _, p in telegram.attempts if int(p["chat_id"]) == ALICE]
    gaps = [b - a for a, b in itertools.pairwise(alice)]
    assert gaps == pytest.approx([1.0, 1.5, 3.0])  # 0.75 pause < 1 s per-chat interval
    [boris] = [at for at, _, p in telegram.attempts if int(p["chat_id"]) == BORIS]
    assert boris > alice[-1]
    assert telegram.texts() == ["after the outage", "also waits"]
    stored = await rows(session_factory)
    assert (stored[outbox_id].status, stored[outbox_id].attempts) == ("sent", 0)
    assert stored[other].status == "sent"


async def test_a_failed_row_is_not_overtaken_in_its_chat(
    worker, telegram, session_factory, keys, time
) -> None:
    telegram.fail("sendMessage", server_error())
    await enqueue(session_factory, keys, time, ALICE, "one")
    await enqueue(session_factory, keys, time, ALICE, "two")
    await enqueue(session_factory, keys, time, BORIS, "elsewhere")
    await worker.drain()
    assert telegram.texts() == ["elsewhere"]
    time.advance(5)
    await worker.drain()
    assert telegram.texts() == ["elsewhere", "one", "two"]


async def test_no_send_starts_after_half_the_lease(
    bot, telegram, session_factory, keys, time, monkeypatch
) -> None:
    """A slow batch hands back what it cannot start in time, before another worker may take it."""
    worker = make_worker(
        bot, session_factory, keys, time, overall_per_second=1.0, lease_seconds=4.0
    )
    ids = [await enqueue(session_factory, keys, time, 7000000 + n, f"m{n}") for n in range(5)]
    released: list[list[int]] = []
    real_release = outbox_claim.release

    async def spy(session, delivery_ids, **kwargs):  # type: ignore[no-untyped-def]
        released.append(list(delivery_ids))
        return await real_release(session, delivery_ids, **kwargs)

    monkeypatch.setattr(outbox_claim, "release", spy)
    assert await worker.drain() == 5
    # Claimed at 1000 with a 4 s lease: sends start until 1002, the rest go back at once.
    assert released == [ids[3:]]
    assert [at for at, *_ in telegram.delivered] == [1000.0, 1001.0, 1002.0, 1003.0, 1004.0]
    assert telegram.texts() == [f"m{n}" for n in range(5)]


async def test_a_restarted_worker_resumes_what_was_pending(
    bot, telegram, session_factory, keys, time
) -> None:
    # A worker claimed rows and died before sending them (or before marking them sent).
    for n in range(3):
        await enqueue(session_factory, keys, time, 7000000 + n, f"m{n}")
    async with session_factory() as session, session.begin():
        assert (
            len(await outbox_claim.claim_due(session, keys, now=time.now(), lease_seconds=60)) == 3
        )
    # One row was in backoff when the process stopped.
    telegram.fail("sendMessage", server_error())
    first = make_worker(bot, session_factory, keys, time)
    backing_off = await enqueue(session_factory, keys, time, ALICE, "retry me")
    await first.drain()
    # After the restart: a new bot, a new worker, the same database.
    restarted_bot = await make_bot(telegram)
    restarted = make_worker(restarted_bot, session_factory, keys, time)
    assert await restarted.drain() == 0  # the leases are still running
    time.advance(61)
    assert await restarted.drain() == 4
    assert sorted(telegram.texts()) == ["m0", "m1", "m2", "retry me"]  # each exactly once
    stored = await rows(session_factory)
    assert {r.status for r in stored.values()} == {"sent"}
    assert stored[backing_off].attempts == 1
    await restarted_bot.shutdown()


async def test_the_loop_delivers_when_woken_and_stops(bot, telegram, session_factory, keys) -> None:
    """Real time here: `start()` runs the loop as a task; `wake()` beats the poll interval."""
    worker = DeliveryWorker(bot, session_factory, keys, poll_interval=30.0)
    worker.start()
    worker.start()  # idempotent
    assert worker.running
    await asyncio.sleep(0.05)  # the loop found nothing and is waiting for 30 s
    async with session_factory() as session, session.begin():
        await outbox.enqueue(
            session,
            keys,
            chat_ref=keys.encrypt_chat_id(ALICE),
            recipient="client:1",
            method="sendMessage",
            params={"text": "woken"},
        )
    worker.wake()
    for _ in range(200):
        if telegram.texts():
            break
        await asyncio.sleep(0.01)
    assert telegram.texts() == ["woken"]
    await asyncio.wait_for(worker.stop(), 5)
    assert not worker.running
    await worker.stop()  # twice is fine


async def test_logs_carry_no_text_and_no_chat_id(
    worker, telegram, session_factory, keys, time, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    telegram.fail(
        "sendMessage",
        server_error(),
        retry_after(3),
        no_connection(),
        bad_request(f"Bad Request: chat {ALICE} not found"),
    )
    for text in (SECRET_TEXT, "two", "three", "four", "five"):
        await enqueue(session_factory, keys, time, ALICE, text)
    await enqueue(session_factory, keys, time, BORIS, SECRET_TEXT)
    for _ in range(5):
        await worker.drain()
        time.advance(10)
    assert caplog.records, "the worker logs its failures"
    logged = caplog.text
    for needle in (SECRET_TEXT, "Ксенофонтия", str(ALICE), str(BORIS), TEST_TOKEN):
        assert needle not in logged
    stored = await rows(session_factory)
    for row in stored.values():
        assert str(ALICE) not in (row.last_error or "")


async def test_flood_control_in_a_channel_holds_back_only_that_channel(
    worker, telegram, session_factory, keys, time
) -> None:
    telegram.fail("sendMessage", retry_after(30))
    post = await enqueue(session_factory, keys, time, GROUP, "channel post")
    reply = await enqueue(session_factory, keys, time, ALICE, "reply to a client")
    flooded_at = time.t
    await worker.drain()
    sent = {params["text"]: at for at, _, params, _ in telegram.delivered}
    assert sent["reply to a client"] < flooded_at + 1  # not 30 s later
    assert "channel post" not in sent  # waits its 30 s, counted as no failure
    time.advance(31)
    await worker.drain()
    stored = await rows(session_factory)
    assert (stored[post].status, stored[post].attempts) == ("sent", 0)
    assert stored[reply].status == "sent"
    channel = [at for at, _, params in telegram.attempts if int(params["chat_id"]) == GROUP]
    assert channel[1] - channel[0] >= 30


# --- relayed texts queued for one chat go out together (bot/delivery_combine.py) -----------


async def relayed(
    sessions: async_sessionmaker[AsyncSession],
    keys: Keys,
    time: FakeTime,
    section: str | None,
    text: str,
    **params: Any,
) -> int:
    """A relayed text for Alice's chat, as bot/services/relay.py queues it."""
    async with sessions() as session, session.begin():
        return await outbox.enqueue(
            session,
            keys,
            chat_ref=keys.encrypt_chat_id(ALICE),
            recipient="staff:1",
            method="sendMessage",
            params={"text": text, "parse_mode": "HTML", **params},
            not_before=time.now(),
            section=section,
        )


async def test_a_failed_call_sends_nothing_twice_and_keeps_the_order(
    worker, telegram, session_factory, keys, time
) -> None:
    telegram.fail("sendMessage", server_error(502))
    a = await relayed(session_factory, keys, time, "1:client:0", "👤 A\na1")
    b = await relayed(session_factory, keys, time, "2:client:0", "👤 B\nb1")
    assert await worker.drain() == 0  # the head failed; the text behind it was not tried
    stored = await rows(session_factory)
    assert (stored[a].attempts, stored[b].attempts) == (1, 0)
    assert stored[b].status == "pending" and stored[b].leased_by is None
    time.advance(5)
    c = await relayed(session_factory, keys, time, "1:client:0", "👤 A\na2")
    assert await worker.drain() == 3
    assert telegram.texts() == ["👤 A\na1\n\n👤 B\nb1\n\n👤 A\na2"]
    stored = await rows(session_factory)
    assert {stored[i].status for i in (a, b, c)} == {"sent"}
    assert len({stored[i].sent_message_id for i in (a, b, c)}) == 1


async def test_only_what_may_follow_goes_together(
    worker, telegram, session_factory, keys, time
) -> None:
    """A notice between relayed texts, a read-along copy ("!"), other protection or a text
    that would not fit each end the message; every text still arrives, in order."""
    await relayed(session_factory, keys, time, "1:client:0", "👤 A\na1")
    await relayed(session_factory, keys, time, "1:client:0", "👤 A\na2")  # same writer
    await relayed(session_factory, keys, time, None, "You took a conversation")  # a notice
    await relayed(session_factory, keys, time, "2:client:0", "👤 B\nb1")
    await relayed(session_factory, keys, time, "3:client:0!", "👁 C\nc1")  # read-along copy
    await relayed(session_factory, keys, time, "3:client:0!", "👁 C\nc2")  # the same one
    await relayed(session_factory, keys, time, "4:client:0", "👤 D\nd1", protect_content=True)
    await relayed(session_factory, keys, time, "5:client:0", "👤 E\n" + "e" * 4088)
    await relayed(session_factory, keys, time, "6:client:0", "👤 F\nf1")
    await worker.drain()
    assert telegram.texts() == [
        "👤 A\na1\na2",
        "You took a conversation",
        "👤 B\nb1",
        "👁 C\nc1\nc2",
        "👤 D\nd1",
        "👤 E\n" + "e" * 4088,
        "👤 F\nf1",
    ]
