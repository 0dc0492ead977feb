"""Many short messages from a client in distress: every one is recorded and reaches the
consultant, merged under one header while the consultant's chat is paced (issue 12)."""

from __future__ import annotations

import pytest
from telegram import Update

from bot.models import Message
from tests.harness import BotHarness, FakeUser, shown
from tests.test_consultation import CONSULTANT, add_consultant, ask_about_ost
from tests.test_moderation import count

CLIENT = FakeUser(id=5550002525, first_name="Vera", language_code="en")


@pytest.fixture
async def talking(harness: BotHarness) -> FakeUser:
    """CLIENT in an active conversation with CONSULTANT."""
    await add_consultant(harness)
    await harness.send(CONSULTANT, "/duty on")
    await ask_about_ost(harness, CLIENT)
    await harness.press(CONSULTANT, "Take it", harness.screen(CONSULTANT))
    return CLIENT


async def arrive(harness: BotHarness, user: FakeUser, text: str) -> int:
    """A message reaches the bot while the outbox worker is busy (nothing is delivered yet);
    returns its message id in the user's chat."""
    message = harness._message(user, text=text)
    update = {"message": message, "update_id": next(harness._update_ids)}
    await harness.app.process_update(Update.de_json(update, harness.app.bot))
    return int(message["message_id"])


def consultant_reads(harness: BotHarness) -> list[str]:
    return [
        shown({"text": m.text, "parse_mode": "HTML"}, "text") for m in harness.inbox(CONSULTANT.id)
    ]


async def test_a_25_message_backlog_reaches_the_consultant_whole_in_order_under_one_header(
    harness: BotHarness, talking: FakeUser, session_factory
) -> None:
    before = len(harness.inbox(CONSULTANT.id))
    recorded = await count(session_factory, Message)
    for n in range(25):  # more than the flood limit (20 a minute) in a few seconds
        await arrive(harness, talking, f"I am scared {n}")
    await harness.deliver()
    assert await count(session_factory, Message) == recorded + 25
    new = consultant_reads(harness)[before:]
    assert len(new) == 1  # merged: one message, not 25 paced a second apart
    header, *lines = new[0].split("\n")
    assert header.startswith("👤 ") and lines == [f"I am scared {n}" for n in range(25)]


async def test_merging_keeps_every_message_within_telegrams_limit(
    harness: BotHarness, talking: FakeUser
) -> None:
    before = len(harness.inbox(CONSULTANT.id))
    parts = [str(n) * 2000 for n in range(1, 5)]
    for part in parts:
        await arrive(harness, talking, part)
    await harness.deliver()  # the fake refuses anything over 4,096 characters
    new = consultant_reads(harness)[before:]
    assert len(new) == 2 and all(len(text) <= 4096 for text in new)
    assert [line for text in new for line in text.split("\n")[1:]] == parts


async def test_an_edit_of_a_merged_message_reaches_the_consultant(
    harness: BotHarness, talking: FakeUser
) -> None:
    await arrive(harness, talking, "first")
    second = await arrive(harness, talking, "secnd")
    await harness.deliver()
    await harness.edit(talking, second, "second")
    last = consultant_reads(harness)[-1]
    assert "✏️" in last and last.endswith("\nsecond")
    assert "first\nsecnd" in "\n".join(consultant_reads(harness))  # the merged one untouched


async def test_a_consultant_is_not_merged_into_a_client_thread_and_vice_versa(
    harness: BotHarness, talking: FakeUser
) -> None:
    """Merging is per recipient and conversation side: the client's texts to the consultant
    merge; the consultant's answers to the client are copies, one each, in order."""
    await arrive(harness, CONSULTANT, "answer one")
    await arrive(harness, CONSULTANT, "answer two")
    await harness.deliver()
    copies = [m.text for m in harness.inbox(talking.id) if m.text.startswith("[copy of")]
    assert len(copies) == 2
