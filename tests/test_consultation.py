"""Human consultation, offline: a client asks, a consultant takes, both talk, it closes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.models import Client, Conversation
from bot.services import pseudonyms, staff_accounts
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard

CONSULTANT = FakeUser(id=9100000001, first_name="Anna", username="anna_peer", language_code="en")


async def add_consultant(harness: BotHarness, user: FakeUser = CONSULTANT, **kwargs) -> int:
    runtime = harness.app.bot_data.runtime
    async with runtime.transaction() as session:
        member = await staff_accounts.add_staff(
            session,
            runtime.keys,
            telegram_id=user.id,
            display_name=kwargs.pop("display_name", "Anna"),
            role=kwargs.pop("role", "peer"),
            languages=kwargs.pop("languages", ["en"]),
            **kwargs,
        )
    return member.id


async def name_of(harness: BotHarness, client: FakeUser, language: str = "en") -> str:
    """The client's pseudonym as a consultant reading `language` sees it ("Blue Fox 42")."""
    runtime = harness.app.bot_data.runtime
    async with runtime.transaction() as session:
        pseudonym = await session.scalar(
            select(Client.pseudonym).where(Client.key == runtime.keys.client_key(client.id))
        )
    assert pseudonym is not None
    return pseudonyms.render(pseudonym, language)


@pytest.fixture
async def on_duty(harness: BotHarness) -> FakeUser:
    await add_consultant(harness)
    reply = await harness.send(CONSULTANT, "/duty on")
    assert "on duty" in reply.text
    return CONSULTANT


async def ask_about_ost(harness: BotHarness, client: FakeUser, urgent: bool = False):  # type: ignore[no-untyped-def]
    await onboard(harness, client, "en", "UA")
    menu = await harness.send(client, "/menu")
    ost = await harness.press_data(client, "1menu:ost", menu)
    ask = await harness.press(client, "💬 Ask a consultant anonymously", ost)
    assert "urgent" in ask.text
    return await harness.press(client, "Yes, it is urgent" if urgent else "No, not urgent", ask)


async def test_full_conversation_from_request_to_rating(
    harness: BotHarness, on_duty: FakeUser, session_factory
) -> None:
    client = FakeUser(id=5550009999, first_name="Ksenia", username="ksenia_x", language_code="en")
    queued = await ask_about_ost(harness, client)
    assert "in the queue (number 1)" in queued.text

    notice = harness.screen(on_duty)
    assert "New request" in notice.text and "OST" in notice.text
    await harness.send(client, "I need methadone, where do I go?")
    assert "Added to your request" in harness.screen(client).text

    await harness.press(on_duty, "Take it", notice)
    staff_chat = [m.text for m in harness.inbox(on_duty.id)]
    name = await name_of(harness, client)
    assert any("I need methadone" in text and name in text for text in staff_chat)
    assert "Anna" in harness.screen(client).text  # "Anna (peer consultant) is now with you"

    await harness.send(on_duty, "Hello! In Kyiv you can call 0 800 507 727.")
    copy = harness.screen(client)
    assert copy.text.startswith(f"[copy of {on_duty.id}/")  # copied, so no sender is shown

    await harness.send_other(
        client,
        photo=[{"file_id": "p1", "file_unique_id": "u1", "width": 9, "height": 9}],
        caption="my prescription",
    )
    relayed = harness.screen(on_duty)
    assert relayed.text.startswith(f"[copy of {client.id}/") and "my prescription" in relayed.text

    ask_outcome = await harness.send(on_duty, "/close")
    closed = await harness.press(on_duty, "information given", ask_outcome)
    assert "Closed" in closed.text
    rating = harness.screen(client)
    assert "How helpful" in rating.text
    await harness.press(client, "5", rating)
    async with session_factory() as session:
        row = await session.scalar(select(Conversation))
    assert (row.status, row.outcome, row.rating, row.topic) == ("closed", "information", 5, "ost")


async def test_consultant_never_sees_the_clients_identity(harness: BotHarness, on_duty) -> None:
    client = FakeUser(
        id=7777123456,
        first_name="Zinoviya",
        last_name="Kanareikina",
        username="zina_canary_42",
        language_code="en",
    )
    await ask_about_ost(harness, client)
    await harness.send(client, "hello")
    await harness.press(on_duty, "Take it", harness.screen(on_duty))
    await harness.send(client, "second message")
    to_consultant = [
        params
        for _name, params in harness.telegram.calls
        if str(params.get("chat_id")) == str(on_duty.id)
    ]
    seen = " ".join(str(params) for params in to_consultant)
    for secret in ("Zinoviya", "Kanareikina", "zina_canary_42"):
        assert secret not in seen
    # The client's chat id only travels as the copy source, never in a text they can read.
    assert all(str(client.id) not in params.get("text", "") for params in to_consultant)
    assert not any(name == "forwardMessage" for name, _ in harness.telegram.calls)


async def test_urgent_request_shows_emergency_numbers_at_once_and_jumps_the_queue(
    harness: BotHarness, on_duty
) -> None:
    calm = FakeUser(id=5550000001, language_code="en")
    await ask_about_ost(harness, calm)
    urgent = FakeUser(id=5550000002, language_code="en")
    screen = await ask_about_ost(harness, urgent, urgent=True)
    assert "103" in screen.text and "/overdose" in screen.text
    queue_view = await harness.send(on_duty, "/queue")
    assert queue_view.labels[0].startswith("🚨")


async def test_nobody_on_duty_is_said_honestly(harness: BotHarness, settings) -> None:
    await add_consultant(harness)  # added, but not on duty
    client = FakeUser(id=5550000003, language_code="en")
    screen = await ask_about_ost(harness, client)
    assert "Nobody is on duty right now" in screen.text


async def test_client_can_cancel_while_waiting(harness: BotHarness, on_duty) -> None:
    client = FakeUser(id=5550000004, language_code="en")
    queued = await ask_about_ost(harness, client)
    cancelled = await harness.press(client, "Cancel the request", queued)
    assert "cancelled" in cancelled.text
    assert "Nobody is waiting" in (await harness.send(on_duty, "/queue")).text


async def test_client_commands_are_refused_staff_commands(harness: BotHarness) -> None:
    stranger = FakeUser(id=5550000005, language_code="en")
    for command in ("/duty", "/queue", "/take", "/close", "/release"):
        reply = await harness.send(stranger, command)
        assert "for consultants only" in reply.text, command


async def test_second_taker_is_told_it_is_gone(harness: BotHarness, on_duty) -> None:
    other = FakeUser(id=9100000002, first_name="Oleh", language_code="en")
    await add_consultant(harness, other, display_name="Oleh")
    await harness.send(other, "/duty on")
    client = FakeUser(id=5550000006, language_code="en")
    await ask_about_ost(harness, client)
    await harness.press(on_duty, "Take it", harness.screen(on_duty))
    late = await harness.press(other, "Take it", harness.screen(other))
    assert "Nothing to take" in late.text


async def test_message_without_a_target_is_not_sent_to_a_guess(harness: BotHarness, on_duty):
    # Before issue 10 the last one taken was "current" and got it; now nobody does until
    # the consultant says who, and their press sends that very message.
    clients = [FakeUser(id=5550000100 + n, language_code="en") for n in (1, 2)]
    for client in clients:
        await ask_about_ost(harness, client)
        await harness.send(on_duty, "/take")
    await harness.press_data(on_duty, "1cur:999")  # an old switch button: explained only
    before = len(harness.telegram.calls)
    asked = await harness.send(on_duty, "to whom?")
    assert not [p for n, p in harness.telegram.calls[before:] if n == "copyMessage"]
    assert asked.text.startswith("Not sent yet") and len(asked.labels) == 2
    first = await name_of(harness, clients[0])
    label = next(label for label in asked.labels if first in label)
    sent = await harness.press(on_duty, label, asked)
    assert sent.text == f"Sent to {first}."
    copies = [p for n, p in harness.telegram.calls[before:] if n == "copyMessage"]
    assert len(copies) == 1 and int(copies[0]["chat_id"]) == clients[0].id


async def test_invite_link_makes_a_consultant(harness: BotHarness, settings) -> None:
    admin = FakeUser(id=9100000009, language_code="en")
    settings.admin_ids.append(admin.id)
    reply = await harness.send(admin, "/invite lawyer")
    token = reply.text.split("?start=")[1].split()[0]
    newcomer = FakeUser(id=9100000010, language_code="en")
    welcome = await harness.send(newcomer, f"/start {token}")
    assert "lawyer" in welcome.text and "/name" in welcome.text
    assert "English" not in welcome.labels  # no client onboarding for staff
    renamed = await harness.send(newcomer, "/name Olena")
    assert "Olena" in renamed.text
    reused = await harness.send(FakeUser(id=9100000011, language_code="en"), f"/start {token}")
    assert "not valid" in reused.text


MEDIA = {
    "document": {"document": {"file_id": "d1", "file_unique_id": "u3", "file_name": "a.pdf"}},
    "voice": {"voice": {"file_id": "v1", "file_unique_id": "u4", "duration": 3}},
    "video_note": {
        "video_note": {"file_id": "n1", "file_unique_id": "u5", "length": 240, "duration": 2}
    },
    "sticker": {
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
}


@pytest.mark.parametrize("kind", list(MEDIA))
async def test_each_media_kind_is_copied_both_ways_with_the_pseudonym(
    harness: BotHarness, on_duty, kind: str
) -> None:
    client = FakeUser(id=5550000200, language_code="en")
    await ask_about_ost(harness, client)
    await harness.send(on_duty, "/take")
    before = len(harness.telegram.calls)
    await harness.send_other(client, **MEDIA[kind])
    to_staff = [
        (name, p)
        for name, p in harness.telegram.calls[before:]
        if str(p.get("chat_id")) == str(on_duty.id)
    ]
    copies = [p for name, p in to_staff if name == "copyMessage"]
    assert len(copies) == 1 and int(copies[0]["from_chat_id"]) == client.id
    shown = " ".join(str(p.get("caption", "")) + str(p.get("text", "")) for _n, p in to_staff)
    assert await name_of(harness, client) in shown  # headed by the pseudonym (caption or line)
    before = len(harness.telegram.calls)
    await harness.send_other(on_duty, **MEDIA[kind])
    back = [p for name, p in harness.telegram.calls[before:] if name == "copyMessage"]
    assert len(back) == 1 and int(back[0]["chat_id"]) == client.id
    assert back[0].get("protect_content") in (True, "true", "True")


async def test_edits_are_relayed_as_edits_both_ways(harness: BotHarness, on_duty) -> None:
    client = FakeUser(id=5550000300, language_code="en")
    await ask_about_ost(harness, client)
    await harness.send(on_duty, "/take")
    await harness.send(client, "I need help with methadon")
    original = harness.last_user_message_id()
    relayed = harness.screen(on_duty)
    await harness.edit(client, original, "I need help with methadone")
    assert harness.telegram.messages[(on_duty.id, relayed.message_id)].text.endswith(
        "I need help with methadone"
    )
    await harness.send(on_duty, "Call the hotlne")
    answer_id = harness.last_user_message_id()
    copy = harness.screen(client)
    before = len(harness.telegram.calls)
    await harness.edit(on_duty, answer_id, "Call the hotline")
    edits = [p for n, p in harness.telegram.calls[before:] if n == "editMessageText"]
    assert len(edits) == 1 and int(edits[0]["message_id"]) == copy.message_id
    assert edits[0]["text"] == "Call the hotline"
    # An edit is never taken for a new message: nothing new was copied or recorded.
    assert not [
        n for n, _p in harness.telegram.calls[before:] if n in ("copyMessage", "sendMessage")
    ]


async def test_rating_comment_is_optional_and_stored_encrypted(
    harness: BotHarness, on_duty, session_factory
) -> None:
    client = FakeUser(id=5550000400, language_code="en")
    await ask_about_ost(harness, client)
    await harness.send(on_duty, "/take")
    outcome = await harness.send(on_duty, "/close")
    await harness.press(on_duty, "information given", outcome)
    rated = await harness.press(client, "4", harness.screen(client))
    assert "write a comment" in rated.text
    thanks = await harness.send(client, "the consultant was kind")
    assert "we will read it" in thanks.text
    async with session_factory() as session:
        row = await session.scalar(select(Conversation))
    assert row.rating == 4 and row.rating_comment is not None
    assert b"kind" not in row.rating_comment
    keys = harness.app.bot_data.runtime.keys
    assert keys.decrypt(row.rating_comment, purpose=b"rating-comment") == b"the consultant was kind"
    # The next message is an ordinary one again.
    assert "buttons and commands" in (await harness.send(client, "hello")).text


async def test_what_consultants_receive_is_protected_from_forwarding(
    harness: BotHarness, on_duty
) -> None:
    client = FakeUser(id=5550000500, language_code="en")
    await ask_about_ost(harness, client)
    await harness.send(client, "private words")
    before = len(harness.telegram.calls)
    await harness.send(on_duty, "/take")
    relayed = [
        p
        for name, p in harness.telegram.calls[before:]
        if name == "sendMessage" and "private words" in p.get("text", "")
    ]
    assert relayed and relayed[0].get("protect_content") in (True, "true", "True")
