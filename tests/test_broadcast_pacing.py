"""A broadcast through the real delivery worker against a fake Telegram that enforces its limits.

`LimitedTelegram` refuses (429) whatever Telegram would refuse for flooding, on the same
virtual clock the worker paces, records and sleeps by: nothing really sleeps.
"""

from __future__ import annotations

import inspect
import itertools
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.crypto import Keys
from bot.delivery import DeliveryWorker
from bot.models import Outbox
from bot.services import outbox
from bot.services.outbox import BROADCAST_PRIORITY, REPLY_PRIORITY
from tests.conftest import TEST_SECRET, TEST_TOKEN
from tests.limits import EPSILON, LimitedTelegram, VirtualClock

pytestmark = [
    # PTB itself reads RetryAfter.retry_after while building the exception.
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2:DeprecationWarning"),
]

SUBSCRIBER = 7_000_000  # subscriber i has chat id SUBSCRIBER + i and recipient client:i
CHANNELS = (-1001000000001, -1001000000002)  # recipients channel:1, channel:2
NEWS = "Новости Peerline: новые адреса пунктов ОЗТ"
PHOTO = "AgACAgIAAxkBAAIBnews-photo"

# The worker's default pacing (29/s, 3 s between messages to a group): what the tests below
# run with, check against Telegram's limits, and compute the expected durations from.
_DEFAULTS = inspect.signature(DeliveryWorker).parameters
OVERALL_PER_SECOND: float = _DEFAULTS["overall_per_second"].default
PER_GROUP_INTERVAL: float = _DEFAULTS["per_group_interval"].default

Row = tuple[int, str, str, dict[str, Any], int]  # chat id, recipient, method, params, priority


@pytest.fixture
def keys() -> Keys:
    return Keys(TEST_SECRET)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
async def bot(clock: VirtualClock):  # type: ignore[no-untyped-def]
    telegram = LimitedTelegram(clock)
    bot = ExtBot(TEST_TOKEN, request=telegram, get_updates_request=telegram)
    await bot.initialize()
    yield bot
    await bot.shutdown()


@pytest.fixture
def telegram(bot: ExtBot) -> LimitedTelegram:
    return bot.request  # type: ignore[return-value]


def make_worker(bot, sessions, keys, clock, **options: Any) -> DeliveryWorker:  # type: ignore[no-untyped-def]
    """The real worker, its pacing left at its defaults unless `options` say otherwise."""
    return DeliveryWorker(
        bot,
        sessions,
        keys,
        clock=clock.monotonic,
        sleep=clock.sleep,
        now=clock.now,
        rng=lambda: 0.5,
        **options,
    )


async def enqueue(
    sessions: async_sessionmaker[AsyncSession], keys: Keys, clock: VirtualClock, rows: list[Row]
) -> list[int]:
    """All rows in one transaction (as a broadcast would), due now; returns their ids."""
    async with sessions() as session, session.begin():
        return [
            await outbox.enqueue(
                session,
                keys,
                chat_ref=keys.encrypt_chat_id(chat_id),
                recipient=recipient,
                method=method,
                params=params,
                priority=priority,
                not_before=clock.now(),
            )
            for chat_id, recipient, method, params, priority in rows
        ]


def subscribers(count: int, method: str = "sendMessage", **params: Any) -> list[Row]:
    params = params or {"text": NEWS}
    return [
        (SUBSCRIBER + i, f"client:{i}", method, params, BROADCAST_PRIORITY) for i in range(count)
    ]


async def pending(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return await session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.status == outbox.PENDING)
        )


async def stored(sessions: async_sessionmaker[AsyncSession]) -> dict[int, Outbox]:
    async with sessions() as session:
        return {row.id: row for row in await session.scalars(select(Outbox))}


async def run_until_done(
    worker: DeliveryWorker, sessions: async_sessionmaker[AsyncSession], clock: VirtualClock
) -> None:
    """What the worker's loop does: drain what is due, idle a poll interval, until empty."""
    for _ in range(200):
        await worker.drain()
        if await pending(sessions) == 0:
            return
        await clock.sleep(1.0)
    raise AssertionError("the outbox never emptied")


def times(telegram: LimitedTelegram, chats: range | list[int]) -> list[float]:
    return sorted(at for chat in chats for at, _ in telegram.delivered.get(chat, []))


async def test_a_broadcast_reaches_everyone_once_within_telegram_limits(
    bot, telegram, session_factory, keys, clock
) -> None:
    pinned = telegram.existing(CHANNELS[0], "Сводка: пока ничего")
    post = {"photo": PHOTO, "caption": NEWS}
    rows = subscribers(300, "sendPhoto", **post)
    rows += [
        (chat, f"channel:{n}", "sendPhoto", post, BROADCAST_PRIORITY)
        for n, chat in enumerate(CHANNELS, 1)
    ]
    edits = [f"Сводка, обновление {k}" for k in range(1, 26)]
    rows += [
        (
            CHANNELS[0],
            "channel:1",
            "editMessageText",
            {"message_id": pinned, "text": text},
            BROADCAST_PRIORITY,
        )
        for text in edits
    ]
    ids = await enqueue(session_factory, keys, clock, rows)
    worker = make_worker(bot, session_factory, keys, clock)
    started = clock.t

    await run_until_done(worker, session_factory, clock)

    assert telegram.rejected == []  # not one 429: the worker's pacing stays under the limits
    # Exactly once: every subscriber and the second channel got the post, and nothing else.
    for chat in [*range(SUBSCRIBER, SUBSCRIBER + 300), CHANNELS[1]]:
        assert telegram.texts(chat) == [NEWS], chat
    assert telegram.texts(CHANNELS[0]) == [NEWS, *edits]  # in the order they were enqueued
    assert len(telegram.attempts) == len(rows)
    assert {(r.status, r.attempts) for r in (await stored(session_factory)).values()} == {
        ("sent", 0)
    }
    assert worker.stats["sent"] == len(ids)

    # The 302 posts go at the worker's 29/s (Telegram allows 30/s: at least 10 s for 300),
    # not slower: everyone has the news within 302/29 s and a little.
    channel = times(telegram, [CHANNELS[0]])  # the post, then the 25 edits
    everyone = [*range(SUBSCRIBER, SUBSCRIBER + 300), CHANNELS[1]]
    posts = sorted([*times(telegram, everyone), channel[0]])
    assert min(b - a for a, b in itertools.pairwise(posts)) >= 1 / OVERALL_PER_SECOND - EPSILON
    assert 300 / 30 <= posts[-1] - started <= 302 / OVERALL_PER_SECOND + 1.0

    # Channel 1 took 26 messages: Telegram allows 20 a minute (the 21st >= 60 s after the 1st);
    # the worker spaces them per_group_interval = 3 s apart, so 25 gaps >= 75 s.
    gaps = [b - a for a, b in itertools.pairwise(channel)]
    assert min(gaps) >= PER_GROUP_INTERVAL - EPSILON
    assert channel[20] - channel[0] >= 60 - EPSILON
    assert channel[-1] - channel[0] >= 25 * PER_GROUP_INTERVAL - EPSILON
    # ...and not much longer: the edits are claimed in id order behind the subscribers' posts,
    # then one per round (one pending row per recipient), each as soon as the pacing allows.
    total = max(at for log in telegram.delivered.values() for at, _ in log) - started
    assert total <= 302 / OVERALL_PER_SECOND + 25 * PER_GROUP_INTERVAL + 3.0, total
    assert max(gaps) <= PER_GROUP_INTERVAL + 1.0, gaps


async def test_b_a_reply_overtakes_a_running_broadcast(
    bot, telegram, session_factory, keys, clock
) -> None:
    await enqueue(session_factory, keys, clock, subscribers(300))
    worker = make_worker(bot, session_factory, keys, clock)
    # Two clients get an answer from a consultant while the news goes out: one whose news is
    # still far down the queue, one who got it a moment ago (Telegram: 1 message/s per chat).
    waiting, just_served = SUBSCRIBER + 250, SUBSCRIBER + 99
    replies = {
        waiting: "Консультант: да, пункт на Лесной работает до 20:00",
        just_served: "Консультант: адрес пришлю в личные сообщения",
    }
    enqueued: list[float] = []

    async def midway() -> None:
        news_sent = sum(text == NEWS for log in telegram.delivered.values() for _, text in log)
        if news_sent >= 100 and not enqueued:
            assert telegram.texts(just_served) == [NEWS]  # the 100th news went to client 99
            rows = [
                (chat, f"client:{chat - SUBSCRIBER}", "sendMessage", {"text": text}, REPLY_PRIORITY)
                for chat, text in replies.items()
            ]
            await enqueue(session_factory, keys, clock, rows)
            enqueued.append(clock.t)

    clock.on_sleep = midway
    await run_until_done(worker, session_factory, clock)

    [enqueued_at] = enqueued
    answered = {}
    for chat, reply in replies.items():
        [answered[chat]] = [at for at, text in telegram.delivered[chat] if text == reply]
        # Not behind the 200 posts still queued (8 s at 25/s): the next batch takes it first.
        assert answered[chat] - enqueued_at <= 2.0, chat
    assert telegram.texts(waiting) == [replies[waiting], NEWS]  # it overtook their own news
    assert telegram.texts(just_served) == [NEWS, replies[just_served]]
    [(news_at, _), _] = telegram.delivered[just_served]
    assert answered[just_served] - news_at >= 1.0 - EPSILON
    news = times(telegram, range(SUBSCRIBER, SUBSCRIBER + 300))
    assert len([at for at in news if at > max(answered.values())]) >= 150  # the news went on
    for i in range(300):
        assert telegram.texts(SUBSCRIBER + i).count(NEWS) == 1
    assert telegram.rejected == []  # the second reply waited out its chat's second
    rows = await stored(session_factory)
    assert {r.status for r in rows.values()} == {"sent"}


async def test_c_when_the_pacing_is_too_fast_retry_after_is_honoured_and_nothing_is_lost(
    bot, telegram, session_factory, keys, clock
) -> None:
    """A worker paced faster than Telegram allows gets 429s, waits them out, loses nothing."""
    talkative, documents = SUBSCRIBER + 900, SUBSCRIBER + 901
    rows = subscribers(120)
    for n in range(4):  # several rows to one chat: the per-chat limit
        answer = {"text": f"ответ {n}"}
        rows.append((talkative, "client:900", "sendMessage", answer, REPLY_PRIORITY))
        document = {"document": f"BQACdoc{n}", "caption": f"памятка {n}"}
        rows.append((documents, "client:901", "sendDocument", document, REPLY_PRIORITY))
    channel_posts = [f"пост {n}" for n in range(24)]  # more than 20 a minute to one channel
    rows += [
        (CHANNELS[0], "channel:1", "sendMessage", {"text": text}, BROADCAST_PRIORITY)
        for text in channel_posts
    ]
    await enqueue(session_factory, keys, clock, rows)
    worker = make_worker(
        bot,
        session_factory,
        keys,
        clock,
        overall_per_second=100,
        per_chat_interval=0,
        per_group_interval=0,
    )

    await run_until_done(worker, session_factory, clock)

    # The limiter failed in every way Telegram counts...
    assert {reason for _, _, reason in telegram.rejected} == {"overall", "chat", "group"}
    assert worker.stats["postponed"] == len(telegram.rejected)
    # ...and every 429 was honoured: no call at all before its retry_after ran out.
    for index, refused in enumerate(telegram.attempts):
        if refused.outcome == "429":
            later = [a.at for a in telegram.attempts[index + 1 :]]
            assert min(later) >= refused.at + refused.retry_after - EPSILON, refused
    # Nothing lost, nothing twice, each chat in its order; a 429 is not a failed attempt.
    for i in range(120):
        assert telegram.texts(SUBSCRIBER + i) == [NEWS]
    assert telegram.texts(talkative) == [f"ответ {n}" for n in range(4)]
    assert telegram.texts(documents) == [f"памятка {n}" for n in range(4)]
    assert telegram.texts(CHANNELS[0]) == channel_posts
    assert {(r.status, r.attempts) for r in (await stored(session_factory)).values()} == {
        ("sent", 0)
    }


async def test_d_a_subscriber_who_blocked_the_bot_is_dead_and_never_retried(
    bot, telegram, session_factory, keys, clock
) -> None:
    blocked = SUBSCRIBER + 7
    telegram.forbidden.add(blocked)
    ids = await enqueue(session_factory, keys, clock, subscribers(30))
    worker = make_worker(bot, session_factory, keys, clock)

    await run_until_done(worker, session_factory, clock)
    clock.advance(3600)
    assert await worker.drain() == 0

    assert [a.outcome for a in telegram.calls_to(blocked)] == ["403"]  # exactly one call
    assert blocked not in telegram.delivered
    rows = await stored(session_factory)
    dead = rows[ids[7]]
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 1, "Forbidden")
    assert {rows[i].status for i in ids if i != ids[7]} == {"sent"}
    for i in range(30):
        if SUBSCRIBER + i != blocked:
            assert telegram.texts(SUBSCRIBER + i) == [NEWS]
    assert telegram.rejected == []
    assert worker.stats["dead"] == 1


async def test_e_messages_sent_outside_the_worker_count_in_its_pacing(
    bot, telegram, session_factory, keys, clock
) -> None:
    """Screens and replies that handlers sent count in Telegram's ceiling too: the worker
    leaves their share of the second free, then goes on at its pace."""
    await enqueue(session_factory, keys, clock, subscribers(60))
    worker = make_worker(bot, session_factory, keys, clock)
    started = clock.t
    for _ in range(20):  # twenty screens went out just now
        worker.note_other_send()
    await run_until_done(worker, session_factory, clock)
    sent = times(telegram, range(SUBSCRIBER, SUBSCRIBER + 60))
    assert len(sent) == 60 and telegram.rejected == []
    assert len([at for at in sent if at < started + 1.0]) == int(OVERALL_PER_SECOND) - 20
    # Any second, the twenty included, holds at most the worker's budget.
    every = sorted([started] * 20 + sent)
    assert all(
        len([t for t in every if a <= t < a + 1.0 - EPSILON]) <= OVERALL_PER_SECOND for a in every
    )


async def test_a_call_that_reached_telegram_late_does_not_crowd_the_next_one(
    bot, telegram, session_factory, keys, clock
) -> None:
    """The first call to a chat takes 0.4 s to reach Telegram, the second none: counted from
    the first call's start, the second would arrive 0.6 s after it (a 429). Counted from its
    answer, a whole second passes at Telegram's end too."""
    original = telegram.do_request
    delays = [0.4]

    async def slow_then_fast(*args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if delays:
            clock.advance(delays.pop())
        return await original(*args, **kwargs)

    telegram.do_request = slow_then_fast  # type: ignore[method-assign]
    chat = SUBSCRIBER + 1
    rows = [(chat, "client:1", "sendMessage", {"text": t}, REPLY_PRIORITY) for t in ("a", "b")]
    await enqueue(session_factory, keys, clock, rows)
    worker = make_worker(bot, session_factory, keys, clock)
    await run_until_done(worker, session_factory, clock)
    assert telegram.rejected == [] and telegram.texts(chat) == ["a", "b"]
    first, second = times(telegram, [chat])
    assert second - first >= 1.0 - EPSILON


async def test_the_limited_fake_refuses_what_telegram_would(bot, telegram, clock) -> None:
    """No database: the fake's own limits, so the tests above cannot pass by a lenient fake."""

    async def refused(chat_id: int) -> int | None:
        try:
            await bot.send_message(chat_id, "x")
        except RetryAfter as exc:
            value = exc.retry_after
            return int(value.total_seconds() if isinstance(value, timedelta) else value)
        return None

    # 30 a second overall: the 31st within the second waits for the first to leave the window.
    for n in range(30):
        assert await refused(SUBSCRIBER + n) is None
        clock.advance(0.01)
    assert await refused(SUBSCRIBER + 100) == 1
    clock.advance(0.71)  # the first send is now exactly one second old
    assert await refused(SUBSCRIBER + 100) is None
    # One a second per private chat.
    clock.advance(1.0)
    assert await refused(SUBSCRIBER) is None
    clock.advance(0.5)
    assert await refused(SUBSCRIBER) == 1
    clock.advance(0.5)
    assert await refused(SUBSCRIBER) is None
    # 20 a minute per group or channel: the 21st waits until the first is a minute old.
    for _ in range(20):
        assert await refused(CHANNELS[0]) is None
        clock.advance(2.0)
    assert await refused(CHANNELS[0]) == 20
    assert await refused(CHANNELS[1]) is None  # another channel has its own minute
    clock.advance(20.0)
    assert await refused(CHANNELS[0]) is None
    assert [reason for _, _, reason in telegram.rejected] == ["overall", "chat", "group"]
    assert telegram.texts(CHANNELS[0]) == ["x"] * 21


async def test_f_screens_are_noted_for_the_pacing_and_the_workers_own_sends_are_not(
    harness,  # type: ignore[no-untyped-def]
) -> None:
    from tests.harness import FakeUser

    person = FakeUser(id=5590000001, first_name="P", language_code="en")
    noted: list[int] = []
    runtime = harness.app.bot_data.runtime
    runtime.note_send = lambda: noted.append(1)
    await harness.send(person, "/start")  # a screen the handler sends itself
    screens = len(noted)
    assert screens >= 1
    async with runtime.transaction() as session:
        await outbox.enqueue(
            session,
            runtime.keys,
            chat_ref=runtime.keys.encrypt_chat_id(person.id),
            recipient="client:999",
            method="sendMessage",
            params={"text": NEWS},
        )
    await harness.deliver()
    assert harness.inbox(person.id)[-1].text == NEWS
    assert len(noted) == screens  # the worker counted that one in its own pacing
