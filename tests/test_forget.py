"""/forget: every row about the client goes, and so do the last 48 hours of their chat."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from bot.models import ChatTrace, Client, Conversation, Message, Outbox
from bot.services import outbox, outbox_results
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard
from tests.test_consultation import CONSULTANT, add_consultant, ask_about_ost

YES = "Yes, delete everything"
DELETED = "Everything we stored about you has been deleted"


def deleted_in(harness: BotHarness, chat_id: int) -> list[list[int]]:
    """The id lists of every deleteMessages call to a chat, in call order."""
    batches = []
    for name, params in harness.telegram.calls:
        if name == "deleteMessages":
            assert int(params["chat_id"]) == chat_id, "deleted in somebody else's chat"
            ids = params["message_ids"]
            batches.append(json.loads(ids) if isinstance(ids, str) else list(ids))
    return batches


async def count(session, model: Any, *where: Any) -> int:  # type: ignore[no-untyped-def]
    return await session.scalar(select(func.count()).select_from(model).where(*where))


async def test_forget_deletes_rows_and_the_recent_chat_and_ends_the_conversation(
    harness: BotHarness, session_factory
) -> None:
    await add_consultant(harness)
    await harness.send(CONSULTANT, "/duty on")
    client = FakeUser(id=5550008001, language_code="en")
    await ask_about_ost(harness, client)
    notice = harness.screen(CONSULTANT)
    await harness.send(client, "first question")
    await harness.press(CONSULTANT, "Take it", notice)
    await harness.send(CONSULTANT, "an answer")
    await harness.send(client, "a second question")
    await harness.send(CONSULTANT, "another answer")

    async with session_factory() as session:
        client_id = await session.scalar(select(Client.id))
        recipient = f"client:{client_id}"
        bot_messages = set(
            await session.scalars(
                select(Outbox.sent_message_id).where(
                    Outbox.recipient == recipient, Outbox.sent_message_id.is_not(None)
                )
            )
        )
        own_messages = set(
            await session.scalars(
                select(Message.source_message_id).where(Message.author == "client")
            )
        )
    assert len(bot_messages) >= 3 and len(own_messages) == 2
    # One of the bot's messages is older than Telegram's 48 hours: it cannot be deleted.
    too_old = min(bot_messages)
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Outbox)
            .where(Outbox.recipient == recipient, Outbox.sent_message_id == too_old)
            .values(sent_at=datetime.now(UTC) - timedelta(hours=49))
        )
        await session.execute(
            update(ChatTrace)
            .where(ChatTrace.message_id == too_old)
            .values(at=datetime.now(UTC) - timedelta(hours=49))
        )

    confirm = await harness.send(client, "/forget")
    calls_before = len(harness.telegram.calls)
    done = await harness.press(client, YES, confirm)

    batches = deleted_in(harness, client.id)
    deleted = {i for batch in batches for i in batch}
    assert (bot_messages - {too_old}) | own_messages | {confirm.message_id} <= deleted
    assert too_old not in deleted
    # Every screen and reply of the last 48 hours went too, not only relays (issue 9).
    left = {m for (chat, m) in harness.telegram.messages if chat == client.id}
    assert left == {too_old, done.message_id}
    assert DELETED in done.text and done.message_id != confirm.message_id
    names = [name for name, _ in harness.telegram.calls[calls_before:]]
    assert names.index("sendMessage") > names.index("deleteMessages")  # the final one stays

    async with session_factory() as session:
        assert await count(session, Client) == 0
        assert await count(session, Conversation) == 0
        assert await count(session, Message) == 0
        assert await count(session, Outbox, Outbox.recipient == recipient) == 0
        assert await count(session, Outbox, Outbox.message_id.is_not(None)) == 0

    calls_before = len(harness.telegram.calls)
    reply = await harness.send(CONSULTANT, "are you still there?")
    assert "no open conversation" in reply.text
    reached = [p for _, p in harness.telegram.calls[calls_before:] if p.get("chat_id")]
    assert all(int(p["chat_id"]) != client.id for p in reached)


async def test_forget_deletes_in_batches_of_at_most_100(
    harness: BotHarness, session_factory
) -> None:
    client = FakeUser(id=5550008002, language_code="en")
    await onboard(harness, client, "en")
    runtime = harness.app.bot_data.runtime
    async with runtime.transaction() as session:
        row = (await session.execute(select(Client.id, Client.chat_ref))).one()
        for number in range(150):
            row_id = await outbox.enqueue(
                session,
                runtime.keys,
                chat_ref=row.chat_ref,
                recipient=f"client:{row.id}",
                method="sendMessage",
                params={"text": "a notice"},
            )
            await outbox_results.mark_sent(session, row_id, 50_000 + number)
    confirm = await harness.send(client, "/forget")
    done = await harness.press(client, YES, confirm)
    batches = deleted_in(harness, client.id)
    # The 150 notices, the confirmation, and the onboarding screens and commands before them.
    deleted = [i for batch in batches for i in batch]
    assert [len(batch) for batch in batches[:-1]] == [100] * (len(batches) - 1)
    assert len(deleted) == len(set(deleted)) and {*range(50_000, 50_150), confirm.message_id} <= {
        *deleted
    }
    assert DELETED in done.text


async def test_messages_already_gone_do_not_stop_the_forget(
    harness: BotHarness, session_factory, monkeypatch
) -> None:
    client = FakeUser(id=5550008003, language_code="en")
    await onboard(harness, client, "en")
    telegram = harness.telegram
    answer = telegram.do_request

    async def refuse_deletes(url: str, method: str, request_data=None, **kwargs):  # type: ignore[no-untyped-def]
        if url.endswith("/deleteMessages"):
            telegram.calls.append(("deleteMessages", request_data.parameters))
            error = {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: message to delete not found",
            }
            return 400, json.dumps(error).encode()
        return await answer(url, method, request_data, **kwargs)

    monkeypatch.setattr(telegram, "do_request", refuse_deletes)
    confirm = await harness.send(client, "/forget")
    done = await harness.press(client, YES, confirm)
    (batch,) = deleted_in(harness, client.id)  # refused, and nothing else stopped
    assert confirm.message_id in batch
    assert DELETED in done.text
    async with session_factory() as session:
        assert await count(session, Client) == 0
