"""Quick hide (issue 9): "🧹 Clear this chat" and /hide leave nothing of the last 48 hours in
the client's chat, the bot's messages on every path and the client's own, while the account
and an open conversation stay. Offline: the fake Telegram deletes what it is asked to."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.models import ChatTrace, Client, Conversation
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard
from tests.test_consultation import CONSULTANT, add_consultant, ask_about_ost

CLIENT = FakeUser(id=5550006001, first_name="Ksenia", username="ksenia_h", language_code="en")


def chat_contents(harness: BotHarness, chat_id: int) -> list[object]:
    telegram = harness.telegram
    return [key for key in (*telegram.messages, *telegram.user_messages) if key[0] == chat_id]


async def a_busy_chat(harness: BotHarness) -> None:
    """Screens, a relayed conversation, outbox notices, the client's own messages."""
    await add_consultant(harness)
    await harness.send(CONSULTANT, "/duty on")
    await ask_about_ost(harness, CLIENT)
    await harness.send(CLIENT, "I need methadone")  # "Added to your request"
    await harness.send(CONSULTANT, "/take")  # "Anna is now with you" (outbox)
    await harness.send(CONSULTANT, "Hello, I am here")  # a copy (outbox)
    await harness.send(CLIENT, "thank you")  # relayed
    await harness.send(CLIENT, "/help")
    assert len(chat_contents(harness, CLIENT.id)) >= 10


async def test_hide_leaves_nothing_and_keeps_the_conversation(harness: BotHarness) -> None:
    await a_busy_chat(harness)
    await harness.send(CLIENT, "/hide")
    assert chat_contents(harness, CLIENT.id) == []
    async with harness.app.bot_data.runtime.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Client)) == 1
        assert await session.scalar(select(Conversation.status)) == "active"
        key = harness.app.bot_data.runtime.keys.client_key(CLIENT.id)
        left = select(func.count()).select_from(ChatTrace).where(ChatTrace.key == key)
        assert await session.scalar(left) == 0
    # The conversation goes on.
    await harness.send(CONSULTANT, "Are you still there?")
    assert chat_contents(harness, CLIENT.id) != []


async def test_the_clear_button_on_the_main_menu_does_the_same(harness: BotHarness) -> None:
    await onboard(harness, CLIENT, "en", "UA")
    menu = await harness.send(CLIENT, "/menu")
    await harness.press_data(CLIENT, "1menu:hiv", menu)
    menu = await harness.send(CLIENT, "/menu")
    await harness.press(CLIENT, "🧹 Clear this chat", menu)
    assert chat_contents(harness, CLIENT.id) == []


async def test_forget_deletes_the_screens_too(harness: BotHarness) -> None:
    await a_busy_chat(harness)
    confirm = await harness.send(CLIENT, "/forget")
    await harness.press(CLIENT, "Yes, delete everything", confirm)
    left = [
        harness.telegram.messages[key].text
        for key in chat_contents(harness, CLIENT.id)
        if key in harness.telegram.messages
    ]
    assert left == ["Everything we stored about you has been deleted. Send /start to begin again."]
    assert not [
        key for key in chat_contents(harness, CLIENT.id) if key in harness.telegram.user_messages
    ]
