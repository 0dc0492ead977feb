"""Texts of several clients queued for one consultant go out in one message, each under its
writer's header (issue 12: a consultant with ten clients must not fall minutes behind), and
that never costs the rule that every word reaches exactly the person it was meant for."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from telegram import Update

from bot.models import Outbox
from bot.services import outbox_sent
from tests.harness import BotHarness, FakeTelegram, FakeUser, Sent, shown
from tests.test_consultant_tools import ANNA, ask_a_human, team  # noqa: F401 (fixture)
from tests.test_consultation import name_of
from tests.test_explicit_target import copies_in
from tests.test_forget import YES
from tests.test_relay_backlog import arrive

ONE = FakeUser(id=5580000001, first_name="One", language_code="en")
TWO = FakeUser(id=5580000002, first_name="Two", language_code="en")


@pytest.fixture
async def two_clients(team: BotHarness) -> BotHarness:  # noqa: F811
    """Anna holds ONE's and TWO's conversations."""
    for client in (ONE, TWO):
        await ask_a_human(team, client)
        await team.send(ANNA, "/take")
    return team


async def undelivered(harness: BotHarness, update: dict[str, Any]) -> None:
    """An update handled while the outbox worker is busy: nothing is delivered meanwhile."""
    update["update_id"] = next(harness._update_ids)
    await harness.app.process_update(Update.de_json(update, harness.app.bot))


def anna_reads(harness: BotHarness) -> list[Sent]:
    return [m for m in harness.inbox(ANNA.id) if m.text.startswith("👤 ")]


async def both_write(harness: BotHarness, one: str, two: str) -> Sent:
    """ONE, then TWO write while Anna's chat is paced; the message that shows both."""
    await arrive(harness, ONE, one)
    await arrive(harness, TWO, two)
    await harness.deliver()
    return anna_reads(harness)[-1]


def as_read(message: Sent) -> str:
    return shown({"text": message.text, "parse_mode": "HTML"}, "text")


async def test_queued_texts_of_two_clients_go_out_together_each_under_its_header(
    two_clients: BotHarness, session_factory
) -> None:
    harness = two_clients
    before = len(anna_reads(harness))
    await arrive(harness, ONE, "one: first")
    await arrive(harness, TWO, "two: hello")
    await arrive(harness, ONE, "one: second")
    await arrive(harness, ONE, "one: third")
    await harness.deliver()
    new = anna_reads(harness)[before:]
    one, two = await name_of(harness, ONE), await name_of(harness, TWO)
    assert [as_read(m) for m in new] == [
        f"👤 {one}\none: first\n\n👤 {two}\ntwo: hello\n\n👤 {one}\none: second\none: third"
    ]
    async with session_factory() as session:
        rows = (
            await session.execute(
                select(Outbox.status, Outbox.sent_message_id).where(
                    Outbox.recipient.like("staff:%"), Outbox.section.is_not(None)
                )
            )
        ).all()
        # Each client's words stay in rows of their own, all recorded sent as that message.
        assert rows[-3:] == [("sent", new[0].message_id)] * 3
        staff_recipient = await session.scalar(
            select(Outbox.recipient).where(Outbox.sent_message_id == new[0].message_id)
        )
        assert staff_recipient is not None
        shown = await outbox_sent.sent_conversations(session, staff_recipient, new[0].message_id)
    assert len(shown) == 2


async def test_a_reply_to_a_message_of_two_clients_is_asked_about_never_guessed(
    two_clients: BotHarness,
) -> None:
    harness = two_clients
    together = await both_write(harness, "one: are you there", "two: help")
    asked = await harness.send_other(
        ANNA, text="I am here", reply_to_message=FakeTelegram._message(together)
    )
    held = harness.last_user_message_id()
    assert asked.text.startswith("The message you replied to shows the words of several clients.")
    assert "Not sent yet" in asked.text and len(asked.labels) == 2
    assert not copies_in(harness, ONE) and not copies_in(harness, TWO)
    name = await name_of(harness, TWO)
    await harness.press(ANNA, next(label for label in asked.labels if name in label), asked)
    assert copies_in(harness, TWO) == {f"[copy of {ANNA.id}/{held}]"}
    assert not copies_in(harness, ONE)
    # A command in reply to it asks too.
    which = await harness.send_other(
        ANNA, text="/close", reply_to_message=FakeTelegram._message(together),
        entities=[{"type": "bot_command", "offset": 0, "length": 6}],
    )  # fmt: skip
    assert "several clients" in which.text and len(which.labels) == 2


async def test_a_reply_to_a_message_of_one_client_still_goes_straight_to_them(
    two_clients: BotHarness,
) -> None:
    harness = two_clients
    await arrive(harness, ONE, "one: only me")
    await harness.deliver()
    mine = anna_reads(harness)[-1]
    await harness.send_other(ANNA, text="Hello one", reply_to_message=FakeTelegram._message(mine))
    assert copies_in(harness, ONE) == {f"[copy of {ANNA.id}/{harness.last_user_message_id()}]"}


async def test_forgetting_one_client_before_the_send_keeps_the_others_words(
    two_clients: BotHarness,
) -> None:
    harness = two_clients
    await arrive(harness, ONE, "one: secret")
    await arrive(harness, TWO, "two: still here")
    await arrive(harness, ONE, "one: more")
    # /forget and its confirmation while the texts still wait (nothing delivered meanwhile).
    command = {"text": "/forget", "entities": [{"type": "bot_command", "offset": 0, "length": 7}]}
    await undelivered(harness, {"message": harness._message(ONE, **command)})
    confirm = harness.screen(ONE)
    query = {
        "id": "forget-1",
        "from": ONE.as_dict(),
        "chat_instance": "ci-1",
        "data": confirm.data_of(YES),
        "message": FakeTelegram._message(confirm),
    }
    await undelivered(harness, {"callback_query": query})
    await harness.deliver()
    texts = "\n".join(m.text for m in harness.inbox(ANNA.id))
    assert "two: still here" in texts
    assert "one: secret" not in texts and "one: more" not in texts


async def test_an_edit_of_a_text_sent_together_is_sent_anew_not_replacing_the_others(
    two_clients: BotHarness,
) -> None:
    harness = two_clients
    first = await arrive(harness, ONE, "one: speling")
    await arrive(harness, TWO, "two: words")
    await harness.deliver()
    together = anna_reads(harness)[-1]
    await harness.edit(ONE, first, "one: spelling")
    assert "two: words" in harness.telegram.messages[(ANNA.id, together.message_id)].text
    last = harness.inbox(ANNA.id)[-1].text
    assert last.endswith("\none: spelling")


def utf16_position(text: str, part: str) -> int:
    """Where `part` begins in `text`, in UTF-16 code units (as Telegram counts)."""
    return len(text[: text.index(part)].encode("utf-16-le")) // 2


async def quote_reply(harness: BotHarness, together: Sent, quoted: str, words: str) -> Sent:
    """Anna replies to part of a message, quoting it (Telegram's "reply with quote")."""
    plain = as_read(together)
    replied = {**FakeTelegram._message(together), "text": plain}
    quote = {"text": quoted, "position": utf16_position(plain, quoted)}
    return await harness.send_other(ANNA, text=words, reply_to_message=replied, quote=quote)


async def test_a_reply_quoting_one_clients_words_goes_to_that_client(
    two_clients: BotHarness,
) -> None:
    harness = two_clients
    together = await both_write(harness, "one: can't breathe well", "two: okay now")
    await quote_reply(harness, together, "okay now", "Glad you are okay")
    assert copies_in(harness, TWO) == {f"[copy of {ANNA.id}/{harness.last_user_message_id()}]"}
    assert not copies_in(harness, ONE)


async def test_a_quote_that_is_not_within_one_clients_words_is_asked_about(
    two_clients: BotHarness,
) -> None:
    harness = two_clients
    together = await both_write(harness, "one: first words", "two: other words")
    two = await name_of(harness, TWO)
    for quoted in ("words\n\n👤 " + two, two):  # over a header; inside a header
        asked = await quote_reply(harness, together, quoted, "Which of you?")
        assert "several clients" in asked.text
    assert not copies_in(harness, ONE) and not copies_in(harness, TWO)
