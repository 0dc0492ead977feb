"""When the front door itself fails, the update goes no further (issue 12).

python-telegram-bot runs the next handler group after an exception in one: found by the
10,000-update adversarial run (bench/adversarial_webhook.py), a refusal Telegram would not
deliver (a press answered after its deadline) let the refused button through to its flow.
And Telegram refusing a call is logged as one line, not as a traceback."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from bot.callbacks import Take, encode
from bot.models import Conversation
from bot.services import visitors
from tests.harness import BotHarness, FakeUser
from tests.test_consultation import ask_about_ost
from tests.test_posts import add_member

POSTER = FakeUser(id=5550009301, first_name="Olena", username="olena_posts", language_code="en")
CLIENT = FakeUser(id=5550009302, first_name="Ksenia", username="ksenia_q", language_code="en")


class EveryQueryIsTooOld(set[str]):
    """FakeTelegram's answered presses: Telegram refuses to answer any (too late)."""

    def __contains__(self, item: object) -> bool:
        return True


async def waiting_conversation(harness: BotHarness) -> int:
    await ask_about_ost(harness, CLIENT)
    async with harness.app.bot_data.runtime.transaction() as session:
        conversation = (await session.execute(select(Conversation))).scalar_one()
    assert conversation.staff_id is None
    return conversation.id


async def test_a_refused_press_whose_answer_fails_never_reaches_its_flow(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await add_member(harness, POSTER, role="channel_admin", name="Olena")
    conversation_id = await waiting_conversation(harness)
    screen = await harness.send(POSTER, "/help")
    harness.telegram.answered_queries = EveryQueryIsTooOld()
    with caplog.at_level(logging.INFO):
        await harness.press_data(POSTER, encode(Take(conversation_id)), screen)
    async with harness.app.bot_data.runtime.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None and conversation.staff_id is None
    assert not any("You took" in text for text in harness.telegram.sent_texts())
    assert "door: Telegram refused an answer (BadRequest)" in caplog.text
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_failing_lookup_at_the_door_stops_the_update_with_one_apology(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_member(harness, POSTER, role="peer", name="Olena")
    await waiting_conversation(harness)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(visitors, "resolve", broken)
    before = len(harness.telegram.sent_texts())
    await harness.send(POSTER, "/take")
    said = harness.telegram.sent_texts()[before:]
    assert len(said) == 1 and said[0].startswith("Sorry, something went wrong on our side")
    async with harness.app.bot_data.runtime.transaction() as session:
        conversation = (await session.execute(select(Conversation))).scalar_one()
    assert conversation.staff_id is None


async def test_telegram_refusing_a_call_is_one_line_without_a_traceback(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.send(CLIENT, "/start")
    harness.telegram.refuse[CLIENT.id] = (400, "Bad Request: chat not found")
    with caplog.at_level(logging.INFO):
        await harness.send(CLIENT, "/menu")
    refusals = [r for r in caplog.records if "Telegram refused a call at" in r.getMessage()]
    assert len(refusals) == 1
    assert refusals[0].levelno == logging.WARNING
    assert "(BadRequest: Chat not found)" in refusals[0].getMessage()
    assert "handlers/" in refusals[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]


async def test_the_error_reference_survives_the_log_filter_even_when_all_digits(
    harness: BotHarness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.logs import Redactor

    monkeypatch.setattr("handlers.errors.secrets.token_hex", lambda n: "12345678")
    await harness.send(CLIENT, "/start")
    harness.telegram.refuse[CLIENT.id] = (400, "Bad Request: chat not found")
    with caplog.at_level(logging.INFO):
        await harness.send(CLIENT, "/menu")
    redact = Redactor()
    lines = [r for r in caplog.records if "Telegram refused a call at" in r.getMessage()]
    assert lines and redact.filter(lines[0])
    assert "error e12345678 while handling" in lines[0].getMessage()
