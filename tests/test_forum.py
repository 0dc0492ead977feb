"""Staff forum mode: a topic per conversation in the staff supergroup."""

from __future__ import annotations

import time

import pytest

from bot.app import _post_init, build_application
from tests.conftest import offline_worker
from tests.harness import BotHarness, FakeTelegram, FakeUser
from tests.test_consultation import CONSULTANT, add_consultant, ask_about_ost, name_of

GROUP = -1001234567890


@pytest.fixture
async def forum(settings, engine):  # type: ignore[no-untyped-def]
    from bot import maintenance

    telegram = FakeTelegram()
    app = build_application(
        settings.model_copy(update={"staff_group_id": GROUP, "default_language": "en"}),
        request=telegram,
    )
    await app.initialize()
    await _post_init(app)
    await app.bot_data.delivery.stop()
    app.bot_data.delivery = offline_worker(app)
    await maintenance.stop(app.bot_data.maintenance)
    app.bot_data.maintenance = None
    # Published in the background by _post_init; done before the test (after the periodic
    # jobs are stopped, so their first round does not run meanwhile).
    await app.bot_data.commands
    yield BotHarness(app, telegram)
    await app.shutdown()
    await app.bot_data.runtime.engine.dispose()


async def write_in_topic(harness: BotHarness, user: FakeUser, thread: int, text: str) -> None:
    message = {
        "message_id": 9000 + int(time.time() * 1000) % 1000,
        "date": int(time.time()),
        "chat": {"id": GROUP, "type": "supergroup", "title": "Staff", "is_forum": True},
        "from": user.as_dict(),
        "text": text,
        "message_thread_id": thread,
        "is_topic_message": True,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    await harness.feed({"message": message})


def calls(harness: BotHarness, name: str) -> list[dict]:
    return [p for n, p in harness.telegram.calls if n == name]


async def test_request_opens_a_topic_and_the_topic_answers_the_client(forum: BotHarness) -> None:
    await add_consultant(forum)
    client = FakeUser(
        id=5550050001, first_name="Secretname", username="secret_user", language_code="en"
    )
    await ask_about_ost(forum, client)
    await forum.send(client, "is there OST in Lviv?")
    created = calls(forum, "createForumTopic")
    assert len(created) == 1 and await name_of(forum, client) in created[0]["name"]
    thread = 501
    in_topic = [p for p in forum.telegram.calls if str(p[1].get("chat_id")) == str(GROUP)]
    shown = " ".join(str(p[1]) for p in in_topic)
    assert "is there OST in Lviv?" in shown and "Take it" in shown
    for secret in ("Secretname", "secret_user", str(client.id)):
        assert secret not in " ".join(str(p[1].get("text", "")) for p in in_topic)

    await write_in_topic(forum, CONSULTANT, thread, "Yes: call 0 800 507 727")
    assert "Anna" in " ".join(
        m.text for m in forum.inbox(client.id)
    )  # taken: "Anna ... is now with you"
    copies = [p for p in calls(forum, "copyMessage") if int(p["chat_id"]) == client.id]
    assert copies and int(copies[-1]["from_chat_id"]) == GROUP

    await write_in_topic(forum, CONSULTANT, thread, "/close")
    outcome = forum.telegram.last[GROUP]
    await forum.press_data(CONSULTANT, outcome.data_of("information given"), outcome)
    assert calls(forum, "closeForumTopic")[-1]["message_thread_id"] == thread


async def test_a_colleagues_topic_is_not_answered(forum: BotHarness) -> None:
    await add_consultant(forum)
    other = FakeUser(id=9100000077, language_code="en")
    await add_consultant(forum, other, display_name="Oleh")
    client = FakeUser(id=5550050002, language_code="en")
    await ask_about_ost(forum, client)
    await write_in_topic(forum, CONSULTANT, 501, "I have it")
    before = len(calls(forum, "copyMessage"))
    await write_in_topic(forum, other, 501, "me too")
    assert len(calls(forum, "copyMessage")) == before
    assert "another consultant has this conversation" in forum.telegram.last[GROUP].text


async def test_without_a_staff_group_no_topic_is_made(harness: BotHarness) -> None:
    client = FakeUser(id=5550050003, language_code="en")
    await ask_about_ost(harness, client)
    assert not calls(harness, "createForumTopic")
