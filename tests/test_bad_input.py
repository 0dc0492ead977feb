"""Odd input gets a short, polite answer in the client's language, never a crash."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.harness import BotHarness, FakeTelegram, FakeUser, Sent
from tests.test_client_journey import at_city_prompt, onboard


@pytest.fixture
async def english_client(harness: BotHarness) -> FakeUser:
    user = FakeUser(language_code="en")
    await onboard(harness, user, "en")
    return user


async def test_unknown_command_lists_the_real_ones(harness: BotHarness, english_client) -> None:
    screen = await harness.send(english_client, "/frobnicate")
    assert "I do not know this command" in screen.text
    assert "/overdose" in screen.text


async def test_unexpected_text_shows_the_menu(harness: BotHarness, english_client) -> None:
    screen = await harness.send(english_client, "hello?")
    assert "buttons and commands" in screen.text
    assert screen.buttons[0][0]["callback_data"] == "1menu:overdose"


async def test_huge_message_is_answered(harness: BotHarness, english_client) -> None:
    screen = await harness.send(english_client, "x" * 4096)
    assert "buttons and commands" in screen.text


async def test_huge_city_name_is_answered_not_matched(harness: BotHarness) -> None:
    user = await at_city_prompt(harness)
    screen = await harness.send(user, "Київ" * 1000)
    assert "do not know this city" in screen.text


@pytest.mark.parametrize(
    "content",
    [
        {
            "sticker": {
                "file_id": "s1",
                "file_unique_id": "u1",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            }
        },
        {"photo": [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}]},
        {"document": {"file_id": "d1", "file_unique_id": "u3", "file_name": "a.pdf"}},
        {"voice": {"file_id": "v1", "file_unique_id": "u4", "duration": 3}},
    ],
    ids=["sticker", "photo", "document", "voice"],
)
async def test_media_where_text_is_expected_is_answered(
    harness: BotHarness, english_client, content
) -> None:
    screen = await harness.send_other(english_client, **content)
    assert "only read text and buttons" in screen.text


@pytest.mark.parametrize(
    "data",
    ["garbage", "1menu:no_such_node", "1svc:ost_services:x", "0menu:main", "1lang:de", "1" * 64],
)
async def test_stale_or_forged_button_gets_a_polite_answer(
    harness: BotHarness, english_client, data
) -> None:
    before = len(harness.telegram.calls)
    screen = await harness.press_data(english_client, data)
    answers = [p for name, p in harness.telegram.calls[before:] if name == "answerCallbackQuery"]
    assert answers, "the button press must be answered so the client's spinner stops"
    assert screen.buttons  # back on a screen with a way forward


async def test_forged_button_is_answered_as_out_of_date(harness: BotHarness, english_client):
    before = len(harness.telegram.calls)
    await harness.press_data(english_client, "garbage")
    answers = [p for name, p in harness.telegram.calls[before:] if name == "answerCallbackQuery"]
    assert answers[0].get("text") == "This button is out of date."


async def test_menu_button_before_onboarding_leads_to_onboarding(harness: BotHarness) -> None:
    user = FakeUser(language_code="en")
    await harness.send(user, "/start")
    screen = await harness.press_data(user, "1menu:ost")
    assert "English" in screen.labels  # still choosing a language


async def test_error_is_answered_in_the_clients_language(
    harness: BotHarness, english_client, monkeypatch, caplog
) -> None:
    from bot.services import content as content_module

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(content_module.Content, "screen", broken)
    screen = await harness.send(english_client, "/menu")
    assert "something went wrong" in screen.text
    assert str(english_client.id) not in caplog.text
    assert english_client.first_name not in caplog.text


async def test_group_messages_are_ignored(harness: BotHarness) -> None:
    user = FakeUser(language_code="en")
    update = {
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": -100123, "type": "supergroup", "title": "Staff"},
            "from": user.as_dict(),
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        }
    }
    await harness.feed(update)
    assert not any(name == "sendMessage" for name, _ in harness.telegram.calls)


# --- Issue 12: every press answered exactly once, with or without a message -----------------


def answers_since(harness: BotHarness, before: int) -> list[dict]:
    return [p for name, p in harness.telegram.calls[before:] if name == "answerCallbackQuery"]


async def press_raw(harness: BotHarness, user: FakeUser | None, data: str, **where: object) -> str:
    """A press with the message fields given (`message`, `inline_message_id`, or neither)."""
    query: dict = {"id": f"raw-{data}-{len(harness.telegram.calls)}", "chat_instance": "ci"}
    query.update(data=data, **where)
    if user is not None:
        query["from"] = user.as_dict()
    await harness.feed({"callback_query": query})
    return query["id"]


async def test_stale_button_is_answered_once_and_shows_where_the_client_is(
    harness: BotHarness, english_client
) -> None:
    """Before: the stale-button handler answered, then the next screen answered again
    (Telegram refuses the second answer: a traceback and "something went wrong")."""
    before = len(harness.telegram.calls)
    screen = await harness.press_data(english_client, "0menu:main")  # an older version
    answers = answers_since(harness, before)
    assert [a.get("text") for a in answers] == ["This button is out of date."]
    assert "something went wrong" not in screen.text
    assert screen.buttons  # the main menu, a way forward


async def test_a_press_on_a_message_the_bot_cannot_see_opens_the_screen_anew(
    harness: BotHarness, english_client
) -> None:
    """Telegram sends an "inaccessible message" (date 0) for a deleted or too old one: the
    screen cannot be edited, so it comes as a new message in the client's private chat."""
    before = len(harness.telegram.calls)
    gone = {"chat": english_client.chat(), "message_id": 3, "date": 0}
    await press_raw(harness, english_client, "1menu:main", message=gone)
    assert len(answers_since(harness, before)) == 1
    sent = [p for name, p in harness.telegram.calls[before:] if name == "sendMessage"]
    assert [int(p["chat_id"]) for p in sent] == [english_client.id]
    assert "something went wrong" not in sent[0]["text"]
    assert not any(name == "editMessageText" for name, _ in harness.telegram.calls[before:])


async def test_a_press_without_any_message_is_answered_and_nothing_else(
    harness: BotHarness, english_client
) -> None:
    """Buttons of an inline message (the bot has no inline mode: forged) carry no chat."""
    for data in ("1menu:main", "garbage", "1lang:en"):
        before = len(harness.telegram.calls)
        await press_raw(harness, english_client, data, inline_message_id="inline-1")
        answers = answers_since(harness, before)
        assert [a.get("text") for a in answers] == ["This button is out of date."], data
        assert not any(n.startswith("send") for n, _ in harness.telegram.calls[before:]), data


async def test_a_staff_button_on_a_message_the_bot_cannot_see_is_out_of_date(
    harness: BotHarness,
) -> None:
    from tests.test_consultation import CONSULTANT, add_consultant

    await add_consultant(harness)
    before = len(harness.telegram.calls)
    gone = {"chat": CONSULTANT.chat(), "message_id": 3, "date": 0}
    for data in ("1cur:1", "1close:1:info", "1tpc:ost"):
        await press_raw(harness, CONSULTANT, data, message=gone)
    answers = answers_since(harness, before)
    assert [a.get("text") for a in answers] == ["This button is out of date."] * 3
    assert not any(name == "sendMessage" for name, _ in harness.telegram.calls[before:])


async def test_updates_without_a_sender_are_dropped_quietly(harness: BotHarness) -> None:
    """Telegram always names who pressed or wrote in a private chat; a forged update without
    one crashed every flow that looked the sender up."""
    user = FakeUser(language_code="en")
    before = len(harness.telegram.calls)
    await press_raw(
        harness, None, "1menu:main", message=FakeTelegram._message(Sent(user.id, 1, "x"))
    )
    message = {"message_id": 1, "date": 0, "chat": user.chat(), "text": "/start"}
    message["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
    await harness.feed({"message": message})
    calls = harness.telegram.calls[before:]
    assert [name for name, _ in calls] == ["answerCallbackQuery"]


async def test_a_lone_surrogate_in_a_clients_words_is_relayed_not_lost(
    harness: BotHarness, session_factory
) -> None:
    """JSON may carry "\\ud800", which UTF-8 cannot encode: the relay's encrypt step failed and
    the client's message was lost behind "something went wrong"."""
    from bot.models import Message
    from bot.services.relay import MESSAGE_PURPOSE
    from tests.test_consultation import ask_about_ost

    client = FakeUser(id=5550008888, language_code="en")
    await ask_about_ost(harness, client)
    screen = await harness.send(client, "help \ud800 me")
    assert "something went wrong" not in screen.text
    keys = harness.app.bot_data.runtime.keys
    async with session_factory() as session:
        bodies = list(await session.scalars(select(Message.body).where(Message.body.is_not(None))))
    texts = [keys.decrypt(body, purpose=MESSAGE_PURPOSE).decode() for body in bodies]
    assert "help \ufffd me" in texts


async def test_digits_of_other_scripts_in_button_data_are_not_ids(
    harness: BotHarness, english_client
) -> None:
    """`\\d` matched "၂" (Myanmar two), which int() reads as 2: forged data parsed as an id."""
    from bot.callbacks import parse

    assert parse("1svy:၂:multi") is None
    assert parse("1take:٣") is None
    before = len(harness.telegram.calls)
    await harness.press_data(english_client, "1rate:၂:5")
    assert [a.get("text") for a in answers_since(harness, before)] == [
        "This button is out of date."
    ]
