"""Closing a conversation (bot/services/closing.py), from every path that ends one: each
consequence happens exactly once, and a second press changes nothing.

Run in forum mode, so the staff group's topic closing is counted too.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.models import Conversation
from bot.services import closing
from tests.harness import BotHarness, FakeUser
from tests.test_consultation import CONSULTANT, add_consultant, ask_about_ost
from tests.test_forum import GROUP, calls, forum  # noqa: F401  (the fixture)

THREAD = 501  # the fake Telegram's first forum topic
RATING = "How helpful"
ENDED = "ended the conversation"


def texts_to(harness: BotHarness, chat_id: int, words: str) -> list[dict[str, Any]]:
    """Every message sent or edited into a chat that contains `words`."""
    return [
        p
        for n, p in harness.telegram.calls
        if n in ("sendMessage", "editMessageText")
        and str(p.get("chat_id")) == str(chat_id)
        and words in str(p.get("text", ""))
    ]


def topic_closes(harness: BotHarness) -> int:
    return len([p for p in calls(harness, "closeForumTopic") if p["message_thread_id"] == THREAD])


async def conversation_row(harness: BotHarness) -> Conversation:
    runtime = harness.app.bot_data.runtime
    async with runtime.transaction() as session:
        row = await session.scalar(select(Conversation))
    assert row is not None
    return row


async def taken(harness: BotHarness, client: FakeUser) -> None:
    """A client asks; Anna, on duty, takes it in her private chat."""
    await add_consultant(harness)
    await harness.send(CONSULTANT, "/duty on")
    await ask_about_ost(harness, client)
    took = await harness.send(CONSULTANT, "/take")
    assert "You took" in took.text


async def test_consultant_close_with_referral_does_each_thing_once(forum: BotHarness) -> None:  # noqa: F811
    client = FakeUser(id=5550070001, language_code="en")
    await taken(forum, client)
    outcome = await forum.send(CONSULTANT, "/close")
    closed = await forum.press(CONSULTANT, "referred to a service", outcome)
    assert "Closed" in closed.text
    again = await forum.press(CONSULTANT, "referred to a service", outcome)  # a double tap
    assert "not open" in again.text

    assert topic_closes(forum) == 1
    assert len(texts_to(forum, client.id, RATING)) == 1
    assert texts_to(forum, CONSULTANT.id, ENDED) == []
    row = await conversation_row(forum)
    assert (row.status, row.outcome) == ("closed", "referred")
    assert row.follow_up_at is not None  # the follow-up question is planned


async def test_client_ending_a_conversation_does_each_thing_once(forum: BotHarness) -> None:  # noqa: F811
    client = FakeUser(id=5550070002, language_code="en")
    await taken(forum, client)
    status = forum.screen(client)
    conversation_id = (await conversation_row(forum)).id
    ended = await forum.press_data(client, f"1end:{conversation_id}", status)
    assert RATING in ended.text  # on the client's own screen
    await forum.press_data(client, f"1end:{conversation_id}", status)  # pressed again

    assert topic_closes(forum) == 1
    assert len(texts_to(forum, CONSULTANT.id, ENDED)) == 1
    assert len(texts_to(forum, client.id, RATING)) == 1
    row = await conversation_row(forum)
    assert (row.status, row.outcome, row.follow_up_at) == ("closed", None, None)


async def test_client_cancelling_a_waiting_request_tells_nobody(forum: BotHarness) -> None:  # noqa: F811
    client = FakeUser(id=5550070003, language_code="en")
    await add_consultant(forum)
    queued = await ask_about_ost(forum, client)
    conversation_id = (await conversation_row(forum)).id
    cancelled = await forum.press_data(client, f"1end:{conversation_id}", queued)
    assert "cancelled" in cancelled.text

    assert topic_closes(forum) == 1
    assert texts_to(forum, CONSULTANT.id, ENDED) == []
    assert texts_to(forum, client.id, RATING) == []
    assert (await conversation_row(forum)).status == "closed"


async def test_a_block_closes_without_asking_for_a_rating(forum: BotHarness) -> None:  # noqa: F811
    client = FakeUser(id=5550070004, language_code="en")
    await taken(forum, client)
    done = await forum.send(CONSULTANT, "/block threats")
    assert "blocked" in done.text

    assert topic_closes(forum) == 1
    assert texts_to(forum, client.id, RATING) == []
    row = await conversation_row(forum)
    assert (row.status, row.outcome) == ("closed", "other")


async def test_forgetting_tells_the_consultant_once(forum: BotHarness) -> None:  # noqa: F811
    client = FakeUser(id=5550070005, language_code="en")
    await taken(forum, client)
    confirm = await forum.send(client, "/forget")
    await forum.press(client, "Yes, delete everything", confirm)

    assert topic_closes(forum) == 1
    assert len(texts_to(forum, CONSULTANT.id, "deleted all their data")) == 1
    assert texts_to(forum, CONSULTANT.id, ENDED) == []


async def test_after_a_take_over_the_supervisor_closes_it(forum: BotHarness) -> None:  # noqa: F811
    client = FakeUser(id=5550070006, language_code="en")
    await taken(forum, client)
    sofia = FakeUser(id=9100000066, first_name="Sofia", language_code="en")
    sofia_id = await add_consultant(forum, sofia, display_name="Sofia", role="supervisor")
    conversation_id = (await conversation_row(forum)).id
    await forum.press_data(sofia, f"1join:{conversation_id}:take", await forum.send(sofia, "/desk"))
    assert len(texts_to(forum, client.id, "Sofia")) == 1  # "Sofia ... continues"
    assert len(texts_to(forum, CONSULTANT.id, "has taken over")) == 1

    outcome = await forum.send(sofia, "/close")
    await forum.press(sofia, "information given", outcome)
    assert topic_closes(forum) == 1
    assert len(texts_to(forum, client.id, RATING)) == 1
    row = await conversation_row(forum)
    assert (row.status, row.staff_id, row.outcome) == ("closed", sofia_id, "information")


async def test_close_needs_exactly_one_closer(forum: BotHarness) -> None:  # noqa: F811
    runtime = forum.app.bot_data.runtime
    async with runtime.transaction() as session:
        with pytest.raises(ValueError):
            await closing.close_conversation(session, runtime, 1)
        with pytest.raises(ValueError):
            await closing.close_conversation(session, runtime, 1, staff_id=1, client_id=1)
        # An outcome outside the list closes nothing.
        assert await closing.close_conversation(session, runtime, 1, staff_id=1) is None


async def test_notices_resolve_chat_language_and_buttons(forum: BotHarness) -> None:  # noqa: F811
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    from bot.services import notify

    await add_consultant(forum)
    runtime = forum.app.bot_data.runtime
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="1menu:main")]])
    assert notify.rows_of(keyboard) == [[{"text": "Go", "callback_data": "1menu:main"}]]
    async with runtime.transaction() as session:
        member_id = (await notify.staff_service.list_staff(session))[0].id
        assert await notify.staff(
            session, runtime, member_id, lambda _: _.language, buttons=keyboard
        )
        assert not await notify.staff(session, runtime, 999_999, "nobody")
    await forum.deliver()
    sent = texts_to(forum, CONSULTANT.id, "en")[-1]
    assert sent["text"] == "en" and "1menu:main" in str(sent["reply_markup"])
