"""The outbox service: enqueue, claim with a lease, mark, look up, purge (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import Keys
from bot.models import Outbox
from bot.services import outbox, outbox_claim, outbox_results, outbox_sent, outbox_upkeep
from tests.conftest import TEST_SECRET

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SECRET_TEXT = "Мне нужна помощь, передозировка у друга"
CHAT_ID = 5550001234


@pytest.fixture
def keys() -> Keys:
    return Keys(TEST_SECRET)


async def add(
    session: AsyncSession,
    keys: Keys,
    *,
    recipient: str = "client:1",
    chat_id: int = CHAT_ID,
    text: str = "hello",
    priority: int = 0,
    not_before: datetime = T0,
    message_id: int | None = None,
    method: str = "sendMessage",
) -> int:
    return await outbox.enqueue(
        session,
        keys,
        chat_ref=keys.encrypt_chat_id(chat_id),
        recipient=recipient,
        method=method,
        params={"text": text},
        priority=priority,
        message_id=message_id,
        not_before=not_before,
    )


async def claim(
    sessions: async_sessionmaker[AsyncSession],
    keys: Keys,
    *,
    now: datetime = T0,
    limit: int = 20,
    lease: float = 60,
) -> list[outbox_claim.Delivery]:
    async with sessions() as session, session.begin():
        return await outbox_claim.claim_due(
            session, keys, now=now, limit=limit, lease_seconds=lease
        )


async def row(sessions: async_sessionmaker[AsyncSession], outbox_id: int) -> Outbox:
    async with sessions() as session:
        found = await session.get(Outbox, outbox_id)
        assert found is not None
        return found


def utc(moment: datetime) -> datetime:
    """SQLite gives naive UTC back, PostgreSQL aware datetimes."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def test_enqueue_then_claim_gives_the_decrypted_call(session_factory, keys) -> None:
    async with session_factory() as session, session.begin():
        outbox_id = await outbox.enqueue(
            session,
            keys,
            chat_ref=keys.encrypt_chat_id(CHAT_ID),
            recipient="staff:3",
            method="copyMessage",
            params={"from_chat_id": 42, "message_id": 7, "protect_content": True},
            not_before=T0,
        )
    [delivery] = await claim(session_factory, keys)
    assert delivery == outbox_claim.Delivery(
        id=outbox_id,
        method="copyMessage",
        chat_id=CHAT_ID,
        params={"from_chat_id": 42, "message_id": 7, "protect_content": True},
        attempts=0,
        recipient="staff:3",
        message_id=None,
        priority=0,
    )


async def test_enqueue_refuses_a_chat_id_in_params(session, keys) -> None:
    with pytest.raises(ValueError):
        await outbox.enqueue(
            session,
            keys,
            chat_ref=keys.encrypt_chat_id(1),
            recipient="client:1",
            method="sendMessage",
            params={"chat_id": 1, "text": "x"},
        )


async def test_claim_orders_by_priority_then_id(session_factory, keys) -> None:
    async with session_factory() as session, session.begin():
        ids = [
            await add(session, keys, recipient=f"client:{n}", priority=priority)
            for n, priority in enumerate([5, 0, 5, 0, 1])
        ]
    claimed = await claim(session_factory, keys)
    assert [d.id for d in claimed] == [ids[1], ids[3], ids[4], ids[0], ids[2]]


async def test_claim_takes_only_due_rows_and_respects_the_limit(session_factory, keys) -> None:
    async with session_factory() as session, session.begin():
        due = [await add(session, keys, recipient=f"client:{n}") for n in range(3)]
        await add(session, keys, recipient="client:9", not_before=T0 + timedelta(seconds=5))
    first = await claim(session_factory, keys, limit=2)
    second = await claim(session_factory, keys, limit=2)
    assert [d.id for d in first + second] == due


async def test_lease_hides_a_claimed_row_until_it_runs_out(session_factory, keys) -> None:
    async with session_factory() as session, session.begin():
        outbox_id = await add(session, keys)
    assert [d.id for d in await claim(session_factory, keys, lease=60)] == [outbox_id]
    # A second worker (or the same one) does not get it while the lease runs...
    assert await claim(session_factory, keys, now=T0 + timedelta(seconds=59)) == []
    # ...and gets it back once it ran out (the first worker crashed): at-least-once.
    again = await claim(session_factory, keys, now=T0 + timedelta(seconds=61))
    assert [d.id for d in again] == [outbox_id]
    assert again[0].attempts == 0
    assert utc((await row(session_factory, outbox_id)).not_before) == T0 + timedelta(seconds=121)


async def test_one_chat_gets_its_rows_in_order(session_factory, keys) -> None:
    async with session_factory() as session, session.begin():
        first = await add(session, keys, text="one")
        second = await add(session, keys, text="two")
        other = await add(session, keys, recipient="client:2", text="elsewhere")
    # Only the oldest pending row of a chat is claimable: no overtaking, one sender per chat.
    assert [d.id for d in await claim(session_factory, keys)] == [first, other]
    later = T0 + timedelta(seconds=61)
    assert [d.id for d in await claim(session_factory, keys, now=later)] == [first, other]
    async with session_factory() as session, session.begin():
        await outbox_results.mark_retry(
            session, first, delay_seconds=30, error="NetworkError", now=later
        )
    # Backing off still holds the chat: "two" never arrives before "one".
    assert await claim(session_factory, keys, now=later + timedelta(seconds=1)) == []
    [retried] = await claim(session_factory, keys, now=later + timedelta(seconds=31))
    assert retried.id == first
    async with session_factory() as session, session.begin():
        await outbox_results.mark_sent(session, first, 501, now=later)
    [then] = await claim(session_factory, keys, now=later + timedelta(seconds=32))
    assert then.id == second


async def test_an_urgent_row_overtakes_a_broadcast_but_not_the_reverse(
    session_factory, keys
) -> None:
    async with session_factory() as session, session.begin():
        broadcast = await add(session, keys, priority=5, text="news")
        reply = await add(session, keys, priority=0, text="reply")
        later_broadcast = await add(session, keys, priority=5, text="more news")
    claimed = await claim(session_factory, keys)
    assert [d.id for d in claimed] == [reply, broadcast]
    async with session_factory() as session, session.begin():
        for delivery in claimed:
            await outbox_results.mark_sent(session, delivery.id, None, now=T0)
    assert [d.id for d in await claim(session_factory, keys)] == [later_broadcast]


async def test_concurrent_claimers_never_get_the_same_row(session_factory, keys) -> None:
    async with session_factory() as session, session.begin():
        ids = {await add(session, keys, recipient=f"client:{n}") for n in range(24)}

    async def claimer() -> list[int]:
        got: list[int] = []
        while batch := await claim(session_factory, keys, limit=3):
            got.extend(d.id for d in batch)
            await asyncio.sleep(0)
        return got

    results = await asyncio.gather(*(claimer() for _ in range(4)))
    everything = [outbox_id for got in results for outbox_id in got]
    assert sorted(everything) == sorted(ids)  # each row exactly once
    assert len(set(everything)) == len(everything)


async def test_postgres_claimers_skip_locked_rows_without_waiting(
    db_url, session_factory, keys
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: the second claimer waits for the lock instead")
    async with session_factory() as session, session.begin():
        ids = [await add(session, keys, recipient=f"client:{n}") for n in range(6)]
    async with session_factory() as first, first.begin():
        held = await outbox_claim.claim_due(first, keys, now=T0, limit=3)  # locked, not committed
        async with session_factory() as second, second.begin():
            taken = await asyncio.wait_for(outbox_claim.claim_due(second, keys, now=T0, limit=3), 5)
    assert [d.id for d in held] == ids[:3]
    assert [d.id for d in taken] == ids[3:]


async def test_payload_and_chat_id_are_encrypted_at_rest(session_factory, keys) -> None:
    async with session_factory() as session, session.begin():
        await add(session, keys, text=SECRET_TEXT)
    async with session_factory() as session:
        chat_ref, payload = (
            await session.execute(text("SELECT chat_ref, payload FROM outbox"))
        ).one()
    for column in (bytes(chat_ref), bytes(payload)):
        assert SECRET_TEXT.encode() not in column
        assert "передозировка".encode() not in column
        assert b"text" not in column
        assert str(CHAT_ID).encode() not in column
    # The payload is bound to its purpose: it cannot be decrypted as something else.
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        keys.decrypt(bytes(payload), purpose=b"chat-id")


async def test_an_undecryptable_row_is_dead_not_retried(session_factory, keys) -> None:
    other_keys = Keys("another-secret-key-that-is-long-enough-987654321")
    async with session_factory() as session, session.begin():
        broken = await add(session, other_keys, recipient="client:1")
        fine = await add(session, keys, recipient="client:2")
    assert [d.id for d in await claim(session_factory, keys)] == [fine]
    dead = await row(session_factory, broken)
    assert (dead.status, dead.last_error) == ("dead", "undecryptable")


async def test_marks(session_factory, keys) -> None:
    async with session_factory() as session, session.begin():
        retried, postponed, dead, sent = [
            await add(session, keys, recipient=f"client:{n}") for n in range(4)
        ]
    await claim(session_factory, keys)
    async with session_factory() as session, session.begin():
        assert await outbox_results.mark_retry(
            session, retried, delay_seconds=10, error="NetworkError: Bad Gateway", now=T0
        )
        assert await outbox_results.postpone(
            session, postponed, delay_seconds=7, error="RetryAfter", now=T0
        )
        assert await outbox_results.mark_dead(session, dead, "Forbidden")
        assert await outbox_results.mark_sent(session, sent, 9001, now=T0)
    r = await row(session_factory, retried)
    assert (r.status, r.attempts, r.last_error) == ("pending", 1, "NetworkError: Bad Gateway")
    assert utc(r.not_before) == T0 + timedelta(seconds=10)
    p = await row(session_factory, postponed)
    assert (p.status, p.attempts) == ("pending", 0)  # flood control is not a failure
    assert utc(p.not_before) == T0 + timedelta(seconds=7)
    d = await row(session_factory, dead)
    assert (d.status, d.attempts, d.last_error) == ("dead", 1, "Forbidden")
    s = await row(session_factory, sent)
    assert (s.status, s.sent_message_id) == ("sent", 9001)
    assert utc(s.sent_at) == T0
    # Finished rows stay finished.
    async with session_factory() as session, session.begin():
        assert not await outbox_results.mark_retry(
            session, dead, delay_seconds=1, error="x", now=T0
        )
        assert not await outbox_results.mark_sent(session, dead, 1, now=T0)
        assert not await outbox_claim.release(session, [sent], now=T0)
    assert (await row(session_factory, dead)).status == "dead"


async def test_release_makes_claimed_rows_due_again(session_factory, keys) -> None:
    async with session_factory() as session, session.begin():
        ids = [await add(session, keys, recipient=f"client:{n}") for n in range(2)]
    await claim(session_factory, keys)
    async with session_factory() as session, session.begin():
        assert await outbox_claim.release(session, ids, now=T0) == 2
    assert [d.id for d in await claim(session_factory, keys)] == ids


def test_stored_errors_are_short_and_carry_no_ids_or_token() -> None:
    stored = outbox_results.short_error(
        "Bad Request: chat 5550001234 not found via 123456:TEST-token-abcdefghijklmnopqrstuvwxyz\n"
        + "x" * 500
    )
    assert len(stored) <= 200
    assert "5550001234" not in stored
    assert "TEST-token" not in stored
    assert "\n" not in stored


async def test_find_by_sent_message(session_factory, keys) -> None:
    async with session_factory() as session, session.begin():
        conversation_message = await _conversation_message(session)
        copy = await add(session, keys, recipient="staff:3", message_id=conversation_message)
        notice = await add(session, keys, recipient="staff:4")
    await claim(session_factory, keys)
    async with session_factory() as session, session.begin():
        await outbox_results.mark_sent(session, copy, 777, now=T0)
        await outbox_results.mark_sent(session, notice, 778, now=T0)
    async with session_factory() as session:
        assert (
            await outbox_sent.find_by_sent_message(session, "staff:3", 777) == conversation_message
        )
        assert await outbox_sent.find_by_sent_message(session, "staff:4", 777) is None  # other chat
        assert await outbox_sent.find_by_sent_message(session, "staff:4", 778) is None  # no message
        assert await outbox_sent.find_by_sent_message(session, "staff:3", 1) is None


async def test_purge_sent_deletes_only_old_finished_rows(session_factory, keys) -> None:
    old, new = T0 - timedelta(days=40), T0
    async with session_factory() as session, session.begin():
        old_sent, old_dead, old_pending, new_sent = [
            await add(session, keys, recipient=f"client:{n}", not_before=old) for n in range(4)
        ]
        await session.execute(update(Outbox).values(created_at=old))
    await claim(session_factory, keys, now=old)
    async with session_factory() as session, session.begin():
        await outbox_results.mark_sent(session, old_sent, 1, now=old)
        await outbox_results.mark_dead(session, old_dead, "Forbidden")
        await outbox_results.mark_sent(session, new_sent, 2, now=new)  # created long ago, sent now
    async with session_factory() as session, session.begin():
        assert await outbox_upkeep.purge_sent(session, T0 - timedelta(days=30)) == 2
    async with session_factory() as session:
        left = set(await session.scalars(select(Outbox.id)))
    assert left == {old_pending, new_sent}


async def test_delete_for_recipient_and_sent_message_ids(session_factory, keys) -> None:
    async with session_factory() as session, session.begin():
        mine = [await add(session, keys, recipient="client:1", text=f"m{n}") for n in range(3)]
        theirs = await add(session, keys, recipient="client:2")
    for sent_id, delivery_id in enumerate(mine[:2], start=100):
        claimed = await claim(session_factory, keys)
        assert delivery_id in {d.id for d in claimed}
        async with session_factory() as session, session.begin():
            await outbox_results.mark_sent(session, delivery_id, sent_id, now=T0)
    async with session_factory() as session, session.begin():
        since = T0 - timedelta(hours=48)
        assert await outbox_upkeep.sent_message_ids(session, "client:1", since=since) == [100, 101]
        assert (
            await outbox_upkeep.sent_message_ids(session, "client:1", since=T0 + timedelta(1)) == []
        )
        assert (
            await outbox_upkeep.delete_for_recipient(session, "client:1") == 3
        )  # pending included
    async with session_factory() as session:
        assert set(await session.scalars(select(Outbox.id))) == {theirs}


async def _conversation_message(session: AsyncSession) -> int:
    """A Message row for `Outbox.message_id` to point at (a client, a conversation)."""
    from bot.models import Client, Conversation, Message

    client = Client(key="k" * 64, chat_ref=b"x", privacy_seen=True)
    session.add(client)
    await session.flush()
    conversation = Conversation(
        client_id=client.id, topic="ost", language="ru", country="RU", status="active"
    )
    session.add(conversation)
    await session.flush()
    message = Message(conversation_id=conversation.id, author="client", kind="text")
    session.add(message)
    await session.flush()
    return message.id


async def test_a_row_may_be_rewritten_only_until_a_worker_claims_it(session_factory, keys) -> None:
    """Merging a text into a queued one (relay) never races the worker: once claimed, the
    row's lease moves `not_before` ahead and neither `pending_tail` nor `replace_params`
    touch it any more."""
    ref = keys.encrypt_chat_id(CHAT_ID)
    async with session_factory() as session, session.begin():
        first = await outbox.enqueue(
            session, keys, chat_ref=ref, recipient="staff:3", method="sendMessage",
            params={"text": "one"}, not_before=T0,
        )  # fmt: skip
        tail = await outbox.pending_tail(session, keys, "staff:3", now=T0)
        assert tail is not None and (tail.id, tail.params) == (first, {"text": "one"})
        assert await outbox.replace_params(session, keys, first, {"text": "one\ntwo"}, now=T0)
    [delivery] = await claim(session_factory, keys, now=T0)
    assert delivery.params == {"text": "one\ntwo"}
    async with session_factory() as session, session.begin():
        assert await outbox.pending_tail(session, keys, "staff:3", now=T0) is None
        assert not await outbox.replace_params(session, keys, first, {"text": "x"}, now=T0)
