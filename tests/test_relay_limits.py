"""No lost words: a message that fills Telegram's limits reaches the other side whole, and
one that still cannot be delivered is reported to its sender (issue 10).

The fake Telegram refuses what the real one refuses for its length (tests/harness.py
`check_limits`): a text over 4,096 or a caption over 1,024 characters after entities are
parsed, so a header that pushed a message over would fail these tests as it failed people.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.models import Outbox
from tests.harness import BotHarness, FakeUser, _Refused, check_limits, shown
from tests.test_consultation import CONSULTANT, add_consultant, ask_about_ost

CLIENT = FakeUser(id=5550004096, first_name="Long", username="long_paste", language_code="en")
PHOTO = [{"file_id": "p1", "file_unique_id": "u1", "width": 9, "height": 9}]


def paste(length: int, seed: str = "naloxone") -> str:
    """A text of exactly `length` characters with lines, spaces and HTML-looking bits."""
    line = f"<{seed}> & 103, line "
    text = ""
    while len(text) < length:
        text += line + str(len(text)) + "\n"
    return text[:length]


@pytest.fixture
async def on_duty(harness: BotHarness) -> FakeUser:
    await add_consultant(harness)
    await harness.send(CONSULTANT, "/duty on")
    return CONSULTANT


@pytest.fixture
async def talking(harness: BotHarness, on_duty: FakeUser) -> FakeUser:
    """A client in an active conversation with CONSULTANT."""
    await ask_about_ost(harness, CLIENT)
    await harness.press(on_duty, "Take it", harness.screen(on_duty))
    return CLIENT


def seen(harness: BotHarness, chat_id: int) -> list[str]:
    """A chat's messages as its owner reads them (HTML parsed)."""
    return [shown({"text": m.text, "parse_mode": "HTML"}, "text") for m in harness.inbox(chat_id)]


def calls_to(harness: BotHarness, chat_id: int, *names: str) -> list[dict]:
    return [
        params
        for name, params in harness.telegram.calls
        if name in names and str(params.get("chat_id")) == str(chat_id)
    ]


async def dead_rows(session_factory) -> list[Outbox]:  # type: ignore[no-untyped-def]
    async with session_factory() as session:
        return list(await session.scalars(select(Outbox).where(Outbox.status == "dead")))


def test_the_fake_refuses_what_telegram_refuses_for_length() -> None:
    check_limits("sendMessage", {"text": "x" * 4096})
    check_limits("sendMessage", {"text": "<b>" + "x" * 4096 + "</b>", "parse_mode": "HTML"})
    check_limits("copyMessage", {"caption": "&amp;" * 1024, "parse_mode": "HTML"})
    for name, params in [
        ("sendMessage", {"text": "x" * 4097}),
        ("sendMessage", {"text": "😀" * 2049}),  # UTF-16: an emoji counts two
        ("editMessageText", {"text": "👤 <b>C</b>\n" + "x" * 4094, "parse_mode": "HTML"}),
        ("copyMessage", {"caption": "x" * 1025}),
        ("editMessageCaption", {"caption": "x" * 1025}),
        ("sendMessage", {"text": "  "}),
    ]:
        with pytest.raises(_Refused):
            check_limits(name, params)


async def test_a_4096_character_message_reaches_the_consultant_whole_under_its_header(
    harness: BotHarness, on_duty: FakeUser, talking: FakeUser, session_factory
) -> None:
    text = paste(4096)
    await harness.send(talking, text)
    screen = seen(harness, on_duty.id)
    assert screen[-1] == text  # whole, exactly as written (the HTML-looking bits included)
    assert screen[-2].startswith("👤 ")  # the header right above it, alone
    assert await dead_rows(session_factory) == []


async def test_a_short_message_keeps_its_header_on_the_same_message(
    harness: BotHarness, on_duty: FakeUser, talking: FakeUser
) -> None:
    await harness.send(talking, "where is the nearest OST site?")
    last = harness.screen(on_duty).text
    assert last.startswith("👤 <b>") and last.endswith("\nwhere is the nearest OST site?")


async def test_a_photo_with_a_1024_character_caption_reaches_the_consultant_whole(
    harness: BotHarness, on_duty: FakeUser, talking: FakeUser, session_factory
) -> None:
    caption = paste(1024, "caption")
    await harness.send_other(talking, photo=PHOTO, caption=caption)
    copies = calls_to(harness, on_duty.id, "copyMessage")
    assert shown(copies[-1], "caption") == caption
    screen = seen(harness, on_duty.id)
    assert screen[-1] == f"[copy of {talking.id}/{harness.last_user_message_id()}] {caption}"
    assert screen[-2].startswith("👤 ")
    assert await dead_rows(session_factory) == []


async def test_a_short_caption_keeps_its_header_in_the_caption(
    harness: BotHarness, on_duty: FakeUser, talking: FakeUser
) -> None:
    await harness.send_other(talking, photo=PHOTO, caption="my prescription")
    last = harness.screen(on_duty).text
    assert last.startswith(f"[copy of {talking.id}/") and "👤 <b>" in last
    assert last.endswith("\nmy prescription")


async def test_consultant_long_text_and_caption_reach_the_client_whole(
    harness: BotHarness, on_duty: FakeUser, talking: FakeUser, session_factory
) -> None:
    await harness.send(on_duty, paste(4096, "answer"))
    assert calls_to(harness, talking.id, "copyMessage")[-1].get("caption") is None
    await harness.send_other(on_duty, photo=PHOTO, caption=paste(1024, "map"))
    assert "caption" not in calls_to(harness, talking.id, "copyMessage")[-1]  # its own kept
    assert await dead_rows(session_factory) == []


async def test_an_edit_that_fills_the_limit_reaches_the_consultant_whole(
    harness: BotHarness, on_duty: FakeUser, talking: FakeUser, session_factory
) -> None:
    await harness.send(talking, "short at first")
    original = harness.last_user_message_id()
    longer = paste(4096, "edited")
    await harness.edit(talking, original, longer)
    screen = seen(harness, on_duty.id)
    # The header does not fit with it: the new version comes anew, headed ✏️, whole.
    assert screen[-1] == longer and screen[-2].startswith("👤 ") and "✏️" in screen[-2]
    assert await dead_rows(session_factory) == []


async def test_an_edit_of_a_long_message_edits_the_body_under_its_separate_header(
    harness: BotHarness, on_duty: FakeUser, talking: FakeUser, session_factory
) -> None:
    await harness.send(talking, paste(4096))
    original = harness.last_user_message_id()
    edited = paste(4096, "fixed")
    await harness.edit(talking, original, edited)
    edits = calls_to(harness, on_duty.id, "editMessageText")
    assert len(edits) == 1
    screen = seen(harness, on_duty.id)
    assert screen[-1] == edited and screen[-2].startswith("👤 ")
    assert await dead_rows(session_factory) == []


async def test_a_caption_edit_that_fills_the_limit_reaches_the_consultant_whole(
    harness: BotHarness, on_duty: FakeUser, talking: FakeUser, session_factory
) -> None:
    await harness.send_other(talking, photo=PHOTO, caption="a photo")
    original = harness.last_user_message_id()
    caption = paste(1024, "recaption")
    await harness.edit(talking, original, "", photo=PHOTO, caption=caption)
    screen = seen(harness, on_duty.id)
    # Anew as a text (the header fits with 1,024 characters there), whole.
    head, _, body = screen[-1].partition("\n")
    assert body == caption and head.startswith("👤 ") and "✏️" in head
    assert await dead_rows(session_factory) == []


async def test_an_undeliverable_message_is_reported_to_the_client_in_their_language(
    harness: BotHarness, on_duty: FakeUser, talking: FakeUser, session_factory
) -> None:
    harness.telegram.refuse[on_duty.id] = (400, "Bad Request: chat not found")
    await harness.send(talking, "are you there?")
    lost = harness.last_user_message_id()
    notice = harness.screen(talking)
    assert "did not receive this message" in notice.text and "send it again" in notice.text
    assert notice.reply_to is not None and notice.reply_to["message_id"] == lost
    assert len(await dead_rows(session_factory)) == 1


async def test_an_undeliverable_message_is_reported_to_the_consultant(
    harness: BotHarness, on_duty: FakeUser, talking: FakeUser
) -> None:
    harness.telegram.refuse[talking.id] = (403, "Forbidden: bot was blocked by the user")
    await harness.send(on_duty, "Here is the address of the clinic")
    notice = harness.screen(on_duty)
    assert "could not be delivered" in notice.text and "blocked the bot" in notice.text
    assert "could not be delivered" in notice.text and "Here is the address" in notice.text
